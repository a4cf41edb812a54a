/**
 * Test-only: just enough MP4 parsing to turn an ffmpeg-written file into a Track and the bytes of a
 * sample range, so the TS muxer is tested without depending on the source/ indexer.
 */

import type { SampleEntryType, SampleTable, Track } from '../../../../src/media/track.js';

interface Box {
  readonly type: string;
  /** Payload start and end (after the header). */
  readonly start: number;
  readonly end: number;
}

function boxes(buf: Uint8Array, start: number, end: number): Box[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Box[] = [];
  let p = start;
  while (p + 8 <= end) {
    let size = dv.getUint32(p);
    const type = String.fromCharCode(buf[p + 4]!, buf[p + 5]!, buf[p + 6]!, buf[p + 7]!);
    let header = 8;
    if (size === 1) {
      size = Number(dv.getBigUint64(p + 8));
      header = 16;
    } else if (size === 0) {
      size = end - p;
    }
    out.push({ type, start: p + header, end: p + size });
    p += size;
  }
  return out;
}

function child(buf: Uint8Array, parent: Box, type: string): Box | undefined {
  return boxes(buf, parent.start, parent.end).find((b) => b.type === type);
}

function path(buf: Uint8Array, parent: Box, ...types: string[]): Box | undefined {
  let b: Box | undefined = parent;
  for (const t of types) {
    if (b === undefined) return undefined;
    b = child(buf, b, t);
  }
  return b;
}

/** Reads an MPEG-4 descriptor header (tag, size); returns [tag, payloadStart, payloadEnd]. */
function descriptor(buf: Uint8Array, p: number): [number, number, number] {
  const tag = buf[p++]!;
  let size = 0;
  for (let i = 0; i < 4; i++) {
    const b = buf[p++]!;
    size = (size << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) break;
  }
  return [tag, p, p + size];
}

function ascFromEsds(buf: Uint8Array, esds: Box): Uint8Array {
  let [tag, p, end] = descriptor(buf, esds.start + 4);
  if (tag !== 3) throw new Error('esds: no ES_Descriptor');
  const flags = buf[p + 2]!;
  p += 3;
  if (flags & 0x80) p += 2;
  if (flags & 0x40) p += 1 + buf[p]!;
  if (flags & 0x20) p += 2;
  [tag, p, end] = descriptor(buf, p);
  if (tag !== 4) throw new Error('esds: no DecoderConfigDescriptor');
  [tag, p, end] = descriptor(buf, p + 13);
  if (tag !== 5) throw new Error('esds: no DecoderSpecificInfo');
  return buf.slice(p, end);
}

export interface Mp4Fixture {
  readonly track: Track;
  /** Bytes of samples [start, end) back to back. */
  sampleData(start: number, end: number): Uint8Array;
}

/** The first track of `kind` in an MP4 file (moov with stco/co64, no fragments). */
export function loadTrack(file: Uint8Array, kind: 'video' | 'audio'): Mp4Fixture {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const top: Box = { type: 'file', start: 0, end: file.length };
  const moov = child(file, top, 'moov');
  if (!moov) throw new Error('no moov');
  const handler = kind === 'video' ? 'vide' : 'soun';
  const trak = boxes(file, moov.start, moov.end).find((b) => {
    if (b.type !== 'trak') return false;
    const hdlr = path(file, b, 'mdia', 'hdlr');
    return hdlr !== undefined && String.fromCharCode(...file.subarray(hdlr.start + 8, hdlr.start + 12)) === handler;
  });
  if (!trak) throw new Error(`no ${kind} track`);
  const tkhd = child(file, trak, 'tkhd')!;
  const id = dv.getUint32(tkhd.start + (file[tkhd.start] === 1 ? 20 : 12));
  const mdhd = path(file, trak, 'mdia', 'mdhd')!;
  const timescale = dv.getUint32(mdhd.start + (file[mdhd.start] === 1 ? 20 : 12));
  const stbl = path(file, trak, 'mdia', 'minf', 'stbl')!;

  // Edit list: the media time the presentation starts at (ffmpeg: B-frame shift or AAC priming).
  let presentationOffset = 0;
  const elst = path(file, trak, 'edts', 'elst');
  if (elst) {
    const v1 = file[elst.start] === 1;
    const n = dv.getUint32(elst.start + 4);
    for (let i = 0, p = elst.start + 8; i < n; i++, p += v1 ? 20 : 12) {
      const mediaTime = v1 ? Number(dv.getBigInt64(p + 8)) : dv.getInt32(p + 4);
      if (mediaTime >= 0) {
        presentationOffset = mediaTime;
        break;
      }
      throw new Error('test fixture parser: empty edits not handled');
    }
  }

  const stsd = child(file, stbl, 'stsd')!;
  const entry = boxes(file, stsd.start + 8, stsd.end)[0]!;
  const sampleEntryType = entry.type as SampleEntryType;
  let codecConfig: Uint8Array;
  let nalLengthSize = 0;
  if (kind === 'video') {
    const cfgType = sampleEntryType.startsWith('avc') ? 'avcC' : 'hvcC';
    const cfg = boxes(file, entry.start + 78, entry.end).find((b) => b.type === cfgType)!;
    codecConfig = file.slice(cfg.start, cfg.end);
    nalLengthSize = ((cfgType === 'avcC' ? codecConfig[4]! : codecConfig[21]!) & 3) + 1;
  } else {
    const esds = boxes(file, entry.start + 28, entry.end).find((b) => b.type === 'esds')!;
    codecConfig = ascFromEsds(file, esds);
  }

  const stsz = child(file, stbl, 'stsz')!;
  const fixed = dv.getUint32(stsz.start + 4);
  const count = dv.getUint32(stsz.start + 8);
  const samples: SampleTable = {
    count,
    dts: new Float64Array(count),
    cto: new Int32Array(count),
    duration: new Uint32Array(count),
    size: new Uint32Array(count),
    offset: new Float64Array(count),
    sync: new Uint8Array(count),
  };
  for (let i = 0; i < count; i++) samples.size[i] = fixed || dv.getUint32(stsz.start + 12 + 4 * i);

  const stts = child(file, stbl, 'stts')!;
  let i = 0;
  let t = 0;
  for (let e = 0, n = dv.getUint32(stts.start + 4); e < n; e++) {
    const c = dv.getUint32(stts.start + 8 + 8 * e);
    const d = dv.getUint32(stts.start + 12 + 8 * e);
    for (let k = 0; k < c; k++, i++) {
      samples.dts[i] = t;
      samples.duration[i] = d;
      t += d;
    }
  }
  const ctts = child(file, stbl, 'ctts');
  if (ctts) {
    i = 0;
    for (let e = 0, n = dv.getUint32(ctts.start + 4); e < n; e++) {
      const c = dv.getUint32(ctts.start + 8 + 8 * e);
      const o = dv.getInt32(ctts.start + 12 + 8 * e);
      for (let k = 0; k < c; k++) samples.cto[i++] = o;
    }
  }
  const stss = child(file, stbl, 'stss');
  if (stss) {
    for (let e = 0, n = dv.getUint32(stss.start + 4); e < n; e++) samples.sync[dv.getUint32(stss.start + 8 + 4 * e) - 1] = 1;
  } else {
    samples.sync.fill(1);
  }
  const stco = child(file, stbl, 'stco');
  const co64 = child(file, stbl, 'co64');
  const chunkOffsets: number[] = [];
  if (stco) for (let e = 0, n = dv.getUint32(stco.start + 4); e < n; e++) chunkOffsets.push(dv.getUint32(stco.start + 8 + 4 * e));
  if (co64) for (let e = 0, n = dv.getUint32(co64.start + 4); e < n; e++) chunkOffsets.push(Number(dv.getBigUint64(co64.start + 8 + 8 * e)));
  const stsc = child(file, stbl, 'stsc')!;
  const runs = dv.getUint32(stsc.start + 4);
  i = 0;
  for (let r = 0; r < runs; r++) {
    const firstChunk = dv.getUint32(stsc.start + 8 + 12 * r) - 1;
    const perChunk = dv.getUint32(stsc.start + 12 + 12 * r);
    const lastChunk = r + 1 < runs ? dv.getUint32(stsc.start + 8 + 12 * (r + 1)) - 1 : chunkOffsets.length;
    for (let c = firstChunk; c < lastChunk; c++) {
      let off = chunkOffsets[c]!;
      for (let k = 0; k < perChunk && i < count; k++, i++) {
        samples.offset[i] = off;
        off += samples.size[i]!;
      }
    }
  }

  const track: Track = {
    id,
    kind,
    sampleEntryType,
    codecString: '',
    timescale,
    codecConfig,
    sampleEntry: file.slice(entry.start - 8, entry.end),
    nalLengthSize,
    language: 'und',
    name: '',
    width: 0,
    height: 0,
    sampleRate: 0,
    channels: 0,
    presentationOffset,
    samples,
  };
  return {
    track,
    sampleData(start: number, end: number): Uint8Array {
      let total = 0;
      for (let k = start; k < end; k++) total += samples.size[k]!;
      const out = new Uint8Array(total);
      let p = 0;
      for (let k = start; k < end; k++) {
        const off = samples.offset[k]!;
        out.set(file.subarray(off, off + samples.size[k]!), p);
        p += samples.size[k]!;
      }
      return out;
    },
  };
}
