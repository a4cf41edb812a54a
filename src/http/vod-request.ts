import { PackagerError, ErrorCode } from '../media/errors.js';

/**
 * What a VOD URL asks for, below `/{location}/{path}.mp4/`. Pure parsing: no file system, no config.
 *
 *   index.m3u8 | index.fmp4.m3u8 | index.mpd
 *   ts/{id}.m3u8   ts/{id}/{n}.ts
 *   hls/{id}.m3u8  hls/{id}/init.mp4  hls/{id}/{n}.m4s
 *   dash/{id}/init.mp4  dash/{id}/{n}.m4s
 */
export type VodResource =
  | { kind: 'master'; variant: 'ts' | 'fmp4' }
  | { kind: 'mpd' }
  | { kind: 'media-playlist'; variant: 'ts' | 'fmp4'; rendition: string }
  | { kind: 'init'; output: 'hls' | 'dash'; rendition: string }
  | { kind: 'segment'; output: 'ts' | 'hls' | 'dash'; rendition: string; number: number };

export interface VodRequest {
  readonly location: string;
  /** Percent-encoded path segments of the file below the location, the last ending in .mp4. */
  readonly fileSegments: readonly string[];
  readonly resource: VodResource;
}

const RENDITION = /^[va][0-9]{1,9}$/;
const NUMBER = /^[1-9][0-9]{0,8}$/;

/** Splits a raw (still encoded) request path. Returns undefined when it is not a VOD URL at all. */
export function parseVodPath(rawPath: string): VodRequest | undefined {
  const segments = rawPath.split('/').slice(1);
  if (segments.length < 3) return undefined;
  const location = segments[0]!;
  const mp4At = segments.findIndex((s, i) => i > 0 && /\.mp4$/i.test(safeDecode(s)));
  if (mp4At < 1) return undefined;
  const fileSegments = segments.slice(1, mp4At + 1);
  const rest = segments.slice(mp4At + 1);
  return { location, fileSegments, resource: parseResource(rest) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function notFound(what: string): PackagerError {
  return new PackagerError(ErrorCode.SOURCE_NOT_FOUND, `no such resource: ${what}`);
}

function parseResource(rest: string[]): VodResource {
  const joined = rest.join('/');
  if (rest.length === 1) {
    if (joined === 'index.m3u8') return { kind: 'master', variant: 'ts' };
    if (joined === 'index.fmp4.m3u8') return { kind: 'master', variant: 'fmp4' };
    if (joined === 'index.mpd') return { kind: 'mpd' };
    throw notFound(joined);
  }
  const [dir, a, b] = rest;
  if (rest.length === 2 && (dir === 'ts' || dir === 'hls') && a!.endsWith('.m3u8')) {
    const rendition = a!.slice(0, -'.m3u8'.length);
    if (!RENDITION.test(rendition)) throw notFound(joined);
    return { kind: 'media-playlist', variant: dir === 'ts' ? 'ts' : 'fmp4', rendition };
  }
  if (rest.length === 3 && (dir === 'ts' || dir === 'hls' || dir === 'dash') && RENDITION.test(a!)) {
    if (b === 'init.mp4' && dir !== 'ts') return { kind: 'init', output: dir, rendition: a! };
    const ext = dir === 'ts' ? '.ts' : '.m4s';
    if (b!.endsWith(ext)) {
      const n = b!.slice(0, -ext.length);
      if (!NUMBER.test(n)) {
        throw new PackagerError(ErrorCode.BAD_REQUEST, `bad segment number: ${n.slice(0, 32)}`);
      }
      return { kind: 'segment', output: dir, rendition: a!, number: Number(n) };
    }
  }
  throw notFound(joined);
}
