/**
 * A JSON-able summary of an indexed file for `packager inspect`: what each track is and what its
 * index costs. Computed from the sample tables only.
 */
import type { Media, Track } from '../../media/track.js';

export interface TrackSummary {
  id: number;
  kind: string;
  sampleEntry: string;
  codec: string;
  timescale: number;
  samples: number;
  syncSamples: number;
  /** Presented duration in seconds, from the first sample shown at or after 0 to the last end. */
  duration: number;
  /** Average bit rate over the duration, bits per second. */
  bitrate: number;
  width?: number;
  height?: number;
  fps?: number;
  sampleRate?: number;
  channels?: number;
  language: string;
  name: string;
  presentationOffset: number;
  /** Bytes the typed-array index costs per sample. */
  indexBytesPerSample: number;
}

export interface MediaSummary {
  duration: number;
  tracks: TrackSummary[];
  skipped: { id: number; reason: string }[];
  indexBytes: number;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

function summarize(t: Track): { summary: TrackSummary; bytes: number } {
  const s = t.samples;
  let first = Infinity;
  let last = -Infinity;
  let bytes = 0;
  let sync = 0;
  let decodeSpan = 0;
  for (let i = 0; i < s.count; i++) {
    const p = s.dts[i]! + s.cto[i]!;
    if (p < first) first = p;
    if (p + s.duration[i]! > last) last = p + s.duration[i]!;
    bytes += s.size[i]!;
    sync += s.sync[i]!;
    decodeSpan += s.duration[i]!;
  }
  // Samples before presentation time 0 (AAC priming) are decoded but never shown: not counted.
  const duration = s.count ? (last - Math.max(first, t.presentationOffset)) / t.timescale : 0;
  const indexBytes =
    s.dts.byteLength + s.cto.byteLength + s.duration.byteLength + s.size.byteLength + s.offset.byteLength + s.sync.byteLength;
  const summary: TrackSummary = {
    id: t.id,
    kind: t.kind,
    sampleEntry: t.sampleEntryType,
    codec: t.codecString,
    timescale: t.timescale,
    samples: s.count,
    syncSamples: sync,
    duration: round(duration, 6),
    bitrate: duration > 0 ? Math.round((bytes * 8) / duration) : 0,
    language: t.language,
    name: t.name,
    presentationOffset: t.presentationOffset,
    indexBytesPerSample: s.count ? round(indexBytes / s.count, 2) : 0,
  };
  if (t.kind === 'video') {
    summary.width = t.width;
    summary.height = t.height;
    summary.fps = decodeSpan > 0 ? round((s.count * t.timescale) / decodeSpan, 3) : 0;
  } else {
    summary.sampleRate = t.sampleRate;
    summary.channels = t.channels;
  }
  return { summary, bytes: indexBytes + t.sampleEntry.byteLength + t.codecConfig.byteLength };
}

export function describeMedia(media: Media): MediaSummary {
  const tracks: TrackSummary[] = [];
  let indexBytes = 0;
  for (const t of media.tracks) {
    const { summary, bytes } = summarize(t);
    tracks.push(summary);
    indexBytes += bytes;
  }
  return {
    duration: round(media.duration, 6),
    tracks,
    skipped: (media.skipped ?? []).map((s) => ({ id: s.id, reason: s.reason })),
    indexBytes,
  };
}
