/**
 * MP4 file -> Media. Reads only the top-level box headers (16 bytes each), the ftyp and the moov —
 * two or three small reads whether the moov is at the start or the end — never the media data.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { ErrorCode, PackagerError } from '../../media/errors.js';
import type { Media, SkippedTrack, Track } from '../../media/track.js';
import { type Box, fourcc, invalid, readBoxHeader, u64 } from './box-reader.js';
import { locateMoovBoxes } from './moov.js';
import { readFully } from './read-fully.js';
import { readTrak } from './trak.js';

export interface Mp4Index extends Media {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Approximate memory held by the index: typed arrays plus copied sample entries and configs. */
  readonly indexBytes: number;
}

/** A moov of 512 MiB would index ~100 days of video; anything larger is corrupt. */
const MAX_MOOV = 512 * 1024 * 1024;
const MAX_FTYP = 64 * 1024;
/** Top-level boxes looked at before giving up on finding a moov (a fragmented file has its moov first). */
const MAX_TOP_LEVEL_BOXES = 100_000;

/**
 * Indexes an MP4 already in memory: `data` is the ftyp + moov (as indexMp4 reads them) or the whole
 * file. `fileSize` is the size of the file on disk, against which sample offsets are checked.
 */
export function indexMp4Buffer(data: Uint8Array, fileSize: number): Media {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const moov = findMoovInBuffer(view);
  const boxes = locateMoovBoxes(view, moov);
  const tracks: Track[] = [];
  const skipped: SkippedTrack[] = [];
  let duration = 0;
  for (const t of boxes.traks) {
    const r = readTrak(view, t, boxes.movieTimescale, boxes.fragmented, fileSize);
    if ('skipped' in r) {
      skipped.push(r.skipped);
      continue;
    }
    tracks.push(r.track);
    if (r.end > duration) duration = r.end;
  }
  if (tracks.length === 0) {
    const why = skipped.length ? skipped.map((s) => `track ${s.id}: ${s.reason}`).join('; ') : 'the moov has no tracks';
    throw new PackagerError(ErrorCode.UNSUPPORTED_CODEC, `no packageable track (${why})`);
  }
  return { tracks, duration, skipped };
}

function findMoovInBuffer(view: DataView): Box {
  let pos = 0;
  const len = view.byteLength;
  while (len - pos >= 8) {
    const size32 = view.getUint32(pos);
    const type = fourcc(view, pos + 4);
    if (type === 'moov') return readBoxHeader(view, pos, len, '');
    // Other boxes may be cut short (a buffer holding only ftyp + moov): just step over them.
    let size = size32;
    if (size32 === 1) {
      if (len - pos < 16) break;
      size = u64(view, pos + 8, type);
    } else if (size32 === 0) {
      break;
    }
    if (size < 8) throw invalid(`top-level box '${type}' at ${pos} has size ${size}`);
    pos += size;
  }
  throw invalid('no moov box');
}

function sourceError(e: unknown): PackagerError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
    return new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'file not found', { cause: e });
  }
  return new PackagerError(ErrorCode.SOURCE_INVALID, `cannot read the file (${code ?? String(e)})`, {
    status: 500,
    expose: false,
    cause: e,
  });
}

interface Located {
  readonly start: number;
  readonly size: number;
}

/** Walks top-level box headers with small reads until the moov is found. */
async function locateTopLevel(fh: FileHandle, fileSize: number): Promise<{ ftyp: Located | null; moov: Located }> {
  const head = new Uint8Array(16);
  const view = new DataView(head.buffer);
  let ftyp: Located | null = null;
  let pos = 0;
  for (let n = 0; n < MAX_TOP_LEVEL_BOXES && fileSize - pos >= 8; n++) {
    const want = Math.min(16, fileSize - pos);
    await readFully(fh, head, 0, want, pos);
    const size32 = view.getUint32(0);
    const type = fourcc(view, 4);
    let header = 8;
    let size: number;
    if (size32 === 1) {
      if (want < 16) break;
      size = u64(view, 8, `top-level box '${type}'`);
      header = 16;
    } else if (size32 === 0) {
      size = fileSize - pos;
    } else {
      size = size32;
    }
    if (size < header) throw invalid(`top-level box '${type}' at ${pos} has size ${size}`);
    if (pos + size > fileSize) {
      throw invalid(
        `truncated: top-level box '${type}' at ${pos} needs ${size} bytes, the file has ${fileSize - pos} left` +
          (type === 'moov' ? '' : ' (and no moov before it)'),
      );
    }
    if (type === 'ftyp' && !ftyp && size <= MAX_FTYP) ftyp = { start: pos, size };
    if (type === 'moov') {
      if (size > MAX_MOOV) throw invalid(`moov of ${size} bytes is larger than ${MAX_MOOV}`);
      return { ftyp, moov: { start: pos, size } };
    }
    pos += size;
  }
  throw invalid('no moov box');
}

/** Indexes the MP4 at `path`: tracks and expanded sample tables. */
export async function indexMp4(path: string): Promise<Mp4Index> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw sourceError(e);
  }
  try {
    let size: number;
    let mtimeMs: number;
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'not a regular file');
      size = st.size;
      mtimeMs = st.mtimeMs;
    } catch (e) {
      throw e instanceof PackagerError ? e : sourceError(e);
    }
    const { ftyp, moov } = await locateTopLevel(fh, size).catch((e: unknown) => {
      throw e instanceof PackagerError ? e : sourceError(e);
    });
    // ftyp then moov back to back, read straight into one buffer: the layout indexMp4Buffer expects.
    const ftypSize = ftyp?.size ?? 0;
    const buf = new Uint8Array(ftypSize + moov.size);
    try {
      await Promise.all([
        ftyp ? readFully(fh, buf, 0, ftypSize, ftyp.start) : undefined,
        readFully(fh, buf, ftypSize, moov.size, moov.start),
      ]);
    } catch (e) {
      throw e instanceof PackagerError ? e : sourceError(e);
    }
    const media = indexMp4Buffer(buf, size);
    return { ...media, path, size, mtimeMs, indexBytes: indexBytes(media) };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function indexBytes(media: Media): number {
  let n = 0;
  for (const t of media.tracks) {
    const s = t.samples;
    n += s.dts.byteLength + s.cto.byteLength + s.duration.byteLength + s.size.byteLength;
    n += s.offset.byteLength + s.sync.byteLength + t.sampleEntry.byteLength + t.codecConfig.byteLength;
  }
  return n;
}
