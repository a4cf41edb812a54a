/**
 * Hand-built LiveSegments for the segment codec and DVR archive tests (and the kill -9 child): a video
 * 'avc1' track and an audio 'mp4a' track on the 90 kHz clock, sample bytes from a seeded generator so a
 * segment can be rebuilt from its number to compare bytes.
 */
import type { SampleTable, Track } from '../../../../src/media/track.js';
import { LIVE_TIMESCALE, type LiveSegment, type LiveTrackData } from '../../../../src/source/live/types.js';

const FRAME = 3600; // 25 fps
const AAC_FRAME = 1920; // 1024 samples at 48 kHz, in 90 kHz units

/** xorshift32: deterministic bytes per segment number. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function table(rows: readonly { dts: number; cto: number; duration: number; size: number; sync: boolean }[]): SampleTable {
  const n = rows.length;
  const t = { count: n, dts: new Float64Array(n), cto: new Int32Array(n), duration: new Uint32Array(n), size: new Uint32Array(n), offset: new Float64Array(n), sync: new Uint8Array(n) };
  let off = 0;
  rows.forEach((r, i) => {
    t.dts[i] = r.dts;
    t.cto[i] = r.cto;
    t.duration[i] = r.duration;
    t.size[i] = r.size;
    t.offset[i] = off;
    t.sync[i] = r.sync ? 1 : 0;
    off += r.size;
  });
  return t;
}

export interface SegmentOptions {
  /** Video frames (default 12); audio covers the same span. */
  frames?: number;
  /** Bytes per video frame (default 200; the key frame is 4×). */
  frameBytes?: number;
  /** ms since the epoch; default derived from the start, so consecutive segments are contiguous. */
  wallClock?: number;
  discontinuity?: boolean;
}

/** Segment `number`: starts at number × its duration on the media timeline and on the wall clock. */
export function makeSegment(number: number, opts: SegmentOptions = {}): LiveSegment {
  const frames = opts.frames ?? 12;
  const frameBytes = opts.frameBytes ?? 200;
  const duration = frames * FRAME;
  const start = 900_000 + number * duration;
  const video = table(
    Array.from({ length: frames }, (_, i) => ({
      dts: start - FRAME + i * FRAME,
      // I P B B P B B... in decode order: reference frames show later than they decode, B-frames at once.
      cto: (i % 3 === 0 ? 1 : i % 3 === 1 ? 3 : 0) * FRAME,
      duration: FRAME,
      size: i === 0 ? frameBytes * 4 : frameBytes,
      sync: i === 0,
    })),
  );
  const audioFrames = Math.ceil(duration / AAC_FRAME);
  const audio = table(Array.from({ length: audioFrames }, (_, i) => ({ dts: start + i * AAC_FRAME, cto: 0, duration: AAC_FRAME, size: 300 + (i % 7), sync: true })));
  const vData = bytes(sum(video.size), number * 2 + 1);
  const aData = bytes(sum(audio.size), number * 2 + 2);
  const data: LiveTrackData[] = [
    { track: track('video', 256, video), data: vData },
    { track: track('audio', 257, audio), data: aData },
  ];
  return {
    number,
    start,
    duration,
    discontinuity: opts.discontinuity ?? false,
    wallClock: opts.wallClock ?? 1_700_000_000_000 + (start / LIVE_TIMESCALE) * 1000,
    configId: 'c0ffee0123456789',
    tracks: [
      { id: 256, kind: 'video', start, duration, bytes: vData.length },
      { id: 257, kind: 'audio', start, duration: audioFrames * AAC_FRAME, bytes: aData.length },
    ],
    data,
  };
}

function sum(a: Uint32Array): number {
  return a.reduce((n, x) => n + x, 0);
}

function track(kind: 'video' | 'audio', id: number, samples: SampleTable): Track {
  const video = kind === 'video';
  return {
    id,
    kind,
    sampleEntryType: video ? 'avc1' : 'mp4a',
    codecString: video ? 'avc1.64001f' : 'mp4a.40.2',
    timescale: LIVE_TIMESCALE,
    codecConfig: video ? new Uint8Array([1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 2, 0x68, 0xee]) : new Uint8Array([0x11, 0x90]),
    sampleEntry: bytes(video ? 120 : 80, id),
    nalLengthSize: video ? 4 : 0,
    language: video ? 'und' : 'eng',
    name: video ? '' : 'Stereo',
    width: video ? 1280 : 0,
    height: video ? 720 : 0,
    sampleRate: video ? 0 : 48_000,
    channels: video ? 0 : 2,
    presentationOffset: 0,
    samples,
  };
}
