/**
 * Every box module, written on its own and read back by mp4box (an independent parser), field by field
 * (shaka's WriteReadbackCompare, mp4ff's boxDiffAfterEncodeAndDecode). senc, which mp4box keeps opaque,
 * is read back by parseSenc below.
 */
import { describe, expect, it } from 'vitest';
import { BoxWriter } from '../../../../src/mux/fmp4/box-writer.js';
import * as dinf from '../../../../src/mux/fmp4/boxes/dinf.js';
import * as dref from '../../../../src/mux/fmp4/boxes/dref.js';
import * as frma from '../../../../src/mux/fmp4/boxes/frma.js';
import * as ftyp from '../../../../src/mux/fmp4/boxes/ftyp.js';
import * as hdlr from '../../../../src/mux/fmp4/boxes/hdlr.js';
import * as mdat from '../../../../src/mux/fmp4/boxes/mdat.js';
import * as mdhd from '../../../../src/mux/fmp4/boxes/mdhd.js';
import * as mdia from '../../../../src/mux/fmp4/boxes/mdia.js';
import * as mfhd from '../../../../src/mux/fmp4/boxes/mfhd.js';
import * as minf from '../../../../src/mux/fmp4/boxes/minf.js';
import * as moof from '../../../../src/mux/fmp4/boxes/moof.js';
import * as moov from '../../../../src/mux/fmp4/boxes/moov.js';
import * as mvex from '../../../../src/mux/fmp4/boxes/mvex.js';
import * as mvhd from '../../../../src/mux/fmp4/boxes/mvhd.js';
import * as pssh from '../../../../src/mux/fmp4/boxes/pssh.js';
import * as saio from '../../../../src/mux/fmp4/boxes/saio.js';
import * as saiz from '../../../../src/mux/fmp4/boxes/saiz.js';
import * as sampleEntry from '../../../../src/mux/fmp4/boxes/sample-entry.js';
import * as schi from '../../../../src/mux/fmp4/boxes/schi.js';
import * as schm from '../../../../src/mux/fmp4/boxes/schm.js';
import * as senc from '../../../../src/mux/fmp4/boxes/senc.js';
import * as sinf from '../../../../src/mux/fmp4/boxes/sinf.js';
import * as smhd from '../../../../src/mux/fmp4/boxes/smhd.js';
import * as stbl from '../../../../src/mux/fmp4/boxes/stbl.js';
import * as stco from '../../../../src/mux/fmp4/boxes/stco.js';
import * as stsc from '../../../../src/mux/fmp4/boxes/stsc.js';
import * as stsd from '../../../../src/mux/fmp4/boxes/stsd.js';
import * as stsz from '../../../../src/mux/fmp4/boxes/stsz.js';
import * as stts from '../../../../src/mux/fmp4/boxes/stts.js';
import * as styp from '../../../../src/mux/fmp4/boxes/styp.js';
import * as tenc from '../../../../src/mux/fmp4/boxes/tenc.js';
import * as tfdt from '../../../../src/mux/fmp4/boxes/tfdt.js';
import * as tfhd from '../../../../src/mux/fmp4/boxes/tfhd.js';
import * as tkhd from '../../../../src/mux/fmp4/boxes/tkhd.js';
import * as traf from '../../../../src/mux/fmp4/boxes/traf.js';
import * as trak from '../../../../src/mux/fmp4/boxes/trak.js';
import * as trex from '../../../../src/mux/fmp4/boxes/trex.js';
import * as trun from '../../../../src/mux/fmp4/boxes/trun.js';
import * as url from '../../../../src/mux/fmp4/boxes/url.js';
import * as vmhd from '../../../../src/mux/fmp4/boxes/vmhd.js';
import type { SencFields } from '../../../../src/mux/fmp4/boxes/senc.js';
import type { TrunFields } from '../../../../src/mux/fmp4/boxes/trun.js';
import { avc1Entry, fromHex, hex, makeSamples, mp4aEntry, parseWithMp4box } from './helpers.js';

const KID = fromHex('00112233445566778899aabbccddeeff');
const IV16 = fromHex('0f0e0d0c0b0a09080706050403020100');
const KID_HEX = '00112233445566778899aabbccddeeff';
const UNITY = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];

/** Measure, allocate, write, check: the same discipline as the builders. */
function writeBox(size: number, write: (w: BoxWriter) => void): Uint8Array {
  const w = new BoxWriter(new Uint8Array(size));
  write(w);
  w.finish(size);
  return w.buf;
}

/**
 * The part of `actual` that `expected` describes, as plain data: mp4box boxes are class instances
 * with private fields that generic deep matchers trip over.
 */
function project(actual: unknown, expected: unknown): unknown {
  if (Array.isArray(expected)) {
    const list = Array.isArray(actual) ? (actual as unknown[]) : [];
    return list.map((a, i) => project(a, expected[i] ?? expected[0]));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return actual;
    const src = actual as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(expected)) out[k] = project(src[k], (expected as Record<string, unknown>)[k]);
    return out;
  }
  return actual;
}

/** mp4box's parse of a lone box, as a plain record (mp4box types each box class separately). */
function parsed(bytes: Uint8Array): Record<string, unknown> {
  const boxes = parseWithMp4box(bytes).boxes;
  expect(boxes).toHaveLength(1);
  const box = boxes[0] as unknown as Record<string, unknown>;
  expect(box.size).toBe(bytes.length);
  return box;
}

function child(box: Record<string, unknown>, type: string): Record<string, unknown> {
  const list = box.boxes as Record<string, unknown>[] | undefined;
  const found = list?.find((b) => b.type === type);
  if (!found) throw new Error(`no ${type} inside ${String(box.type)}`);
  return found;
}

const sampleEntryClear = { source: avc1Entry() };
const tencV1 = {
  version: 1,
  cryptByteBlock: 1,
  skipByteBlock: 9,
  perSampleIvSize: 0,
  defaultKid: KID,
  constantIv: IV16,
} satisfies tenc.TencFields;
const tencV0 = {
  version: 0,
  cryptByteBlock: 0,
  skipByteBlock: 0,
  perSampleIvSize: 8,
  defaultKid: KID,
} satisfies tenc.TencFields;
const sinfFields = { originalFormat: 'avc1', schemeType: 'cbcs', tenc: tencV1 } satisfies sinf.SinfFields;
const minfFields = { kind: 'video', sampleEntry: sampleEntryClear } satisfies minf.MinfFields;
const mdiaFields = {
  mdhd: { timescale: 90000, language: 'fra' },
  hdlr: { handlerType: 'vide', name: new TextEncoder().encode('Vidéo') },
  minf: minfFields,
} satisfies mdia.MdiaFields;
const trakFields = {
  tkhd: { trackId: 7, volume: 0, width: 1280 * 65536, height: 720 * 65536 },
  mdia: mdiaFields,
} satisfies trak.TrakFields;

function trunFields(over: Partial<TrunFields>): TrunFields {
  const samples = makeSamples([
    { duration: 1000, size: 500, cto: 2000, sync: true },
    { duration: 1001, size: 40, cto: 0, sync: false },
    { duration: 999, size: 70000, cto: 1000, sync: false },
  ]);
  return {
    version: 0,
    flags: trun.TRUN_DATA_OFFSET | trun.TRUN_SAMPLE_DURATION | trun.TRUN_SAMPLE_SIZE | trun.TRUN_SAMPLE_FLAGS | trun.TRUN_SAMPLE_CTO,
    samples,
    start: 0,
    end: 3,
    ctoShift: 0,
    firstSampleFlags: 0x02000000,
    syncFlags: 0x02000000,
    nonSyncFlags: 0x01010000,
    dataOffset: 1234,
    ...over,
  };
}

interface Case {
  readonly name: string;
  readonly bytes: () => Uint8Array;
  readonly expected: Record<string, unknown>;
  /** Extra checks on the parsed box beyond the subset match. */
  readonly check?: (box: Record<string, unknown>) => void;
}

const cases: Case[] = [
  {
    name: 'ftyp',
    bytes: () => writeBox(ftyp.size({ majorBrand: 'iso6', minorVersion: 0, compatibleBrands: ['iso6', 'cmfc'] }), (w) =>
      ftyp.write(w, { majorBrand: 'iso6', minorVersion: 0, compatibleBrands: ['iso6', 'cmfc'] })),
    expected: { type: 'ftyp', major_brand: 'iso6', minor_version: 0, compatible_brands: ['iso6', 'cmfc'] },
  },
  {
    name: 'styp',
    bytes: () => writeBox(styp.size({ majorBrand: 'msdh', minorVersion: 0, compatibleBrands: ['msdh', 'msix'] }), (w) =>
      styp.write(w, { majorBrand: 'msdh', minorVersion: 0, compatibleBrands: ['msdh', 'msix'] })),
    expected: { type: 'styp', major_brand: 'msdh', compatible_brands: ['msdh', 'msix'] },
  },
  {
    name: 'mvhd',
    bytes: () => writeBox(mvhd.size(), (w) => mvhd.write(w, { timescale: 90000, nextTrackId: 8 })),
    expected: { type: 'mvhd', version: 0, timescale: 90000, duration: 0, rate: 0x00010000, volume: 1, next_track_id: 8 },
    check: (b) => expect(Array.from(b.matrix as Int32Array)).toEqual(UNITY),
  },
  {
    name: 'tkhd (video)',
    bytes: () => writeBox(tkhd.size(), (w) => tkhd.write(w, trakFields.tkhd)),
    expected: { type: 'tkhd', version: 0, flags: 3, track_id: 7, duration: 0, layer: 0, alternate_group: 0, volume: 0, width: 1280 * 65536, height: 720 * 65536 },
    check: (b) => expect(Array.from(b.matrix as Int32Array)).toEqual(UNITY),
  },
  {
    name: 'tkhd (audio)',
    bytes: () => writeBox(tkhd.size(), (w) => tkhd.write(w, { trackId: 2, volume: 0x0100, width: 0, height: 0 })),
    expected: { type: 'tkhd', flags: 3, track_id: 2, volume: 1, width: 0, height: 0 },
  },
  {
    name: 'mdhd',
    bytes: () => writeBox(mdhd.size(), (w) => mdhd.write(w, { timescale: 44100, language: 'eng' })),
    expected: { type: 'mdhd', version: 0, timescale: 44100, duration: 0, languageString: 'eng' },
  },
  {
    name: 'mdhd (invalid language becomes und)',
    bytes: () => writeBox(mdhd.size(), (w) => mdhd.write(w, { timescale: 1, language: 'EN' })),
    expected: { languageString: 'und', language: 0x55c4 },
  },
  {
    name: 'hdlr',
    bytes: () => writeBox(hdlr.size(mdiaFields.hdlr), (w) => hdlr.write(w, mdiaFields.hdlr)),
    // mp4box decodes the name as Latin-1; the bytes are the UTF-8 of 'Vidéo' + NUL.
    expected: { type: 'hdlr', handler: 'vide', name: 'Vid\u00c3\u00a9o' },
    check: (b) => expect(b.size).toBe(32 + 6 + 1),
  },
  {
    name: 'vmhd',
    bytes: () => writeBox(vmhd.size(), (w) => vmhd.write(w)),
    expected: { type: 'vmhd', flags: 1, graphicsmode: 0 },
    check: (b) => expect(Array.from(b.opcolor as Uint16Array)).toEqual([0, 0, 0]),
  },
  {
    name: 'smhd',
    bytes: () => writeBox(smhd.size(), (w) => smhd.write(w)),
    expected: { type: 'smhd', balance: 0 },
  },
  {
    name: 'url ',
    bytes: () => writeBox(url.size(), (w) => url.write(w)),
    expected: { type: 'url ', flags: 1 },
  },
  {
    name: 'dref',
    bytes: () => writeBox(dref.size(), (w) => dref.write(w)),
    expected: { type: 'dref', entries: [{ type: 'url ', flags: 1 }] },
  },
  {
    name: 'dinf',
    bytes: () => writeBox(dinf.size(), (w) => dinf.write(w)),
    expected: { type: 'dinf' },
    check: (b) => expect(project(child(b, 'dref'), { entries: [{ type: '' }] })).toEqual({ entries: [{ type: 'url ' }] }),
  },
  {
    name: 'stts (empty)',
    bytes: () => writeBox(stts.size(), (w) => stts.write(w)),
    expected: { type: 'stts', sample_counts: [], sample_deltas: [] },
  },
  {
    name: 'stsc (empty)',
    bytes: () => writeBox(stsc.size(), (w) => stsc.write(w)),
    expected: { type: 'stsc', first_chunk: [] },
  },
  {
    name: 'stsz (empty)',
    bytes: () => writeBox(stsz.size(), (w) => stsz.write(w)),
    expected: { type: 'stsz', sample_size: 0, sample_count: 0 },
  },
  {
    name: 'stco (empty)',
    bytes: () => writeBox(stco.size(), (w) => stco.write(w)),
    expected: { type: 'stco', chunk_offsets: [] },
  },
  {
    name: 'stsd (clear avc1 copied verbatim)',
    bytes: () => writeBox(stsd.size(sampleEntryClear), (w) => stsd.write(w, sampleEntryClear)),
    expected: { type: 'stsd', entries: [{ type: 'avc1', width: 320, height: 240 }] },
    check: (b) => {
      const entry = (b.entries as Record<string, unknown>[])[0]!;
      expect((entry.avcC as Record<string, unknown>).AVCProfileIndication).toBe(0x64);
    },
  },
  {
    name: 'stbl',
    bytes: () => writeBox(stbl.size(sampleEntryClear), (w) => stbl.write(w, sampleEntryClear)),
    expected: { type: 'stbl' },
    check: (b) => expect((b.boxes as Record<string, unknown>[]).map((c) => c.type)).toEqual(['stsd', 'stts', 'stsc', 'stsz', 'stco']),
  },
  {
    name: 'minf (video)',
    bytes: () => writeBox(minf.size(minfFields), (w) => minf.write(w, minfFields)),
    expected: { type: 'minf' },
    check: (b) => expect((b.boxes as Record<string, unknown>[]).map((c) => c.type)).toEqual(['vmhd', 'dinf', 'stbl']),
  },
  {
    name: 'minf (audio)',
    bytes: () => {
      const f = { kind: 'audio', sampleEntry: { source: mp4aEntry() } } satisfies minf.MinfFields;
      return writeBox(minf.size(f), (w) => minf.write(w, f));
    },
    expected: { type: 'minf' },
    check: (b) => expect((b.boxes as Record<string, unknown>[]).map((c) => c.type)).toEqual(['smhd', 'dinf', 'stbl']),
  },
  {
    name: 'mdia',
    bytes: () => writeBox(mdia.size(mdiaFields), (w) => mdia.write(w, mdiaFields)),
    expected: { type: 'mdia', mdhd: { timescale: 90000, languageString: 'fra' }, hdlr: { handler: 'vide' } },
  },
  {
    name: 'trak',
    bytes: () => writeBox(trak.size(trakFields), (w) => trak.write(w, trakFields)),
    expected: { type: 'trak', tkhd: { track_id: 7 }, mdia: { mdhd: { timescale: 90000 } } },
    check: (b) => expect((b.boxes as Record<string, unknown>[]).map((c) => c.type)).toEqual(['tkhd', 'mdia']),
  },
  {
    name: 'trex',
    bytes: () => writeBox(trex.size(), (w) => trex.write(w, { trackId: 7 })),
    expected: { type: 'trex', track_id: 7, default_sample_description_index: 1, default_sample_duration: 0, default_sample_size: 0, default_sample_flags: 0 },
  },
  {
    name: 'mvex',
    bytes: () => writeBox(mvex.size(), (w) => mvex.write(w, { trackId: 3 })),
    expected: { type: 'mvex', trexs: [{ track_id: 3 }] },
  },
  {
    name: 'moov (with pssh after mvex)',
    bytes: () => {
      const f = {
        mvhd: { timescale: 90000, nextTrackId: 8 },
        trak: trakFields,
        trex: { trackId: 7 },
        pssh: [{ systemId: fromHex('1077efecc0b24d02ace33c1e52e2fb4b'), kids: [KID], data: new Uint8Array(0) }],
      } satisfies moov.MoovFields;
      return writeBox(moov.size(f), (w) => moov.write(w, f));
    },
    expected: { type: 'moov', mvhd: { next_track_id: 8 }, mvex: { trexs: [{ track_id: 7 }] }, psshs: [{ kid: [KID_HEX] }] },
    check: (b) => expect((b.boxes as Record<string, unknown>[]).map((c) => c.type)).toEqual(['mvhd', 'trak', 'mvex', 'pssh']),
  },
  {
    name: 'frma',
    bytes: () => writeBox(frma.size(), (w) => frma.write(w, { dataFormat: 'hvc1' })),
    expected: { type: 'frma', data_format: 'hvc1' },
  },
  {
    name: 'schm',
    bytes: () => writeBox(schm.size(), (w) => schm.write(w, { schemeType: 'cenc' })),
    expected: { type: 'schm', version: 0, flags: 0, scheme_type: 'cenc', scheme_version: 0x00010000 },
  },
  {
    name: 'tenc v0 (cenc)',
    bytes: () => writeBox(tenc.size(tencV0), (w) => tenc.write(w, tencV0)),
    expected: { type: 'tenc', version: 0, default_isProtected: 1, default_Per_Sample_IV_Size: 8, default_KID: KID_HEX },
  },
  {
    name: 'tenc v1 (cbcs 1:9, constant IV)',
    bytes: () => writeBox(tenc.size(tencV1), (w) => tenc.write(w, tencV1)),
    expected: {
      type: 'tenc', version: 1, default_crypt_byte_block: 1, default_skip_byte_block: 9, default_isProtected: 1,
      default_Per_Sample_IV_Size: 0, default_KID: KID_HEX, default_constant_IV_size: 16,
    },
    check: (b) => expect(hex(b.default_constant_IV as Uint8Array)).toBe(hex(IV16)),
  },
  {
    name: 'schi',
    bytes: () => writeBox(schi.size(tencV0), (w) => schi.write(w, tencV0)),
    expected: { type: 'schi', tenc: { version: 0, default_KID: KID_HEX } },
  },
  {
    name: 'sinf',
    bytes: () => writeBox(sinf.size(sinfFields), (w) => sinf.write(w, sinfFields)),
    expected: { type: 'sinf', frma: { data_format: 'avc1' }, schm: { scheme_type: 'cbcs' }, schi: { tenc: { version: 1 } } },
  },
  {
    name: 'encv sample entry (children kept, sinf appended, size patched)',
    bytes: () => {
      // Inside an stsd: mp4box parses sample entries only there.
      const f = { source: avc1Entry(), protection: { type: 'encv', sinf: sinfFields } } satisfies sampleEntry.SampleEntryFields;
      expect(sampleEntry.size(f)).toBe(avc1Entry().length + sinf.size(sinfFields));
      return writeBox(stsd.size(f), (w) => stsd.write(w, f));
    },
    expected: { type: 'stsd', entries: [{ type: 'encv', size: avc1Entry().length + 97, width: 320, height: 240 }] },
    check: (b) => {
      const entry = (b.entries as Record<string, unknown>[])[0]!;
      expect((entry.boxes as Record<string, unknown>[]).map((c) => c.type)).toEqual(['avcC', 'sinf']);
      expect(child(child(entry, 'sinf'), 'frma').data_format).toBe('avc1');
    },
  },
  {
    name: 'enca sample entry',
    bytes: () => {
      const f = {
        source: mp4aEntry(),
        protection: { type: 'enca', sinf: { originalFormat: 'mp4a', schemeType: 'cenc', tenc: tencV0 } },
      } satisfies sampleEntry.SampleEntryFields;
      return writeBox(stsd.size(f), (w) => stsd.write(w, f));
    },
    expected: { type: 'stsd', entries: [{ type: 'enca', channel_count: 2, samplerate: 48000 }] },
    check: (b) => {
      const entry = (b.entries as Record<string, unknown>[])[0]!;
      expect((entry.boxes as Record<string, unknown>[]).map((c) => c.type)).toEqual(['esds', 'sinf']);
    },
  },
  {
    name: 'pssh v0',
    bytes: () => {
      const f = { systemId: fromHex('edef8ba979d64acea3c827dcd51d21ed'), data: fromHex('0801') };
      return writeBox(pssh.size(f), (w) => pssh.write(w, f));
    },
    expected: { type: 'pssh', version: 0, system_id: 'edef8ba979d64acea3c827dcd51d21ed', kid: [] },
    check: (b) => expect(hex(b.protection_data as Uint8Array)).toBe('0801'),
  },
  {
    name: 'mfhd',
    bytes: () => writeBox(mfhd.size(), (w) => mfhd.write(w, { sequenceNumber: 42 })),
    expected: { type: 'mfhd', sequence_number: 42 },
  },
  {
    name: 'tfhd (base-is-moof only)',
    bytes: () => writeBox(tfhd.size({ trackId: 3 }), (w) => tfhd.write(w, { trackId: 3 })),
    expected: { type: 'tfhd', flags: 0x020000, track_id: 3, default_sample_duration: 0 },
  },
  {
    name: 'tfhd (all defaults)',
    bytes: () => {
      const f = { trackId: 3, defaultSampleDuration: 1024, defaultSampleSize: 371, defaultSampleFlags: 0x01010000 };
      return writeBox(tfhd.size(f), (w) => tfhd.write(w, f));
    },
    expected: { type: 'tfhd', flags: 0x020038, track_id: 3, default_sample_duration: 1024, default_sample_size: 371, default_sample_flags: 0x01010000 },
  },
  {
    name: 'tfdt v0',
    bytes: () => writeBox(tfdt.size({ baseMediaDecodeTime: 0xffffffff }), (w) => tfdt.write(w, { baseMediaDecodeTime: 0xffffffff })),
    expected: { type: 'tfdt', version: 0, baseMediaDecodeTime: 0xffffffff },
  },
  {
    name: 'tfdt v1 (needs 64 bits)',
    bytes: () => writeBox(tfdt.size({ baseMediaDecodeTime: 2 ** 40 + 5 }), (w) => tfdt.write(w, { baseMediaDecodeTime: 2 ** 40 + 5 })),
    expected: { type: 'tfdt', version: 1, baseMediaDecodeTime: 2 ** 40 + 5 },
  },
  {
    name: 'trun v0 (every per-sample field)',
    bytes: () => {
      const f = trunFields({});
      return writeBox(trun.size(f), (w) => trun.write(w, f));
    },
    expected: {
      type: 'trun', version: 0, flags: 0xf01, sample_count: 3, data_offset: 1234,
      sample_duration: [1000, 1001, 999], sample_size: [500, 40, 70000],
      sample_flags: [0x02000000, 0x01010000, 0x01010000], sample_composition_time_offset: [2000, 0, 1000],
    },
  },
  {
    name: 'trun v1 (signed offsets after the edit-list shift)',
    bytes: () => {
      const f = trunFields({ version: 1, ctoShift: 1000 });
      return writeBox(trun.size(f), (w) => trun.write(w, f));
    },
    expected: { type: 'trun', version: 1, sample_composition_time_offset: [1000, -1000, 0] },
  },
  {
    name: 'trun (first_sample_flags, sizes only, sub-range)',
    bytes: () => {
      const f = trunFields({ flags: trun.TRUN_DATA_OFFSET | trun.TRUN_FIRST_SAMPLE_FLAGS | trun.TRUN_SAMPLE_SIZE, start: 1, end: 3, firstSampleFlags: 0x02000000 });
      return writeBox(trun.size(f), (w) => trun.write(w, f));
    },
    expected: { type: 'trun', flags: 0x205, sample_count: 2, first_sample_flags: 0x02000000, sample_size: [40, 70000], sample_duration: [] },
  },
  {
    name: 'saiz (default size)',
    bytes: () => {
      const f = { sampleCount: 5, defaultSampleInfoSize: 8, perSampleIvSize: 8 };
      return writeBox(saiz.size(f), (w) => saiz.write(w, f));
    },
    expected: { type: 'saiz', flags: 0, default_sample_info_size: 8, sample_count: 5, sample_info_size: [] },
  },
  {
    name: 'saiz (table from subsample counts)',
    bytes: () => {
      const f = { sampleCount: 3, defaultSampleInfoSize: 0, perSampleIvSize: 8, subsampleIndex: Uint32Array.of(0, 1, 3, 3) };
      return writeBox(saiz.size(f), (w) => saiz.write(w, f));
    },
    expected: { type: 'saiz', default_sample_info_size: 0, sample_count: 3, sample_info_size: [16, 22, 10] },
  },
  {
    name: 'saio',
    bytes: () => writeBox(saio.size(), (w) => saio.write(w, { offset: 345 })),
    expected: { type: 'saio', version: 0, flags: 0, entry_count: 1, offset: [345] },
  },
  {
    name: 'senc (IVs and subsamples)',
    bytes: () => writeBox(senc.size(sencFields), (w) => senc.write(w, sencFields)),
    expected: { type: 'senc', version: 0, flags: 2 },
    check: (b) => {
      const body = (b.data as Uint8Array) ?? new Uint8Array(0);
      expect(parseSenc(body, 8)).toEqual(sencExpected);
    },
  },
  {
    name: 'traf (tfhd, tfdt, trun, saiz, saio, senc in that order)',
    bytes: () => {
      const f = {
        tfhd: { trackId: 1 },
        tfdt: { baseMediaDecodeTime: 0 },
        trun: trunFields({}),
        aux: { saiz: { sampleCount: 3, defaultSampleInfoSize: 0, perSampleIvSize: 8, subsampleIndex: sencFields.subsamples.index }, saio: { offset: 10 }, senc: sencFields },
      } satisfies traf.TrafFields;
      return writeBox(traf.size(f), (w) => traf.write(w, f));
    },
    expected: { type: 'traf', tfhd: { track_id: 1 }, tfdt: { baseMediaDecodeTime: 0 }, truns: [{ sample_count: 3 }] },
    check: (b) => expect((b.boxes as Record<string, unknown>[]).map((c) => c.type)).toEqual(['tfhd', 'tfdt', 'trun', 'saiz', 'saio', 'senc']),
  },
  {
    name: 'moof',
    bytes: () => {
      const f = { mfhd: { sequenceNumber: 9 }, traf: { tfhd: { trackId: 1 }, tfdt: { baseMediaDecodeTime: 7 }, trun: trunFields({}) } } satisfies moof.MoofFields;
      return writeBox(moof.size(f), (w) => moof.write(w, f));
    },
    expected: { type: 'moof', mfhd: { sequence_number: 9 }, trafs: [{ tfdt: { baseMediaDecodeTime: 7 } }] },
  },
  {
    name: 'mdat (header; payload placed by the caller)',
    bytes: () => {
      const out = new Uint8Array(mdat.size(3));
      const w = new BoxWriter(out);
      mdat.writeHeader(w, 3);
      out.set([1, 2, 3], 8);
      return out;
    },
    expected: { type: 'mdat', size: 11, hdr_size: 8 },
  },
];

const sencFields = {
  sampleCount: 3,
  perSampleIvSize: 8,
  ivs: fromHex('1111111111111111' + '2222222222222222' + '3333333333333333'),
  subsamples: {
    index: Uint32Array.of(0, 1, 3, 3),
    clearBytes: Uint16Array.of(5, 100, 65535),
    protectedBytes: Uint32Array.of(495, 0, 1_000_000),
  },
} satisfies SencFields;
const sencExpected = [
  { iv: '1111111111111111', subsamples: [[5, 495]] },
  { iv: '2222222222222222', subsamples: [[100, 0], [65535, 1_000_000]] },
  { iv: '3333333333333333', subsamples: [] },
];

/** Reads a senc body (after the full box header), given the IV size from tenc. */
function parseSenc(body: Uint8Array, ivSize: number): { iv: string; subsamples: number[][] }[] {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = v.getUint32(0);
  let p = 4;
  const out: { iv: string; subsamples: number[][] }[] = [];
  for (let k = 0; k < count; k++) {
    const iv = hex(body.subarray(p, p + ivSize));
    p += ivSize;
    const n = v.getUint16(p);
    p += 2;
    const subsamples: number[][] = [];
    for (let j = 0; j < n; j++, p += 6) subsamples.push([v.getUint16(p), v.getUint32(p + 2)]);
    out.push({ iv, subsamples });
  }
  expect(p).toBe(body.length);
  return out;
}

describe('box round trip through mp4box', () => {
  it.each(cases)('$name', (c) => {
    const bytes = c.bytes();
    const box = parsed(bytes);
    expect(project(box, c.expected)).toEqual(c.expected);
    c.check?.(box);
  });

  it('covers every box module', () => {
    const covered = new Set(cases.map((c) => c.name.split(' ')[0]!));
    for (const type of ['ftyp', 'styp', 'mvhd', 'tkhd', 'mdhd', 'hdlr', 'vmhd', 'smhd', 'url', 'dref', 'dinf', 'stts', 'stsc', 'stsz', 'stco', 'stsd', 'stbl', 'minf', 'mdia', 'trak', 'trex', 'mvex', 'moov', 'frma', 'schm', 'tenc', 'schi', 'sinf', 'encv', 'enca', 'pssh', 'mfhd', 'tfhd', 'tfdt', 'trun', 'saiz', 'saio', 'senc', 'traf', 'moof', 'mdat']) {
      expect(covered, type).toContain(type);
    }
  });
});

describe('box byte layouts', () => {
  it('trun refuses to write an unresolved data_offset', () => {
    const f = trunFields({ dataOffset: -1 });
    expect(() => writeBox(trun.size(f), (w) => trun.write(w, f))).toThrow(/data_offset is unset/);
  });

  it('saio refuses to write an unresolved offset', () => {
    expect(() => writeBox(saio.size(), (w) => saio.write(w, { offset: -1 }))).toThrow(/saio offset is unset/);
  });

  it('senc without subsamples is IVs only, flags 0', () => {
    const f = { sampleCount: 2, perSampleIvSize: 16, ivs: new Uint8Array(32).fill(7) } satisfies SencFields;
    const b = writeBox(senc.size(f), (w) => senc.write(w, f));
    expect(hex(b.subarray(0, 16))).toBe('00000030' + '73656e63' + '00000000' + '00000002');
    expect(b.length).toBe(16 + 32);
  });

  it('senc with a constant IV and subsamples carries subsamples only', () => {
    const f = {
      sampleCount: 1, perSampleIvSize: 0,
      subsamples: { index: Uint32Array.of(0, 1), clearBytes: Uint16Array.of(9), protectedBytes: Uint32Array.of(16) },
    } satisfies SencFields;
    const b = writeBox(senc.size(f), (w) => senc.write(w, f));
    expect(hex(b)).toBe('00000018' + '73656e63' + '00000002' + '00000001' + '0001' + '0009' + '00000010');
  });
});
