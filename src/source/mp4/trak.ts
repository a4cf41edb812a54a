/**
 * One trak -> one Track (or a reason to leave it out): header boxes, sample entry, sample table and
 * edit list put together.
 */
import type { Track, TrackKind } from '../../media/track.js';
import { type Box, fullBoxVersion, invalid, need } from './box-reader.js';
import { presentationOffset } from './edit-list.js';
import type { TrakBoxes } from './moov.js';
import { readSampleEntry } from './sample-entry.js';
import { expandSampleTable } from './sample-table.js';

export type TrakResult =
  | { readonly track: Track; /** Presented end of the last sample, seconds. */ readonly end: number }
  | { readonly skipped: { readonly id: number; readonly reason: string } };

const HANDLER_KINDS: Record<string, TrackKind> = { vide: 'video', soun: 'audio' };

export function readTrak(view: DataView, t: TrakBoxes, movieTimescale: number, fragmented: boolean, fileSize: number): TrakResult {
  const where = t.trak.path;
  if (!t.tkhd) throw invalid(`${where}: no tkhd`);
  const tkhd = readTkhd(view, t.tkhd);
  const id = tkhd.id;
  if (!t.hdlr) throw invalid(`${where}: no mdia/hdlr`);
  const hdlr = readHdlr(view, t.hdlr);
  const kind = HANDLER_KINDS[hdlr.type];
  if (!kind) return { skipped: { id, reason: `handler '${hdlr.type}' is neither video nor audio` } };
  if (!t.mdhd) throw invalid(`${where}: no mdia/mdhd`);
  const mdhd = readMdhd(view, t.mdhd);
  if (!t.stbl.stsd) throw invalid(`${where}: no stsd`);
  const entry = readSampleEntry(view, t.stbl.stsd, kind);
  if ('skip' in entry) return { skipped: { id, reason: entry.skip } };
  const e = entry.ok;

  const { samples, maxDescriptionIndex } = expandSampleTable(view, t.stbl, fileSize, where);
  if (samples.count === 0) {
    return { skipped: { id, reason: fragmented ? 'fragmented MP4 (samples in moof) is not supported' : 'no samples' } };
  }
  if (maxDescriptionIndex > 1) {
    return { skipped: { id, reason: `samples use sample description ${maxDescriptionIndex}; only the first is supported` } };
  }
  const offset = presentationOffset(view, t.elst, mdhd.timescale, movieTimescale);

  let end = -Infinity;
  const { dts, cto, duration } = samples;
  for (let i = 0; i < samples.count; i++) {
    const x = dts[i]! + cto[i]! + duration[i]!;
    if (x > end) end = x;
  }
  const track: Track = {
    id,
    kind,
    sampleEntryType: e.type,
    codecString: e.codecString,
    timescale: mdhd.timescale,
    codecConfig: e.codecConfig,
    sampleEntry: e.sampleEntry,
    nalLengthSize: e.nalLengthSize,
    language: mdhd.language,
    name: hdlr.name,
    width: e.width || tkhd.width,
    height: e.height || tkhd.height,
    sampleRate: e.sampleRate,
    channels: e.channels,
    presentationOffset: offset,
    samples,
  };
  return { track, end: (end - offset) / mdhd.timescale };
}

function readTkhd(view: DataView, box: Box): { id: number; width: number; height: number } {
  const v = fullBoxVersion(view, box);
  const idAt = v === 1 ? 20 : 12;
  const sizeAt = v === 1 ? 88 : 76;
  need(box, idAt + 4, 'track_ID');
  const id = view.getUint32(box.bodyStart + idAt);
  // Width/height are 16.16 fixed point; only a fallback, so a short tkhd is tolerated.
  if (box.end - box.bodyStart < sizeAt + 8) return { id, width: 0, height: 0 };
  return {
    id,
    width: view.getUint32(box.bodyStart + sizeAt) >>> 16,
    height: view.getUint32(box.bodyStart + sizeAt + 4) >>> 16,
  };
}

function readMdhd(view: DataView, box: Box): { timescale: number; language: string } {
  const v = fullBoxVersion(view, box);
  const tsAt = v === 1 ? 20 : 12;
  const langAt = v === 1 ? 32 : 20;
  need(box, langAt + 2, 'timescale and language');
  const timescale = view.getUint32(box.bodyStart + tsAt);
  if (timescale === 0) throw invalid(`${box.path}: timescale is 0`);
  return { timescale, language: unpackLanguage(view.getUint16(box.bodyStart + langAt)) };
}

/** ISO-639-2/T packed as three 5-bit letters (offset 0x60); 0 and Macintosh codes (< 0x400) -> 'und'. */
export function unpackLanguage(packed: number): string {
  if (packed < 0x400) return 'und';
  let s = '';
  for (const shift of [10, 5, 0]) {
    const c = ((packed >> shift) & 0x1f) + 0x60;
    if (c < 0x61 || c > 0x7a) return 'und';
    s += String.fromCharCode(c);
  }
  return s;
}

function readHdlr(view: DataView, box: Box): { type: string; name: string } {
  fullBoxVersion(view, box);
  need(box, 24, 'handler_type');
  const b = box.bodyStart;
  const type = String.fromCharCode(view.getUint8(b + 8), view.getUint8(b + 9), view.getUint8(b + 10), view.getUint8(b + 11));
  let bytes = new Uint8Array(view.buffer, view.byteOffset + b + 24, box.end - b - 24);
  // QuickTime writes a Pascal string (length byte first); ISO a NUL-terminated UTF-8 string.
  if (bytes.length > 0 && bytes[0] === bytes.length - 1 && bytes[0]! > 0) bytes = bytes.subarray(1);
  const nul = bytes.indexOf(0);
  if (nul >= 0) bytes = bytes.subarray(0, nul);
  const name = new TextDecoder('utf-8', { fatal: false }).decode(bytes).trim();
  return { type, name };
}
