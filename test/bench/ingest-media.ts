/**
 * The live-ingest bench's sources: one constant-bitrate MPEG-TS at 5 Mbit/s (720p25 H.264, 2 s closed
 * GOPs, + AAC-LC 48 kHz stereo 128 kbit/s, `-muxrate 5000000` so null packets fill the rest), generated
 * once into test/bench/media/ (git-ignored). testsrc2 gets temporal noise so that x264 really spends its
 * 4.5 Mbit/s (a clean test pattern compresses to a few hundred kbit/s). Two ways to mux it
 * (BENCH_INGEST_SOURCE):
 *  - `default`: ffmpeg's defaults, two B-frames: audio PES of ~2930 bytes (8 AAC frames, 170 ms), so
 *    the audio a segment waits for arrives 100-240 ms after its closing key frame;
 *  - `lowlatency`: as low-latency encoders send it: one AAC frame per PES (`-pes_payload_size 0`)
 *    and no B-frames (`-bf 0`: a key frame is presented when it is decoded, not 80 ms later).
 *
 * analyseIngestTs() then cuts the file into 1316-byte datagrams (7 TS packets) and works out, offline:
 *  - when each datagram is due (from the PCRs: the file is CBR, so they are evenly spaced);
 *  - for every video access unit, the datagrams holding its first and its last TS packet;
 *  - which datagram makes the server release each segment, by replaying the datagrams through the
 *    server's own TsDemuxer and LiveSegmenter (src/source/live): a segment is released once the
 *    demuxer has output its closing key frame (ffmpeg's video PES have no length: at the first packet
 *    of the next video PES) and the audio has reached the key frame's PTS.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsDemuxer } from '../../src/source/live/ts-demux.js';
import { LiveSegmenter } from '../../src/source/live/live-segmenter.js';
import { MEDIA_DIR } from './media.js';
import { run } from './proc.js';

export const TS_PACKET = 188;
export const PACKETS_PER_DATAGRAM = 7;
export const DATAGRAM_BYTES = TS_PACKET * PACKETS_PER_DATAGRAM;
export const MUX_RATE = 5_000_000;
export const SEGMENT_DURATION = 2;
const FPS = 25;
const GOP = 50;
const STEP_TIMEOUT_MS = 5 * 60_000;

export type IngestSource = 'default' | 'lowlatency';

export const INGEST_SOURCES: Readonly<Record<IngestSource, { readonly label: string; readonly file: string; readonly x264: readonly string[]; readonly mux: readonly string[] }>> = {
  default: { label: '2 B-frames, 8 AAC frames per PES (ffmpeg defaults)', file: '', x264: ['-bf', '2'], mux: [] },
  lowlatency: { label: 'no B-frames, 1 AAC frame per PES (-bf 0 -pes_payload_size 0)', file: '-ll', x264: ['-bf', '0'], mux: ['-pes_payload_size', '0'] },
};

export interface IngestMediaFile {
  readonly source: IngestSource;
  readonly path: string;
  readonly bytes: number;
  readonly seconds: number;
  /** Seconds spent generating, or null when an existing file was reused. */
  readonly generatedInS: number | null;
}

/** One segment boundary of the file: the key frame that closes segment `number` (and opens the next). */
export interface Boundary {
  /** The segment this key frame closes (as numbered by the server: floor(start PTS / duration) + 1). */
  readonly number: number;
  /** PTS of the closing key frame, 90 kHz. */
  readonly keyPts: number;
  /** Datagram holding the key frame's first TS packet (PES start). */
  readonly keyFirst: number;
  /** Datagram holding the key frame's last TS packet. */
  readonly keyLast: number;
  /** The datagram after which the demuxer has output the key frame (the next video PES started). */
  readonly videoReady: number;
  /** The datagram after which the demuxer has output an audio frame at or past the key frame's PTS. */
  readonly audioReady: number;
  /** The datagram whose arrival lets the server's demuxer + segmenter release the segment. */
  readonly release: number;
}

export interface IngestAnalysis {
  readonly datagrams: number;
  /** Due time of each datagram, seconds from the first one. */
  readonly times: readonly number[];
  readonly seconds: number;
  /** TS bit rate from the PCRs, bit/s. */
  readonly bitrate: number;
  /** Mean bytes per key frame and per other video frame, for the report. */
  readonly keyFrameBytes: number;
  readonly otherFrameBytes: number;
  readonly boundaries: readonly Boundary[];
}

const fileName = (seconds: number, source: IngestSource): string => `ingest-720p25-5M${INGEST_SOURCES[source].file}-${seconds}s-v1.mpegts`;

async function probeSeconds(path: string): Promise<number | null> {
  const r = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration,bit_rate', '-of', 'json', path], { timeoutMs: 60_000, allowFailure: true });
  if (r.code !== 0) return null;
  const j = JSON.parse(r.stdout) as { format?: { duration?: string; bit_rate?: string } };
  const d = Number(j.format?.duration ?? NaN);
  const rate = Number(j.format?.bit_rate ?? NaN);
  return Number.isFinite(d) && Math.abs(rate - MUX_RATE) < MUX_RATE * 0.02 ? d : null;
}

/** The bench TS of at least `seconds`, generated when missing (about a third of its duration on one core). */
export async function ensureIngestMedia(seconds: number, log: (line: string) => void, source: IngestSource = 'default'): Promise<IngestMediaFile> {
  const whole = Math.ceil(seconds);
  const path = join(MEDIA_DIR, fileName(whole, source));
  const stampPath = `${path}.ok`;
  const existing = await stat(path).catch(() => null);
  if (existing) {
    const stamp = await readFile(stampPath, 'utf8').catch(() => '');
    const d = stamp === `${existing.size}\n` ? await probeSeconds(path) : null;
    if (d !== null && d >= whole - 0.5) return { source, path, bytes: existing.size, seconds: d, generatedInS: null };
    log(`ingest media ${path} is unusable; generating it again`);
  }
  await rm(stampPath, { force: true });
  await mkdir(MEDIA_DIR, { recursive: true });
  log(`generating ${whole} s of 720p25 H.264 + AAC as a 5 Mbit/s CBR MPEG-TS (${INGEST_SOURCES[source].label}) into ${path} (once)`);
  const t0 = performance.now();
  const partial = `${path}.tmp.mpegts`; // not .ts: tsc would take it for TypeScript
  try {
    await run(
      'ffmpeg',
      [
        ...['-hide_banner', '-nostdin', '-v', 'error', '-y'],
        ...['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=${FPS}`],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
        ...['-t', String(whole), '-map', '0:v', '-map', '1:a', '-vf', 'noise=alls=16:allf=t'],
        ...['-c:v', 'libx264', '-preset', 'veryfast', ...INGEST_SOURCES[source].x264, '-g', String(GOP), '-keyint_min', String(GOP), '-sc_threshold', '0'],
        ...['-b:v', '4500k', '-maxrate', '4500k', '-bufsize', '2000k', '-pix_fmt', 'yuv420p'],
        ...['-c:a', 'aac', '-ar', '48000', '-ac', '2', '-b:a', '128k'],
        ...['-f', 'mpegts', '-muxrate', String(MUX_RATE), '-pat_period', '0.1', '-sdt_period', '0.5', ...INGEST_SOURCES[source].mux],
        partial,
      ],
      { timeoutMs: STEP_TIMEOUT_MS },
    );
    const d = await probeSeconds(partial);
    if (d === null) throw new Error('generated ingest media is not a 5 Mbit/s TS');
    await rename(partial, path);
    const st = await stat(path);
    await writeFile(stampPath, `${st.size}\n`);
    return { source, path, bytes: st.size, seconds: d, generatedInS: (performance.now() - t0) / 1000 };
  } finally {
    await rm(partial, { force: true });
  }
}

function pcrAt(buf: Uint8Array, off: number): number | null {
  const hasAdaptation = (buf[off + 3]! & 0x20) !== 0;
  if (!hasAdaptation || buf[off + 4]! < 7 || (buf[off + 5]! & 0x10) === 0) return null;
  const b = off + 6;
  const base = buf[b]! * 2 ** 25 + buf[b + 1]! * 2 ** 17 + buf[b + 2]! * 2 ** 9 + buf[b + 3]! * 2 + (buf[b + 4]! >> 7);
  const ext = ((buf[b + 4]! & 1) << 8) | buf[b + 5]!;
  return base / 90_000 + ext / 27_000_000;
}

/** PTS of a PES starting at `p` (payload of a PUSI packet), or null. */
function pesPts(buf: Uint8Array, p: number): number | null {
  if (buf[p] !== 0 || buf[p + 1] !== 0 || buf[p + 2] !== 1) return null;
  if ((buf[p + 7]! & 0x80) === 0) return null;
  const t = p + 9;
  return (((buf[t]! >> 1) & 0x07) * 2 ** 30 + ((buf[t + 1]! << 7) | (buf[t + 2]! >> 1)) * 2 ** 15 + ((buf[t + 3]! << 7) | (buf[t + 4]! >> 1)));
}

interface VideoAu {
  readonly pts: number;
  readonly key: boolean;
  readonly firstPacket: number;
  lastPacket: number;
  bytes: number;
}

export async function analyseIngestTs(path: string): Promise<IngestAnalysis> {
  const buf = new Uint8Array(await readFile(path));
  if (buf.length % TS_PACKET !== 0 || buf[0] !== 0x47) throw new Error(`${path}: not an aligned TS file`);
  const packets = buf.length / TS_PACKET;
  const datagrams = Math.ceil(buf.length / DATAGRAM_BYTES);

  // Pass 1: PMT PID, video PID, PCRs, video access units (one PES each, as ffmpeg writes them).
  let pmtPid = -1;
  let videoPid = -1;
  const pcrs: Array<{ packet: number; seconds: number }> = [];
  const aus: VideoAu[] = [];
  for (let i = 0; i < packets; i++) {
    const off = i * TS_PACKET;
    const pid = ((buf[off + 1]! & 0x1f) << 8) | buf[off + 2]!;
    const pusi = (buf[off + 1]! & 0x40) !== 0;
    const afc = (buf[off + 3]! >> 4) & 3;
    const pcr = pcrAt(buf, off);
    if (pcr !== null) pcrs.push({ packet: i, seconds: pcr });
    let p = off + 4;
    if (afc & 2) p += 1 + buf[off + 4]!;
    if ((afc & 1) === 0 || p >= off + TS_PACKET) continue;
    if (pid === 0 && pusi && pmtPid < 0) {
      const s = p + 1 + buf[p]!; // pointer field
      pmtPid = ((buf[s + 10]! & 0x1f) << 8) | buf[s + 11]!;
    } else if (pid === pmtPid && pusi && videoPid < 0) {
      const s = p + 1 + buf[p]!;
      const sectionEnd = s + 3 + (((buf[s + 1]! & 0x0f) << 8) | buf[s + 2]!) - 4;
      let e = s + 12 + (((buf[s + 10]! & 0x0f) << 8) | buf[s + 11]!);
      while (e + 5 <= sectionEnd) {
        const type = buf[e]!;
        const esPid = ((buf[e + 1]! & 0x1f) << 8) | buf[e + 2]!;
        if (type === 0x1b && videoPid < 0) videoPid = esPid;
        e += 5 + (((buf[e + 3]! & 0x0f) << 8) | buf[e + 4]!);
      }
    } else if (pid === videoPid) {
      if (pusi) {
        const pts = pesPts(buf, p);
        if (pts === null) throw new Error(`${path}: video PES without PTS at packet ${i}`);
        // random_access_indicator, which ffmpeg sets on the first packet of every key frame.
        const key = (afc & 2) !== 0 && buf[off + 4]! > 0 && (buf[off + 5]! & 0x40) !== 0;
        aus.push({ pts, key, firstPacket: i, lastPacket: i, bytes: off + TS_PACKET - p });
      } else {
        const au = aus.at(-1);
        if (au) {
          au.lastPacket = i;
          au.bytes += off + TS_PACKET - p;
        }
      }
    }
  }
  const first = pcrs[0];
  const last = pcrs.at(-1);
  if (!first || !last || videoPid < 0) throw new Error(`${path}: no PCRs or no H.264 stream`);
  if (last.seconds < first.seconds) throw new Error(`${path}: the PCR wraps; use a file that does not`);
  const secondsPerPacket = (last.seconds - first.seconds) / (last.packet - first.packet);
  const times: number[] = [];
  for (let d = 0; d < datagrams; d++) times.push(Math.max(0, (d * PACKETS_PER_DATAGRAM - first.packet) * secondsPerPacket));

  // Pass 2: the server's demuxer and segmenter, one datagram at a time, as the UDP input feeds them.
  const released = new Map<number, { end: number; datagram: number }>();
  let current = 0;
  const segmenter = new LiveSegmenter({
    segmentDuration: SEGMENT_DURATION,
    now: () => 0,
    onSegment: (s) => released.set(s.number, { end: s.start + s.duration, datagram: current }),
  });
  const demuxer = new TsDemuxer();
  /** Per video PTS: the datagram whose push output that access unit. */
  const videoOut = new Map<number, number>();
  /** Audio PTS output so far, in order, with their datagram. */
  const audioOut: Array<{ pts: number; datagram: number }> = [];
  for (current = 0; current < datagrams; current++) {
    const events = demuxer.push(buf.subarray(current * DATAGRAM_BYTES, Math.min((current + 1) * DATAGRAM_BYTES, buf.length)));
    for (const e of events) {
      if (e.kind === 'video') videoOut.set(e.pts, current);
      else if (e.kind === 'audio') audioOut.push({ pts: e.pts, datagram: current });
    }
    segmenter.push(events);
  }
  const audioReadyFor = (pts: number): number => {
    let lo = 0;
    let hi = audioOut.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (audioOut[mid]!.pts < pts) lo = mid + 1;
      else hi = mid;
    }
    // The first frame at or past `pts` in PTS order; audio comes out in PTS order, so also the earliest.
    return audioOut[lo]?.datagram ?? datagrams - 1;
  };
  const byPts = new Map(aus.map((a) => [a.pts, a]));
  const boundaries: Boundary[] = [];
  for (const [number, r] of released) {
    const au = byPts.get(r.end);
    if (!au || !au.key) continue; // the last segment, closed at the end of the file (not a key frame)
    boundaries.push({
      number,
      keyPts: r.end,
      keyFirst: Math.floor(au.firstPacket / PACKETS_PER_DATAGRAM),
      keyLast: Math.floor(au.lastPacket / PACKETS_PER_DATAGRAM),
      videoReady: videoOut.get(r.end) ?? r.datagram,
      audioReady: audioReadyFor(r.end),
      release: r.datagram,
    });
  }
  const keys = aus.filter((a) => a.key);
  const others = aus.filter((a) => !a.key);
  const mean = (xs: readonly VideoAu[]): number => xs.reduce((n, a) => n + a.bytes, 0) / Math.max(1, xs.length);
  return {
    datagrams,
    times,
    seconds: packets * secondsPerPacket,
    bitrate: (TS_PACKET * 8) / secondsPerPacket,
    keyFrameBytes: mean(keys),
    otherFrameBytes: mean(others),
    boundaries,
  };
}
