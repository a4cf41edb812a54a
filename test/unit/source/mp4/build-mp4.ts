/**
 * Builds small MP4 files in memory for tests: each box from a helper, sample tables from a per-sample
 * spec, the mdat filled with a pattern so sample reads can be checked byte for byte.
 */

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const u8 = (...v: number[]): Uint8Array => Uint8Array.from(v);
export function u16(v: number): Uint8Array {
  return u8((v >> 8) & 0xff, v & 0xff);
}
export function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}
export function i32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v);
  return b;
}
export function u64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v));
  return b;
}
export function i64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(v));
  return b;
}
export const str = (s: string): Uint8Array => new TextEncoder().encode(s);
export const zeros = (n: number): Uint8Array => new Uint8Array(n);

export function box(type: string, ...payload: Uint8Array[]): Uint8Array {
  const body = concat(...payload);
  return concat(u32(body.length + 8), str(type), body);
}
export function largeBox(type: string, ...payload: Uint8Array[]): Uint8Array {
  const body = concat(...payload);
  return concat(u32(1), str(type), u64(body.length + 16), body);
}
export function fullBox(type: string, version: number, flags: number, ...payload: Uint8Array[]): Uint8Array {
  return box(type, u8(version, (flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff), ...payload);
}

export function avcCPayload(): Uint8Array {
  const sps = u8(0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9);
  const pps = u8(0x68, 0xeb, 0xe3, 0xcb);
  return concat(u8(1, 0x64, 0x00, 0x1f, 0xff, 0xe1), u16(sps.length), sps, u8(1), u16(pps.length), pps);
}

export function visualEntry(type: string, width: number, height: number, ...kids: Uint8Array[]): Uint8Array {
  return box(
    type,
    zeros(6),
    u16(1),
    zeros(16),
    u16(width),
    u16(height),
    u32(0x00480000),
    u32(0x00480000),
    u32(0),
    u16(1),
    zeros(32),
    u16(0x18),
    u16(0xffff),
    ...kids,
  );
}

export function avc1Entry(width = 320, height = 240, type = 'avc1'): Uint8Array {
  return visualEntry(type, width, height, box('avcC', avcCPayload()));
}

/** Descriptor with the 4-byte variable-length size FFmpeg writes (0x80 0x80 0x80 len). */
export function descriptor(tag: number, body: Uint8Array, longSize = true): Uint8Array {
  const size = longSize ? u8(0x80, 0x80, 0x80, body.length) : u8(body.length);
  return concat(u8(tag), size, body);
}

export function esds(asc: Uint8Array, objectType = 0x40, longSize = true): Uint8Array {
  const dsi = descriptor(0x05, asc, longSize);
  const dcd = descriptor(0x04, concat(u8(objectType, 0x15), zeros(3), u32(128000), u32(96000), dsi), longSize);
  const sl = descriptor(0x06, u8(0x02), longSize);
  return fullBox('esds', 0, 0, descriptor(0x03, concat(u16(1), u8(0), dcd, sl), longSize));
}

/** mp4a entry; `version` 1 is the QuickTime v1 sound description (16 more bytes). */
export function mp4aEntry(asc = u8(0x11, 0x90), opts: { version?: 0 | 1; inWave?: boolean; channels?: number; rate?: number } = {}): Uint8Array {
  const version = opts.version ?? 0;
  const e = esds(asc);
  return box(
    'mp4a',
    zeros(6),
    u16(1),
    u16(version),
    zeros(6),
    u16(opts.channels ?? 2),
    u16(16),
    zeros(4),
    u32((opts.rate ?? 48000) * 65536),
    version === 1 ? zeros(16) : zeros(0),
    opts.inWave ? box('wave', box('frma', str('mp4a')), e) : e,
  );
}

export interface SampleSpec {
  size: number;
  duration: number;
  cto?: number;
  sync?: boolean;
}

export interface TrackSpec {
  id: number;
  handler?: string;
  entry?: Uint8Array;
  timescale?: number;
  /** Packed mdhd language; default 'und'. */
  language?: string | number;
  name?: string;
  samples: SampleSpec[];
  samplesPerChunk?: number;
  cttsVersion?: 0 | 1 | 'none';
  co64?: boolean;
  stz2?: 4 | 8 | 16;
  constantSize?: boolean;
  noStss?: boolean;
  elst?: { version: 0 | 1; entries: [number, number][] };
  tkhdSize?: [number, number];
  /** Replace or drop boxes of the stbl (for error tests). */
  stblOverride?: (boxes: Record<string, Uint8Array>) => void;
  sampleDescriptionIndex?: number;
}

export interface MovieSpec {
  tracks: TrackSpec[];
  movieTimescale?: number;
  moovAtEnd?: boolean;
  /** Write the moov with a 64-bit largesize header. */
  largeMoov?: boolean;
  /** Write the moov's size as 0 ("to end of file"); needs moovAtEnd. */
  moovSizeZero?: boolean;
  extraMoovChildren?: Uint8Array[];
}

export function packLanguage(lang: string): number {
  return ((lang.charCodeAt(0) - 0x60) << 10) | ((lang.charCodeAt(1) - 0x60) << 5) | (lang.charCodeAt(2) - 0x60);
}

/** Byte j of sample i of track id, so any misplaced read shows. */
export function sampleByte(id: number, i: number, j: number): number {
  return (id * 31 + i * 7 + j) & 0xff;
}

interface Chunk {
  track: number;
  first: number;
  count: number;
}

function chunksOf(t: TrackSpec): Chunk[] {
  const per = t.samplesPerChunk ?? 3;
  const out: Chunk[] = [];
  for (let i = 0; i < t.samples.length; i += per) out.push({ track: t.id, first: i, count: Math.min(per, t.samples.length - i) });
  return out;
}

function runLengths(values: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const v of values) {
    const last = out[out.length - 1];
    if (last && last[1] === v) last[0]++;
    else out.push([1, v]);
  }
  return out;
}

function stbl(t: TrackSpec, chunkOffsets: number[]): Uint8Array {
  const s = t.samples;
  const boxes: Record<string, Uint8Array> = {};
  boxes.stsd = fullBox('stsd', 0, 0, u32(1), t.entry ?? avc1Entry());
  boxes.stts = fullBox('stts', 0, 0, u32(runLengths(s.map((x) => x.duration)).length), ...runLengths(s.map((x) => x.duration)).map(([n, d]) => concat(u32(n), u32(d))));
  if (t.cttsVersion !== 'none' && s.some((x) => x.cto)) {
    const runs = runLengths(s.map((x) => x.cto ?? 0));
    boxes.ctts = fullBox('ctts', t.cttsVersion ?? 0, 0, u32(runs.length), ...runs.map(([n, c]) => concat(u32(n), i32(c))));
  }
  if (!t.noStss) {
    const syncs = s.flatMap((x, i) => (x.sync ? [i + 1] : []));
    boxes.stss = fullBox('stss', 0, 0, u32(syncs.length), ...syncs.map(u32));
  }
  const per = t.samplesPerChunk ?? 3;
  const last = s.length % per;
  const sdi = t.sampleDescriptionIndex ?? 1;
  const stscEntries = [concat(u32(1), u32(per), u32(sdi))];
  if (last && chunkOffsets.length > 1) stscEntries.push(concat(u32(chunkOffsets.length), u32(last), u32(sdi)));
  if (last && chunkOffsets.length === 1) stscEntries[0] = concat(u32(1), u32(last), u32(sdi));
  boxes.stsc = fullBox('stsc', 0, 0, u32(stscEntries.length), ...stscEntries);
  if (t.stz2) {
    const f = t.stz2;
    const bytes = new Uint8Array(Math.ceil((s.length * f) / 8));
    s.forEach((x, i) => {
      if (f === 16) new DataView(bytes.buffer).setUint16(i * 2, x.size);
      else if (f === 8) bytes[i] = x.size;
      else bytes[i >> 1]! |= i & 1 ? x.size : x.size << 4;
    });
    boxes.stz2 = fullBox('stz2', 0, 0, u8(0, 0, 0, f), u32(s.length), bytes);
  } else if (t.constantSize) {
    boxes.stsz = fullBox('stsz', 0, 0, u32(s[0]?.size ?? 0), u32(s.length));
  } else {
    boxes.stsz = fullBox('stsz', 0, 0, u32(0), u32(s.length), ...s.map((x) => u32(x.size)));
  }
  boxes[t.co64 ? 'co64' : 'stco'] = t.co64
    ? fullBox('co64', 0, 0, u32(chunkOffsets.length), ...chunkOffsets.map(u64))
    : fullBox('stco', 0, 0, u32(chunkOffsets.length), ...chunkOffsets.map(u32));
  t.stblOverride?.(boxes);
  return box('stbl', ...Object.values(boxes));
}

function trak(t: TrackSpec, chunkOffsets: number[]): Uint8Array {
  const handler = t.handler ?? (t.entry && String.fromCharCode(...t.entry.subarray(4, 8)) === 'mp4a' ? 'soun' : 'vide');
  const [w, h] = t.tkhdSize ?? [0, 0];
  const tkhd = fullBox('tkhd', 0, 3, zeros(8), u32(t.id), zeros(4), u32(0), zeros(8), zeros(8), zeros(36), u32(w * 65536), u32(h * 65536));
  const lang = typeof t.language === 'number' ? t.language : packLanguage(t.language ?? 'und');
  const mdhd = fullBox('mdhd', 0, 0, zeros(8), u32(t.timescale ?? 1000), u32(0), u16(lang), u16(0));
  const hdlr = fullBox('hdlr', 0, 0, u32(0), str(handler), zeros(12), str(t.name ?? 'Handler'), u8(0));
  const minfHeader = handler === 'soun' ? fullBox('smhd', 0, 0, zeros(4)) : fullBox('vmhd', 0, 1, zeros(8));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const edts = t.elst
    ? box(
        'edts',
        fullBox(
          'elst',
          t.elst.version,
          0,
          u32(t.elst.entries.length),
          ...t.elst.entries.map(([d, m]) =>
            t.elst!.version === 1 ? concat(u64(d), i64(m), u32(0x10000)) : concat(u32(d), i32(m), u32(0x10000)),
          ),
        ),
      )
    : zeros(0);
  return box('trak', tkhd, edts, box('mdia', mdhd, hdlr, box('minf', minfHeader, dinf, stbl(t, chunkOffsets))));
}

export interface BuiltMovie {
  file: Uint8Array;
  /** Expected file offset of every sample, per track id. */
  offsets: Map<number, number[]>;
}

export function buildMp4(spec: MovieSpec): BuiltMovie {
  const ftyp = box('ftyp', str('isom'), u32(0x200), str('isomiso2avc1mp41'));
  // Interleave chunks round-robin across tracks, as muxers do.
  const perTrack = spec.tracks.map(chunksOf);
  const order: Chunk[] = [];
  for (let k = 0; perTrack.some((c) => k < c.length); k++) for (const c of perTrack) if (c[k]) order.push(c[k]!);
  const build = (mdatStart: number): { moov: Uint8Array; mdat: Uint8Array; offsets: Map<number, number[]> } => {
    const chunkOffsets = new Map<number, number[]>(spec.tracks.map((t) => [t.id, []]));
    const offsets = new Map<number, number[]>(spec.tracks.map((t) => [t.id, []]));
    const data: number[] = [];
    let pos = mdatStart + 8;
    for (const c of order) {
      const t = spec.tracks.find((x) => x.id === c.track)!;
      chunkOffsets.get(t.id)!.push(pos);
      for (let i = c.first; i < c.first + c.count; i++) {
        offsets.get(t.id)!.push(pos);
        const size = t.samples[i]!.size;
        for (let j = 0; j < size; j++) data.push(sampleByte(t.id, i, j));
        pos += size;
      }
    }
    const mvhd = fullBox('mvhd', 0, 0, zeros(8), u32(spec.movieTimescale ?? 1000), u32(0), u32(0x10000), u16(0x100), zeros(10), zeros(36), zeros(24), u32(99));
    const kids = [mvhd, ...spec.tracks.map((t) => trak(t, chunkOffsets.get(t.id)!)), ...(spec.extraMoovChildren ?? [])];
    let moov = spec.largeMoov ? largeBox('moov', ...kids) : box('moov', ...kids);
    if (spec.moovSizeZero) {
      moov = moov.slice();
      moov.set(u32(0), 0);
    }
    return { moov, mdat: box('mdat', Uint8Array.from(data)), offsets };
  };
  if (spec.moovAtEnd) {
    const { moov, mdat, offsets } = build(ftyp.length);
    return { file: concat(ftyp, mdat, moov), offsets };
  }
  const first = build(0);
  const { moov, mdat, offsets } = build(ftyp.length + first.moov.length);
  return { file: concat(ftyp, moov, mdat), offsets };
}

/** `n` video samples of 25 fps at timescale 12800, first of each `gop` a sync sample. */
export function videoSamples(n: number, gop = 5, cto?: (i: number) => number): SampleSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    size: 20 + ((i * 13) % 40),
    duration: 512,
    cto: cto?.(i) ?? 0,
    sync: i % gop === 0,
  }));
}

export function audioSamples(n: number): SampleSpec[] {
  return Array.from({ length: n }, (_, i) => ({ size: 10 + (i % 7), duration: 1024 }));
}
