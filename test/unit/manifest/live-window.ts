/** Synthetic live windows (LiveSegmentInfo lists) for the live manifest writers' tests. */
import type { LiveSegmentInfo } from '../../../src/source/live/types.js';

export const VIDEO = 256;
export const AUDIO = 257;
/** 2025-11-24T16:00:00.000Z */
export const T0 = 1_764_000_000_000;
/** Audio starts 10 ms after the key frame. */
export const AUDIO_DELAY = 900;

export interface LiveSegSpec {
  /** Default: the previous number + 1 (first: 1000). */
  number?: number;
  /** 90 kHz; default 2 s. */
  duration?: number;
  /** Audio duration when it differs from the segment's. */
  audioDuration?: number;
  discontinuity?: boolean;
  /** Period id (configId); kept from the previous segment unless told. */
  period?: string;
  audio?: boolean;
  /** Wall clock jumps here (ms); default: follows the media clock. */
  wallClock?: number;
  /** Media time jumps here (90 kHz). */
  start?: number;
}

/** Contiguous segments with a video and (unless told) an audio track, the first in period `firstPeriod`. */
export function liveWindow(specs: LiveSegSpec[], firstPeriod: string): LiveSegmentInfo[] {
  let number = 999;
  let start = 900_000;
  let wall = T0;
  let period = firstPeriod;
  return specs.map((s) => {
    number = s.number ?? number + 1;
    period = s.period ?? period;
    wall = s.wallClock ?? wall;
    start = s.start ?? start;
    const duration = s.duration ?? 180_000;
    const tracks: LiveSegmentInfo['tracks'][number][] = [{ id: VIDEO, kind: 'video', start, duration, bytes: 250_000 }];
    if (s.audio !== false) {
      tracks.push({ id: AUDIO, kind: 'audio', start: start + AUDIO_DELAY, duration: s.audioDuration ?? duration, bytes: 32_000 });
    }
    const seg: LiveSegmentInfo = { number, start, duration, discontinuity: s.discontinuity ?? false, wallClock: wall, configId: period, tracks };
    start += duration;
    wall += (duration * 1000) / 90_000;
    return seg;
  });
}
