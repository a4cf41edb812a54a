/**
 * Live MPEG-TS sources for live-ingest tests: synthetic files made by ffmpeg (cached), a real-time UDP
 * pacer for such files (optionally RTP-wrapped), and a real-time `ffmpeg -re … -f mpegts udp://` push.
 *
 * Timestamps: ffmpeg's mpegts muxer shifts everything by its mux delay (FFMPEG_MPEGTS_DELAY_SECONDS)
 * on top of `startPts`, so the first PTS of a file is about `startPts + 1.4 s`. PAT/PMT repeat every
 * 100 ms (`-pat_period 0.1`) so a receiver can join anywhere.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

const execFileAsync = promisify(execFile);

export const TS_PACKET_SIZE = 188;
/** 2^33 ticks of the 90 kHz clock: where PTS/DTS/PCR base wrap, ≈ 95443.72 s. */
export const PTS_WRAP_SECONDS = 2 ** 33 / 90_000;
/** What ffmpeg's mpegts muxer adds to every timestamp (2 × the default -muxdelay 0.7). */
export const FFMPEG_MPEGTS_DELAY_SECONDS = 1.4;
/** SSRC of every RTP packet TsPacer/sendOnce write. */
export const RTP_SSRC = 0x5041_434b;
export const RTP_HEADER_SIZE = 12;
/** RTP payload type of MPEG-2 TS (RFC 3551). */
export const RTP_PAYLOAD_TYPE_MP2T = 33;

export interface LiveMediaOptions {
  seconds: number;
  /** Default 25. */
  fps?: number;
  /** Key frame interval in seconds (fixed GOP, no scene-cut key frames). Default 1. */
  gopSeconds?: number;
  /** Default 320. */
  width?: number;
  /** Default 180. */
  height?: number;
  /** AAC stereo 48 kHz sine. Default true. */
  audio?: boolean;
  /** Two B-frames between references (PTS ≠ DTS). Default false. */
  bframes?: boolean;
  /** Seconds added to all timestamps (`-output_ts_offset`), e.g. PTS_WRAP_SECONDS - 3 to cross the wrap. */
  startPts?: number;
  /** libx264 (default) or libx265 (its default open GOP: CRA key frames). */
  videoCodec?: 'h264' | 'hevc';
}

type ResolvedMediaOptions = Required<LiveMediaOptions>;

function resolveMedia(o: LiveMediaOptions): ResolvedMediaOptions {
  const r: ResolvedMediaOptions = {
    seconds: o.seconds,
    fps: o.fps ?? 25,
    gopSeconds: o.gopSeconds ?? 1,
    width: o.width ?? 320,
    height: o.height ?? 180,
    audio: o.audio ?? true,
    bframes: o.bframes ?? false,
    startPts: o.startPts ?? 0,
    videoCodec: o.videoCodec ?? 'h264',
  };
  if (!(r.seconds > 0)) throw new Error(`seconds must be > 0, got ${r.seconds}`);
  if (!(r.fps > 0) || !(r.gopSeconds > 0)) throw new Error('fps and gopSeconds must be > 0');
  return r;
}

// ---------------------------------------------------------------------------------------------
// ffmpeg command lines

let drawtextUsable: Promise<boolean> | undefined;

/** drawtext needs a font through fontconfig; without one the picture just has no counter. */
function canDrawText(): Promise<boolean> {
  drawtextUsable ??= execFileAsync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', "color=size=64x64,drawtext=text='0'", '-frames:v', '1', '-f', 'null', '-']).then(
    () => true,
    () => false,
  );
  return drawtextUsable;
}

/** Inputs, encoders and mpegts muxer options; the caller appends the output. */
function mediaArgs(m: ResolvedMediaOptions, opts: { realtime: boolean; drawText: boolean }): string[] {
  const re = opts.realtime ? ['-re'] : [];
  // The frame number and source time (shifted by startPts) burnt into the picture.
  const overlay = opts.drawText
    ? `,drawtext=text='%{frame_num} %{pts\\:hms\\:${m.startPts}}':fontsize=${Math.max(12, Math.round(m.height / 8))}:fontcolor=white:box=1:boxcolor=black@0.6:x=8:y=8`
    : '';
  const gop = String(Math.max(1, Math.round(m.fps * m.gopSeconds)));
  const args = ['-hide_banner', '-nostdin', '-v', 'error'];
  args.push(...re, '-f', 'lavfi', '-i', `testsrc2=size=${m.width}x${m.height}:rate=${m.fps}${overlay}`);
  if (m.audio) args.push(...re, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push('-t', String(m.seconds), '-map', '0:v');
  if (m.audio) args.push('-map', '1:a');
  if (m.videoCodec === 'hevc') {
    // x265 takes its GOP and scene-cut settings through -x265-params only.
    const x265 = `keyint=${gop}:min-keyint=${gop}:scenecut=0:bframes=${m.bframes ? 2 : 0}:b-adapt=0:log-level=error`;
    args.push('-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', x265, '-pix_fmt', 'yuv420p');
  } else {
    args.push('-c:v', 'libx264', '-preset', 'ultrafast');
    // zerolatency forbids B-frames; without it ultrafast still uses a fixed pattern (b_adapt 0).
    args.push(...(m.bframes ? ['-bf', '2'] : ['-tune', 'zerolatency', '-bf', '0']));
    args.push('-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-pix_fmt', 'yuv420p');
  }
  if (m.audio) args.push('-c:a', 'aac', '-ar', '48000', '-ac', '2', '-b:a', '96k');
  if (m.startPts !== 0) args.push('-output_ts_offset', String(m.startPts));
  args.push('-f', 'mpegts', '-pat_period', '0.1', '-sdt_period', '0.5');
  return args;
}

/** The ffmpeg arguments makeLiveTs runs (without the output path), for reports and debugging. */
export async function liveTsArgs(opts: LiveMediaOptions): Promise<string[]> {
  return mediaArgs(resolveMedia(opts), { realtime: false, drawText: await canDrawText() });
}

// ---------------------------------------------------------------------------------------------
// makeLiveTs: cached synthetic files

const CACHE_DIR = join(tmpdir(), 'packager-live-ts');
const pending = new Map<string, Promise<string>>();

/**
 * Path of an MPEG-TS file (H.264 or H.265, + AAC) made by ffmpeg from lavfi testsrc2/sine. Files are cached in
 * a temp directory by a hash of the ffmpeg command line, and written through a rename so parallel
 * test workers never read a partial file.
 */
export async function makeLiveTs(opts: LiveMediaOptions): Promise<string> {
  const args = await liveTsArgs(opts);
  const key = createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 16);
  const file = join(CACHE_DIR, `live-${opts.seconds}s-${key}.ts`);
  let p = pending.get(file);
  if (!p) {
    p = generate(args, file);
    pending.set(file, p);
    p.catch(() => pending.delete(file));
  }
  return p;
}

async function generate(args: string[], file: string): Promise<string> {
  if (existsSync(file)) return file;
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await execFileAsync('ffmpeg', [...args, '-y', tmp], { maxBuffer: 16 * 1024 * 1024 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// Datagrams and RTP

function assertTs(buf: Uint8Array): void {
  if (buf.length === 0 || buf.length % TS_PACKET_SIZE !== 0 || buf[0] !== 0x47) {
    throw new Error(`not an aligned MPEG-TS buffer (${buf.length} bytes, first byte ${buf[0]})`);
  }
}

function rtpPacket(payload: Uint8Array, sequence: number, timestamp90k: number): Buffer {
  const out = Buffer.allocUnsafe(RTP_HEADER_SIZE + payload.length);
  out[0] = 0x80; // V=2, no padding, no extension, no CSRC
  out[1] = RTP_PAYLOAD_TYPE_MP2T; // marker 0
  out.writeUInt16BE(sequence & 0xffff, 2);
  out.writeUInt32BE(Math.floor(timestamp90k) >>> 0, 4);
  out.writeUInt32BE(RTP_SSRC, 8);
  out.set(payload, RTP_HEADER_SIZE);
  return out;
}

function send(sock: Socket, data: Uint8Array, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => sock.send(data, port, host, (err) => (err ? reject(err) : resolve())));
}

function closeSocket(sock: Socket): Promise<void> {
  return new Promise((resolve) => sock.close(() => resolve()));
}

export interface UdpTarget {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** TS packets per datagram; default 7 (1316 bytes). */
  packetsPerDatagram?: number;
  /** Wrap each datagram in a 12-byte RTP header (V=2, PT=33, sequence +1, 90 kHz timestamp, RTP_SSRC). */
  rtp?: boolean;
}

/**
 * Sends all of `buf` once, as fast as the socket takes it, yielding to the event loop every 32
 * datagrams so a receiver in this process keeps up (loopback drops what overflows its receive
 * buffer). RTP timestamps are 0 here (no clock). Resolves with the number of datagrams sent.
 */
export async function sendOnce(buf: Uint8Array, target: UdpTarget): Promise<number> {
  assertTs(buf);
  const host = target.host ?? '127.0.0.1';
  const step = (target.packetsPerDatagram ?? 7) * TS_PACKET_SIZE;
  const sock = createSocket('udp4');
  let failure: Error | undefined;
  sock.on('error', (e) => (failure ??= e));
  let count = 0;
  try {
    for (let off = 0; off < buf.length; off += step) {
      const chunk = buf.subarray(off, Math.min(off + step, buf.length));
      const data = target.rtp ? rtpPacket(chunk, count, 0) : chunk;
      count++;
      // Every 32nd send (and the last) is awaited; the kernel reports errors on the same socket anyway.
      if (count % 32 === 0 || off + step >= buf.length) {
        await send(sock, data, target.port, host);
        await yieldToEventLoop();
      } else {
        sock.send(data, target.port, host);
      }
      if (failure) throw failure;
    }
  } finally {
    await closeSocket(sock);
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// TsPacer: real-time sending

/** Byte offset and PCR (seconds, unwrapped) of every PCR-carrying packet. */
function readPcrs(buf: Uint8Array): Array<{ offset: number; seconds: number }> {
  const out: Array<{ offset: number; seconds: number }> = [];
  let wraps = 0;
  let prev = -1;
  for (let off = 0; off + TS_PACKET_SIZE <= buf.length; off += TS_PACKET_SIZE) {
    const hasAdaptation = (buf[off + 3]! & 0x20) !== 0;
    if (!hasAdaptation || buf[off + 4]! < 7 || (buf[off + 5]! & 0x10) === 0) continue;
    const b = off + 6;
    // 33-bit base at 90 kHz (the top 32 bits then 1 bit), 6 reserved bits, 9-bit extension at 27 MHz.
    const base = buf[b]! * 2 ** 25 + buf[b + 1]! * 2 ** 17 + buf[b + 2]! * 2 ** 9 + buf[b + 3]! * 2 + (buf[b + 4]! >> 7);
    const ext = ((buf[b + 4]! & 1) << 8) | buf[b + 5]!;
    if (prev >= 0 && base < prev - 2 ** 32) wraps++;
    prev = base;
    out.push({ offset: off, seconds: (base + wraps * 2 ** 33) / 90_000 + ext / 27_000_000 });
  }
  return out;
}

/**
 * Send time (seconds from the start) of each datagram, and the whole buffer's duration: linear in
 * bytes between PCRs (extrapolated at the average rate before the first and after the last), or
 * plain size/duration when `durationSeconds` is given or the buffer has fewer than two PCRs.
 */
function schedule(buf: Uint8Array, step: number, durationSeconds: number | undefined): { times: Float64Array; duration: number } {
  const n = Math.ceil(buf.length / step);
  const times = new Float64Array(n);
  const pcrs = durationSeconds === undefined ? readPcrs(buf) : [];
  const first = pcrs[0];
  const last = pcrs.at(-1);
  if (!first || !last || last.seconds <= first.seconds) {
    if (durationSeconds === undefined) throw new Error('TsPacer: the buffer has fewer than two PCRs; pass durationSeconds');
    for (let i = 0; i < n; i++) times[i] = ((i * step) / buf.length) * durationSeconds;
    return { times, duration: durationSeconds };
  }
  const rate = (last.seconds - first.seconds) / (last.offset - first.offset); // seconds per byte
  const at = (offset: number, k: number): number => {
    const a = pcrs[k]!;
    const b = pcrs[k + 1];
    const slope = b && b.offset > a.offset ? (b.seconds - a.seconds) / (b.offset - a.offset) : rate;
    return a.seconds - first.seconds + (offset - a.offset) * slope;
  };
  let k = 0;
  for (let i = 0; i < n; i++) {
    const offset = i * step;
    while (k + 1 < pcrs.length && pcrs[k + 1]!.offset <= offset) k++;
    times[i] = Math.max(0, offset < first.offset ? (offset - first.offset) * rate : at(offset, k));
  }
  return { times, duration: Math.max(times[n - 1]!, last.seconds - first.seconds + (buf.length - last.offset) * rate) };
}

export interface TsPacerOptions extends UdpTarget {
  /** Media seconds per wall-clock second; default 1. Above 1 the receiver gets data faster than real time. */
  speed?: number;
  /**
   * Start again from the first byte after the last one, until stop(). The bytes are resent unchanged,
   * so every loop is a discontinuity: PTS/DTS/PCR jump back and continuity counters break. For a long
   * continuous stream, make a longer file instead.
   */
  loop?: boolean;
  /** Pace by size/duration instead of by the PCRs. */
  durationSeconds?: number;
  onDone?: (stats: TsPacerStats) => void;
}

export interface TsPacerStats {
  datagrams: number;
  /** TS bytes sent (RTP headers not counted). */
  bytes: number;
  /** Completed passes over the buffer. */
  loops: number;
  /** True when ended by stop() rather than by reaching the end. */
  stopped: boolean;
}

/**
 * Sends a TS buffer over UDP in real time (× speed), in bursts every ~5 ms: each datagram leaves when
 * the media time it carries (from the PCRs) is due. `done` resolves at the end (never with loop, until
 * stop()) and rejects on a socket error.
 */
export class TsPacer {
  readonly done: Promise<TsPacerStats>;
  /** Duration of one pass over the buffer, media seconds. */
  readonly duration: number;
  private readonly buf: Uint8Array;
  private readonly opts: TsPacerOptions;
  private readonly step: number;
  private readonly times: Float64Array;
  private readonly stats: TsPacerStats = { datagrams: 0, bytes: 0, loops: 0, stopped: false };
  private sock: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private startedAt = 0;
  private finished = false;
  private inFlight = 0;
  private failure: Error | undefined;
  private resolveDone!: (s: TsPacerStats) => void;
  private rejectDone!: (e: Error) => void;

  constructor(buf: Uint8Array, opts: TsPacerOptions) {
    assertTs(buf);
    if (opts.speed !== undefined && !(opts.speed > 0)) throw new Error(`speed must be > 0, got ${opts.speed}`);
    this.buf = buf;
    this.opts = opts;
    this.step = (opts.packetsPerDatagram ?? 7) * TS_PACKET_SIZE;
    const s = schedule(buf, this.step, opts.durationSeconds);
    this.times = s.times;
    this.duration = s.duration;
    this.done = new Promise<TsPacerStats>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined); // a caller that never awaits `done` must not crash the run
  }

  get progress(): Readonly<TsPacerStats> {
    return { ...this.stats };
  }

  start(): this {
    if (this.sock || this.finished) throw new Error('TsPacer already started');
    const sock = createSocket('udp4');
    sock.on('error', (e) => this.finish(e));
    this.sock = sock;
    this.startedAt = performance.now();
    this.tick();
    return this;
  }

  /** Stops sending; resolves `done` (stats.stopped = true) once the socket is closed. */
  async stop(): Promise<TsPacerStats> {
    if (!this.finished) {
      this.stats.stopped = true;
      this.finish();
    }
    return this.done;
  }

  private mediaElapsed(): number {
    return ((performance.now() - this.startedAt) / 1000) * (this.opts.speed ?? 1);
  }

  private tick(): void {
    this.timer = undefined;
    const sock = this.sock;
    if (!sock || this.finished) return;
    const elapsed = this.mediaElapsed();
    const host = this.opts.host ?? '127.0.0.1';
    for (;;) {
      if (this.next === this.times.length) {
        this.stats.loops++;
        if (!this.opts.loop) return this.finish();
        this.next = 0;
      }
      const due = this.stats.loops * this.duration + this.times[this.next]!;
      if (due > elapsed) break;
      const off = this.next * this.step;
      const chunk = this.buf.subarray(off, Math.min(off + this.step, this.buf.length));
      const data = this.opts.rtp ? rtpPacket(chunk, this.stats.datagrams, due * 90_000) : chunk;
      this.inFlight++;
      sock.send(data, this.opts.port, host, (err) => this.sent(err));
      this.stats.datagrams++;
      this.stats.bytes += chunk.length;
      this.next++;
    }
    this.timer = setTimeout(() => this.tick(), 5);
  }

  private sent(err: Error | null): void {
    this.inFlight--;
    if (err) this.failure ??= err;
    if (err && !this.finished) this.finish();
    else if (this.finished && this.inFlight === 0) this.close();
  }

  private finish(err?: Error): void {
    if (this.finished) return;
    this.finished = true;
    if (err) this.failure ??= err;
    if (this.timer) clearTimeout(this.timer);
    // Closing a socket cancels the sends still queued: the last callback closes it instead.
    if (this.inFlight === 0) this.close();
  }

  private close(): void {
    const sock = this.sock;
    this.sock = undefined;
    const settle = (): void => {
      if (this.failure) return this.rejectDone(this.failure);
      this.opts.onDone?.({ ...this.stats });
      this.resolveDone({ ...this.stats });
    };
    if (sock) sock.close(settle);
    else settle();
  }
}

// ---------------------------------------------------------------------------------------------
// ffmpegUdpPush: ffmpeg writing to UDP itself

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers must be synchronous: a SIGKILL is all that can be done here.
    process.on('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export interface FfmpegUdpPushOptions extends LiveMediaOptions {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** `-re` on every input (real-time rate). Default true. */
  realtime?: boolean;
  /** Datagram size; default 1316 (7 TS packets). */
  pktSize?: number;
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when ended by stop(). */
  stopped: boolean;
}

export interface FfmpegUdpPush {
  readonly process: ChildProcess;
  /** The full ffmpeg argument list. */
  readonly args: string[];
  /** SIGTERM, then SIGKILL after 2 s; resolves when ffmpeg has exited. */
  stop(): Promise<FfmpegExit>;
  /** Resolves when ffmpeg exits after `seconds` or stop(); rejects (with its stderr) when it fails on its own. */
  readonly done: Promise<FfmpegExit>;
}

/**
 * Spawns `ffmpeg -re … -f mpegts udp://host:port?pkt_size=1316` from the same synthetic sources as
 * makeLiveTs. ffmpeg ends by itself after `seconds`, so even a killed test worker leaves no process
 * running for longer than that; stop() and a process 'exit' hook end it earlier.
 */
export async function ffmpegUdpPush(opts: FfmpegUdpPushOptions): Promise<FfmpegUdpPush> {
  const media = resolveMedia(opts);
  const url = `udp://${opts.host ?? '127.0.0.1'}:${opts.port}?pkt_size=${opts.pktSize ?? 7 * TS_PACKET_SIZE}`;
  // -flush_packets 0: fill every datagram (ffmpeg otherwise flushes, i.e. sends a short datagram, after each frame).
  const args = [...mediaArgs(media, { realtime: opts.realtime ?? true, drawText: await canDrawText() }), '-flush_packets', '0', url];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  let stopped = false;
  const done = new Promise<FfmpegExit>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (stopped || code === 0) resolve({ code, signal, stopped });
      else reject(new Error(`ffmpeg exited with ${code ?? signal}: ${stderr.trim()}\n  ffmpeg ${args.join(' ')}`));
    });
  });
  done.catch(() => undefined);
  const stop = async (): Promise<FfmpegExit> => {
    if (child.exitCode === null && child.signalCode === null) {
      stopped = true;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await done.catch(() => undefined).finally(() => clearTimeout(killer));
    }
    return done;
  };
  return { process: child, args, stop, done };
}
