/**
 * The media model shared by every stage: VOD (MP4 on disk) and live (MPEG-TS over UDP) both produce
 * Tracks; segment plans, writers and ciphers consume them. Nothing here touches files or sockets.
 *
 * Times are integers in the track's timescale. A sample's presentation time on the common timeline
 * (where audio and video of one title are in sync and the first frame shows at 0) is
 *     presented(i) = dts[i] + cto[i] - track.presentationOffset
 * presentationOffset carries the source's edit list (B-frame shift, AAC priming, empty edits).
 */

export type TrackKind = 'video' | 'audio';

/** Sample entry four-character codes we package. */
export type SampleEntryType = 'avc1' | 'avc3' | 'hvc1' | 'hev1' | 'mp4a';

/**
 * Struct-of-arrays sample table: one typed array per field, never one object per sample.
 * 29 bytes per sample (8 + 4 + 4 + 4 + 8 + 1).
 */
export interface SampleTable {
  readonly count: number;
  /** Decode time, track timescale, as in the source (MP4: starts at 0). Float64 holds 2^53 exactly. */
  readonly dts: Float64Array;
  /** Composition offset (pts - dts), signed. */
  readonly cto: Int32Array;
  readonly duration: Uint32Array;
  readonly size: Uint32Array;
  /** Where the sample's bytes are: absolute file offset (VOD) or position in a live buffer store. */
  readonly offset: Float64Array;
  /** 1 for a sync (random access) sample. */
  readonly sync: Uint8Array;
}

/** A zeroed table of n samples, for the caller to fill (the columns are typed arrays: mutable). */
export function allocSampleTable(n: number): SampleTable {
  return { count: n, dts: new Float64Array(n), cto: new Int32Array(n), duration: new Uint32Array(n), size: new Uint32Array(n), offset: new Float64Array(n), sync: new Uint8Array(n) };
}

/** A table with no samples: the codec configuration of a track without its media (live templates). */
export function emptySampleTable(): SampleTable {
  return allocSampleTable(0);
}

export interface Track {
  /** track_ID in the source. */
  readonly id: number;
  readonly kind: TrackKind;
  readonly sampleEntryType: SampleEntryType;
  /** RFC 6381 codec string, e.g. avc1.64001f, hvc1.1.6.L93.B0, mp4a.40.2 */
  readonly codecString: string;
  readonly timescale: number;
  /**
   * Video: the payload of the avcC/hvcC box (no box header). Audio (AAC): the AudioSpecificConfig.
   */
  readonly codecConfig: Uint8Array;
  /**
   * The exact bytes of the source's sample entry box (header included, e.g. the whole `avc1` box with
   * its avcC, btrt, pasp children), copied verbatim into init segments. Live tracks build one.
   */
  readonly sampleEntry: Uint8Array;
  /** Bytes of the NAL length prefix in samples (1, 2 or 4); 0 for audio. */
  readonly nalLengthSize: number;
  /** ISO 639-2/T code from mdhd ('und' when unknown). */
  readonly language: string;
  /** Human-readable name (handler name) or '' */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly sampleRate: number;
  readonly channels: number;
  /** Edit-list shift in track timescale: presented = dts + cto - presentationOffset. */
  readonly presentationOffset: number;
  readonly samples: SampleTable;
}

/** A source track that is not packaged, and why (e.g. a `tmcd` track, an `ac-3` entry). */
export interface SkippedTrack {
  readonly id: number;
  readonly reason: string;
}

/** A parsed media file (or a live window): its tracks and where they came from. */
export interface Media {
  readonly tracks: readonly Track[];
  /** Presentation duration in seconds (the longest track). */
  readonly duration: number;
  /** Source tracks left out (unsupported handler or codec), for `inspect` and logs. */
  readonly skipped?: readonly SkippedTrack[];
}

/** Sum of sample sizes in [start, end). */
export function byteSize(t: SampleTable, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n += t.size[i]!;
  return n;
}

/** Presented (edit-list-applied) time of sample i, in track timescale. */
export function presentedTime(track: Track, i: number): number {
  const s = track.samples;
  return s.dts[i]! + s.cto[i]! - track.presentationOffset;
}
