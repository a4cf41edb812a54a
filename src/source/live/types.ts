/**
 * The live media model: a live stream is a sequence of completed, immutable segments. Each segment is
 * self-contained (its tracks with segment-local sample tables and its sample bytes), so the writers
 * and ciphers used for VOD package it unchanged, the DVR archive stores it as one file, and any
 * origin fed the same input builds the same segment (numbers and times come from media timestamps).
 *
 * Times: every live track uses the 90 kHz MPEG-TS clock as its timescale (audio too), on the
 * demuxer's unwrapped timeline. Audio and video of a segment cover the same presentation interval
 * [video key frame PTS, next segment's key frame PTS).
 */
import type { Track } from '../../media/track.js';

export const LIVE_TIMESCALE = 90_000;

/** One track of one segment. */
export interface LiveTrackData {
  /**
   * id = the elementary stream's PID; timescale LIVE_TIMESCALE; samples = this segment's samples only,
   * with `offset` = position in `data`; presentationOffset 0.
   */
  readonly track: Track;
  /** All sample bytes of this track in this segment, in decode order (video: 4-byte length-prefixed NALs; audio: raw AAC frames). */
  readonly data: Uint8Array;
}

/** What manifests need of a track in a segment (no sample bytes). */
export interface LiveTrackInfo {
  /** PID. */
  readonly id: number;
  readonly kind: 'video' | 'audio';
  /** Presented start (first sample's PTS), 90 kHz. */
  readonly start: number;
  /** Presented duration, 90 kHz (> 0). */
  readonly duration: number;
  /** Sum of the sample sizes. */
  readonly bytes: number;
}

/** A segment as listed in playlists, MPDs, the DVR index and /api/streams. */
export interface LiveSegmentInfo {
  /** URL number, HLS media sequence number and fMP4 mfhd sequence: derived from the media timestamps. */
  readonly number: number;
  /** Presented start of the segment (the video key frame's PTS; audio-only streams: the first frame's), 90 kHz. */
  readonly start: number;
  /** 90 kHz, > 0. */
  readonly duration: number;
  /** The timeline broke before this segment (loss, source restart, timestamp jump, codec change). */
  readonly discontinuity: boolean;
  /** Wall clock of `start`, ms since the epoch: EXT-X-PROGRAM-DATE-TIME and the DASH timeline. */
  readonly wallClock: number;
  /**
   * Identity of the track set's codec configuration (hex digest of the sample entries): segments with
   * the same value share init segments.
   */
  readonly configId: string;
  readonly tracks: readonly LiveTrackInfo[];
}

export interface LiveSegment extends LiveSegmentInfo {
  /** Same order and ids as `tracks`. */
  readonly data: readonly LiveTrackData[];
}
