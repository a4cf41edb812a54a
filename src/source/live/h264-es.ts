/**
 * H.264 elementary stream (Annex B in PES) to access units: NAL splitting, access-unit boundaries
 * (ITU-T H.264 §7.4.1.2.3: AUD; SPS/PPS/SEI after a slice; a slice with first_mb_in_slice == 0
 * after a slice; and a PES with a PTS), key frames (IDR), and the avcC built from in-band SPS/PPS
 * (FORMATS §9, as FFmpeg ff_isom_write_avcc). Samples come out with 4-byte NAL lengths, without AUD
 * and parameter sets.
 */
import { avcCodecString, type AvcConfig } from '../../media/codec/avc.js';
import { RbspReader } from '../../media/codec/bit-reader.js';

const NAL_SLICE = 1;
const NAL_IDR = 5;
const NAL_SEI = 6;
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;

export interface H264AccessUnit {
  readonly pts: number;
  readonly dts: number;
  readonly key: boolean;
  /** Length-prefixed (4 bytes) NAL units. */
  readonly data: Uint8Array;
  readonly discontinuity: boolean;
}

export interface H264Config {
  readonly config: AvcConfig;
  /** avcC box payload (without the 8-byte box header). */
  readonly avcC: Uint8Array;
  readonly codecString: string;
}

export interface H264Pes {
  readonly pts?: number;
  readonly dts?: number;
  readonly data: Uint8Array;
  readonly discontinuity: boolean;
}

export type H264Output = { type: 'config'; value: H264Config } | { type: 'unit'; value: H264AccessUnit };

/**
 * The NAL units of an Annex B buffer (views, trailing zero bytes trimmed); `lead` holds the bytes
 * before the first start code (the end of a NAL unit begun in the previous PES).
 */
export function splitAnnexB(b: Uint8Array): { lead: Uint8Array; nals: Uint8Array[] } {
  const starts: number[] = [];
  const codes: number[] = [];
  for (let i = 0; i + 2 < b.length; i++) {
    if (b[i + 2]! > 1) {
      i += 2;
      continue;
    }
    if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) {
      codes.push(i);
      starts.push(i + 3);
      i += 2;
    }
  }
  const nals: Uint8Array[] = [];
  for (let k = 0; k < starts.length; k++) {
    let end = k + 1 < codes.length ? codes[k + 1]! : b.length;
    while (end > starts[k]! && b[end - 1] === 0) end--; // zero_byte / trailing_zero_8bits
    if (end > starts[k]!) nals.push(b.subarray(starts[k]!, end));
  }
  // The zero_byte of a 4-byte start code is not part of the lead.
  let leadEnd = codes.length > 0 ? codes[0]! : b.length;
  while (leadEnd > 0 && b[leadEnd - 1] === 0) leadEnd--;
  return { lead: b.subarray(0, leadEnd), nals };
}

interface SpsInfo {
  readonly id: number;
  readonly chromaFormatIdc: number;
  readonly bitDepthLuma: number;
  readonly bitDepthChroma: number;
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);
/** Profiles whose avcC carries the chroma/bit-depth extension (ISO/IEC 14496-15 §5.3.3.1.2). */
const AVCC_EXT_PROFILES = new Set([100, 110, 122, 144]);

function readSps(nal: Uint8Array): SpsInfo {
  const r = new RbspReader(nal, 0, nal.length);
  r.skip(8);
  const profile = r.u(8);
  r.skip(16);
  const id = r.ue();
  let chromaFormatIdc = 1;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) r.skip(1);
    bitDepthLuma = r.ue() + 8;
    bitDepthChroma = r.ue() + 8;
  }
  return { id, chromaFormatIdc, bitDepthLuma, bitDepthChroma };
}

function readPpsId(nal: Uint8Array): number {
  const r = new RbspReader(nal, 0, nal.length);
  r.skip(8);
  return r.ue();
}

/** avcC payload per FORMATS §9 / ISO/IEC 14496-15 §5.3.3.1 with 4-byte NAL lengths. */
export function buildAvcC(sps: readonly Uint8Array[], pps: readonly Uint8Array[]): Uint8Array {
  const first = sps[0]!;
  const ext = AVCC_EXT_PROFILES.has(first[1]!);
  let size = 7;
  for (const s of sps) size += 2 + s.length;
  for (const s of pps) size += 2 + s.length;
  if (ext) size += 4;
  const out = new Uint8Array(size);
  out[0] = 1;
  out[1] = first[1]!;
  out[2] = first[2]!;
  out[3] = first[3]!;
  out[4] = 0xff;
  out[5] = 0xe0 | sps.length;
  let p = 6;
  for (const s of sps) {
    out[p++] = s.length >> 8;
    out[p++] = s.length & 0xff;
    out.set(s, p);
    p += s.length;
  }
  out[p++] = pps.length;
  for (const s of pps) {
    out[p++] = s.length >> 8;
    out[p++] = s.length & 0xff;
    out.set(s, p);
    p += s.length;
  }
  if (ext) {
    const info = readSps(first);
    out[p++] = 0xfc | info.chromaFormatIdc;
    out[p++] = 0xf8 | (info.bitDepthLuma - 8);
    out[p++] = 0xf8 | (info.bitDepthChroma - 8);
    out[p++] = 0; // numOfSequenceParameterSetExt
  }
  return out;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface PendingUnit {
  pts: number;
  dts: number;
  nals: Uint8Array[];
  hasVcl: boolean;
  key: boolean;
  discontinuity: boolean;
}

/**
 * One H.264 stream. Feed whole PES payloads; an access unit is output once the next one starts (or
 * on flush), so output lags input by one access unit.
 */
export class H264EsParser {
  private readonly sps = new Map<number, Uint8Array>();
  private readonly pps = new Map<number, Uint8Array>();
  private paramsChanged = false;
  private current: PendingUnit | null = null;
  private pendingDiscontinuity = false;
  private lastPts: number | undefined;
  private lastDts: number | undefined;
  /** Parameter sets or slices that could not be read. */
  errors = 0;

  /**
   * Data was lost after the last PES pushed: the unit built from whole PES packets so far is output
   * (it was only waiting for the next unit to start), and the next unit is marked as a discontinuity.
   */
  discard(out: H264Output[]): void {
    this.emit(out);
    this.current = null;
    this.pendingDiscontinuity = true;
  }

  push(pes: H264Pes, out: H264Output[]): void {
    if (pes.discontinuity) this.pendingDiscontinuity = true;
    const { lead, nals } = splitAnnexB(pes.data);
    if (lead.length > 0 && this.current && this.current.nals.length > 0) {
      // A NAL unit that continued into this PES (no start code at its head).
      const last = this.current.nals.pop()!;
      const joined = new Uint8Array(last.length + lead.length);
      joined.set(last);
      joined.set(lead, last.length);
      this.current.nals.push(joined);
    }
    let first = pes.pts !== undefined;
    for (const nal of nals) {
      const type = nal[0]! & 0x1f;
      const vcl = type >= NAL_SLICE && type <= NAL_IDR;
      const cur = this.current;
      const boundary =
        cur === null ||
        first ||
        type === NAL_AUD ||
        (cur.hasVcl && (type === NAL_SPS || type === NAL_PPS || type === NAL_SEI || (type >= 14 && type <= 18))) ||
        (cur.hasVcl && vcl && nal.length > 1 && (nal[1]! & 0x80) !== 0);
      if (boundary) this.startUnit(first ? pes : undefined, out);
      first = false;
      const u = this.current!;
      if (type === NAL_SPS) this.keepSps(nal);
      else if (type === NAL_PPS) this.keepPps(nal);
      else if (type !== NAL_AUD) {
        u.nals.push(nal);
        if (vcl) u.hasVcl = true;
        if (type === NAL_IDR) u.key = true;
      }
    }
  }

  flush(out: H264Output[]): void {
    this.emit(out);
    this.current = null;
  }

  private startUnit(pes: H264Pes | undefined, out: H264Output[]): void {
    // A unit without a slice (only SEI before a lost slice, say) is dropped by emit().
    this.emit(out);
    const pts = pes?.pts ?? this.lastPts ?? 0;
    const dts = pes?.pts !== undefined ? (pes.dts ?? pes.pts) : (this.lastDts ?? pts);
    this.current = { pts, dts, nals: [], hasVcl: false, key: false, discontinuity: this.pendingDiscontinuity };
    this.pendingDiscontinuity = false;
  }

  private emit(out: H264Output[]): void {
    const u = this.current;
    if (!u || !u.hasVcl) return;
    if (this.paramsChanged && this.sps.size > 0 && this.pps.size > 0) {
      this.paramsChanged = false;
      out.push({ type: 'config', value: this.config() });
    }
    let size = 0;
    for (const n of u.nals) size += 4 + n.length;
    const data = new Uint8Array(size);
    let p = 0;
    for (const n of u.nals) {
      data[p] = n.length >>> 24;
      data[p + 1] = (n.length >> 16) & 0xff;
      data[p + 2] = (n.length >> 8) & 0xff;
      data[p + 3] = n.length & 0xff;
      data.set(n, p + 4);
      p += 4 + n.length;
    }
    this.lastPts = u.pts;
    this.lastDts = u.dts;
    this.current = null;
    out.push({ type: 'unit', value: { pts: u.pts, dts: u.dts, key: u.key, data, discontinuity: u.discontinuity } });
  }

  private keepSps(nal: Uint8Array): void {
    let id: number;
    try {
      id = readSps(nal).id;
    } catch {
      this.errors++;
      return;
    }
    if (!sameBytes(this.sps.get(id), nal)) {
      this.sps.set(id, nal.slice());
      this.paramsChanged = true;
    }
  }

  private keepPps(nal: Uint8Array): void {
    let id: number;
    try {
      id = readPpsId(nal);
    } catch {
      this.errors++;
      return;
    }
    if (!sameBytes(this.pps.get(id), nal)) {
      this.pps.set(id, nal.slice());
      this.paramsChanged = true;
    }
  }

  private config(): H264Config {
    const byId = (m: Map<number, Uint8Array>): Uint8Array[] => [...m.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    const sps = byId(this.sps);
    const pps = byId(this.pps);
    const s = sps[0]!;
    const config: AvcConfig = { profile: s[1]!, compatibility: s[2]!, level: s[3]!, nalLengthSize: 4, sps, pps };
    return { config, avcC: buildAvcC(sps, pps), codecString: avcCodecString(config, 'avc1') };
  }
}
