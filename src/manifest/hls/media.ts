/** HLS media playlist of one rendition: VOD, every segment of the plan, TS or fMP4. */

import { FIRST_SEGMENT_NUMBER } from '../../segment/types.js';
import { formatScaled } from '../format.js';
import { appendQuery, hlsInitName, hlsSegmentName, type HlsVariant } from '../paths.js';
import type { Presentation, Rendition } from '../types.js';
import { BASE_VERSION, checkTagLines, versionForKeyLines } from './common.js';

export interface MediaPlaylistOptions {
  /** Appended to every URI (e.g. '?token=abc'). */
  readonly query?: string;
  /** Full #EXT-X-KEY lines, written verbatim before EXT-X-MAP and the first segment. */
  readonly keyLines?: readonly string[];
  /**
   * A full #EXT-X-KEY line written before each segment, given the segment's number (its URL number and
   * media sequence number, from FIRST_SEGMENT_NUMBER): for AES-128 and SAMPLE-AES TS with an explicit
   * IV per segment. With keyLines too, those come first.
   */
  readonly segmentKeyLine?: (segmentNumber: number) => string;
}

const MICROS = 1_000_000;

export function buildMediaPlaylist(
  // The rendition's own cut lists its segments (a track that ends early has fewer than the plan);
  // the title is taken for symmetry with the other writers.
  _p: Presentation,
  rendition: Rendition,
  variant: HlsVariant,
  opts: MediaPlaylistOptions = {},
): string {
  const keyLines = opts.keyLines ?? [];
  checkTagLines(keyLines, '#EXT-X-KEY');
  const micros = segmentMicros(rendition);
  const perSegment = opts.segmentKeyLine ? micros.map((_, i) => opts.segmentKeyLine!(i + FIRST_SEGMENT_NUMBER)) : [];
  checkTagLines(perSegment, '#EXT-X-KEY');
  // RFC 8216 §4.3.3.1: each EXTINF *as written*, rounded to the nearest integer, must be <= the target
  // duration; rounding the printed microseconds (not the exact ratio) keeps the two consistent.
  let target = 1;
  for (const us of micros) target = Math.max(target, Math.floor((us + MICROS / 2) / MICROS));

  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${Math.max(BASE_VERSION[variant], versionForKeyLines(keyLines), versionForKeyLines(perSegment))}`,
    `#EXT-X-TARGETDURATION:${target}`,
    // Sequence numbers equal the URL segment numbers (1-based). With AES-128 and no IV attribute a
    // player uses the sequence number as IV, so the encryptor must then use the segment number.
    `#EXT-X-MEDIA-SEQUENCE:${FIRST_SEGMENT_NUMBER}`,
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    ...keyLines,
  ];
  if (variant === 'fmp4') lines.push(`#EXT-X-MAP:URI="${appendQuery(hlsInitName(rendition.id), opts.query)}"`);
  micros.forEach((us, i) => {
    const key = perSegment[i];
    if (key !== undefined) lines.push(key);
    lines.push(
      `#EXTINF:${formatScaled(us, 6)},`,
      appendQuery(hlsSegmentName(variant, rendition.id, i + FIRST_SEGMENT_NUMBER), opts.query),
    );
  });
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** Segment durations in whole microseconds: exactly what the playlist prints with 6 decimals. */
function segmentMicros(r: Rendition): number[] {
  const { start, track, count } = r.cut;
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(Math.round(((start[i + 1]! - start[i]!) * MICROS) / track.timescale));
  return out;
}
