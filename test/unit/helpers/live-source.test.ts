/**
 * The live-ingest test tooling itself: synthetic TS files (checked with ffprobe), the real-time UDP
 * pacer (plain and RTP), the fault-injecting relay, and ffmpeg pushing to UDP on its own.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { probePackets, probeStreams, tool } from '../../helpers/ffmpeg.js';
import {
  PTS_WRAP_SECONDS,
  RTP_HEADER_SIZE,
  RTP_SSRC,
  TsPacer,
  ffmpegUdpPush,
  makeLiveTs,
  sendOnce,
} from '../../helpers/live-source.js';
import { UdpRelay, type FaultProfile } from '../../helpers/udp-relay.js';

// ---------------------------------------------------------------------------------------------
// Helpers

interface Capture {
  readonly port: number;
  readonly datagrams: Buffer[];
  /** performance.now() of each arrival. */
  readonly times: number[];
  bytes(): number;
  /** Resolves once `predicate` holds, polling every 10 ms; rejects after timeoutMs. */
  until(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const open = new Set<Socket>();

async function capture(): Promise<Capture> {
  const sock = createSocket('udp4');
  open.add(sock);
  sock.once('close', () => open.delete(sock));
  const datagrams: Buffer[] = [];
  const times: number[] = [];
  sock.on('message', (m) => {
    datagrams.push(m);
    times.push(performance.now());
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return {
    port: sock.address().port,
    datagrams,
    times,
    bytes: () => datagrams.reduce((n, d) => n + d.length, 0),
    async until(predicate, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms (${datagrams.length} datagrams)`);
        await sleep(10);
      }
    },
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

afterAll(() => {
  for (const s of open) s.close();
});

/** 'SEQ!' + a 32-bit index: what the relay tests send, so arrivals can be told apart from garbage. */
function numbered(i: number): Buffer {
  const b = Buffer.alloc(8);
  b.write('SEQ!', 0, 'latin1');
  b.writeUInt32BE(i, 4);
  return b;
}

/** Index of a numbered datagram, or undefined for anything else (garbage). */
function indexOf(d: Buffer): number | undefined {
  return d.length === 8 && d.toString('latin1', 0, 4) === 'SEQ!' ? d.readUInt32BE(4) : undefined;
}

/**
 * Sends numbered datagrams [from, from+count), yielding to the event loop after each: a send callback
 * alone does not let the receivers in this process read, and loopback drops what overflows a socket's
 * receive buffer (about 256 small datagrams with Linux defaults).
 */
async function sendNumbered(port: number, from: number, count: number): Promise<void> {
  const sock = createSocket('udp4');
  for (let i = from; i < from + count; i++) {
    await new Promise<void>((resolve, reject) => sock.send(numbered(i), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await new Promise<void>((resolve) => sock.close(() => resolve()));
}

/** A relay in front of a capture, fed `count` numbered datagrams; resolves when the arrivals are complete. */
async function throughRelay(faults: FaultProfile, seed: number, count: number): Promise<{ relay: UdpRelay; arrivals: Buffer[] }> {
  const sink = await capture();
  const relay = await new UdpRelay({ targetPort: sink.port, seed, faults }).start();
  await sendNumbered(relay.port, 0, count);
  await sink.until(() => relay.counters.received === count);
  await relay.stop(); // sends a datagram still held for reordering
  await sink.until(() => sink.datagrams.length === relay.counters.sent);
  await sink.close();
  return { relay, arrivals: sink.datagrams };
}

/** Records a callback's calls. */
function recorder<T>(): { calls: T[]; callback: (v: T) => void } {
  const calls: T[] = [];
  return { calls, callback: (v) => calls.push(v) };
}

function pidOf(packet: Buffer): number {
  return ((packet[1]! & 0x1f) << 8) | packet[2]!;
}

// ---------------------------------------------------------------------------------------------

describe('makeLiveTs', () => {
  it('makes H.264 + AAC MPEG-TS of the requested duration, a key frame every gopSeconds, PAT/PMT repeated', async () => {
    const file = await makeLiveTs({ seconds: 3 });
    const streams = await probeStreams(file);
    expect(streams.map((s) => s['codec_name'])).toEqual(['h264', 'aac']);
    expect(streams[0]).toMatchObject({ width: 320, height: 180, r_frame_rate: '25/1' });
    expect(streams[1]).toMatchObject({ sample_rate: '48000', channels: 2 });

    const { stdout } = await tool('ffprobe', ['-v', 'error', '-show_entries', 'format=duration,format_name', '-of', 'json', file]);
    const format = (JSON.parse(stdout) as { format: { duration: string; format_name: string } }).format;
    expect(format.format_name).toBe('mpegts');
    expect(Math.abs(Number(format.duration) - 3)).toBeLessThan(0.2);

    const video = await probePackets(file, 'v:0');
    expect(video).toHaveLength(75);
    const keys = video.filter((p) => p.keyframe).map((p) => p.pts);
    expect(keys).toHaveLength(3);
    keys.slice(1).forEach((k, i) => expect(k - keys[i]!).toBeCloseTo(1, 3));

    // A receiver joining anywhere finds a PAT within ~100 ms of media.
    const ts = readFileSync(file);
    let pats = 0;
    for (let off = 0; off < ts.length; off += 188) if (pidOf(ts.subarray(off, off + 188)) === 0) pats++;
    expect(pats).toBeGreaterThanOrEqual(3 * 8);

    // Cached: the same options give the same file without running ffmpeg again.
    const t0 = performance.now();
    expect(await makeLiveTs({ seconds: 3 })).toBe(file);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('honours fps, gopSeconds, size, bframes and audio: false', async () => {
    const file = await makeLiveTs({ seconds: 2, fps: 30, gopSeconds: 0.5, width: 256, height: 144, bframes: true, audio: false });
    const streams = await probeStreams(file);
    expect(streams).toHaveLength(1);
    expect(streams[0]).toMatchObject({ codec_name: 'h264', width: 256, height: 144, r_frame_rate: '30/1' });
    const video = await probePackets(file, 'v:0');
    expect(video).toHaveLength(60);
    const keys = video.filter((p) => p.keyframe).map((p) => p.pts);
    expect(keys).toHaveLength(4);
    keys.slice(1).forEach((k, i) => expect(k - keys[i]!).toBeCloseTo(0.5, 3));
    expect(video.some((p) => p.pts !== p.dts)).toBe(true);
  });

  it('startPts near 2^33/90000 gives a file whose raw PTS really wraps', async () => {
    const file = await makeLiveTs({ seconds: 4, startPts: PTS_WRAP_SECONDS - 3 });
    // -correct_ts_overflow 0: the 33-bit values as written (by default ffprobe unwraps them).
    const { stdout } = await tool('ffprobe', ['-v', 'error', '-correct_ts_overflow', '0', '-show_entries', 'packet=stream_index,pts', '-of', 'csv=p=0', file]);
    const rows = stdout
      .split('\n')
      .filter((l) => /^\d+,\d+/.test(l))
      .map((l) => l.split(',').slice(0, 2).map(Number) as [number, number]);
    const wrap = 2 ** 33;
    for (const stream of [0, 1]) {
      const pts = rows.filter((r) => r[0] === stream).map((r) => r[1]);
      expect(Math.max(...pts)).toBeGreaterThan(wrap - 90_000);
      expect(Math.max(...pts)).toBeLessThan(wrap);
      // Exactly one drop (decode order, no B-frames): from just below 2^33 to just above 0.
      const drops = pts.flatMap((p, i) => (i > 0 && p < pts[i - 1]! ? [i] : []));
      expect(drops).toHaveLength(1);
      const at = drops[0]!;
      expect(pts[at - 1]!).toBeGreaterThan(wrap - 90_000);
      expect(pts[at]!).toBeLessThan(90_000);
      // First PTS = startPts + ffmpeg's 1.4 s mux delay (audio starts 1024 samples of priming earlier).
      expect((wrap - pts[0]!) / 90_000).toBeGreaterThan(1.55);
      expect((wrap - pts[0]!) / 90_000).toBeLessThan(1.65);
    }
    // Decodes as one continuous 4 s stream, and the pacer's PCR clock unwraps too.
    const video = await probePackets(file, 'v:0');
    expect(video).toHaveLength(100);
    expect(new TsPacer(readFileSync(file), { port: 9 }).duration).toBeCloseTo(4, 0);
  });
});

describe('TsPacer', () => {
  it('delivers every byte, in order, in 1316-byte datagrams, at about the requested rate', async () => {
    const ts = readFileSync(await makeLiveTs({ seconds: 2 }));
    const sink = await capture();
    const pacer = new TsPacer(ts, { port: sink.port, speed: 2 });
    expect(pacer.duration).toBeGreaterThan(1.9);
    expect(pacer.duration).toBeLessThan(2.1);
    const t0 = performance.now();
    const stats = await pacer.start().done;
    await sink.until(() => sink.bytes() === ts.length);
    expect(stats).toMatchObject({ bytes: ts.length, datagrams: Math.ceil(ts.length / 1316), loops: 1, stopped: false });
    expect(Buffer.concat(sink.datagrams).equals(ts)).toBe(true);
    expect(sink.datagrams.slice(0, -1).every((d) => d.length === 1316)).toBe(true);
    // 2 s of media at speed 2: about 1 s. A noisy 2-core VM gets a generous upper bound.
    const seconds = (sink.times.at(-1)! - t0) / 1000;
    expect(seconds).toBeGreaterThan(0.8);
    expect(seconds).toBeLessThan(2.5);
    // Spread out, not a burst: half-way through the wall time, a good part but not all has arrived.
    const half = sink.times.filter((t) => t - t0 < (seconds * 1000) / 2).length / sink.times.length;
    expect(half).toBeGreaterThan(0.2);
    expect(half).toBeLessThan(0.8);
    await sink.close();
  });

  it('rtp: each datagram gets a 12-byte RTP header (V=2, PT=33, sequence +1, 90 kHz timestamp, fixed SSRC)', async () => {
    const ts = readFileSync(await makeLiveTs({ seconds: 1 }));
    const sink = await capture();
    const done = recorder();
    const stats = await new TsPacer(ts, { port: sink.port, speed: 4, rtp: true, onDone: done.callback }).start().done;
    expect(done.calls).toEqual([stats]);
    await sink.until(() => sink.datagrams.length === stats.datagrams);
    const headers = sink.datagrams.map((d) => ({
      vpxcc: d[0],
      mpt: d[1],
      seq: d.readUInt16BE(2),
      timestamp: d.readUInt32BE(4),
      ssrc: d.readUInt32BE(8),
    }));
    expect(headers.every((h) => h.vpxcc === 0x80 && h.mpt === 33 && h.ssrc === RTP_SSRC)).toBe(true);
    expect(headers.map((h) => h.seq)).toEqual(headers.map((_, i) => i));
    headers.slice(1).forEach((h, i) => expect(h.timestamp).toBeGreaterThanOrEqual(headers[i]!.timestamp));
    expect(headers.at(-1)!.timestamp).toBeGreaterThan(0.8 * 90_000);
    expect(headers.at(-1)!.timestamp).toBeLessThan(1.1 * 90_000);
    expect(sink.datagrams.slice(0, -1).every((d) => d.length === RTP_HEADER_SIZE + 1316 && d[RTP_HEADER_SIZE] === 0x47)).toBe(true);
    expect(Buffer.concat(sink.datagrams.map((d) => d.subarray(RTP_HEADER_SIZE))).equals(ts)).toBe(true);
    await sink.close();
  });

  it('loop: starts over until stop(); packetsPerDatagram sets the datagram size', async () => {
    const ts = readFileSync(await makeLiveTs({ seconds: 1 }));
    const sink = await capture();
    const pacer = new TsPacer(ts, { port: sink.port, speed: 8, loop: true, packetsPerDatagram: 4 }).start();
    await sink.until(() => pacer.progress.loops >= 2);
    const stats = await pacer.stop();
    expect(stats.stopped).toBe(true);
    expect(stats.bytes).toBeGreaterThanOrEqual(2 * ts.length);
    await sink.until(() => sink.bytes() === stats.bytes);
    expect(sink.datagrams.every((d) => d.length <= 4 * 188 && d[0] === 0x47)).toBe(true);
    // The second pass repeats the first byte for byte.
    const all = Buffer.concat(sink.datagrams);
    expect(all.subarray(ts.length, 2 * ts.length).equals(ts)).toBe(true);
    await sink.close();
  });

  it('sendOnce pushes the whole buffer at once, in order, without losses', async () => {
    const ts = readFileSync(await makeLiveTs({ seconds: 3 }));
    const sink = await capture();
    const t0 = performance.now();
    const n = await sendOnce(ts, { port: sink.port });
    expect(n).toBe(Math.ceil(ts.length / 1316));
    await sink.until(() => sink.bytes() === ts.length);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(Buffer.concat(sink.datagrams).equals(ts)).toBe(true);
    await sink.close();
  });
});

describe('UdpRelay', () => {
  it('without faults forwards every datagram in order', async () => {
    const { relay, arrivals } = await throughRelay({}, 1, 50);
    expect(arrivals.map(indexOf)).toEqual([...Array(50).keys()]);
    expect(relay.counters).toMatchObject({ received: 50, sent: 50, dropped: 0, duplicated: 0, reordered: 0, garbage: 0 });
  });

  it('every-Nth faults act on exactly those datagrams', async () => {
    const drop = await throughRelay({ drop: { every: 10 } }, 1, 100);
    expect(drop.relay.counters.dropped).toBe(10);
    expect(drop.arrivals.map(indexOf)).toEqual([...Array(100).keys()].filter((i) => (i + 1) % 10 !== 0));

    const dup = await throughRelay({ duplicate: { every: 25 } }, 1, 100);
    expect(dup.relay.counters.duplicated).toBe(4);
    expect(dup.arrivals.map(indexOf)).toEqual([...Array(100).keys()].flatMap((i) => ((i + 1) % 25 === 0 ? [i, i] : [i])));

    // The 20th of those reaching the reorder step is held, and goes out after its successor.
    const re = await throughRelay({ reorder: { every: 20 } }, 1, 100);
    expect(re.relay.counters.reordered).toBe(4);
    const order = re.arrivals.map(indexOf);
    expect(order).toHaveLength(100);
    expect(order.slice(17, 23)).toEqual([17, 18, 20, 19, 21, 22]);
    expect([...order].sort((a, b) => a! - b!)).toEqual([...Array(100).keys()]);

    const garbage = await throughRelay({ garbage: { every: 5 } }, 7, 100);
    const c = garbage.relay.counters;
    expect(c.garbage).toBe(20);
    expect(c.garbageBadSync + c.garbageRandom).toBe(20);
    const junk = garbage.arrivals.filter((d) => indexOf(d) === undefined);
    expect(junk).toHaveLength(20);
    expect(junk.filter((d) => d.length === 188 && d[0] !== 0x47).length).toBeGreaterThanOrEqual(c.garbageBadSync);
    expect(junk.every((d) => d.length >= 1 && d.length <= 1500)).toBe(true);
    // Garbage goes out just before the datagram that triggered it (the 5th, 10th, …).
    expect(indexOf(garbage.arrivals[5]!)).toBe(4);
    expect(garbage.arrivals.map(indexOf).filter((i) => i !== undefined)).toEqual([...Array(100).keys()]);
  });

  it('random faults: counters add up to what arrives, and the same seed replays the same arrivals', async () => {
    const faults: FaultProfile = { drop: 0.1, duplicate: 0.05, reorder: 0.05, garbage: 0.05 };
    const a = await throughRelay(faults, 42, 300);
    const c = a.relay.counters;
    expect(a.relay.seed).toBe(42);
    expect(c.received).toBe(300);
    expect(c.sent).toBe(c.received - c.dropped + c.duplicated + c.garbage);
    expect(a.arrivals).toHaveLength(c.sent);
    for (const n of [c.dropped, c.duplicated, c.reordered, c.garbage]) expect(n).toBeGreaterThan(0);
    const numberedArrivals = a.arrivals.map(indexOf).filter((i) => i !== undefined);
    expect(new Set(numberedArrivals).size).toBe(300 - c.dropped);
    expect(numberedArrivals).toHaveLength(300 - c.dropped + c.duplicated);

    const again = await throughRelay(faults, 42, 300);
    expect(again.relay.counters).toEqual(c);
    expect(again.arrivals.map((d) => d.toString('hex'))).toEqual(a.arrivals.map((d) => d.toString('hex')));

    const other = await throughRelay(faults, 43, 300);
    expect(other.arrivals.map((d) => d.toString('hex'))).not.toEqual(a.arrivals.map((d) => d.toString('hex')));
  });

  it('pause() discards what the source sends until resume(); faults can change while running', async () => {
    const sink = await capture();
    const relay = await new UdpRelay({ targetPort: sink.port }).start();
    await sendNumbered(relay.port, 0, 10);
    await sink.until(() => sink.datagrams.length === 10);
    relay.pause();
    await sendNumbered(relay.port, 10, 10);
    await sink.until(() => relay.counters.received === 20);
    relay.resume();
    relay.setFaults({ drop: { every: 2 } });
    await sendNumbered(relay.port, 20, 10);
    await sink.until(() => relay.counters.received === 30 && sink.datagrams.length === 15);
    await relay.stop();
    expect(sink.datagrams.map(indexOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 22, 24, 26, 28]);
    expect(relay.counters).toMatchObject({ received: 30, sent: 15, discardedWhilePaused: 10, dropped: 5 });
    await sink.close();
  });

  it('relays a paced TS stream (the way integration tests use it)', async () => {
    const ts = readFileSync(await makeLiveTs({ seconds: 1 }));
    const sink = await capture();
    const relay = await new UdpRelay({ targetPort: sink.port, seed: 5, faults: { drop: { every: 10 } } }).start();
    const stats = await new TsPacer(ts, { port: relay.port, speed: 4 }).start().done;
    await sink.until(() => relay.counters.received === stats.datagrams && sink.datagrams.length === relay.counters.sent);
    await relay.stop();
    expect(relay.counters.dropped).toBe(Math.floor(stats.datagrams / 10));
    expect(sink.bytes()).toBeLessThan(ts.length);
    expect(sink.datagrams.every((d) => d[0] === 0x47)).toBe(true);
    await sink.close();
  });
});

describe('ffmpegUdpPush', () => {
  const dir = mkdtempSync(join(tmpdir(), 'udp-push-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ffmpeg -re writes MPEG-TS to UDP in 1316-byte datagrams, in real time', async () => {
    const sink = await capture();
    const t0 = performance.now();
    const push = await ffmpegUdpPush({ port: sink.port, seconds: 1.5 });
    expect(push.args.at(-1)).toBe(`udp://127.0.0.1:${sink.port}?pkt_size=1316`);
    const exit = await push.done;
    expect(exit).toMatchObject({ code: 0, stopped: false });
    expect(performance.now() - t0).toBeGreaterThan(1000);
    await sink.until(() => sink.datagrams.length > 0);
    await sleep(100);
    expect(sink.datagrams.length).toBeGreaterThan(20);
    expect(sink.datagrams.slice(0, -1).every((d) => d.length === 1316)).toBe(true);
    expect(sink.datagrams.every((d) => d.length % 188 === 0 && d[0] === 0x47)).toBe(true);
    // Spread over about the media duration, not a burst.
    expect(sink.times.at(-1)! - sink.times[0]!).toBeGreaterThan(700);
    // What arrived is a playable H.264 + AAC stream.
    const file = join(dir, 'pushed.ts');
    writeFileSync(file, Buffer.concat(sink.datagrams));
    expect((await probeStreams(file)).map((s) => s['codec_name'])).toEqual(['h264', 'aac']);
    await sink.close();
  });

  it('stop() ends ffmpeg early', async () => {
    const sink = await capture();
    const push = await ffmpegUdpPush({ port: sink.port, seconds: 60 });
    await sink.until(() => sink.datagrams.length > 0);
    const t0 = performance.now();
    const exit = await push.stop();
    expect(exit.stopped).toBe(true);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(push.process.exitCode !== null || push.process.signalCode !== null).toBe(true);
    await sink.close();
  });
});
