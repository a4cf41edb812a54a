/**
 * A UDP relay that damages a stream on purpose: it listens on 127.0.0.1 (ephemeral port) and forwards
 * each datagram to a target port, dropping, duplicating, reordering and injecting garbage according
 * to a fault profile that can be changed while it runs. All choices come from a seeded PRNG, so a
 * failing test replays exactly with the same seed and the same input.
 *
 * Per datagram, in this order: paused → discarded; garbage → one garbage datagram is sent first;
 * drop → not forwarded; reorder → held and sent right after the next forwarded datagram;
 * duplicate → sent twice in a row.
 */
import { seededRandom } from './random.js';
import { createSocket, type Socket } from 'node:dgram';

/** A probability in [0, 1] per datagram, or every Nth datagram reaching that step (the Nth, 2Nth, …). */
export type FaultRate = number | { every: number };

export interface FaultProfile {
  drop?: FaultRate;
  duplicate?: FaultRate;
  reorder?: FaultRate;
  /** Inject a garbage datagram: random bytes of a random size (1–1500), or 188 bytes not starting with 0x47. */
  garbage?: FaultRate;
}

export interface RelayCounters {
  /** Datagrams received from the source. */
  received: number;
  /** Datagrams sent to the target, garbage and duplicates included. */
  sent: number;
  /** Source datagrams discarded while paused. */
  discardedWhilePaused: number;
  dropped: number;
  duplicated: number;
  /** Datagrams held back to be sent after their successor (or at pause()/stop()). */
  reordered: number;
  /** Garbage datagrams injected (= garbageRandom + garbageBadSync). */
  garbage: number;
  garbageRandom: number;
  garbageBadSync: number;
}

export interface UdpRelayOptions {
  /** Where datagrams go (127.0.0.1 unless targetHost). */
  targetPort: number;
  targetHost?: string;
  /** PRNG seed; default 1. */
  seed?: number;
  faults?: FaultProfile;
}

type FaultName = keyof FaultProfile;


function zeroCounters(): RelayCounters {
  return { received: 0, sent: 0, discardedWhilePaused: 0, dropped: 0, duplicated: 0, reordered: 0, garbage: 0, garbageRandom: 0, garbageBadSync: 0 };
}

export class UdpRelay {
  readonly seed: number;
  private readonly targetPort: number;
  private readonly targetHost: string;
  private readonly random: () => number;
  private faults: FaultProfile;
  /** Datagrams that reached each fault's decision, for the every-Nth rates. */
  private readonly seen: Record<FaultName, number> = { drop: 0, duplicate: 0, reorder: 0, garbage: 0 };
  private readonly count: RelayCounters = zeroCounters();
  private sock: Socket | undefined;
  private held: Buffer | undefined;
  private paused = false;
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(opts: UdpRelayOptions) {
    this.targetPort = opts.targetPort;
    this.targetHost = opts.targetHost ?? '127.0.0.1';
    this.seed = opts.seed ?? 1;
    this.random = seededRandom(this.seed);
    this.faults = { ...opts.faults };
  }

  /** The port sources send to (after start()). */
  get port(): number {
    if (!this.sock) throw new Error('UdpRelay not started');
    return this.sock.address().port;
  }

  get counters(): Readonly<RelayCounters> {
    return { ...this.count };
  }

  /** Replaces the fault profile; every-Nth counting restarts. */
  setFaults(faults: FaultProfile): void {
    this.faults = { ...faults };
    for (const k of Object.keys(this.seen) as FaultName[]) this.seen[k] = 0;
  }

  /** The source "stops": datagrams arriving from now on are discarded (a held one is sent first). */
  pause(): void {
    this.flushHeld();
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  async start(): Promise<this> {
    if (this.sock) throw new Error('UdpRelay already started');
    const sock = createSocket('udp4');
    this.sock = sock;
    sock.on('message', (msg) => this.relay(msg));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => {
        sock.off('error', reject);
        sock.on('error', () => undefined); // receive-side errors: nothing to do but keep relaying
        resolve();
      });
    });
    return this;
  }

  /** Sends a held datagram, waits for the queued sends (closing would cancel them), then closes. */
  async stop(): Promise<void> {
    const sock = this.sock;
    if (!sock) return;
    this.flushHeld();
    this.sock = undefined;
    while (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }

  private relay(msg: Buffer): void {
    this.count.received++;
    if (this.paused) {
      this.count.discardedWhilePaused++;
      return;
    }
    if (this.fires('garbage')) this.injectGarbage();
    if (this.fires('drop')) {
      this.count.dropped++;
      return;
    }
    if (this.held) {
      this.forward(msg);
      this.flushHeld();
      return;
    }
    if (this.fires('reorder')) {
      this.held = msg;
      this.count.reordered++;
      return;
    }
    this.forward(msg);
    if (this.fires('duplicate')) {
      this.count.duplicated++;
      this.forward(msg);
    }
  }

  /** One PRNG draw per configured fault and datagram, so replays stay in step. */
  private fires(name: FaultName): boolean {
    const rate = this.faults[name];
    if (rate === undefined) return false;
    if (typeof rate === 'number') return this.random() < rate;
    this.seen[name]++;
    return rate.every > 0 && this.seen[name] % rate.every === 0;
  }

  private injectGarbage(): void {
    const badSync = this.random() < 0.5;
    const size = badSync ? 188 : 1 + Math.floor(this.random() * 1500);
    const bytes = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) bytes[i] = Math.floor(this.random() * 256);
    if (badSync) {
      if (bytes[0] === 0x47) bytes[0] = 0x48;
      this.count.garbageBadSync++;
    } else {
      this.count.garbageRandom++;
    }
    this.count.garbage++;
    this.forward(bytes);
  }

  private flushHeld(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    this.forward(held);
  }

  private forward(data: Buffer): void {
    if (!this.sock) return;
    this.count.sent++;
    this.inFlight++;
    this.sock.send(data, this.targetPort, this.targetHost, () => {
      // Errors (e.g. ECONNREFUSED while the target is not listening) are a lost datagram, as on a network.
      if (--this.inFlight === 0) this.drained?.();
    });
  }
}
