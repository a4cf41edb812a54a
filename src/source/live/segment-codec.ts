/**
 * The on-disk form of one live segment (the DVR archive stores one file per segment).
 *
 * Layout, all integers little-endian:
 *
 *     0   4  magic 'PKLS'
 *     4   4  format version (u32) = 1
 *     8   4  header length H (u32), at most MAX_HEADER_BYTES
 *     12  H  JSON header (UTF-8): the LiveSegmentInfo fields, and `media`: per track its Track metadata
 *            (codecConfig and sampleEntry in base64), sampleCount and dataLength
 *     ..     per track, in header order, the sample table columns of sampleCount entries each:
 *            dts Float64, cto Int32, duration Uint32, size Uint32, offset Float64, sync Uint8 (29 bytes/sample)
 *     ..     per track, in header order, its dataLength sample bytes
 *     ..  4  CRC-32 (zlib's) of every byte before it
 *
 * The header comes first and carries every length, so the first few KiB of a file give its
 * LiveSegmentInfo and its exact size (`decodeSegmentInfo`) without reading the media: the archive
 * indexes a directory cheaply and still spots a truncated file by its size.
 *
 * Alignment: the columns are NOT aligned in the file (a Buffer read from disk may sit at any offset of
 * a pooled ArrayBuffer anyway). They are read through a DataView into fresh typed arrays, which also
 * makes the byte order explicit on any host. The sample bytes are returned as views into the input
 * buffer, not copies: they are most of the file, and the buffer is the segment anyway.
 */
import { crc32 } from 'node:zlib';
import { ErrorCode, PackagerError } from '../../media/errors.js';
import { allocSampleTable, type SampleEntryType, type SampleTable, type Track } from '../../media/track.js';
import type { LiveSegment, LiveSegmentInfo, LiveTrackData, LiveTrackInfo } from './types.js';

export const SEGMENT_MAGIC = 'PKLS';
export const SEGMENT_FORMAT_VERSION = 1;
/** magic + version + header length. */
export const SEGMENT_PREAMBLE_BYTES = 12;
/** A header is a few hundred bytes plus the sample entries; a larger length field means corruption. */
export const MAX_HEADER_BYTES = 1 << 20;
const CRC_BYTES = 4;
/** dts 8 + cto 4 + duration 4 + size 4 + offset 8 + sync 1. */
const COLUMN_BYTES_PER_SAMPLE = 29;

const SAMPLE_ENTRY_TYPES: readonly SampleEntryType[] = ['avc1', 'avc3', 'hvc1', 'hev1', 'mp4a'];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Per-track part of the JSON header: the Track fields except `samples`, plus the sizes of what follows. */
interface MediaHeader {
  readonly id: number;
  readonly kind: 'video' | 'audio';
  readonly sampleEntryType: SampleEntryType;
  readonly codecString: string;
  readonly timescale: number;
  readonly codecConfig: string;
  readonly sampleEntry: string;
  readonly nalLengthSize: number;
  readonly language: string;
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly sampleRate: number;
  readonly channels: number;
  readonly presentationOffset: number;
  readonly sampleCount: number;
  readonly dataLength: number;
}

interface SegmentHeader {
  readonly info: LiveSegmentInfo;
  readonly media: readonly MediaHeader[];
}

export type SegmentInfoResult =
  /** fileBytes: the exact size of the whole file, as its header describes it. */
  | { readonly kind: 'info'; readonly info: LiveSegmentInfo; readonly fileBytes: number }
  /** The prefix is too short: read at least this many bytes from the start of the file and retry. */
  | { readonly kind: 'need-more'; readonly needBytes: number };

function invalid(source: string, what: string): PackagerError {
  // The source is usually a server path: never shown to a client.
  return new PackagerError(ErrorCode.SOURCE_INVALID, `${source}: invalid live segment: ${what}`, { expose: false });
}

/** Serializes a segment. Throws SOURCE_INVALID for a segment that could not be decoded back identically. */
export function encodeSegment(seg: LiveSegment): Buffer {
  const where = `segment ${seg.number}`;
  if (seg.data.length !== seg.tracks.length) throw invalid(where, `${seg.data.length} data entries for ${seg.tracks.length} tracks`);
  const media = seg.data.map((d) => mediaHeaderOf(d));
  const text = JSON.stringify(headerJson({ info: liveSegmentInfo(seg), media }));
  // Validate what we are about to write with the decoder's own rules, so a file we write always reads
  // back identically (JSON would silently turn NaN into null, and a fraction where an integer belongs
  // would only be caught on the way back).
  checkHeader(readHeader(JSON.parse(text), where), where);
  for (const d of seg.data) checkSamples(d.track.samples, d.track.samples.count, d.data.length, `${where} track ${d.track.id}`);

  const json = Buffer.from(text, 'utf8');
  if (json.length > MAX_HEADER_BYTES) throw invalid(where, `header of ${json.length} bytes exceeds ${MAX_HEADER_BYTES}`);
  const total = totalBytes(json.length, media);
  const out = Buffer.alloc(total);
  out.write(SEGMENT_MAGIC, 0, 'latin1');
  out.writeUInt32LE(SEGMENT_FORMAT_VERSION, 4);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, SEGMENT_PREAMBLE_BYTES);

  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let p = SEGMENT_PREAMBLE_BYTES + json.length;
  for (const d of seg.data) p = writeColumns(view, p, d.track.samples);
  for (const d of seg.data) {
    out.set(d.data, p);
    p += d.data.length;
  }
  out.writeUInt32LE(crc32(out.subarray(0, p)), p);
  return out;
}

/**
 * Reads the LiveSegmentInfo from the start of a segment file. Checks the header's structure, not the
 * checksum (which covers the media too): compare `fileBytes` with the file's size to spot truncation.
 */
export function decodeSegmentInfo(prefix: Uint8Array, source = 'segment'): SegmentInfoResult {
  const parsed = parseHeader(prefix, source);
  if ('needBytes' in parsed) return { kind: 'need-more', needBytes: parsed.needBytes };
  return { kind: 'info', info: parsed.header.info, fileBytes: totalBytes(parsed.headerBytes, parsed.header.media) };
}

/** Decodes and fully validates (lengths, checksum, sample ranges) a whole segment file. */
export function decodeSegment(buf: Uint8Array, source = 'segment'): LiveSegment {
  const parsed = parseHeader(buf, source);
  if ('needBytes' in parsed) throw invalid(source, `truncated: ${buf.length} bytes, the header alone needs ${parsed.needBytes}`);
  const { header, headerBytes } = parsed;
  const expected = totalBytes(headerBytes, header.media);
  if (buf.length !== expected) throw invalid(source, `${buf.length} bytes, its header describes ${expected}`);
  const body = expected - CRC_BYTES;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const stored = view.getUint32(body, true);
  const actual = crc32(buf.subarray(0, body));
  if (stored !== actual) throw invalid(source, `checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})`);

  let p = SEGMENT_PREAMBLE_BYTES + headerBytes;
  const tables = header.media.map((m) => {
    const t = readColumns(view, p, m.sampleCount);
    p += m.sampleCount * COLUMN_BYTES_PER_SAMPLE;
    return t;
  });
  const data: LiveTrackData[] = header.media.map((m, i) => {
    const samples = tables[i]!;
    checkSamples(samples, m.sampleCount, m.dataLength, `${source} track ${m.id}`);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + p, m.dataLength);
    p += m.dataLength;
    return { track: trackOf(m, samples), data: bytes };
  });
  return { ...header.info, data };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function totalBytes(headerBytes: number, media: readonly MediaHeader[]): number {
  let n = SEGMENT_PREAMBLE_BYTES + headerBytes + CRC_BYTES;
  for (const m of media) n += m.sampleCount * COLUMN_BYTES_PER_SAMPLE + m.dataLength;
  return n;
}

/**
 * A fresh copy of the info fields only: a LiveSegment passed in must not leak its media into a header
 * or keep its sample bytes alive in an index.
 */
export function liveSegmentInfo(seg: LiveSegmentInfo): LiveSegmentInfo {
  return {
    number: seg.number,
    start: seg.start,
    duration: seg.duration,
    discontinuity: seg.discontinuity,
    wallClock: seg.wallClock,
    configId: seg.configId,
    tracks: seg.tracks.map((t) => ({ id: t.id, kind: t.kind, start: t.start, duration: t.duration, bytes: t.bytes })),
  };
}

function mediaHeaderOf(d: LiveTrackData): MediaHeader {
  const t = d.track;
  return {
    id: t.id,
    kind: t.kind,
    sampleEntryType: t.sampleEntryType,
    codecString: t.codecString,
    timescale: t.timescale,
    codecConfig: Buffer.from(t.codecConfig.buffer, t.codecConfig.byteOffset, t.codecConfig.byteLength).toString('base64'),
    sampleEntry: Buffer.from(t.sampleEntry.buffer, t.sampleEntry.byteOffset, t.sampleEntry.byteLength).toString('base64'),
    nalLengthSize: t.nalLengthSize,
    language: t.language,
    name: t.name,
    width: t.width,
    height: t.height,
    sampleRate: t.sampleRate,
    channels: t.channels,
    presentationOffset: t.presentationOffset,
    sampleCount: t.samples.count,
    dataLength: d.data.length,
  };
}

function trackOf(m: MediaHeader, samples: SampleTable): Track {
  return {
    id: m.id,
    kind: m.kind,
    sampleEntryType: m.sampleEntryType,
    codecString: m.codecString,
    timescale: m.timescale,
    codecConfig: fromBase64(m.codecConfig),
    sampleEntry: fromBase64(m.sampleEntry),
    nalLengthSize: m.nalLengthSize,
    language: m.language,
    name: m.name,
    width: m.width,
    height: m.height,
    sampleRate: m.sampleRate,
    channels: m.channels,
    presentationOffset: m.presentationOffset,
    samples,
  };
}

/** A plain Uint8Array of its own (not a Buffer on Node's shared pool). */
function fromBase64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** The JSON form: the info fields at the top level, the media list beside them. */
function headerJson(h: SegmentHeader): object {
  return { ...h.info, media: h.media };
}

function parseHeader(
  buf: Uint8Array,
  source: string,
): { readonly header: SegmentHeader; readonly headerBytes: number } | { readonly needBytes: number } {
  if (buf.length < SEGMENT_PREAMBLE_BYTES) {
    // A short prefix may still be a good file's start; a wrong magic is wrong however short.
    if (!isMagicPrefix(buf)) throw invalid(source, 'bad magic');
    return { needBytes: SEGMENT_PREAMBLE_BYTES };
  }
  if (!isMagicPrefix(buf.subarray(0, 4))) throw invalid(source, 'bad magic');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = view.getUint32(4, true);
  if (version !== SEGMENT_FORMAT_VERSION) throw invalid(source, `unsupported format version ${version}`);
  const headerBytes = view.getUint32(8, true);
  if (headerBytes === 0 || headerBytes > MAX_HEADER_BYTES) throw invalid(source, `header length ${headerBytes}`);
  const end = SEGMENT_PREAMBLE_BYTES + headerBytes;
  if (buf.length < end) return { needBytes: end };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + SEGMENT_PREAMBLE_BYTES, headerBytes).toString('utf8'));
  } catch {
    throw invalid(source, 'header is not JSON');
  }
  const header = readHeader(json, source);
  checkHeader(header, source);
  return { header, headerBytes };
}

function isMagicPrefix(b: Uint8Array): boolean {
  for (let i = 0; i < b.length && i < 4; i++) if (b[i] !== SEGMENT_MAGIC.charCodeAt(i)) return false;
  return true;
}

// ---- header validation: JSON from disk is `unknown` until every field has been checked ----

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Typed field access on an untrusted object; every miss names the field. */
class Fields {
  constructor(
    private readonly o: Json,
    private readonly where: string,
    private readonly source: string,
  ) {}

  private fail(name: string, want: string): PackagerError {
    return invalid(this.source, `${this.where}${name} must be ${want}`);
  }
  num(name: string): number {
    const v = this.o[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.fail(name, 'a finite number');
    return v;
  }
  /** A safe integer ≥ min. */
  int(name: string, min = 0): number {
    const v = this.o[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw this.fail(name, `an integer ≥ ${min}`);
    return v;
  }
  str(name: string): string {
    const v = this.o[name];
    if (typeof v !== 'string') throw this.fail(name, 'a string');
    return v;
  }
  bool(name: string): boolean {
    const v = this.o[name];
    if (typeof v !== 'boolean') throw this.fail(name, 'a boolean');
    return v;
  }
  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const v = this.o[name];
    const hit = values.find((x) => x === v);
    if (hit === undefined) throw this.fail(name, `one of ${values.join(', ')}`);
    return hit;
  }
  base64(name: string): string {
    const v = this.str(name);
    if (!BASE64.test(v)) throw this.fail(name, 'base64');
    return v;
  }
  list(name: string): readonly unknown[] {
    const v = this.o[name];
    if (!Array.isArray(v)) throw this.fail(name, 'an array');
    return v;
  }
}

function fieldsOf(v: unknown, where: string, source: string): Fields {
  if (!isObject(v)) throw invalid(source, `${where || 'header'} is not an object`);
  return new Fields(v, where, source);
}

const KINDS = ['video', 'audio'] as const;

function readHeader(json: unknown, source: string): SegmentHeader {
  const f = fieldsOf(json, '', source);
  const tracks: LiveTrackInfo[] = f.list('tracks').map((t, i) => {
    const g = fieldsOf(t, `tracks[${i}].`, source);
    return { id: g.int('id'), kind: g.oneOf('kind', KINDS), start: g.num('start'), duration: g.num('duration'), bytes: g.int('bytes') };
  });
  const info: LiveSegmentInfo = {
    number: f.int('number'),
    start: f.num('start'),
    duration: f.num('duration'),
    discontinuity: f.bool('discontinuity'),
    wallClock: f.num('wallClock'),
    configId: f.str('configId'),
    tracks,
  };
  const media: MediaHeader[] = f.list('media').map((m, i) => {
    const g = fieldsOf(m, `media[${i}].`, source);
    return {
      id: g.int('id'),
      kind: g.oneOf('kind', KINDS),
      sampleEntryType: g.oneOf('sampleEntryType', SAMPLE_ENTRY_TYPES),
      codecString: g.str('codecString'),
      timescale: g.int('timescale', 1),
      codecConfig: g.base64('codecConfig'),
      sampleEntry: g.base64('sampleEntry'),
      nalLengthSize: g.int('nalLengthSize'),
      language: g.str('language'),
      name: g.str('name'),
      width: g.int('width'),
      height: g.int('height'),
      sampleRate: g.int('sampleRate'),
      channels: g.int('channels'),
      presentationOffset: g.num('presentationOffset'),
      sampleCount: g.int('sampleCount'),
      dataLength: g.int('dataLength'),
    };
  });
  return { info, media };
}

/** Rules across fields, shared by encode and decode (readHeader has checked each field's type). */
function checkHeader(h: SegmentHeader, source: string): void {
  const { info, media } = h;
  if (info.duration <= 0) throw invalid(source, `duration ${info.duration} must be > 0`);
  if (info.tracks.length === 0) throw invalid(source, 'no tracks');
  if (media.length !== info.tracks.length) throw invalid(source, `${media.length} media entries for ${info.tracks.length} tracks`);
  media.forEach((m, i) => {
    const t = info.tracks[i]!;
    if (m.id !== t.id || m.kind !== t.kind) throw invalid(source, `media[${i}] is ${m.kind} ${m.id}, tracks[${i}] is ${t.kind} ${t.id}`);
    if (m.sampleCount === 0) throw invalid(source, `track ${m.id} has no samples`);
    if (m.nalLengthSize > 4) throw invalid(source, `track ${m.id} nalLengthSize ${m.nalLengthSize}`);
  });
  if (new Set(media.map((m) => m.id)).size !== media.length) throw invalid(source, 'duplicate track ids');
}

/** Every sample's bytes lie inside its track's data; the column values are what the Track model allows. */
function checkSamples(s: SampleTable, count: number, dataLength: number, where: string): void {
  if (s.count !== count) throw invalid(where, `sample count ${s.count}, expected ${count}`);
  for (const col of [s.dts, s.cto, s.duration, s.size, s.offset, s.sync]) {
    if (col.length < count) throw invalid(where, `a sample table column holds ${col.length} of ${count} samples`);
  }
  for (let i = 0; i < count; i++) {
    const off = s.offset[i]!;
    const size = s.size[i]!;
    if (!Number.isSafeInteger(off) || off < 0 || off + size > dataLength) {
      throw invalid(where, `sample ${i} [${off}, ${off + size}) lies outside its ${dataLength} data bytes`);
    }
    if (!Number.isFinite(s.dts[i]!)) throw invalid(where, `sample ${i} dts is not finite`);
    if (s.sync[i]! > 1) throw invalid(where, `sample ${i} sync flag ${s.sync[i]}`);
  }
}

function writeColumns(view: DataView, p: number, s: SampleTable): number {
  const n = s.count;
  for (let i = 0; i < n; i++, p += 8) view.setFloat64(p, s.dts[i]!, true);
  for (let i = 0; i < n; i++, p += 4) view.setInt32(p, s.cto[i]!, true);
  for (let i = 0; i < n; i++, p += 4) view.setUint32(p, s.duration[i]!, true);
  for (let i = 0; i < n; i++, p += 4) view.setUint32(p, s.size[i]!, true);
  for (let i = 0; i < n; i++, p += 8) view.setFloat64(p, s.offset[i]!, true);
  for (let i = 0; i < n; i++, p += 1) view.setUint8(p, s.sync[i]!);
  return p;
}

function readColumns(view: DataView, p: number, n: number): SampleTable {
  const t = allocSampleTable(n);
  const { dts, cto, duration, size, offset, sync } = t;
  for (let i = 0; i < n; i++, p += 8) dts[i] = view.getFloat64(p, true);
  for (let i = 0; i < n; i++, p += 4) cto[i] = view.getInt32(p, true);
  for (let i = 0; i < n; i++, p += 4) duration[i] = view.getUint32(p, true);
  for (let i = 0; i < n; i++, p += 4) size[i] = view.getUint32(p, true);
  for (let i = 0; i < n; i++, p += 8) offset[i] = view.getFloat64(p, true);
  for (let i = 0; i < n; i++, p += 1) sync[i] = view.getUint8(p);
  return t;
}
