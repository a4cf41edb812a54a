/**
 * The KeyID of a VOD title: the UUID in `<media>.keyos_id` next to it (the BuyDRM KeyOS convention, so
 * libraries prepared for other KeyOS packagers carry over).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { LRUCache } from 'lru-cache';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { parseKid } from './kid.js';

export const SIDECAR_SUFFIX = '.keyos_id';

/** A UUID with a newline is 37 bytes; anything much larger is not a sidecar and is not read whole. */
const MAX_SIDECAR_BYTES = 4096;

export type SidecarProblem = 'missing' | 'empty' | 'malformed' | 'unreadable';

export function sidecarPathOf(mediaPath: string): string {
  return mediaPath + SIDECAR_SUFFIX;
}

/**
 * A protected title refused because its KeyID cannot be had. The message names the sidecar by file name
 * only and may be shown to the client (it already knows the title's name); the full server path is in
 * `logDetail`, which the HTTP layer adds to its log line, never to the response.
 */
export class KidUnavailableError extends PackagerError {
  readonly sidecarPath: string;
  readonly problem: SidecarProblem;
  readonly logDetail: Readonly<Record<string, string>>;

  constructor(sidecarPath: string, problem: SidecarProblem, detail?: string, cause?: unknown) {
    super(ErrorCode.KID_UNAVAILABLE, clientMessage(basename(sidecarPath), problem), {
      expose: true,
      ...(cause === undefined ? {} : { cause }),
    });
    this.name = 'KidUnavailableError';
    this.sidecarPath = sidecarPath;
    this.problem = problem;
    this.logDetail = { sidecar: sidecarPath, problem, ...(detail === undefined ? {} : { detail }) };
  }
}

function clientMessage(name: string, problem: SidecarProblem): string {
  const why = 'a protected location serves a title only with its KeyID';
  switch (problem) {
    case 'missing':
      return `${name} is missing: ${why}`;
    case 'empty':
      return `${name} is empty: ${why}`;
    case 'malformed':
      return `${name} does not hold a KeyID (expected a UUID): ${why}`;
    case 'unreadable':
      return `${name} cannot be read: ${why}`;
  }
}

interface Entry {
  readonly stamp: string;
  readonly kid: Uint8Array;
}

/**
 * Parsed sidecars, keyed by sidecar path and validated against a fresh stat on every read: a stat is
 * far cheaper than the segment it gates, and it makes an edited or replaced sidecar (new mtime, ctime,
 * inode or size) take effect on the very next request. Failures are not cached, so a sidecar dropped in
 * after its media file is picked up at once.
 */
export class SidecarKids {
  private readonly lru: LRUCache<string, Entry>;
  hits = 0;
  misses = 0;

  constructor(max = 100_000) {
    this.lru = new LRUCache<string, Entry>({ max });
  }

  async read(mediaPath: string): Promise<Uint8Array> {
    const path = sidecarPathOf(mediaPath);
    let stamp: string;
    try {
      const st = await stat(path, { bigint: true });
      if (!st.isFile()) throw new KidUnavailableError(path, 'unreadable', 'not a regular file');
      if (st.size > MAX_SIDECAR_BYTES) throw new KidUnavailableError(path, 'malformed', `${st.size} bytes is too large`);
      // ctime too: utimes can set mtime back, but any write or rename moves ctime.
      stamp = `${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.size}`;
    } catch (e) {
      throw asKidError(path, e);
    }
    const cached = this.lru.get(path);
    if (cached?.stamp === stamp) {
      this.hits++;
      return cached.kid.slice();
    }
    this.misses++;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw asKidError(path, e);
    }
    if (text.trim() === '') throw new KidUnavailableError(path, 'empty');
    let kid: Uint8Array;
    try {
      kid = parseKid(text);
    } catch (e) {
      throw new KidUnavailableError(path, 'malformed', e instanceof Error ? e.message : String(e), e);
    }
    this.lru.set(path, { stamp, kid });
    return kid.slice();
  }

  /** Drops a cached sidecar; `path` may name the sidecar or its media file (what a watcher sees). */
  invalidate(path: string): void {
    this.lru.delete(path.endsWith(SIDECAR_SUFFIX) ? path : sidecarPathOf(path));
  }

  clear(): void {
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

function asKidError(path: string, e: unknown): KidUnavailableError {
  if (e instanceof KidUnavailableError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new KidUnavailableError(path, 'missing', undefined, e);
  return new KidUnavailableError(path, 'unreadable', code ?? (e instanceof Error ? e.message : String(e)), e);
}

const shared = new SidecarKids();

/**
 * The KeyID of `mediaPath`, from `${mediaPath}.keyos_id`. Throws KidUnavailableError (KID_UNAVAILABLE,
 * 503) when the sidecar is missing, empty, malformed or unreadable: the title is refused, never served
 * clear.
 */
export function readSidecarKid(mediaPath: string): Promise<Uint8Array> {
  return shared.read(mediaPath);
}

/** For the file watcher: forget the cached KID of a sidecar (or of the media file it belongs to). */
export function invalidateSidecar(path: string): void {
  shared.invalidate(path);
}
