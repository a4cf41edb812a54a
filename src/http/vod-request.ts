import { PackagerError, ErrorCode } from '../media/errors.js';
import { parseTitlePath, type TitlePath } from '../manifest/paths.js';

/** What a VOD URL asks for: `/{location}/{path}.mp4/{resource}`. Pure parsing, no file system. */
export interface VodRequest {
  readonly location: string;
  /** Percent-encoded path segments of the file below the location, the last ending in .mp4. */
  readonly fileSegments: readonly string[];
  readonly resource: TitlePath;
}

/** A segment URL whose number is not a canonical positive integer: malformed rather than missing. */
const MALFORMED_SEGMENT = /^(ts|hls|dash)\/[va][0-9]+\/[^/]*\.(ts|m4s)$/;

/** Splits a raw (still encoded) request path. Returns undefined when it is not a VOD URL at all. */
export function parseVodPath(rawPath: string): VodRequest | undefined {
  const segments = rawPath.split('/').slice(1);
  if (segments.length < 3) return undefined;
  const mp4At = segments.findIndex((s, i) => i > 0 && /\.mp4$/i.test(safeDecode(s)));
  if (mp4At < 1) return undefined;
  const rest = segments.slice(mp4At + 1).join('/');
  const resource = parseTitlePath(rest);
  if (!resource) {
    if (MALFORMED_SEGMENT.test(rest)) throw new PackagerError(ErrorCode.BAD_REQUEST, 'bad segment number');
    throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'no such resource');
  }
  return { location: segments[0]!, fileSegments: segments.slice(1, mp4At + 1), resource };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
