/**
 * The input of every manifest writer: the renditions of one title, derived once from its segment plan
 * (see presentation.ts) and then written as HLS (TS or fMP4) or DASH.
 */

import type { SegmentPlan, TrackCut } from '../segment/types.js';

export interface Rendition {
  /** 'v1', 'a2' …: 'v' or 'a' + the source track id; used in every URL of the rendition. */
  readonly id: string;
  /** cut.track is the Track; cut.start / cut.bytes per segment. */
  readonly cut: TrackCut;
  /** Peak bits/s over the segments (segments under 0.5 s left out), overhead applied, rounded up. */
  readonly bandwidth: number;
  /** Total bits / total duration, overhead applied, rounded up; never above bandwidth. */
  readonly averageBandwidth: number;
  /** Video: frames per second from the most common sample duration, 3 decimals (e.g. 23.976). */
  readonly frameRate?: number;
  /**
   * Video: that most common sample duration in track timescale. DASH wants the exact rate as a
   * fraction (timescale / frameDuration, e.g. 24000/1001), which the rounded frameRate cannot give.
   */
  readonly frameDuration?: number;
}

export interface Presentation {
  readonly plan: SegmentPlan;
  /** Sorted by bandwidth, highest first. */
  readonly video: readonly Rendition[];
  /** In the order of the plan (the first is the default). */
  readonly audio: readonly Rendition[];
  /** Seconds: the presented end of the longest track. */
  readonly duration: number;
}

export interface PresentationOptions {
  /**
   * Factor on measured sample-data bitrates for container overhead: 1.0 (default) for fMP4, ~1.1 for
   * MPEG-TS, whose packet and PES headers add several percent.
   */
  readonly overhead?: number;
}

export { buildPresentation, findRendition } from './presentation.js';
