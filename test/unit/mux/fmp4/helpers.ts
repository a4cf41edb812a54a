/**
 * Test harness for the fMP4 writer: synthetic tracks (makeTrack/makeSamples), real tracks read from an
 * MP4 with mp4box (independent of the project's own MP4 indexer), a raw box walker for byte-level
 * offset checks, and an mp4box parse of our output.
 */
import { readFileSync } from 'node:fs';
import { createFile, MP4BoxBuffer, type ISOFile } from 'mp4box';
import type { SampleTable, Track } from '../../../../src/media/track.js';
import { buildFragment, type FragmentProtection } from '../../../../src/mux/fmp4/fragment.js';
import { buildInit, type InitProtection } from '../../../../src/mux/fmp4/init.js';
import { expect } from 'vitest';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import { allocSampleTable } from '../../../helpers/synthetic.js';

export interface SampleSpec {
  readonly duration: number;
  readonly size: number;
  readonly cto?: number;
  readonly sync?: boolean;
}

/** A sample table with DTS accumulated from the durations, starting at firstDts. */
export function makeSamples(specs: readonly SampleSpec[], firstDts = 0): SampleTable {
  const n = specs.length;
  const t = allocSampleTable(n);
  let dts = firstDts;
  let offset = 0;
  specs.forEach((s, i) => {
    t.dts[i] = dts;
    t.cto[i] = s.cto ?? 0;
    t.duration[i] = s.duration;
    t.size[i] = s.size;
    t.offset[i] = offset;
    t.sync[i] = (s.sync ?? true) ? 1 : 0;
    dts += s.duration;
    offset += s.size;
  });
  return t;
}

/** A minimal but valid avc1 sample entry (VisualSampleEntry + avcC for 320x240 High 3.0). */
export function avc1Entry(width = 320, height = 240): Uint8Array {
  const avcC = boxBytes('avcC', [
    1, 0x64, 0, 0x1e, 0xff, 0xe1, 0, 7, 0x67, 0x64, 0, 0x1e, 0xac, 0xd9, 0x40, 1, 0, 3, 0x68, 0xeb, 0xe3,
  ]);
  const body = [
    ...new Array<number>(6).fill(0), 0, 1, // reserved, data_reference_index
    ...new Array<number>(16).fill(0), // pre_defined / reserved
    width >> 8, width & 255, height >> 8, height & 255,
    0, 0x48, 0, 0, 0, 0x48, 0, 0, // 72 dpi
    0, 0, 0, 0, 0, 1, // reserved, frame_count
    ...new Array<number>(32).fill(0), // compressorname
    0, 0x18, 0xff, 0xff, // depth, pre_defined -1
    ...avcC,
  ];
  return boxBytes('avc1', body);
}

/** A minimal mp4a sample entry with an esds for AAC-LC 48 kHz stereo. */
export function mp4aEntry(): Uint8Array {
  const esds = [
    0, 0, 0, 0, // version, flags
    0x03, 0x19, 0, 1, 0, // ES_Descriptor, ES_ID 1
    0x04, 0x11, 0x40, 0x15, 0, 0, 0, 0, 1, 0xf7, 0x39, 0, 1, 0xf7, 0x39, // DecoderConfig
    0x05, 0x02, 0x11, 0x90, // AudioSpecificConfig
    0x06, 0x01, 0x02,
  ];
  const body = [
    ...new Array<number>(6).fill(0), 0, 1,
    0, 0, 0, 0, 0, 0, 0, 0, // reserved
    0, 2, 0, 16, 0, 0, 0, 0, // channels, samplesize, pre_defined, reserved
    0xbb, 0x80, 0, 0, // 48000 << 16
    ...boxBytes('esds', esds),
  ];
  return boxBytes('mp4a', body);
}

export function makeTrack(over: Partial<Track> & { samples: SampleTable }): Track {
  const kind = over.kind ?? 'video';
  return {
    id: 1,
    kind,
    sampleEntryType: kind === 'video' ? 'avc1' : 'mp4a',
    codecString: kind === 'video' ? 'avc1.64001e' : 'mp4a.40.2',
    timescale: kind === 'video' ? 12800 : 48000,
    codecConfig: new Uint8Array(0),
    sampleEntry: kind === 'video' ? avc1Entry() : mp4aEntry(),
    nalLengthSize: kind === 'video' ? 4 : 0,
    language: kind === 'video' ? 'und' : 'eng',
    name: '',
    width: kind === 'video' ? 320 : 0,
    height: kind === 'video' ? 240 : 0,
    sampleRate: kind === 'video' ? 0 : 48000,
    channels: kind === 'video' ? 0 : 2,
    presentationOffset: 0,
    ...over,
  };
}

/** Deterministic payload bytes for synthetic samples [start, end): byte j of the run is j & 255. */
export function fakeSampleData(t: SampleTable, start: number, end: number): Uint8Array {
  let n = 0;
  for (let i = start; i < end; i++) n += t.size[i]!;
  const out = new Uint8Array(n);
  for (let j = 0; j < n; j++) out[j] = j & 255;
  return out;
}

export function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

export function boxBytes(type: string, body: readonly number[] | Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setUint32(0, out.length);
  out.set(ascii(type), 4);
  out.set(body, 8);
  return out;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

// --- raw box walker -----------------------------------------------------------------------------

export interface RawBox {
  readonly type: string;
  /** Absolute offset of the box header in the buffer walked. */
  readonly start: number;
  readonly size: number;
  readonly children: RawBox[];
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'dinf', 'stbl', 'mvex', 'moof', 'traf', 'sinf', 'schi']);
/** Boxes with a fixed-size preamble before their child boxes. */
const PREAMBLE: Record<string, number> = {
  stsd: 8, dref: 8, avc1: 78, avc3: 78, hvc1: 78, hev1: 78, encv: 78, mp4a: 28, enca: 28,
};

/** Walks boxes in buf[start, end), descending into the containers the writer produces. */
export function walkBoxes(buf: Uint8Array, start = 0, end = buf.length): RawBox[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RawBox[] = [];
  let p = start;
  while (p < end) {
    const size = view.getUint32(p);
    const type = String.fromCharCode(...buf.subarray(p + 4, p + 8));
    if (size < 8 || p + size > end) throw new Error(`bad box ${type} at ${p} size ${size}`);
    const pre = CONTAINERS.has(type) ? 0 : PREAMBLE[type];
    const children = pre === undefined ? [] : walkBoxes(buf, p + 8 + pre, p + size);
    out.push({ type, start: p, size, children });
    p += size;
  }
  if (p !== end) throw new Error(`boxes overrun ${end} (reached ${p})`);
  return out;
}

/** The first box along a path of types, e.g. find(boxes, 'moof', 'traf', 'senc'). */
export function findBox(boxes: readonly RawBox[], ...path: string[]): RawBox {
  let list = boxes;
  let found: RawBox | undefined;
  for (const type of path) {
    found = list.find((b) => b.type === type);
    if (!found) throw new Error(`no ${type} in ${list.map((b) => b.type).join(',')}`);
    list = found.children;
  }
  if (!found) throw new Error('empty path');
  return found;
}

// --- mp4box ---------------------------------------------------------------------------------------

/** Parses a complete buffer with mp4box (an independent ISO BMFF reader). */
export function parseWithMp4box(buf: Uint8Array): ISOFile {
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const file = createFile(true);
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(ab, 0));
  file.flush();
  return file;
}

// --- real tracks ----------------------------------------------------------------------------------

export interface SourceTrack {
  readonly track: Track;
  /** The whole source file: samples are at track.samples.offset. */
  readonly file: Uint8Array;
}

/** Reads the first track of the given handler type from an MP4 file, with mp4box. */
export function readMp4Track(path: string, handler: 'vide' | 'soun'): SourceTrack {
  const file = new Uint8Array(readFileSync(path));
  const iso = parseWithMp4box(file);
  const trak = iso.moov.traks.find((t) => t.mdia.hdlr.handler === handler);
  if (!trak) throw new Error(`no ${handler} track in ${path}`);
  const list = trak.samples;
  const n = list.length;
  const samples = allocSampleTable(n);
  list.forEach((s, i) => {
    samples.dts[i] = s.dts;
    samples.cto[i] = s.cts - s.dts;
    samples.duration[i] = s.duration;
    samples.size[i] = s.size;
    samples.offset[i] = s.offset;
    samples.sync[i] = s.is_sync ? 1 : 0;
  });
  const entry = trak.mdia.minf.stbl.stsd.entries[0];
  if (!entry || entry.start === undefined) throw new Error('no sample entry');
  const sampleEntry = file.slice(entry.start, entry.start + entry.size);
  const type = entry.type as Track['sampleEntryType'];
  // One edit with a media_time: the source's presentation shift (B-frame delay or AAC priming).
  const edit = trak.edts?.elst?.entries.find((e) => e.media_time >= 0);
  const video = handler === 'vide';
  const track: Track = {
    id: trak.tkhd.track_id,
    kind: video ? 'video' : 'audio',
    sampleEntryType: type,
    codecString: type,
    timescale: trak.mdia.mdhd.timescale,
    codecConfig: new Uint8Array(0),
    sampleEntry,
    nalLengthSize: video ? 4 : 0,
    language: trak.mdia.mdhd.languageString ?? 'und',
    name: trak.mdia.hdlr.name,
    width: video ? trak.tkhd.width / 65536 : 0,
    height: video ? trak.tkhd.height / 65536 : 0,
    sampleRate: 0,
    channels: 0,
    presentationOffset: edit ? edit.media_time : 0,
    samples,
  };
  return { track, file };
}

/** The concatenated bytes of samples [start, end) of a source track. */
export function sourceSampleData(src: SourceTrack, start: number, end: number): Uint8Array {
  const s = src.track.samples;
  let n = 0;
  for (let i = start; i < end; i++) n += s.size[i]!;
  const out = new Uint8Array(n);
  let p = 0;
  for (let i = start; i < end; i++) {
    const o = s.offset[i]!;
    out.set(src.file.subarray(o, o + s.size[i]!), p);
    p += s.size[i]!;
  }
  return out;
}

/** Segment boundaries: a new segment at the first sync sample at least `minSamples` after the last cut. */
export function cutAtSync(t: SampleTable, minSamples: number): number[] {
  const cuts = [0];
  for (let i = 1; i < t.count; i++) if (t.sync[i] && i - cuts[cuts.length - 1]! >= minSamples) cuts.push(i);
  cuts.push(t.count);
  return cuts;
}

export function cutEvery(t: SampleTable, n: number): number[] {
  const cuts: number[] = [];
  for (let i = 0; i < t.count; i += n) cuts.push(i);
  cuts.push(t.count);
  return cuts;
}

/** init + every fragment, concatenated: a playable fragmented MP4. */
export function packageTrack(
  src: SourceTrack,
  cuts: readonly number[],
  opts: { protection?: InitProtection; fragmentProtection?: (start: number, end: number) => FragmentProtection } = {},
): { init: Uint8Array; fragments: Uint8Array[]; whole: Uint8Array } {
  const init = buildInit(src.track, { protection: opts.protection });
  const fragments: Uint8Array[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const start = cuts[k]!;
    const end = cuts[k + 1]!;
    fragments.push(
      buildFragment(
        { track: src.track, start, end, sequenceNumber: k + 1, protection: opts.fragmentProtection?.(start, end) },
        sourceSampleData(src, start, end),
      ),
    );
  }
  return { init, fragments, whole: Buffer.concat([init, ...fragments]) };
}

/** Asserts that f throws the muxer's own error (MUX_FAILURE) with a message matching `message`. */
export function expectMuxFailure(f: () => unknown, message: RegExp): void {
  try {
    f();
    expect.unreachable();
  } catch (e) {
    expect(e).toBeInstanceOf(PackagerError);
    expect((e as PackagerError).code).toBe(ErrorCode.MUX_FAILURE);
    expect((e as PackagerError).message).toMatch(message);
  }
}
