/**
 * H.265 helpers: the hvcC decoder configuration record (ISO/IEC 14496-15 §8.3.3), read and built from
 * parameter sets, and its RFC 6381 codec string (ISO/IEC 14496-15 Annex E). Pure: no I/O.
 */
import { ErrorCode, PackagerError } from '../errors.js';
import type { HevcSps } from './hevc-parameter-sets.js';

export interface HevcConfig {
  /** Bytes of the NAL length prefix in samples: 1, 2 or 4. */
  nalLengthSize: number;
  vps: Uint8Array[];
  sps: Uint8Array[];
  pps: Uint8Array[];
  profileSpace: number;
  tierFlag: number;
  profileIdc: number;
  /** general_profile_compatibility_flags as written (bit 31 = flag 0). */
  compatibilityFlags: number;
  /** general_constraint_indicator_flags, 6 bytes. */
  constraintIndicator: Uint8Array;
  levelIdc: number;
  chromaFormat: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** RFC 6381 codec string for this record under the given sample entry. */
  codecString(entry: 'hvc1' | 'hev1'): string;
}

const NAL_VPS = 32;
const NAL_SPS = 33;
const NAL_PPS = 34;
const FIXED_HEADER = 23;

function invalid(what: string): PackagerError {
  return new PackagerError(ErrorCode.SOURCE_INVALID, `hvcC: ${what}`);
}

/** Parses an hvcC payload (box body without header). Parameter sets are views into `payload`. */
export function parseHvcC(payload: Uint8Array): HevcConfig {
  if (payload.length < FIXED_HEADER) throw invalid(`record is ${payload.length} bytes, needs at least ${FIXED_HEADER}`);
  if (payload[0] !== 1) throw invalid(`unsupported configurationVersion ${payload[0]}`);
  const b1 = payload[1]!;
  const nalLengthSize = (payload[21]! & 3) + 1;
  if (nalLengthSize === 3) throw invalid('NAL length size 3 is not allowed');
  const vps: Uint8Array[] = [];
  const sps: Uint8Array[] = [];
  const pps: Uint8Array[] = [];
  const numArrays = payload[22]!;
  let pos = FIXED_HEADER;
  for (let a = 0; a < numArrays; a++) {
    if (pos + 3 > payload.length) throw invalid(`NAL array ${a} header runs past the record`);
    const nalType = payload[pos]! & 0x3f;
    const numNalus = (payload[pos + 1]! << 8) | payload[pos + 2]!;
    pos += 3;
    // SEI and other arrays are walked over but not kept: only parameter sets are needed downstream.
    const list = nalType === NAL_VPS ? vps : nalType === NAL_SPS ? sps : nalType === NAL_PPS ? pps : null;
    for (let i = 0; i < numNalus; i++) {
      if (pos + 2 > payload.length) throw invalid(`NAL ${i} of array ${a} length runs past the record`);
      const len = (payload[pos]! << 8) | payload[pos + 1]!;
      pos += 2;
      if (pos + len > payload.length) throw invalid(`NAL ${i} of array ${a} (${len} bytes) runs past the record`);
      list?.push(payload.subarray(pos, pos + len));
      pos += len;
    }
  }
  const cfg: HevcConfig = {
    nalLengthSize,
    vps,
    sps,
    pps,
    profileSpace: b1 >> 6,
    tierFlag: (b1 >> 5) & 1,
    profileIdc: b1 & 0x1f,
    compatibilityFlags: ((payload[2]! << 24) | (payload[3]! << 16) | (payload[4]! << 8) | payload[5]!) >>> 0,
    constraintIndicator: payload.subarray(6, 12),
    levelIdc: payload[12]!,
    chromaFormat: payload[16]! & 3,
    bitDepthLuma: (payload[17]! & 7) + 8,
    bitDepthChroma: (payload[18]! & 7) + 8,
    codecString(entry) {
      return hevcCodecString(cfg, entry);
    },
  };
  return cfg;
}

/**
 * `hvc1.<space><profile>.<compat>.<tier><level>[.<constraint bytes>]`, e.g. `hvc1.1.6.L93.B0`:
 * profile space as '', A, B, C; compatibility flags bit-reversed in hex without leading zeros; tier L
 * or H; constraint bytes in hex, trailing zero bytes dropped. Hex is upper case as in the examples of
 * Annex E and Apple's authoring spec (players compare case-insensitively).
 */
export function hevcCodecString(
  cfg: Pick<HevcConfig, 'profileSpace' | 'tierFlag' | 'profileIdc' | 'compatibilityFlags' | 'constraintIndicator' | 'levelIdc'>,
  entry: 'hvc1' | 'hev1',
): string {
  const space = ['', 'A', 'B', 'C'][cfg.profileSpace & 3]!;
  let flags = cfg.compatibilityFlags >>> 0;
  let reversed = 0;
  for (let i = 0; i < 32; i++) {
    reversed = ((reversed << 1) | (flags & 1)) >>> 0;
    flags >>>= 1;
  }
  const c = cfg.constraintIndicator;
  let last = c.length;
  while (last > 0 && c[last - 1] === 0) last--;
  let constraints = '';
  for (let i = 0; i < last; i++) constraints += '.' + c[i]!.toString(16).toUpperCase();
  const tier = cfg.tierFlag ? 'H' : 'L';
  return `${entry}.${space}${cfg.profileIdc}.${reversed.toString(16).toUpperCase()}.${tier}${cfg.levelIdc}${constraints}`;
}

/**
 * An hvcC payload (box body without header) from in-band parameter sets, each list in the order
 * written, with 4-byte NAL lengths and array_completeness 1 (the record holds every parameter set the
 * stream uses: an `hvc1` sample entry). Field values as FFmpeg's ff_isom_write_hvcc writes them for a
 * stream whose VPS and SPS agree on profile_tier_level, from the first SPS (`info` is it parsed):
 * min_spatial_segmentation_idc 0 and parallelismType 0 (unknown: they promise nothing, so are never
 * wrong), avgFrameRate 0 and constantFrameRate 0 (unspecified).
 */
export function buildHvcC(vps: readonly Uint8Array[], sps: readonly Uint8Array[], pps: readonly Uint8Array[], info: HevcSps): Uint8Array {
  const arrays: Array<[number, readonly Uint8Array[]]> = [
    [NAL_VPS, vps],
    [NAL_SPS, sps],
    [NAL_PPS, pps],
  ];
  let size = FIXED_HEADER;
  for (const [, list] of arrays) {
    if (list.length > 0xffff) throw invalid(`${list.length} parameter sets of one type`);
    size += 3;
    for (const nal of list) {
      if (nal.length > 0xffff) throw invalid(`a parameter set of ${nal.length} bytes`);
      size += 2 + nal.length;
    }
  }
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  const ptl = info.profileTierLevel;
  out[0] = 1; // configurationVersion
  out[1] = (ptl.profileSpace << 6) | (ptl.tierFlag << 5) | ptl.profileIdc;
  v.setUint32(2, ptl.compatibilityFlags);
  out.set(ptl.constraintIndicator, 6);
  out[12] = ptl.levelIdc;
  v.setUint16(13, 0xf000); // reserved 1111, min_spatial_segmentation_idc 0
  out[15] = 0xfc; // reserved 111111, parallelismType 0
  out[16] = 0xfc | info.chromaFormatIdc;
  out[17] = 0xf8 | (info.bitDepthLuma - 8);
  out[18] = 0xf8 | (info.bitDepthChroma - 8);
  v.setUint16(19, 0); // avgFrameRate
  // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3
  out[21] = (info.maxSubLayers << 3) | (Number(info.temporalIdNesting) << 2) | 3;
  out[22] = arrays.length;
  let p = FIXED_HEADER;
  for (const [type, list] of arrays) {
    out[p] = 0x80 | type; // array_completeness 1, reserved 0
    v.setUint16(p + 1, list.length);
    p += 3;
    for (const nal of list) {
      v.setUint16(p, nal.length);
      out.set(nal, p + 2);
      p += 2 + nal.length;
    }
  }
  return out;
}
