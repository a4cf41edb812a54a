/**
 * The DVR archive of ONE live stream: one file per segment, `<number>.seg` (segment-codec format), in a
 * directory of its own. Memory holds only the index (LiveSegmentInfo per segment, no media bytes);
 * `read` loads a segment's file when a client asks for it.
 *
 * Crash safety: a segment is written to `<number>.seg.tmp`, fsynced, then renamed to `<number>.seg`.
 * rename is atomic, so a `.seg` name only ever points at a complete file, and a crash (kill -9, power
 * loss) at any point leaves at worst a `.tmp`, which `open` deletes. `open` trusts nothing else either:
 * it checks each file's header and size, and moves a bad file aside (`.corrupt`) rather than serve it.
 *
 * Depth: after each append (and at open), the oldest segments whose end is more than depthSeconds
 * before the newest segment's end are deleted. Measured on the segments' wall clocks rather than the
 * host's clock, so an archive reopened after a long stop still offers its last depthSeconds.
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, PackagerError, isPackagerError } from '../../media/errors.js';
import { decodeSegment, decodeSegmentInfo, encodeSegment, liveSegmentInfo } from './segment-codec.js';
import { LIVE_TIMESCALE, type LiveSegment, type LiveSegmentInfo } from './types.js';

export type DvrLog = (level: 'info' | 'warn', msg: string, fields?: object) => void;

export interface DvrArchiveOptions {
  /** Seconds of segments kept behind the newest segment's end (> 0). */
  readonly depthSeconds: number;
  readonly log?: DvrLog;
  /** Clock (ms) used to time the directory scan reported at open; tests pin it. */
  readonly now?: () => number;
}

const SEGMENT_FILE = /^(0|[1-9][0-9]{0,15})\.seg$/;
/** Enough for any normal header (sample entries are a few hundred bytes): one read per file at open. */
const HEADER_READ_BYTES = 64 * 1024;
/** fsync on a directory is not supported everywhere (some network and FUSE filesystems, Windows). */
const DIR_SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EPERM', 'EISDIR', 'EBADF']);

const noop = (): void => {};

function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Wall-clock end of a segment, ms. */
function endMs(s: LiveSegmentInfo): number {
  return s.wallClock + (s.duration / LIVE_TIMESCALE) * 1000;
}

export class DvrArchive {
  /** Oldest first. Replaced, never mutated, so an array handed out by list() stays as it was. */
  private index: readonly LiveSegmentInfo[] = [];
  /** Highest number ever indexed: the next append must exceed it even if that segment has since gone. */
  private highWater: number | undefined;
  /** Appends run one after another in call order; this is the last one queued (never rejected). */
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly depthMs: number,
    private readonly log: DvrLog,
  ) {}

  static async open(dir: string, opts: DvrArchiveOptions): Promise<DvrArchive> {
    if (!(Number.isFinite(opts.depthSeconds) && opts.depthSeconds > 0)) {
      throw new PackagerError(ErrorCode.CONFIG_INVALID, `DVR depth must be a positive number of seconds, got ${opts.depthSeconds}`);
    }
    await mkdir(dir, { recursive: true });
    const archive = new DvrArchive(dir, opts.depthSeconds * 1000, opts.log ?? noop);
    await archive.scan(opts.now ?? Date.now);
    return archive;
  }

  /** Archived segments, oldest first. */
  list(): readonly LiveSegmentInfo[] {
    return this.index;
  }

  /** The number the next append must exceed (the newest segment archived), undefined for an empty archive. */
  lastNumber(): number | undefined {
    return this.highWater;
  }

  /**
   * Stores a segment durably, then prunes beyond the depth. Calls are serialized in call order. Rejects
   * (index unchanged, no temp file left) on a write failure or a number not above lastNumber().
   */
  append(seg: LiveSegment): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`DVR archive ${this.dir} is closed`));
    const run = this.tail.then(() => this.write(seg));
    // One failed append must not fail the ones queued behind it.
    this.tail = run.then(noop, noop);
    return run;
  }

  /**
   * The segment, or undefined when it is not archived (pruned, never written, or found corrupt now: it
   * is then moved aside and dropped from the index, like a file found corrupt at open).
   */
  async read(number: number): Promise<LiveSegment | undefined> {
    if (this.closed) throw new Error(`DVR archive ${this.dir} is closed`);
    if (this.position(number) < 0) return undefined;
    const path = this.pathOf(number);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      // Pruned between the index lookup and the read.
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const seg = decodeSegment(buf, path);
      if (seg.number !== number) throw new PackagerError(ErrorCode.SOURCE_INVALID, `${path}: holds segment ${seg.number}`, { expose: false });
      return seg;
    } catch (e) {
      if (!isPackagerError(e)) throw e;
      this.index = this.index.filter((s) => s.number !== number);
      await this.quarantine(path, e);
      return undefined;
    }
  }

  /** Waits for queued appends; later appends and reads are refused. Holds no open files otherwise. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }

  private pathOf(number: number): string {
    return join(this.dir, `${number}.seg`);
  }

  /** Index position of a number (binary search: the index is sorted), -1 when absent. */
  private position(number: number): number {
    let lo = 0;
    let hi = this.index.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const n = this.index[mid]!.number;
      if (n === number) return mid;
      if (n < number) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private async write(seg: LiveSegment): Promise<void> {
    if (this.highWater !== undefined && seg.number <= this.highWater) {
      throw new RangeError(`DVR archive ${this.dir}: segment ${seg.number} is not after segment ${this.highWater}`);
    }
    const bytes = encodeSegment(seg);
    const final = this.pathOf(seg.number);
    const tmp = `${final}.tmp`;
    try {
      await writeSynced(tmp, bytes);
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { force: true }).catch(noop);
      throw e;
    }
    try {
      // The rename is a change to the directory: until the directory itself is synced, a power loss
      // (unlike a process crash, which the page cache survives) may forget the new name even though
      // the file's data was synced. Only then is the segment acknowledged.
      await syncDir(this.dir);
    } catch (e) {
      // Keep disk and index in agreement: a segment we reject must not turn up at the next open.
      await rm(final, { force: true }).catch(noop);
      throw e;
    }
    this.index = [...this.index, liveSegmentInfo(seg)];
    this.highWater = seg.number;
    await this.prune();
  }

  /** Drops the oldest segments that ended more than the depth before the newest one ended. */
  private async prune(): Promise<void> {
    const newest = this.index.at(-1);
    if (newest === undefined) return;
    const cutoff = endMs(newest) - this.depthMs;
    let n = 0;
    // Stops at the first segment still inside the depth, so the index stays contiguous in number order
    // even if wall clocks jumped; never removes the newest.
    while (n < this.index.length - 1 && endMs(this.index[n]!) < cutoff) n++;
    if (n === 0) return;
    const gone = this.index.slice(0, n);
    // Out of the index first: from now on read() answers undefined without touching the files.
    this.index = this.index.slice(n);
    for (const s of gone) {
      await rm(this.pathOf(s.number), { force: true }).catch((e: unknown) => {
        // Left on disk, it is found again and pruned again at the next open.
        this.log('warn', 'DVR: could not delete a pruned segment', { dir: this.dir, number: s.number, error: messageOf(e) });
      });
    }
  }

  private async scan(now: () => number): Promise<void> {
    const t0 = now();
    const found: LiveSegmentInfo[] = [];
    let tmpRemoved = 0;
    let corrupt = 0;
    // Sequential on purpose: a header read per file is quick, and a depth of a few thousand segments
    // does not justify holding many file descriptors at once.
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      const path = join(this.dir, entry.name);
      if (entry.name.endsWith('.tmp')) {
        // An append that did not reach its rename: never acknowledged, so never part of the archive.
        try {
          await rm(path, { force: true, recursive: true });
          tmpRemoved++;
        } catch (e) {
          this.log('warn', 'DVR: could not delete a leftover temp file', { file: path, error: messageOf(e) });
        }
        continue;
      }
      const m = SEGMENT_FILE.exec(entry.name);
      if (m === null || !entry.isFile()) continue;
      try {
        found.push(await readInfo(path, Number(m[1])));
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') continue;
        await this.quarantine(path, e);
        corrupt++;
      }
    }
    found.sort((a, b) => a.number - b.number);
    this.index = found;
    this.highWater = found.at(-1)?.number;
    await this.prune();
    this.log('info', 'DVR archive opened', {
      dir: this.dir,
      segments: this.index.length,
      pruned: found.length - this.index.length,
      tmpRemoved,
      corrupt,
      scanMs: now() - t0,
    });
  }

  /** Renames a bad file to `<name>.corrupt`: out of the archive, kept for a post-mortem. */
  private async quarantine(path: string, reason: unknown): Promise<void> {
    const aside = `${path}.corrupt`;
    try {
      await rename(path, aside);
      this.log('warn', 'DVR: corrupt segment file moved aside', { file: path, movedTo: aside, error: messageOf(reason) });
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return; // pruned meanwhile
      this.log('warn', 'DVR: corrupt segment file could not be moved aside (not served)', { file: path, error: messageOf(reason), renameError: messageOf(e) });
    }
  }
}

/**
 * A segment file's info from its header, checking that the file is exactly as long as the header says
 * (which catches truncation without reading the media) and that it holds the number in its name.
 */
async function readInfo(path: string, number: number): Promise<LiveSegmentInfo> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    let want = Math.min(size, HEADER_READ_BYTES);
    for (;;) {
      const buf = Buffer.alloc(want);
      const { bytesRead } = await fh.read(buf, 0, want, 0);
      const r = decodeSegmentInfo(buf.subarray(0, bytesRead), path);
      if (r.kind === 'info') {
        if (r.fileBytes !== size) throw corruptFile(path, `${size} bytes, its header describes ${r.fileBytes}`);
        if (r.info.number !== number) throw corruptFile(path, `holds segment ${r.info.number}`);
        return r.info;
      }
      if (r.needBytes > size || bytesRead < want) throw corruptFile(path, `truncated at ${size} bytes`);
      want = r.needBytes;
    }
  } finally {
    await fh.close();
  }
}

function corruptFile(path: string, what: string): PackagerError {
  return new PackagerError(ErrorCode.SOURCE_INVALID, `${path}: invalid live segment: ${what}`, { expose: false });
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(noop);
    throw e;
  }
  await fh.close();
}

async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    if (DIR_SYNC_UNSUPPORTED.has(errnoCode(e) ?? '')) return;
    throw e;
  } finally {
    await fh?.close();
  }
}
