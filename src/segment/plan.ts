import type { Media, Track } from '../media/track.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import type { SegmentPlan, TrackCut } from './types.js';

/**
 * Cuts a title into segments from its sample tables alone, so that every instance serving the same
 * file computes the same plan (same URLs, same bytes) with no shared state.
 *
 * Boundaries are the presented times of the reference track's sync samples (the first video track, or
 * the first audio track of an audio-only title), picked greedily as close as possible to
 * `targetDuration` after the previous boundary. Every track is then cut at those instants: video
 * tracks at the sync sample presented at the boundary, audio tracks at the first frame starting at or
 * after it (within half a frame).
 */
export function planSegments(media: Media, targetDuration: number): SegmentPlan {
  if (!(targetDuration > 0)) throw new PackagerError(ErrorCode.BAD_REQUEST, 'segment duration must be positive');
  const ref = media.tracks.find((t) => t.kind === 'video') ?? media.tracks[0];
  if (!ref || ref.samples.count === 0) {
    throw new PackagerError(ErrorCode.SOURCE_INVALID, 'the media has no samples to segment');
  }
  const boundaries = chooseBoundaries(ref, targetDuration);
  const cuts = media.tracks.map((t) => cutTrack(t, ref.timescale, boundaries));
  return { count: Math.max(...cuts.map((c) => c.count)), targetDuration, cuts };
}

/**
 * Boundary instants in the reference track's timescale (presented times), the first always 0.
 * Candidates are sync samples; each boundary is the candidate closest to previous + target.
 */
function chooseBoundaries(ref: Track, targetDuration: number): number[] {
  const s = ref.samples;
  const target = targetDuration * ref.timescale;
  const candidates: number[] = [];
  const anySync = ref.kind === 'audio';
  for (let i = 0; i < s.count; i++) {
    if (anySync || s.sync[i] === 1) candidates.push(s.dts[i]! + s.cto[i]! - ref.presentationOffset);
  }
  candidates.sort((a, b) => a - b);
  const end = trackEnd(ref);
  const boundaries = [0];
  let prev = 0;
  let k = 0;
  for (;;) {
    while (k < candidates.length && candidates[k]! <= prev) k++;
    if (k >= candidates.length) break;
    const desired = prev + target;
    // Walk forward while the next candidate is at least as close to the desired instant.
    let best = k;
    while (best + 1 < candidates.length && Math.abs(candidates[best + 1]! - desired) < Math.abs(candidates[best]! - desired)) best++;
    // The end of the title is a candidate too: stop when it is at least as close as any sync sample.
    if (Math.abs(end - desired) <= Math.abs(candidates[best]! - desired)) break;
    boundaries.push(candidates[best]!);
    prev = candidates[best]!;
    k = best + 1;
  }
  // A last segment shorter than a quarter of the target is not worth its request: fold it into the
  // previous one.
  while (boundaries.length > 1 && end - boundaries[boundaries.length - 1]! < target / 4) boundaries.pop();
  return boundaries;
}

/** Presented end of a track: the latest presented sample end. */
function trackEnd(track: Track): number {
  const s = track.samples;
  let end = 0;
  // The latest-presented sample is within the last few samples in decode order (B-frame reorder depth);
  // scanning a bounded tail keeps this O(1) for long titles.
  for (let i = Math.max(0, s.count - 64); i < s.count; i++) {
    end = Math.max(end, s.dts[i]! + s.cto[i]! - track.presentationOffset + s.duration[i]!);
  }
  return end;
}

function cutTrack(track: Track, refTimescale: number, boundaries: number[]): TrackCut {
  const s = track.samples;
  const firsts: number[] = [0];
  const isVideo = track.kind === 'video';
  let j = 0;
  for (let b = 1; b < boundaries.length; b++) {
    // Compare presented(j) / timescale >= boundary / refTimescale in integers, with half a sample of
    // tolerance so that a frame starting a hair before the boundary (rounding across timescales)
    // opens the next segment rather than ending this one.
    const boundary = boundaries[b]!;
    while (j < s.count) {
      const half = s.duration[j]! / 2;
      const t = s.dts[j]! + s.cto[j]! - track.presentationOffset + half;
      if (t * refTimescale >= boundary * track.timescale && (!isVideo || s.sync[j] === 1)) break;
      j++;
    }
    if (j >= s.count) break;
    if (j > firsts[firsts.length - 1]!) firsts.push(j);
  }
  firsts.push(s.count);
  const count = firsts.length - 1;
  const first = Uint32Array.from(firsts);
  const start = new Float64Array(count + 1);
  const bytes = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let minPresented = Infinity;
    let n = 0;
    for (let k = first[i]!; k < first[i + 1]!; k++) {
      n += s.size[k]!;
      // Only video reorders; for audio the first sample is the earliest.
      if (isVideo || k === first[i]) minPresented = Math.min(minPresented, s.dts[k]! + s.cto[k]! - track.presentationOffset);
    }
    start[i] = i === 0 ? 0 : minPresented;
    bytes[i] = n;
  }
  start[count] = Math.max(trackEnd(track), start[count - 1]! + 1);
  return { track, count, first, start, bytes };
}
