/**
 * UdpInput with real sockets on the loopback interface: unicast on 127.0.0.1, multicast groups joined
 * on 127.0.0.1 (the sender uses setMulticastInterface('127.0.0.1') + setMulticastLoopback(true)).
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateMeter, UdpInput, type UdpInputErrorKind, type UdpInputOptions } from '../../src/source/live/udp-input.js';
import { parseUdpUrl } from '../../src/source/live/udp-url.js';

const TS = 188;

/** Inputs and sockets opened by a test, closed after it whatever happened. */
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
  vi.restoreAllMocks();
});

async function freePort(type: 'udp4' | 'udp6' = 'udp4'): Promise<number> {
  const s = dgram.createSocket(type);
  await new Promise<void>((resolve) => s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

/** `count` TS packets, each 0x47 then bytes derived from `seed` and its index, so any corruption shows. */
function tsPackets(count: number, seed: number): Buffer {
  const b = Buffer.alloc(count * TS);
  for (let i = 0; i < b.length; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  for (let p = 0; p < count; p++) b[p * TS] = 0x47;
  return b;
}

/** RTP v2 header, payload type 33 (MP2T): V=2, no padding/extension/CSRC, marker 0. */
function rtp(seq: number, payload: Buffer, opts: { ssrc?: number; timestamp?: number; pt?: number; extensionWords?: number } = {}): Buffer {
  const ext = opts.extensionWords;
  const header = Buffer.alloc(12 + (ext === undefined ? 0 : 4 + 4 * ext));
  header[0] = 0x80 | (ext === undefined ? 0 : 0x10);
  header[1] = opts.pt ?? 33;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(opts.timestamp ?? seq * 3000, 4);
  header.writeUInt32BE(opts.ssrc ?? 0x1234abcd, 8);
  if (ext !== undefined) header.writeUInt16BE(ext, 12 + 2);
  return Buffer.concat([header, payload]);
}

/** An RTP datagram whose header extension claims more 32-bit words than the datagram holds. */
function extensionPastEnd(datagram: Buffer): Buffer {
  const out = Buffer.from(datagram);
  out.writeUInt16BE(1000, 14);
  return out;
}

interface Sender {
  send(data: Buffer, port: number, host?: string): Promise<void>;
}

async function sender(opts: { bindAddress?: string; multicast?: boolean; type?: 'udp4' | 'udp6' } = {}): Promise<Sender> {
  const type = opts.type ?? 'udp4';
  const s = dgram.createSocket(type);
  await new Promise<void>((resolve) => s.bind(0, opts.bindAddress ?? (type === 'udp4' ? '127.0.0.1' : '::1'), resolve));
  if (opts.multicast === true) {
    s.setMulticastInterface('127.0.0.1');
    s.setMulticastLoopback(true);
    s.setMulticastTTL(1);
  }
  cleanup.push(() => new Promise<void>((resolve) => s.close(resolve)));
  return {
    send: (data, port, host = type === 'udp4' ? '127.0.0.1' : '::1') =>
      new Promise<void>((resolve, reject) => s.send(data, port, host, (err) => (err ? reject(err) : resolve()))),
  };
}

interface Collected {
  readonly input: UdpInput;
  /** Copies of the payloads, in arrival order. */
  readonly got: Buffer[];
  readonly errors: Array<{ err: Error; kind: UdpInputErrorKind }>;
}

async function started(url: string, opts: { consumer?: (b: Uint8Array) => void } = {}): Promise<Collected> {
  const got: Buffer[] = [];
  const errors: Array<{ err: Error; kind: UdpInputErrorKind }> = [];
  const options: UdpInputOptions = { onError: (err, kind) => errors.push({ err, kind }) };
  const input = new UdpInput(
    parseUdpUrl(url),
    (b) => {
      opts.consumer?.(b);
      got.push(Buffer.from(b));
    },
    options,
  );
  await input.start();
  cleanup.push(() => input.stop());
  return { input, got, errors };
}

async function waitFor(what: string, done: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Datagrams that must NOT arrive: give the kernel a moment to (not) deliver them. */
const settle = (ms = 150): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('UdpInput: unicast MPEG-TS', () => {
  it('passes 7×188, 1×188 and 21×188 byte payloads intact, in order', async () => {
    const port = await freePort();
    const { input, got } = await started(`udp://127.0.0.1:${port}`);
    const tx = await sender();
    const sent = [tsPackets(7, 1), tsPackets(1, 2), tsPackets(21, 3)];
    for (const d of sent) await tx.send(d, port);
    await waitFor('3 payloads', () => got.length === 3);
    expect(got).toEqual(sent);
    expect(input.stats).toMatchObject({ datagrams: 3, bytes: 29 * TS, payloadBytes: 29 * TS, garbageDatagrams: 0, rtpDatagrams: 0, consumerErrors: 0 });
    expect(input.stats.lastPacketAt).toBeGreaterThanOrEqual(input.stats.startedAt!);
    expect(input.address).toEqual({ address: '127.0.0.1', port, family: 'IPv4' });
  });

  it('counts and drops garbage datagrams without stopping; later good datagrams still arrive', async () => {
    const port = await freePort();
    const { input, got, errors } = await started(`udp://127.0.0.1:${port}`);
    const tx = await sender();
    const random = Buffer.alloc(1000);
    for (let i = 0; i < random.length; i++) random[i] = (i * 131 + 17) & 0xff; // byte 0 = 0x11: neither TS nor RTP
    const garbage = [
      random,
      Buffer.concat([Buffer.from([0x47]), Buffer.alloc(99)]), // 100 bytes: not whole TS packets
      Buffer.alloc(TS, 0), // 188 bytes not starting with 0x47
      Buffer.concat([tsPackets(1, 4), Buffer.alloc(12, 0x47)]), // 200 bytes
      rtp(1, tsPackets(1, 5), { pt: 96 }), // RTP, but not MP2T
      rtp(2, Buffer.alloc(TS, 0)), // RTP MP2T whose payload is not TS
      extensionPastEnd(rtp(3, tsPackets(1, 6), { extensionWords: 1 })),
    ];
    for (const d of garbage) await tx.send(d, port);
    const good = tsPackets(7, 9);
    await tx.send(good, port);
    await waitFor('the good datagram', () => got.length === 1);
    expect(got[0]).toEqual(good);
    expect(input.stats.garbageDatagrams).toBe(garbage.length);
    expect(input.stats.datagrams).toBe(garbage.length + 1);
    expect(input.stats.payloadBytes).toBe(7 * TS);
    expect(errors).toEqual([]);
  });

  it('a consumer exception is counted and reported; the input keeps going', async () => {
    const port = await freePort();
    let calls = 0;
    const { input, got, errors } = await started(`udp://127.0.0.1:${port}`, {
      consumer: () => {
        if (++calls === 1) throw new Error('demuxer exploded');
      },
    });
    const tx = await sender();
    await tx.send(tsPackets(7, 1), port);
    await tx.send(tsPackets(7, 2), port);
    await waitFor('the second payload', () => got.length === 1);
    expect(got[0]).toEqual(tsPackets(7, 2));
    expect(input.stats.consumerErrors).toBe(1);
    expect(errors.map((e) => [e.kind, e.err.message])).toEqual([['consumer', 'demuxer exploded']]);
  });

  it('a socket error after start is counted and reported, not thrown', async () => {
    const port = await freePort();
    const { input, got, errors } = await started(`udp://127.0.0.1:${port}`);
    // There is no portable way to make the kernel fail a bound UDP socket, so emit what Node would.
    const socket = (input as unknown as { socket: dgram.Socket }).socket;
    socket.emit('error', new Error('ENOBUFS'));
    expect(input.stats.socketErrors).toBe(1);
    expect(errors.map((e) => e.kind)).toEqual(['socket']);
    const tx = await sender();
    await tx.send(tsPackets(1, 1), port);
    await waitFor('a payload after the error', () => got.length === 1);
  });

  it('IPv6 unicast on [::1]', async () => {
    const port = await freePort('udp6');
    const { got } = await started(`udp://[::1]:${port}`);
    const tx = await sender({ type: 'udp6' });
    await tx.send(tsPackets(7, 1), port);
    await waitFor('a payload', () => got.length === 1);
    expect(got[0]).toEqual(tsPackets(7, 1));
  });
});

describe('UdpInput: RTP', () => {
  it('unwraps RTP (auto), counts RTP datagrams and sequence gaps', async () => {
    const port = await freePort();
    const { input, got } = await started(`udp://127.0.0.1:${port}`);
    const tx = await sender();
    const payloads = [tsPackets(7, 1), tsPackets(7, 2), tsPackets(7, 3), tsPackets(7, 4), tsPackets(7, 5)];
    // 65535 → 0 wraps without a gap; 0 → 2 loses one datagram; 2 again is a duplicate, not a gap.
    const seqs = [65534, 65535, 0, 2, 2];
    for (let i = 0; i < seqs.length; i++) await tx.send(rtp(seqs[i]!, payloads[i]!, { extensionWords: i === 1 ? 2 : undefined }), port);
    await tx.send(tsPackets(1, 6), port); // plain TS on the same input: auto takes both
    await waitFor('6 payloads', () => got.length === 6);
    expect(got).toEqual([...payloads, tsPackets(1, 6)]);
    expect(input.stats.rtpDatagrams).toBe(5);
    expect(input.stats.rtpSequenceGaps).toBe(1);
    expect(input.stats.payloadBytes).toBe(36 * TS);
    expect(input.stats.bytes).toBe(36 * TS + 5 * 12 + 12);
  });

  it('a new SSRC restarts the numbering without counting a gap', async () => {
    const port = await freePort();
    const { input, got } = await started(`udp://127.0.0.1:${port}`);
    const tx = await sender();
    await tx.send(rtp(100, tsPackets(7, 1), { ssrc: 1 }), port);
    await tx.send(rtp(5000, tsPackets(7, 2), { ssrc: 2 }), port);
    await tx.send(rtp(5003, tsPackets(7, 3), { ssrc: 2 }), port);
    await waitFor('3 payloads', () => got.length === 3);
    expect(input.stats.rtpSequenceGaps).toBe(1);
  });

  it('rtp=on drops plain TS; rtp=off drops RTP', async () => {
    const [portOn, portOff] = [await freePort(), await freePort()];
    const on = await started(`udp://127.0.0.1:${portOn}?rtp=on`);
    const off = await started(`udp://127.0.0.1:${portOff}?rtp=off`);
    const tx = await sender();
    for (const port of [portOn, portOff]) {
      await tx.send(tsPackets(7, 1), port);
      await tx.send(rtp(1, tsPackets(7, 2)), port);
    }
    await waitFor('one payload each', () => on.got.length === 1 && off.got.length === 1);
    await settle();
    expect(on.got).toEqual([tsPackets(7, 2)]);
    expect(on.input.stats).toMatchObject({ rtpDatagrams: 1, garbageDatagrams: 1 });
    expect(off.got).toEqual([tsPackets(7, 1)]);
    expect(off.input.stats).toMatchObject({ rtpDatagrams: 0, garbageDatagrams: 1 });
  });
});

describe('UdpInput: bitrate', () => {
  it('RateMeter: bits per second over a 5 s ring of per-second counters', () => {
    const m = new RateMeter(5);
    const t0 = 1_000_000_000_000; // a whole second
    for (let s = 0; s < 10; s++) m.add(125_000, t0 + s * 1000 + 500); // 1 Mbit each second
    // At t0+9.5 s the window holds seconds 5..9: 5 × 125 kB over 4.5 s (the oldest starts at t0+5 s).
    expect(m.bitsPerSecond(t0 + 9500, t0)).toBeCloseTo((5 * 125_000 * 8) / 4.5, 6);
    // A young input: two seconds of data over two seconds since start.
    const young = new RateMeter(5);
    young.add(250_000, t0 + 500);
    young.add(250_000, t0 + 1500);
    expect(young.bitsPerSecond(t0 + 2000, t0)).toBe(2_000_000);
    // Within the first second the divisor is one second, not a few milliseconds.
    const fresh = new RateMeter(5);
    fresh.add(1000, t0 + 10);
    expect(fresh.bitsPerSecond(t0 + 20, t0)).toBe(8000);
    // Silence: old seconds leave the window.
    expect(m.bitsPerSecond(t0 + 20_000, t0)).toBe(0);
  });

  it('bitrate() matches what was sent', async () => {
    const port = await freePort();
    const { input, got } = await started(`udp://127.0.0.1:${port}`);
    expect(input.bitrate()).toBe(0);
    const tx = await sender();
    const datagram = tsPackets(7, 1);
    // ~1.5 s at one 1316-byte datagram every 10 ms ≈ 1.05 Mbit/s.
    const count = 150;
    for (let i = 0; i < count; i++) {
      await tx.send(datagram, port);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor('every datagram', () => got.length === count);
    const now = Date.now();
    const expected = (count * datagram.length * 8 * 1000) / (now - input.stats.startedAt!);
    const measured = input.bitrate(now);
    expect(measured).toBeGreaterThan(expected * 0.8);
    expect(measured).toBeLessThan(expected * 1.2);
  });
});

describe('UdpInput: lifecycle', () => {
  it('stop() frees the port: a second input binds it and receives', async () => {
    const port = await freePort();
    const first = await started(`udp://127.0.0.1:${port}`);
    await first.input.stop();
    await first.input.stop(); // idempotent
    const second = await started(`udp://127.0.0.1:${port}`);
    const tx = await sender();
    await tx.send(tsPackets(1, 1), port);
    await waitFor('a payload', () => second.got.length === 1);
    expect(first.got).toEqual([]);
  });

  it('start() rejects with a clear error when the port is in use, and can be retried', async () => {
    const port = await freePort();
    const holder = await started(`udp://127.0.0.1:${port}`);
    const input = new UdpInput(parseUdpUrl(`udp://127.0.0.1:${port}`), () => {});
    await expect(input.start()).rejects.toThrow(
      `udp://127.0.0.1:${port}: cannot bind 127.0.0.1:${port}: EADDRINUSE (address already in use: another socket holds this port)`,
    );
    await holder.input.stop();
    await input.start();
    cleanup.push(() => input.stop());
    await expect(input.start()).rejects.toThrow('already started');
  });

  it('rcvbuf: a request the OS caps is recorded, a small one is met', async () => {
    const big = await started(`udp://127.0.0.1:${await freePort()}?rcvbuf=1024m`);
    // Linux caps SO_RCVBUF at net.core.rmem_max (far below 1 GiB on any ordinary host).
    expect(big.input.stats.rcvbufGranted).toBeGreaterThan(0);
    expect(big.input.stats.rcvbufGranted).toBeLessThan(1024 * 1024 * 1024);
    const small = await started(`udp://127.0.0.1:${await freePort()}?rcvbuf=64k`);
    expect(small.input.stats.rcvbufGranted).toBeUndefined();
  });

  it('an interface name on 0.0.0.0 binds to that interface address', async () => {
    const port = await freePort();
    const { input, got } = await started(`udp://lo@0.0.0.0:${port}`);
    expect(input.address?.address).toBe('127.0.0.1');
    const tx = await sender();
    await tx.send(tsPackets(1, 1), port);
    await waitFor('a payload', () => got.length === 1);
  });
});

describe('UdpInput: multicast on loopback', () => {
  const GROUP = '239.255.0.1';

  it('joins the group on 127.0.0.1 (address or interface name) and receives what is sent to it', async () => {
    const join = vi.spyOn(dgram.Socket.prototype, 'addMembership');
    const port = await freePort();
    const byAddress = await started(`udp://127.0.0.1@${GROUP}:${port}`);
    const byName = await started(`udp://${GROUP}:${port}?iface=lo`);
    expect(join.mock.calls).toEqual([
      [GROUP, '127.0.0.1'],
      [GROUP, '127.0.0.1'],
    ]);
    expect(byAddress.input.address).toMatchObject({ address: GROUP, port });
    const tx = await sender({ multicast: true });
    await tx.send(tsPackets(7, 1), port, GROUP);
    await tx.send(tsPackets(7, 2), port, GROUP);
    await waitFor('both payloads on both inputs', () => byAddress.got.length === 2 && byName.got.length === 2);
    // Two inputs on one group and port (SO_REUSEADDR) each get every datagram: two origins on one input.
    expect(byAddress.got).toEqual([tsPackets(7, 1), tsPackets(7, 2)]);
    expect(byName.got).toEqual([tsPackets(7, 1), tsPackets(7, 2)]);
  });

  it('two groups on the same port do not mix (the socket binds to its group)', async () => {
    const port = await freePort();
    const a = await started(`udp://127.0.0.1@239.255.0.1:${port}`);
    const b = await started(`udp://127.0.0.1@239.255.0.2:${port}`);
    const tx = await sender({ multicast: true });
    await tx.send(tsPackets(1, 1), port, '239.255.0.1');
    await tx.send(tsPackets(1, 2), port, '239.255.0.2');
    await waitFor('one payload each', () => a.got.length === 1 && b.got.length === 1);
    await settle();
    expect(a.got).toEqual([tsPackets(1, 1)]);
    expect(b.got).toEqual([tsPackets(1, 2)]);
  });

  it('source-specific multicast takes the named source only', async () => {
    const join = vi.spyOn(dgram.Socket.prototype, 'addSourceSpecificMembership');
    const port = await freePort();
    const group = '232.255.0.1';
    const { input, got } = await started(`udp://127.0.0.1@${group}:${port}?source=127.0.0.1`);
    expect(join.mock.calls).toEqual([['127.0.0.1', group, '127.0.0.1']]);
    const other = await sender({ bindAddress: '127.0.0.2', multicast: true }); // 127/8 is all loopback on Linux
    const wanted = await sender({ bindAddress: '127.0.0.1', multicast: true });
    await other.send(tsPackets(1, 1), port, group);
    await wanted.send(tsPackets(1, 2), port, group);
    await waitFor('the wanted payload', () => got.length === 1);
    await settle();
    expect(got).toEqual([tsPackets(1, 2)]);
    expect(input.stats.datagrams).toBe(1);
  });

  it('an unknown interface, or an address not on this host, fails start() clearly and leaves the port free', async () => {
    const port = await freePort();
    const byName = new UdpInput(parseUdpUrl(`udp://nosuchif9@${GROUP}:${port}`), () => {});
    await expect(byName.start()).rejects.toThrow(`udp://nosuchif9@${GROUP}:${port}: unknown network interface 'nosuchif9' (this host has: lo 127.0.0.1`);
    const byAddress = new UdpInput(parseUdpUrl(`udp://${GROUP}:${port}?iface=10.255.255.254`), () => {});
    await expect(byAddress.start()).rejects.toThrow('interface address 10.255.255.254 is not an IPv4 address of this host');
    const unicast = new UdpInput(parseUdpUrl(`udp://nosuchif9@0.0.0.0:${port}`), () => {});
    await expect(unicast.start()).rejects.toThrow("unknown network interface 'nosuchif9'");
    // Nothing was left bound: a unicast input (no SO_REUSEADDR) can take the port.
    await started(`udp://127.0.0.1:${port}`);
  });
});
