/**
 * Subsample maps: which bytes of each video sample stay clear and which are protected (CENC §9.5, the
 * rules of FORMATS.md §1.4/§2). Pure bookkeeping over NAL boundaries and slice-header sizes; no cipher.
 */
import { ErrorCode, PackagerError } from '../media/errors.js';
import { ALL_CLEAR, type SliceHeaderScanner } from './slice-headers.js';
import type { CencScheme } from './types.js';

/** BytesOfClearData is 16 bits: longer clear runs are split into (65535, 0) entries. */
const MAX_CLEAR = 0xffff;

/**
 * The subsample entries of a run of samples, one typed array per field (what senc needs): sample k
 * owns entries index[k] .. index[k + 1] - 1.
 */
export class SubsampleMap {
  readonly index: Uint32Array;
  clearBytes: Uint32Array;
  protectedBytes: Uint32Array;
  count = 0;
  private samples = 0;

  constructor(sampleCount: number, capacity = Math.max(16, sampleCount * 4)) {
    this.index = new Uint32Array(sampleCount + 1);
    this.clearBytes = new Uint32Array(capacity);
    this.protectedBytes = new Uint32Array(capacity);
  }

  push(clear: number, prot: number): void {
    if (this.count === this.clearBytes.length) this.grow(this.count + 1);
    this.clearBytes[this.count] = clear;
    this.protectedBytes[this.count++] = prot;
  }

  /** Closes the entries of the current sample. */
  endSample(): void {
    this.index[++this.samples] = this.count;
  }

  grow(min: number): void {
    const n = Math.max(min, this.clearBytes.length * 2);
    const c = new Uint32Array(n);
    const p = new Uint32Array(n);
    c.set(this.clearBytes.subarray(0, this.count));
    p.set(this.protectedBytes.subarray(0, this.count));
    this.clearBytes = c;
    this.protectedBytes = p;
  }
}

/**
 * Appends the subsamples of the video sample at buf[start, end) to `out` and closes the sample.
 *  - Every NAL's length prefix, every non-VCL NAL, and each slice's NAL header + slice header are clear.
 *  - cenc: a slice's protected bytes are the largest multiple of 16 at the end of the NAL; the remainder
 *    joins the clear part (CMAF). cbcs: protected from the first byte after the slice header; the
 *    cipher leaves any partial block at the end clear. A slice with fewer than 16 protectable bytes
 *    has nothing a cipher would change, so it is simply clear.
 *  - Clear bytes accumulate into the next slice's clear part; any left after the last slice become a
 *    final (clear, 0) entry.
 *  - No more than maxEntries entries (saiz's 8-bit size): the subsamples with the fewest protected
 *    bytes are folded into the clear part of the next one.
 *  - Clear runs over 65535 bytes are split into (65535, 0) entries.
 */
export function sampleSubsamples(
  buf: Uint8Array,
  start: number,
  end: number,
  scanner: SliceHeaderScanner,
  scheme: CencScheme,
  maxEntries: number,
  out: SubsampleMap,
): void {
  const first = out.count;
  const lengthSize = scanner.nalLengthSize;
  if (lengthSize !== 1 && lengthSize !== 2 && lengthSize !== 4) {
    throw new PackagerError(ErrorCode.SOURCE_INVALID, `NAL length size ${lengthSize} is not 1, 2 or 4`);
  }
  let pendingClear = 0;
  let pos = start;
  while (pos < end) {
    if (pos + lengthSize > end) throw new PackagerError(ErrorCode.SOURCE_INVALID, `NAL length prefix runs past the sample`);
    let len = 0;
    for (let i = 0; i < lengthSize; i++) len = len * 256 + buf[pos + i]!;
    const nal = pos + lengthSize;
    const nalEnd = nal + len;
    if (nalEnd > end) throw new PackagerError(ErrorCode.SOURCE_INVALID, `NAL unit of ${len} bytes runs past the sample`);
    const leader = scanner.clearLeader(buf, nal, nalEnd);
    let prot = 0;
    if (leader !== ALL_CLEAR) {
      prot = len - leader;
      if (scheme === 'cenc') prot -= prot % 16;
      if (prot < 16) prot = 0;
    }
    if (prot > 0) {
      out.push(pendingClear + lengthSize + len - prot, prot);
      pendingClear = 0;
    } else {
      pendingClear += lengthSize + len;
    }
    pos = nalEnd;
  }
  if (pendingClear > 0 || out.count === first) out.push(pendingClear, 0);
  limitEntries(out, first, maxEntries);
  splitClearRuns(out, first);
  out.endSample();
}

/** Entries a (clear, prot) pair takes once its clear run is split into 16-bit pieces. */
function entriesFor(clear: number): number {
  return clear > MAX_CLEAR ? Math.ceil(clear / MAX_CLEAR) : 1;
}

function limitEntries(out: SubsampleMap, first: number, maxEntries: number): void {
  const c = out.clearBytes;
  const p = out.protectedBytes;
  let total = 0;
  for (let j = first; j < out.count; j++) total += entriesFor(c[j]!);
  while (total > maxEntries) {
    // Fold the entry with the fewest protected bytes into the next one: still a valid map, only
    // fewer bytes encrypted. The last entry has no next one and is never chosen.
    if (out.count - first < 2) {
      throw new PackagerError(ErrorCode.ENCRYPTION_FAILURE, `sample needs more than ${maxEntries} subsamples`, { expose: false });
    }
    let pick = first;
    for (let j = first + 1; j < out.count - 1; j++) if (p[j]! < p[pick]!) pick = j;
    total -= entriesFor(c[pick]!) + entriesFor(c[pick + 1]!);
    c[pick + 1] = c[pick + 1]! + c[pick]! + p[pick]!;
    total += entriesFor(c[pick + 1]!);
    c.copyWithin(pick, pick + 1, out.count);
    p.copyWithin(pick, pick + 1, out.count);
    out.count--;
  }
}

function splitClearRuns(out: SubsampleMap, first: number): void {
  let extra = 0;
  for (let j = first; j < out.count; j++) extra += entriesFor(out.clearBytes[j]!) - 1;
  if (extra === 0) return;
  const oldCount = out.count;
  if (oldCount + extra > out.clearBytes.length) out.grow(oldCount + extra);
  const c = out.clearBytes;
  const p = out.protectedBytes;
  // Back to front, so entries move only into slots already read.
  let w = oldCount + extra;
  for (let j = oldCount - 1; j >= first; j--) {
    const clear = c[j]!;
    const prot = p[j]!;
    const pieces = entriesFor(clear);
    const last = clear - MAX_CLEAR * (pieces - 1);
    c[--w] = last;
    p[w] = prot;
    for (let k = 1; k < pieces; k++) {
      c[--w] = MAX_CLEAR;
      p[w] = 0;
    }
  }
  out.count = oldCount + extra;
}
