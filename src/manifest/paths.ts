/**
 * The names of everything below a title's base URL (`/{loc}/{path}.mp4/` or `/{stream}/`). Writers use
 * these to write URIs and http/ can use `parseTitlePath` to route them, so the two never disagree.
 * These URLs are public: once released, keep them stable.
 */

import { FIRST_SEGMENT_NUMBER } from '../segment/types.js';

export type HlsVariant = 'ts' | 'fmp4';

export const HLS_MASTER: Readonly<Record<HlsVariant, string>> = { ts: 'index.m3u8', fmp4: 'index.fmp4.m3u8' };
export const DASH_MPD = 'index.mpd';

/** Folder (relative to the base) holding the media playlists and, below it, their segments. */
export const HLS_DIR: Readonly<Record<HlsVariant, string>> = { ts: 'ts', fmp4: 'hls' };
export const DASH_DIR = 'dash';
const HLS_SEGMENT_EXT: Readonly<Record<HlsVariant, string>> = { ts: 'ts', fmp4: 'm4s' };

/** Media playlist, relative to the base (and so to the master, which sits at the base). */
export function hlsMediaPlaylistPath(variant: HlsVariant, id: string): string {
  return `${HLS_DIR[variant]}/${id}.m3u8`;
}

/** Segment n relative to its media playlist's folder: what the media playlist writes. */
export function hlsSegmentName(variant: HlsVariant, id: string, n: number): string {
  return `${id}/${n}.${HLS_SEGMENT_EXT[variant]}`;
}

/** Segment n relative to the base. */
export function hlsSegmentPath(variant: HlsVariant, id: string, n: number): string {
  return `${HLS_DIR[variant]}/${hlsSegmentName(variant, id, n)}`;
}

/** fMP4 init segment relative to its media playlist's folder. */
export function hlsInitName(id: string): string {
  return `${id}/init.mp4`;
}

export function hlsInitPath(id: string): string {
  return `${HLS_DIR.fmp4}/${hlsInitName(id)}`;
}

export function dashInitPath(id: string): string {
  return `${DASH_DIR}/${id}/init.mp4`;
}

export function dashSegmentPath(id: string, n: number): string {
  return `${DASH_DIR}/${id}/${n}.m4s`;
}

/** The same names as DASH SegmentTemplate patterns ($RepresentationID$, $Number$). */
export const DASH_INIT_TEMPLATE = `${DASH_DIR}/$RepresentationID$/init.mp4`;
export const DASH_MEDIA_TEMPLATE = `${DASH_DIR}/$RepresentationID$/$Number$.m4s`;

export type TitlePath =
  | { kind: 'hlsMaster'; variant: HlsVariant }
  | { kind: 'hlsMedia'; variant: HlsVariant; id: string }
  | { kind: 'hlsInit'; id: string }
  | { kind: 'hlsSegment'; variant: HlsVariant; id: string; number: number }
  | { kind: 'dashMpd' }
  | { kind: 'dashInit'; id: string }
  | { kind: 'dashSegment'; id: string; number: number };

// Rendition ids are v<trackId> / a<trackId>; segment numbers have no leading zeros so that each
// segment has exactly one URL (one cache entry at the CDN).
const ID = '([va][1-9][0-9]*)';
const NUM = '([1-9][0-9]{0,9})';
const ROUTES: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => TitlePath]> = [
  [/^index\.m3u8$/, () => ({ kind: 'hlsMaster', variant: 'ts' })],
  [/^index\.fmp4\.m3u8$/, () => ({ kind: 'hlsMaster', variant: 'fmp4' })],
  [/^index\.mpd$/, () => ({ kind: 'dashMpd' })],
  [new RegExp(`^ts/${ID}\\.m3u8$`), (m) => ({ kind: 'hlsMedia', variant: 'ts', id: m[1]! })],
  [new RegExp(`^hls/${ID}\\.m3u8$`), (m) => ({ kind: 'hlsMedia', variant: 'fmp4', id: m[1]! })],
  [new RegExp(`^ts/${ID}/${NUM}\\.ts$`), (m) => ({ kind: 'hlsSegment', variant: 'ts', id: m[1]!, number: Number(m[2]) })],
  [new RegExp(`^hls/${ID}/init\\.mp4$`), (m) => ({ kind: 'hlsInit', id: m[1]! })],
  [new RegExp(`^hls/${ID}/${NUM}\\.m4s$`), (m) => ({ kind: 'hlsSegment', variant: 'fmp4', id: m[1]!, number: Number(m[2]) })],
  [new RegExp(`^dash/${ID}/init\\.mp4$`), (m) => ({ kind: 'dashInit', id: m[1]! })],
  [new RegExp(`^dash/${ID}/${NUM}\\.m4s$`), (m) => ({ kind: 'dashSegment', id: m[1]!, number: Number(m[2]) })],
];

/**
 * Recognise a path below a title's base (no leading slash, no query), or undefined. Segment numbers
 * are only checked for form (>= FIRST_SEGMENT_NUMBER); the plan decides whether they exist.
 */
export function parseTitlePath(rest: string): TitlePath | undefined {
  for (const [re, make] of ROUTES) {
    const m = re.exec(rest);
    if (m) {
      const p = make(m);
      if ('number' in p && p.number < FIRST_SEGMENT_NUMBER) return undefined;
      return p;
    }
  }
  return undefined;
}

// RFC 3986 query characters (pchar / "/" / "?") plus '%' for escapes already made by the caller.
const QUERY_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/;

/**
 * A query as given by the caller ('?token=abc', 'token=abc' or '') made safe to paste into a playlist
 * line, a quoted HLS attribute and an XML attribute: anything outside RFC 3986's query characters
 * (quotes, spaces, CR/LF, '#', non-ASCII) is percent-encoded, so a token can never break a playlist.
 */
export function normalizeQuery(query: string | undefined): string {
  if (query === undefined) return '';
  let out = '';
  for (const ch of query.replace(/^[?&]+/, '')) out += QUERY_SAFE.test(ch) ? ch : encodeChar(ch);
  return out;
}

function encodeChar(ch: string): string {
  try {
    return encodeURIComponent(ch);
  } catch {
    // a lone surrogate cannot be UTF-8 encoded: write U+FFFD as encodeURIComponent would for valid text
    return '%EF%BF%BD';
  }
}

/** uri + query, joined with '?' or '&' as the uri requires (never a double '?'). */
export function appendQuery(uri: string, query: string | undefined): string {
  const q = normalizeQuery(query);
  if (q === '') return uri;
  return `${uri}${uri.includes('?') ? '&' : '?'}${q}`;
}
