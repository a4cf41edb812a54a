/**
 * Bounds-checked reading of ISO BMFF box headers and fields over a DataView. Every read of the moov
 * goes through a Box whose [bodyStart, end) was checked against its parent, so a corrupt file ends
 * in a PackagerError naming the box, never in a RangeError from the DataView.
 */
import { ErrorCode, PackagerError } from '../../media/errors.js';

export interface Box {
  readonly type: string;
  /** Offset of the box header in the view. */
  readonly start: number;
  /** Offset of the first byte after the header (size, type and largesize when present). */
  readonly bodyStart: number;
  /** Exclusive end of the box in the view. */
  readonly end: number;
  /** Where it is, for error messages: e.g. `moov/trak[2]/mdia/mdhd`. */
  readonly path: string;
}

export function invalid(message: string): PackagerError {
  return new PackagerError(ErrorCode.SOURCE_INVALID, message);
}

export function fourcc(view: DataView, pos: number): string {
  return String.fromCharCode(
    view.getUint8(pos),
    view.getUint8(pos + 1),
    view.getUint8(pos + 2),
    view.getUint8(pos + 3),
  );
}

/** Unsigned 64-bit as a Number; values past 2^53 cannot be file positions or times we handle. */
export function u64(view: DataView, pos: number, what: string): number {
  const hi = view.getUint32(pos);
  if (hi >= 0x200000) throw invalid(`${what}: 64-bit value exceeds 2^53`);
  return hi * 0x100000000 + view.getUint32(pos + 4);
}

/** Signed 64-bit as a Number (edit list media_time). */
export function i64(view: DataView, pos: number, what: string): number {
  const hi = view.getInt32(pos);
  if (hi >= 0x200000 || hi < -0x200000) throw invalid(`${what}: 64-bit value exceeds 2^53`);
  return hi * 0x100000000 + view.getUint32(pos + 4);
}

/**
 * Reads the header of the box at `pos`, which must end at or before `limit`. Size 0 means "to the end
 * of the parent" (legal only at the top level, tolerated anywhere); size 1 means a 64-bit largesize
 * follows the type.
 */
export function readBoxHeader(view: DataView, pos: number, limit: number, parentPath: string): Box {
  if (pos + 8 > limit) throw invalid(`${parentPath}: box header at ${pos} runs past its parent`);
  const size32 = view.getUint32(pos);
  const type = fourcc(view, pos + 4);
  const path = parentPath ? `${parentPath}/${printable(type)}` : printable(type);
  let headerSize = 8;
  let size: number;
  if (size32 === 1) {
    if (pos + 16 > limit) throw invalid(`${path}: largesize runs past its parent`);
    size = u64(view, pos + 8, path);
    headerSize = 16;
  } else if (size32 === 0) {
    size = limit - pos;
  } else {
    size = size32;
  }
  if (size < headerSize) throw invalid(`${path}: box size ${size} is smaller than its header`);
  if (pos + size > limit) {
    throw invalid(`${path}: box of ${size} bytes at ${pos} runs past its parent (${limit - pos} bytes left)`);
  }
  return { type, start: pos, bodyStart: pos + headerSize, end: pos + size, path };
}

/** Four-character codes may hold any byte: keep messages readable. */
function printable(type: string): string {
  return /^[\x20-\x7e]{4}$/.test(type) ? type : JSON.stringify(type);
}

/**
 * The child boxes of a container whose children start at `from`. Fewer than 8 trailing bytes are
 * ignored: some muxers pad sample entries and udta with zeros.
 */
export function children(view: DataView, parent: Box, from = parent.bodyStart): Box[] {
  const out: Box[] = [];
  let pos = from;
  while (parent.end - pos >= 8) {
    const box = readBoxHeader(view, pos, parent.end, parent.path);
    out.push(box);
    pos = box.end;
  }
  return out;
}

/** Index the children of a container by type (first of each type wins); trak keeps its order. */
export function childMap(view: DataView, parent: Box, from?: number): Map<string, Box> {
  const map = new Map<string, Box>();
  for (const c of children(view, parent, from)) if (!map.has(c.type)) map.set(c.type, c);
  return map;
}

/** Checks that a box body holds at least `bytes` bytes from its start (after any full-box header). */
export function need(box: Box, bytes: number, what = 'body'): void {
  if (box.end - box.bodyStart < bytes) {
    throw invalid(`${box.path}: ${what} needs ${bytes} bytes, box has ${box.end - box.bodyStart}`);
  }
}

/** Full box: version byte and 24-bit flags, checked to be present. */
export function fullBoxVersion(view: DataView, box: Box): number {
  need(box, 4, 'version and flags');
  return view.getUint8(box.bodyStart);
}
