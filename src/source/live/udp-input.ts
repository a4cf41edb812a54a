/**
 * Receives one live input: MPEG-TS over UDP (optionally RTP-wrapped), unicast or multicast, and hands
 * each datagram's TS bytes to a consumer. It never throws after start(): a malformed datagram is
 * counted and dropped, a consumer exception is counted, a socket error is counted and reported —
 * a live ingest must survive whatever arrives on the wire.
 *
 * Binding:
 *  - unicast: HOST:PORT (HOST 0.0.0.0 with an interface: that interface's IPv4 address), without
 *    SO_REUSEADDR, so a port already taken is an error at start() rather than a second socket that
 *    the kernel would silently starve (unicast goes to only one of the sockets sharing a port);
 *  - multicast: with SO_REUSEADDR, so several processes (two origins) can ingest the same group.
 *    On Linux/macOS the socket binds to the GROUP address, not 0.0.0.0: a socket bound to 0.0.0.0
 *    receives every group joined by ANY socket of the host on that port (Linux's IP_MULTICAST_ALL,
 *    which Node cannot turn off), so two inputs on 239.0.0.1:1234 and 239.0.0.2:1234 would mix
 *    their streams. Windows cannot bind to a multicast address, so it gets 0.0.0.0.
 */
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import { RTP_PT_MP2T, unwrapRtp } from './rtp.js';
import type { UdpInputSpec } from './udp-url.js';

const TS_PACKET = 188;
const TS_SYNC = 0x47;
const RTP_VERSION = 2;

export interface UdpInputStats {
  /** Every datagram received, garbage included. */
  datagrams: number;
  bytes: number;
  /** TS bytes passed to the consumer. */
  payloadBytes: number;
  /** Datagrams that carried an RTP header (and were unwrapped). */
  rtpDatagrams: number;
  /** Dropped: not RTP/TS, a malformed RTP header, or a payload not made of whole 0x47-led TS packets. */
  garbageDatagrams: number;
  /** Times the RTP sequence number jumped forward (datagrams lost on the way). */
  rtpSequenceGaps: number;
  /** Exceptions thrown by the consumer (each one's datagram is lost, the input keeps going). */
  consumerErrors: number;
  /** Socket 'error' events after start(). */
  socketErrors: number;
  /** ms since the epoch; undefined until the first datagram. */
  lastPacketAt: number | undefined;
  /** ms since the epoch; undefined until start() succeeded. */
  startedAt: number | undefined;
  /**
   * What the OS granted when it is less than spec.rcvbuf (Linux caps SO_RCVBUF at net.core.rmem_max);
   * undefined when the request was met. Not fatal: only a risk of loss at high bitrates.
   */
  rcvbufGranted: number | undefined;
}

export type UdpInputErrorKind = 'socket' | 'consumer';

export interface UdpInputOptions {
  /** Reports socket errors and consumer exceptions (for logging); the input keeps running. */
  readonly onError?: (err: Error, kind: UdpInputErrorKind) => void;
}

/** Bytes per wall-clock second in a small ring, so bitrate() costs O(slots) and nothing per datagram but an add. */
export class RateMeter {
  private readonly seconds: number[];
  private readonly bytes: number[];

  /** `windowSeconds`: how many whole seconds (the current, partial one included) the rate covers. */
  constructor(private readonly windowSeconds = 5) {
    this.seconds = new Array<number>(windowSeconds).fill(-1);
    this.bytes = new Array<number>(windowSeconds).fill(0);
  }

  add(bytes: number, now: number): void {
    const sec = Math.floor(now / 1000);
    const slot = sec % this.windowSeconds;
    if (this.seconds[slot] !== sec) {
      // The slot last held a second that has left the window: start it afresh.
      this.seconds[slot] = sec;
      this.bytes[slot] = 0;
    }
    this.bytes[slot]! += bytes;
  }

  /**
   * Bits per second over the window ending at `now`. `since` (when counting started) shortens the
   * window for a young input; the divisor is at least one second so the first datagrams do not read
   * as an absurd spike.
   */
  bitsPerSecond(now: number, since: number): number {
    const nowSec = Math.floor(now / 1000);
    const oldestSec = nowSec - this.windowSeconds + 1;
    let total = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const sec = this.seconds[i]!;
      if (sec >= oldestSec && sec <= nowSec) total += this.bytes[i]!;
    }
    const from = Math.max(since, oldestSec * 1000);
    return (total * 8 * 1000) / Math.max(now - from, 1000);
  }
}

/** Where to bind and which group to join, with interface names resolved. */
interface SocketPlan {
  readonly type: 'udp4' | 'udp6';
  readonly bindAddress: string;
  readonly reuseAddr: boolean;
  /** For addMembership / addSourceSpecificMembership: the interface address (udp6: '::%NAME'). */
  readonly membershipInterface?: string;
}

export class UdpInput {
  private readonly counters: UdpInputStats = {
    datagrams: 0,
    bytes: 0,
    payloadBytes: 0,
    rtpDatagrams: 0,
    garbageDatagrams: 0,
    rtpSequenceGaps: 0,
    consumerErrors: 0,
    socketErrors: 0,
    lastPacketAt: undefined,
    startedAt: undefined,
    rcvbufGranted: undefined,
  };
  /** Live counters (read-only view; they keep changing while the input runs). */
  readonly stats: Readonly<UdpInputStats> = this.counters;

  private readonly meter = new RateMeter(5);
  private socket: dgram.Socket | undefined;
  private starting = false;
  private lastSeq: number | undefined;
  private lastSsrc: number | undefined;

  constructor(
    readonly spec: UdpInputSpec,
    private readonly onPayload: (tsBytes: Uint8Array) => void,
    private readonly options: UdpInputOptions = {},
  ) {}

  /** Payload bits per second over the last ~5 s. */
  bitrate(now = Date.now()): number {
    const since = this.counters.startedAt;
    return since === undefined ? 0 : this.meter.bitsPerSecond(now, since);
  }

  /** The local port once started (useful when spec.port is shared or for logs). */
  get address(): { address: string; port: number } | undefined {
    return this.socket?.address();
  }

  /**
   * Binds (and joins the group). Resolves once datagrams can arrive; rejects with an Error naming the
   * input and the cause (port in use, unknown interface, join refused), leaving nothing open.
   */
  async start(): Promise<void> {
    if (this.socket !== undefined || this.starting) throw new Error(`${this.spec.url}: already started`);
    this.starting = true;
    try {
      let plan: SocketPlan;
      try {
        plan = planSocket(this.spec);
      } catch (err) {
        throw new Error(`${this.spec.url}: ${describe(err)}`, { cause: err });
      }
      const socket = dgram.createSocket({ type: plan.type, reuseAddr: plan.reuseAddr });
      // Listen from the start so no datagram that arrives right after bind is emitted to nobody.
      socket.on('message', (msg: Buffer) => this.receive(msg));
      try {
        await bind(socket, this.spec.port, plan.bindAddress);
      } catch (err) {
        closeQuietly(socket);
        throw new Error(`${this.spec.url}: cannot bind ${formatHostPort(plan.bindAddress, this.spec.port)}: ${describe(err)}`, { cause: err });
      }
      try {
        this.join(socket, plan);
      } catch (err) {
        closeQuietly(socket);
        throw err;
      }
      this.applyRcvbuf(socket);
      socket.on('error', (err: Error) => {
        this.counters.socketErrors++;
        this.options.onError?.(err, 'socket');
      });
      this.socket = socket;
      this.counters.startedAt = Date.now();
    } finally {
      this.starting = false;
    }
  }

  /** Closes the socket (leaving the group with it); the port is free once this resolves. Idempotent. */
  async stop(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    await new Promise<void>((resolve) => socket.close(resolve));
  }

  private join(socket: dgram.Socket, plan: SocketPlan): void {
    if (!this.spec.multicast) return;
    const { host, source } = this.spec;
    const what = source === undefined ? `join ${host}` : `join ${host} from source ${source}`;
    const on = plan.membershipInterface === undefined ? '' : ` on ${this.spec.iface} (${plan.membershipInterface})`;
    try {
      if (source === undefined) socket.addMembership(host, plan.membershipInterface);
      else socket.addSourceSpecificMembership(source, host, plan.membershipInterface);
    } catch (err) {
      throw new Error(`${this.spec.url}: cannot ${what}${on}: ${describe(err)}`, { cause: err });
    }
  }

  private applyRcvbuf(socket: dgram.Socket): void {
    const wanted = this.spec.rcvbuf;
    try {
      socket.setRecvBufferSize(wanted);
    } catch {
      // Some systems refuse a size above their maximum instead of capping it; what is granted is read below.
    }
    let granted: number;
    try {
      granted = socket.getRecvBufferSize();
    } catch {
      return;
    }
    // Linux reports twice the size asked for (the kernel's bookkeeping share), so a request that was
    // met reads back ≥ wanted; anything lower was capped by net.core.rmem_max.
    if (granted < wanted) this.counters.rcvbufGranted = granted;
  }

  private receive(msg: Buffer): void {
    const now = Date.now();
    const c = this.counters;
    c.datagrams++;
    c.bytes += msg.length;
    c.lastPacketAt = now;

    const payload = this.tsBytes(msg);
    if (payload === undefined || payload.length === 0 || payload.length % TS_PACKET !== 0 || payload[0] !== TS_SYNC) {
      c.garbageDatagrams++;
      return;
    }
    c.payloadBytes += payload.length;
    this.meter.add(payload.length, now);
    try {
      this.onPayload(payload);
    } catch (err) {
      c.consumerErrors++;
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)), 'consumer');
    }
  }

  /** The TS part of a datagram per spec.rtp, or undefined when the datagram is not what that mode takes. */
  private tsBytes(msg: Buffer): Uint8Array | undefined {
    const rtp = this.spec.rtp;
    if (rtp === 'off') return msg;
    // V=2 puts 0x80..0xBF in byte 0, which can never be the TS sync byte: the two cannot be confused.
    const looksRtp = msg.length >= 12 && msg[0]! >> 6 === RTP_VERSION && (msg[1]! & 0x7f) === RTP_PT_MP2T;
    if (!looksRtp) return rtp === 'auto' && msg[0] === TS_SYNC ? msg : undefined;
    let payload: Uint8Array;
    try {
      payload = unwrapRtp(msg);
    } catch {
      return undefined; // header extension or padding that runs past the datagram
    }
    this.counters.rtpDatagrams++;
    this.trackSequence(msg.readUInt16BE(2), msg.readUInt32BE(8));
    return payload;
  }

  /** Counts forward jumps of the 16-bit RTP sequence number; late or repeated datagrams are not gaps. */
  private trackSequence(seq: number, ssrc: number): void {
    // A new SSRC is a new sender (an encoder restart): its numbering is unrelated to the old one.
    if (this.lastSeq !== undefined && ssrc === this.lastSsrc) {
      const ahead = (seq - this.lastSeq) & 0xffff;
      if (ahead === 0 || ahead >= 0x8000) return; // duplicate or reordered: keep the newest number
      if (ahead > 1) this.counters.rtpSequenceGaps++;
    }
    this.lastSeq = seq;
    this.lastSsrc = ssrc;
  }
}

function planSocket(spec: UdpInputSpec): SocketPlan {
  const v6 = isIPv6(spec.host);
  const type = v6 ? 'udp6' : 'udp4';
  if (!spec.multicast) {
    // Only 0.0.0.0 may carry an interface (the parser refuses it with a specific address).
    const bindAddress = spec.iface === undefined ? spec.host : interfaceIPv4(spec.iface);
    return { type, bindAddress, reuseAddr: false };
  }
  const wildcard = v6 ? '::' : '0.0.0.0';
  // See the file comment: binding to the group filters out other groups on the same port. IPv6 groups
  // are often link-local (ff02::…), which would need a scope on the bind address: keep '::' there.
  const bindAddress = process.platform === 'win32' || v6 ? wildcard : spec.host;
  if (spec.iface === undefined) return { type, bindAddress, reuseAddr: true };
  const membershipInterface = v6 ? `::%${interfaceByName(spec.iface)}` : interfaceIPv4(spec.iface);
  return { type, bindAddress, reuseAddr: true, membershipInterface };
}

/** An IPv4 address or interface name → the IPv4 address to use; rejects what is not on this host. */
function interfaceIPv4(iface: string): string {
  const all = networkInterfaces();
  if (isIPv4(iface)) {
    const local = Object.values(all).some((addrs) => addrs?.some((a) => a.family === 'IPv4' && a.address === iface));
    if (!local) throw new Error(`interface address ${iface} is not an IPv4 address of this host (${listInterfaces()})`);
    return iface;
  }
  const addrs = all[interfaceByName(iface)] ?? [];
  const v4 = addrs.find((a) => a.family === 'IPv4');
  if (v4 === undefined) throw new Error(`network interface '${iface}' has no IPv4 address`);
  return v4.address;
}

function interfaceByName(name: string): string {
  if (networkInterfaces()[name] === undefined) throw new Error(`unknown network interface '${name}' (${listInterfaces()})`);
  return name;
}

function listInterfaces(): string {
  const lines = Object.entries(networkInterfaces()).map(([name, addrs]) => {
    const v4 = (addrs ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address);
    return v4.length === 0 ? name : `${name} ${v4.join(' ')}`;
  });
  return `this host has: ${lines.join(', ')}`;
}

function bind(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port, address }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed: nothing left to free
  }
}

function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "EADDRINUSE (address already in use)" rather than Node's "bind EADDRINUSE 0.0.0.0:1234". */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code === undefined ? undefined : ERRNO_HINTS[code];
  return hint === undefined ? err.message : `${code} (${hint})`;
}

const ERRNO_HINTS: Record<string, string> = {
  EADDRINUSE: 'address already in use: another socket holds this port',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
  EINVAL: 'invalid argument',
  ENODEV: 'no such device',
  ENOBUFS: 'no buffer space: too many group memberships?',
};
