/**
 * H.264 elementary stream (Annex B in PES) to access units: NAL splitting, access-unit boundaries
 * (ITU-T H.264 §7.4.1.2.3: AUD; SPS/PPS/SEI after a slice; a slice with first_mb_in_slice == 0
 * after a slice; and a PES with a PTS), key frames (IDR), and the avcC built from in-band SPS/PPS
 * (FORMATS §9, as FFmpeg ff_isom_write_avcc). Samples come out with 4-byte NAL lengths, without AUD
 * and parameter sets.
 *
 * When an access unit is output. By the boundary rules alone, only once the next one starts: the
 * segmenter would learn of a key frame one frame interval (or at 5 Mbit/s CBR, one P frame's
 * transmission) after its last byte arrived. The content of a unit is fixed as soon as the next PES is
 * known to begin a new one (it has a PTS and its bytes start with a start code: no NAL unit of this
 * PES continues into it), so it is output then, with exactly the bytes and times the rule would give:
 *  - `end: 'unit'` on a PES (or endUnit()): the demuxer has seen the first packet of the next PES and
 *    it begins an access unit (pesStartsAccessUnit). Exact; for PES_packet_length 0 (ffmpeg's video)
 *    that is the earliest moment the end of a PES is known at all.
 *  - `end: 'pes'`: the PES is complete by its PES_packet_length but the next one is unseen. The unit
 *    is output at once only when the stream has been aligned so far (every PES began an access unit,
 *    at least two in a row, and a whole key frame was confirmed to fit one PES: muxers that split only
 *    their largest frames across PES fail that before it matters). Should a later PES still continue
 *    the unit that went out, the continuation is dropped up to the next boundary (counted in
 *    `errors`, the next unit flagged as a discontinuity) and this stream is never speculated on again.
 * The parser keeps views of the PES it was given only until push() returns: detach() copies whatever
 * the unit in progress still refers to, so the caller may reuse its PES buffer.
 */
import { avcCodecString, type AvcConfig } from '../../media/codec/avc.js';
import { RbspReader } from '../../media/codec/bit-reader.js';
import { AccessUnitAssembler, sameBytes, type VideoAccessUnit, type VideoEsOutput, type VideoPes } from './access-units.js';

const NAL_SLICE = 1;
const NAL_IDR = 5;
const NAL_SEI = 6;
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;
const START_CODE_3 = Buffer.from([0, 0, 1]);

export type H264AccessUnit = VideoAccessUnit;

export interface H264Config {
  readonly config: AvcConfig;
  /** avcC box payload (without the 8-byte box header). */
  readonly avcC: Uint8Array;
  readonly codecString: string;
}

/** `end`: what is known of the end of this PES (see the header comment). */
export type H264Pes = VideoPes;

/**
 * Whether a PES beginning with `p` (the payload of its first TS packet) starts a new access unit by
 * the parser's rules, judged from that packet alone: a PES header with a PTS, then a start code and a
 * non-empty NAL unit (so no bytes continue the previous PES's last NAL unit). False when it cannot be
 * told from these bytes.
 */
export function pesStartsAccessUnit(p: Uint8Array): boolean {
  if (p.length < 14 || p[0] !== 0 || p[1] !== 0 || p[2] !== 1) return false;
  const streamId = p[3]!;
  // Video stream ids (0xE0-0xEF) carry the optional header; other ids are not H.264 PES here.
  if ((streamId & 0xf0) !== 0xe0 || (p[7]! & 0x80) === 0) return false;
  const h = 9 + p[8]!;
  if (h < 14) return false; // parsePes reads no PTS from a shorter header
  if (h + 4 > p.length || p[h] !== 0 || p[h + 1] !== 0) return false;
  if (p[h + 2] === 1) return p[h + 3] !== 0;
  return h + 5 <= p.length && p[h + 2] === 0 && p[h + 3] === 1 && p[h + 4] !== 0;
}

export type H264Output = VideoEsOutput<H264Config>;

/**
 * The NAL units of an Annex B buffer (views, trailing zero bytes trimmed); `lead` holds the bytes
 * before the first start code (the end of a NAL unit begun in the previous PES).
 */
export function splitAnnexB(b: Uint8Array): { lead: Uint8Array; nals: Uint8Array[] } {
  const starts: number[] = [];
  const codes: number[] = [];
  // Buffer#indexOf searches natively; a byte loop in JS was the demuxer's largest cost.
  const search = Buffer.from(b.buffer, b.byteOffset, b.length);
  for (let i = search.indexOf(START_CODE_3); i >= 0; i = search.indexOf(START_CODE_3, i + 3)) {
    codes.push(i);
    starts.push(i + 3);
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

/** PES in a row that began an access unit before a PES end (by length) is taken for a unit end. */
const ALIGNED_RUN = 2;

function isBoundaryAfterSlice(nal: Uint8Array): boolean {
  const type = nal[0]! & 0x1f;
  if (type === NAL_AUD || type === NAL_SPS || type === NAL_PPS || type === NAL_SEI || (type >= 14 && type <= 18)) return true;
  return type >= NAL_SLICE && type <= NAL_IDR && nal.length > 1 && (nal[1]! & 0x80) !== 0;
}

/**
 * One H.264 stream. Feed whole PES payloads; an access unit is output once the next one starts, once
 * the next PES is known to begin one, or at the end of its PES when the stream is aligned (see the
 * header comment), or on flush.
 */
export class H264EsParser extends AccessUnitAssembler<H264Config> {
  private readonly sps = new Map<number, Uint8Array>();
  private readonly pps = new Map<number, Uint8Array>();
  private paramsChanged = false;
  /** PES in a row that began an access unit. */
  private alignedRun = 0;
  /** A PES holding a key frame was followed by one that began an access unit: key frames fit a PES. */
  private keyAligned = false;
  private previousPesKey = false;
  /** A PES did not begin an access unit: never output a unit at a PES end on speculation. */
  private unaligned = false;
  /** The last unit went out at its PES end on speculation ('pes'): the next PES must begin a unit. */
  private speculated = false;
  /** Dropping NAL units that continue a unit already output, until the next boundary. */
  private skipping = false;
  override discard(out: H264Output[]): void {
    super.discard(out);
    // What was lost may have been the continuation of a unit output at its PES end: nothing to drop.
    this.speculated = false;
    this.skipping = false;
    this.alignedRun = 0;
  }

  push(pes: H264Pes, out: H264Output[]): void {
    if (pes.discontinuity) this.pendingDiscontinuity = true;
    const { lead, nals } = splitAnnexB(pes.data);
    const startsUnit = pes.pts !== undefined && lead.length === 0 && nals.length > 0;
    if (this.speculated && !startsUnit) {
      // The unit that went out at the previous PES end was not complete: what continues it is lost.
      this.errors++;
      this.unaligned = true;
      this.skipping = true;
      this.pendingDiscontinuity = true;
    }
    this.speculated = false;
    if (startsUnit) {
      if (this.alignedRun > 0 && this.previousPesKey) this.keyAligned = true;
      this.alignedRun++;
    } else {
      this.alignedRun = 0;
      this.unaligned = true;
    }
    this.previousPesKey = false;
    if (this.skipping && pes.pts !== undefined) this.skipping = false; // its first NAL unit is a boundary
    if (!this.skipping) this.continueLastNal(lead);
    let first = pes.pts !== undefined;
    for (const nal of nals) {
      if (this.skipping) {
        if (!isBoundaryAfterSlice(nal)) continue;
        this.skipping = false;
      }
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
        if (type === NAL_IDR) {
          u.key = true;
          this.previousPesKey = true;
        }
      }
    }
    if (pes.end === 'unit') {
      this.emit(out);
    } else if (pes.end === 'pes' && startsUnit && !this.unaligned && this.keyAligned && this.alignedRun >= ALIGNED_RUN && this.current?.hasVcl) {
      this.emit(out);
      this.speculated = true;
    }
  }

  protected takeConfig(): H264Config | undefined {
    if (!this.paramsChanged || this.sps.size === 0 || this.pps.size === 0) return undefined;
    this.paramsChanged = false;
    return this.config();
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
