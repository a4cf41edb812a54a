import { realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { PackagerError, ErrorCode } from '../media/errors.js';

/**
 * Turns URL path segments (still percent-encoded, as they arrived) into an absolute file path that is
 * guaranteed to stay inside `root`, following symlinks. Anything that tries to leave — `..`, encoded
 * `%2e%2e`, encoded slashes or backslashes, NUL bytes, absolute paths, a symlink to elsewhere — is a
 * PATH_OUTSIDE_LOCATION error (400), never a file.
 */
export async function resolveInside(root: string, encodedSegments: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const raw of encodedSegments) {
    let part: string;
    try {
      part = decodeURIComponent(raw);
    } catch {
      throw outside('malformed percent-encoding in path');
    }
    if (part === '' || part === '.' || part === '..' || /[/\\\0]/.test(part)) {
      throw outside('path leaves its location');
    }
    parts.push(part);
  }
  if (parts.length === 0) throw outside('empty path');
  const rootReal = await realRoot(root);
  const candidate = rootReal + sep + parts.join(sep);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch (e) {
    if (isNotFound(e)) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, `no such file: ${parts.join('/')}`);
    throw e;
  }
  if (!real.startsWith(rootReal + sep)) throw outside('path resolves outside its location');
  return real;
}

/**
 * The location folder's real path, cached for a few seconds: it is the same for every request of a
 * location, and resolving it each time was a third of the file-system calls of a segment request. (The
 * requested file's own path is resolved every time: that is what catches a symlink leading outside.)
 */
const ROOT_TTL_MS = 5000;
const rootCache = new Map<string, { real: string; until: number }>();

async function realRoot(root: string): Promise<string> {
  const now = Date.now();
  const hit = rootCache.get(root);
  if (hit && hit.until > now) return hit.real;
  try {
    const real = await realpath(root);
    if (rootCache.size > 1000) rootCache.clear();
    rootCache.set(root, { real, until: now + ROOT_TTL_MS });
    return real;
  } catch (e) {
    rootCache.delete(root);
    if (isNotFound(e)) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'the location folder does not exist', { status: 404 });
    throw e;
  }
}

function outside(message: string): PackagerError {
  return new PackagerError(ErrorCode.PATH_OUTSIDE_LOCATION, message);
}

export function isNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
