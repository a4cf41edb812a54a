import type { Track } from '../media/track.js';

/**
 * Where one track is cut: segment i holds samples [first[i], first[i+1]) in decode order.
 * first has count+1 entries; first[count] === track.samples.count.
 */
export interface TrackCut {
  readonly track: Track;
  /** Segments of this track (a track that ends early has fewer; never an empty segment). */
  readonly count: number;
  readonly first: Uint32Array;
  /**
   * Presented start of each segment in track timescale (the first segment clamped to 0), count+1
   * entries: start[count] is the presented end of the track. Durations are start[i+1] - start[i].
   * These are the times manifests advertise (EXTINF, SegmentTimeline).
   */
  readonly start: Float64Array;
  /** Bytes of sample data per segment (sum of sample sizes): the basis of measured bitrates. */
  readonly bytes: Float64Array;
}

/** The plan of one title: every track cut at the same instants (segment i of every track covers the same time). */
export interface SegmentPlan {
  /** Segments of the longest track (max over cuts). */
  readonly count: number;
  /** Target segment duration in seconds (config `segment_duration`). */
  readonly targetDuration: number;
  /** One cut per packaged track, in the order of media.tracks. */
  readonly cuts: readonly TrackCut[];
}

/** Segment numbers in URLs and in fMP4 mfhd are 1-based: number = index + 1. */
export const FIRST_SEGMENT_NUMBER = 1;
