/**
 * Expands a trak's compact sample tables (stts, ctts, stsz/stz2, stsc + stco/co64, stss) into the
 * struct-of-arrays SampleTable: one pass per table, straight into preallocated typed arrays.
 *
 * Counts: every table must describe at least as many samples as stsz declares (fewer is an error,
 * naming the table); entries past the last sample are ignored, as players do.
 */
import type { SampleTable } from '../../media/track.js';
import { type Box, fullBoxVersion, invalid, need, u64 } from './box-reader.js';
import type { StblBoxes } from './moov.js';

/** 2^25 samples = 9 days of 48 kHz AAC or 15 days of 25 fps video; ~1 GiB of arrays. */
const MAX_SAMPLES = 1 << 25;

export interface ExpandedTable {
  readonly samples: SampleTable;
  /** Largest sample_description_index used; > 1 means samples refer to later stsd entries. */
  readonly maxDescriptionIndex: number;
}

/** Reads an entry_count at body+4 and checks `entrySize * count` bytes follow `headerBytes`. */
function entries(view: DataView, box: Box, headerBytes: number, entrySize: number): number {
  fullBoxVersion(view, box);
  need(box, headerBytes, 'header');
  const count = view.getUint32(box.bodyStart + headerBytes - 4);
  const avail = box.end - box.bodyStart - headerBytes;
  if (count * entrySize > avail) {
    throw invalid(`${box.path}: entry_count ${count} needs ${count * entrySize} bytes, box has ${avail}`);
  }
  return count;
}

export function expandSampleTable(view: DataView, stbl: StblBoxes, fileSize: number, where: string): ExpandedTable {
  const { count, constantSize, sizeBox } = sampleCount(view, stbl, fileSize, where);
  let dts: Float64Array;
  let cto: Int32Array;
  let duration: Uint32Array;
  let size: Uint32Array;
  let offset: Float64Array;
  let sync: Uint8Array;
  try {
    dts = new Float64Array(count);
    cto = new Int32Array(count);
    duration = new Uint32Array(count);
    size = new Uint32Array(count);
    offset = new Float64Array(count);
    sync = new Uint8Array(count);
  } catch (e) {
    throw invalid(`${where}: cannot allocate tables for ${count} samples (${String(e)})`);
  }
  readSizes(view, sizeBox, constantSize, size);
  readTimes(view, stbl.stts, dts, duration, where);
  if (stbl.ctts) readCompositionOffsets(view, stbl.ctts, cto);
  readSync(view, stbl.stss, sync);
  const maxDescriptionIndex = readOffsets(view, stbl, size, offset, fileSize, where);
  return { samples: { count, dts, cto, duration, size, offset, sync }, maxDescriptionIndex };
}

function sampleCount(
  view: DataView,
  stbl: StblBoxes,
  fileSize: number,
  where: string,
): { count: number; constantSize: number; sizeBox: Box } {
  const sizeBox = stbl.stsz ?? stbl.stz2;
  if (!sizeBox) throw invalid(`${where}: stbl has neither stsz nor stz2`);
  fullBoxVersion(view, sizeBox);
  need(sizeBox, 12, 'header');
  const count = view.getUint32(sizeBox.bodyStart + 8);
  let constantSize = 0;
  if (sizeBox.type === 'stsz') {
    constantSize = view.getUint32(sizeBox.bodyStart + 4);
    if (constantSize === 0) need(sizeBox, 12 + count * 4, `${count} sample sizes`);
    // A constant size is not bounded by the box: bound the count by the file instead.
    else if (count * constantSize > fileSize) {
      throw invalid(`${sizeBox.path}: ${count} samples of ${constantSize} bytes exceed the ${fileSize}-byte file`);
    }
  } else {
    const field = view.getUint8(sizeBox.bodyStart + 7);
    if (field !== 4 && field !== 8 && field !== 16) throw invalid(`${sizeBox.path}: field_size ${field}`);
    need(sizeBox, 12 + Math.ceil((count * field) / 8), `${count} sample sizes`);
  }
  if (count > MAX_SAMPLES) throw invalid(`${sizeBox.path}: ${count} samples is more than the ${MAX_SAMPLES} supported`);
  return { count, constantSize, sizeBox };
}

function readSizes(view: DataView, box: Box, constantSize: number, size: Uint32Array): void {
  const n = size.length;
  if (box.type === 'stsz') {
    if (constantSize !== 0) {
      size.fill(constantSize);
      return;
    }
    let p = box.bodyStart + 12;
    for (let i = 0; i < n; i++, p += 4) size[i] = view.getUint32(p);
    return;
  }
  const field = view.getUint8(box.bodyStart + 7);
  const p = box.bodyStart + 12;
  if (field === 16) for (let i = 0; i < n; i++) size[i] = view.getUint16(p + i * 2);
  else if (field === 8) for (let i = 0; i < n; i++) size[i] = view.getUint8(p + i);
  else for (let i = 0; i < n; i++) size[i] = (view.getUint8(p + (i >> 1)) >> (i & 1 ? 0 : 4)) & 0xf;
}

function readTimes(view: DataView, stts: Box | undefined, dts: Float64Array, duration: Uint32Array, where: string): void {
  const n = dts.length;
  if (!stts) {
    if (n > 0) throw invalid(`${where}: stbl has no stts`);
    return;
  }
  const count = entries(view, stts, 8, 8);
  let p = stts.bodyStart + 8;
  let i = 0;
  let t = 0;
  for (let e = 0; e < count && i < n; e++, p += 8) {
    const end = Math.min(n, i + view.getUint32(p));
    const delta = view.getUint32(p + 4);
    for (; i < end; i++) {
      dts[i] = t;
      duration[i] = delta;
      t += delta;
    }
  }
  if (i < n) throw invalid(`${stts.path}: describes ${i} samples, stsz has ${n}`);
}

function readCompositionOffsets(view: DataView, ctts: Box, cto: Int32Array): void {
  const n = cto.length;
  const count = entries(view, ctts, 8, 8);
  let p = ctts.bodyStart + 8;
  let i = 0;
  for (let e = 0; e < count && i < n; e++, p += 8) {
    const end = Math.min(n, i + view.getUint32(p));
    // Version 0 says unsigned, but muxers write negative offsets in v0 too; read both as signed, as
    // FFmpeg and every player do.
    cto.fill(view.getInt32(p + 4), i, end);
    i = end;
  }
  if (i < n) throw invalid(`${ctts.path}: describes ${i} samples, stsz has ${n}`);
}

function readSync(view: DataView, stss: Box | undefined, sync: Uint8Array): void {
  if (!stss) {
    sync.fill(1); // no stss: every sample is a sync sample
    return;
  }
  const n = sync.length;
  const count = entries(view, stss, 8, 4);
  let p = stss.bodyStart + 8;
  for (let e = 0; e < count; e++, p += 4) {
    const k = view.getUint32(p);
    if (k < 1 || k > n) throw invalid(`${stss.path}: sync sample ${k} is outside 1..${n}`);
    sync[k - 1] = 1;
  }
}

/** Fills `offset` from stsc + stco/co64 and checks every chunk lies inside the file. */
function readOffsets(
  view: DataView,
  stbl: StblBoxes,
  size: Uint32Array,
  offset: Float64Array,
  fileSize: number,
  where: string,
): number {
  const n = size.length;
  const coBox = stbl.stco ?? stbl.co64;
  const stsc = stbl.stsc;
  if (!coBox || !stsc) {
    if (n > 0) throw invalid(`${where}: stbl has no ${coBox ? 'stsc' : 'stco/co64'}`);
    return 1;
  }
  const wide = coBox.type === 'co64';
  const chunkCount = entries(view, coBox, 8, wide ? 8 : 4);
  const coBase = coBox.bodyStart + 8;
  const scCount = entries(view, stsc, 8, 12);
  let p = stsc.bodyStart + 8;
  let i = 0;
  let maxDescriptionIndex = n > 0 ? 1 : 0;
  for (let e = 0; e < scCount && i < n; e++, p += 12) {
    const first = view.getUint32(p);
    const perChunk = view.getUint32(p + 4);
    const description = view.getUint32(p + 8);
    const next = e + 1 < scCount ? view.getUint32(p + 12) : chunkCount + 1;
    if (first < 1 || first > chunkCount || next < first || next > chunkCount + 1) {
      throw invalid(`${stsc.path}: entry ${e + 1} covers chunks ${first}..${next - 1} of ${chunkCount}`);
    }
    if (perChunk > 0 && first < next && description > maxDescriptionIndex) maxDescriptionIndex = description;
    for (let c = first; c < next && i < n; c++) {
      let off = wide ? u64(view, coBase + (c - 1) * 8, coBox.path) : view.getUint32(coBase + (c - 1) * 4);
      const last = Math.min(n, i + perChunk);
      for (; i < last; i++) {
        offset[i] = off;
        off += size[i]!;
      }
      if (off > fileSize) {
        throw invalid(`${where}: chunk ${c} ends at byte ${off}, past the end of the ${fileSize}-byte file (truncated?)`);
      }
    }
  }
  if (i < n) throw invalid(`${stsc.path}: chunks hold ${i} samples, stsz has ${n}`);
  return maxDescriptionIndex;
}
