import { ErrorCode, PackagerError } from '../media/errors.js';
import type { SegmentPlan, TrackCut } from '../segment/types.js';
import { ceilBitrate } from './format.js';
import type { Presentation, PresentationOptions, Rendition } from './types.js';

/**
 * Segments shorter than this are left out of the peak: a 0.2 s tail holding one big frame would
 * otherwise advertise several times the real bitrate and push players to lower renditions.
 */
const MIN_PEAK_SEGMENT_SECONDS = 0.5;

/** Derive the renditions of a title from its plan. Pure; O(samples) for the frame-rate measurement. */
export function buildPresentation(plan: SegmentPlan, opts: PresentationOptions = {}): Presentation {
  const overhead = opts.overhead ?? 1;
  if (!Number.isFinite(overhead) || overhead <= 0) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad bitrate overhead ${overhead}`);
  }
  const video: Rendition[] = [];
  const audio: Rendition[] = [];
  let duration = 0;
  for (const cut of plan.cuts) {
    checkCut(cut, plan.count);
    const track = cut.track;
    const { bandwidth, averageBandwidth } = measureBitrates(cut, overhead);
    duration = Math.max(duration, cut.start[cut.count]! / track.timescale);
    if (track.kind === 'video') {
      const frameDuration = mostCommonDuration(track.samples.duration);
      video.push({
        id: `v${track.id}`,
        cut,
        bandwidth,
        averageBandwidth,
        ...(frameDuration === undefined
          ? {}
          : { frameDuration, frameRate: Math.round((track.timescale / frameDuration) * 1000) / 1000 }),
      });
    } else {
      audio.push({ id: `a${track.id}`, cut, bandwidth, averageBandwidth });
    }
  }
  // Array.prototype.sort is stable: equal bandwidths keep the plan's order.
  video.sort((a, b) => b.bandwidth - a.bandwidth);
  return { plan, video, audio, duration };
}

/** The rendition an URL names, or undefined. */
export function findRendition(p: Presentation, id: string): Rendition | undefined {
  return p.video.find((r) => r.id === id) ?? p.audio.find((r) => r.id === id);
}

/** A cut may have fewer segments than the plan (its track ends early), never more. */
function checkCut(cut: TrackCut, planCount: number): void {
  const c = cut.count;
  if (
    !Number.isInteger(c) ||
    c < 0 ||
    c > planCount ||
    cut.start.length !== c + 1 ||
    cut.bytes.length < c ||
    !(cut.track.timescale > 0)
  ) {
    throw new PackagerError(
      ErrorCode.MUX_FAILURE,
      `manifest: cut of track ${cut.track.id} (${c} segments) does not fit a plan of ${planCount}`,
    );
  }
}

function measureBitrates(cut: TrackCut, overhead: number): { bandwidth: number; averageBandwidth: number } {
  const ts = cut.track.timescale;
  const count = cut.count;
  let peak = 0;
  let peakAll = 0;
  let longSeen = false;
  let totalBytes = 0;
  for (let i = 0; i < count; i++) {
    const d = cut.start[i + 1]! - cut.start[i]!;
    const bytes = cut.bytes[i]!;
    totalBytes += bytes;
    if (d <= 0) continue;
    const rate = (bytes * 8 * ts) / d;
    peakAll = Math.max(peakAll, rate);
    if (d >= MIN_PEAK_SEGMENT_SECONDS * ts) {
      longSeen = true;
      peak = Math.max(peak, rate);
    }
  }
  // A title made only of short segments still needs a peak: then every segment counts.
  if (!longSeen) peak = peakAll;
  const total = count > 0 ? cut.start[count]! - cut.start[0]! : 0;
  const average = total > 0 ? (totalBytes * 8 * ts) / total : 0;
  const averageBandwidth = ceilBitrate(average * overhead);
  // Leaving short segments out can put the peak under the mean; a peak below the average is nonsense
  // to players (and to Apple's validator).
  const bandwidth = Math.max(ceilBitrate(peak * overhead), averageBandwidth);
  return { bandwidth, averageBandwidth };
}

/** The most frequent non-zero value; ties go to the shorter duration (the higher frame rate). */
function mostCommonDuration(durations: Uint32Array): number | undefined {
  const counts = new Map<number, number>();
  // Count runs rather than samples: constant-frame-rate video is one long run.
  let i = 0;
  while (i < durations.length) {
    const v = durations[i]!;
    let j = i + 1;
    while (j < durations.length && durations[j] === v) j++;
    if (v > 0) counts.set(v, (counts.get(v) ?? 0) + (j - i));
    i = j;
  }
  let best: number | undefined;
  let bestCount = 0;
  for (const [v, n] of counts) {
    if (n > bestCount || (n === bestCount && best !== undefined && v < best)) {
      best = v;
      bestCount = n;
    }
  }
  return best;
}
