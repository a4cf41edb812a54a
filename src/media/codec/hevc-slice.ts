/**
 * Where an H.265 slice segment header ends (ITU-T H.265 §7.3.6.1, through byte_alignment()): CENC keeps
 * the NAL header and the whole slice segment header clear.
 */
import { RbspReader, ceilLog2, invalid, unsupported, ueMax } from './bit-reader.js';
import type { HevcConfig } from './hevc.js';
import {
  type HevcPps,
  type HevcSps,
  emptyStRefPicSet,
  parseHevcPps,
  parseHevcSps,
  readStRefPicSet,
} from './hevc-parameter-sets.js';

export const HEVC_NAL_VPS = 32;
export const HEVC_NAL_SPS = 33;
export const HEVC_NAL_PPS = 34;

const B = 0;
const P = 1;
const I = 2;

const BLA_W_LP = 16;
const RSV_IRAP_VCL23 = 23;
const IDR_W_RADL = 19;
const IDR_N_LP = 20;

/** The SPS and PPS in force, by id: from the hvcC, then replaced by any met in band. */
export class HevcParameterSets {
  private readonly spsById: Map<number, HevcSps>;
  private readonly ppsById: Map<number, HevcPps>;

  constructor(sps: Iterable<[number, HevcSps]> = [], pps: Iterable<[number, HevcPps]> = []) {
    this.spsById = new Map(sps);
    this.ppsById = new Map(pps);
  }

  static fromConfig(cfg: HevcConfig): HevcParameterSets {
    const r = new RbspReader();
    const sets = new HevcParameterSets();
    for (const s of cfg.sps) if (nuhLayerId(s, 0) === 0) sets.addSps(parseHevcSps(s, r));
    for (const p of cfg.pps) if (nuhLayerId(p, 0) === 0) sets.addPps(parseHevcPps(p, r));
    return sets;
  }

  /** An independent copy, so in-band updates for one segment never leak into another. */
  copy(): HevcParameterSets {
    return new HevcParameterSets(this.spsById, this.ppsById);
  }

  addSps(sps: HevcSps): void {
    this.spsById.set(sps.id, sps);
  }

  addPps(pps: HevcPps): void {
    this.ppsById.set(pps.id, pps);
  }

  resolve(ppsId: number): { sps: HevcSps; pps: HevcPps } {
    const pps = this.ppsById.get(ppsId);
    if (!pps) throw invalid(`slice refers to PPS ${ppsId}, which neither the hvcC nor the sample carries`);
    const sps = this.spsById.get(pps.spsId);
    if (!sps) throw invalid(`PPS ${ppsId} refers to SPS ${pps.spsId}, which neither the hvcC nor the sample carries`);
    return { sps, pps };
  }
}

/** nuh_layer_id of the NAL unit whose 2-byte header starts at buf[at]. */
export function nuhLayerId(buf: Uint8Array, at: number): number {
  return ((buf[at]! & 1) << 5) | (buf[at + 1]! >> 3);
}

/** Scratch for a slice's own st_ref_pic_set: only its counts are needed once the header is read. */
const sliceRps = emptyStRefPicSet();

/**
 * Reads a VCL NAL unit's slice segment header (`r` reset to the NAL, header first) through
 * byte_alignment(). Afterwards r.storedLength is the length of NAL header + slice segment header in
 * stored bytes (emulation-prevention bytes included).
 */
export function readHevcSliceHeader(r: RbspReader, params: HevcParameterSets): void {
  const head = r.u(16);
  const nalType = (head >> 9) & 0x3f;
  if (nalType > 31) throw invalid(`NAL type ${nalType} is not a slice segment`);
  if ((head >> 3) & 0x3f) throw unsupported('H.265 slice of a layer above 0 (multi-layer HEVC)');
  const firstSliceSegmentInPic = r.flag();
  if (nalType >= BLA_W_LP && nalType <= RSV_IRAP_VCL23) r.u1(); // no_output_of_prior_pics_flag
  const { sps, pps } = params.resolve(ueMax(r, 63, 'slice_pic_parameter_set_id'));
  let dependentSliceSegment = false;
  if (!firstSliceSegmentInPic) {
    if (pps.dependentSliceSegmentsEnabled) dependentSliceSegment = r.flag();
    r.skip(sps.sliceSegmentAddressBits); // slice_segment_address
  }
  if (!dependentSliceSegment) {
    r.skip(pps.numExtraSliceHeaderBits); // slice_reserved_flag[]
    const sliceType = ueMax(r, 2, 'slice_type');
    if (pps.outputFlagPresent) r.u1(); // pic_output_flag
    if (sps.separateColourPlane) r.skip(2); // colour_plane_id
    let numPicTotalCurr = 0;
    let sliceTemporalMvp = false;
    if (nalType !== IDR_W_RADL && nalType !== IDR_N_LP) {
      r.skip(sps.log2MaxPicOrderCntLsb); // slice_pic_order_cnt_lsb
      const numSets = sps.stRefPicSets.length;
      let rps = sliceRps;
      if (!r.flag()) {
        // short_term_ref_pic_set_sps_flag = 0: the set is coded here.
        readStRefPicSet(r, numSets, sps.stRefPicSets, true, sliceRps);
      } else {
        if (numSets === 0) throw invalid('slice selects an SPS short-term RPS, but the SPS has none');
        const idx = numSets > 1 ? r.u(ceilLog2(numSets)) : 0; // short_term_ref_pic_set_idx
        const chosen = sps.stRefPicSets[idx];
        if (!chosen) throw invalid(`short_term_ref_pic_set_idx ${idx} of ${numSets}`);
        rps = chosen;
      }
      for (let i = 0; i < rps.numNegative; i++) numPicTotalCurr += rps.usedS0[i]!;
      for (let i = 0; i < rps.numPositive; i++) numPicTotalCurr += rps.usedS1[i]!;
      if (sps.longTermRefPicsPresent) {
        const ltSps = sps.usedByCurrPicLtSps;
        const numLtSps = ltSps.length > 0 ? ueMax(r, ltSps.length, 'num_long_term_sps') : 0;
        const numLtPics = ueMax(r, 32, 'num_long_term_pics');
        for (let i = 0; i < numLtSps + numLtPics; i++) {
          if (i < numLtSps) {
            const idx = ltSps.length > 1 ? r.u(ceilLog2(ltSps.length)) : 0; // lt_idx_sps[i]
            if (idx >= ltSps.length) throw invalid(`lt_idx_sps ${idx} of ${ltSps.length}`);
            numPicTotalCurr += ltSps[idx]!;
          } else {
            r.skip(sps.log2MaxPicOrderCntLsb); // poc_lsb_lt[i]
            numPicTotalCurr += r.u1(); // used_by_curr_pic_lt_flag[i]
          }
          if (r.flag()) r.ue(); // delta_poc_msb_present_flag, delta_poc_msb_cycle_lt
        }
      }
      if (sps.temporalMvpEnabled) sliceTemporalMvp = r.flag();
    }
    let saoLuma = false;
    let saoChroma = false;
    if (sps.saoEnabled) {
      saoLuma = r.flag();
      if (sps.chromaArrayType !== 0) saoChroma = r.flag();
    }
    if (sliceType === P || sliceType === B) {
      let l0 = pps.numRefIdxL0DefaultActive;
      let l1 = sliceType === B ? pps.numRefIdxL1DefaultActive : 0;
      if (r.flag()) {
        // num_ref_idx_active_override_flag
        l0 = ueMax(r, 14, 'num_ref_idx_l0_active_minus1') + 1;
        if (sliceType === B) l1 = ueMax(r, 14, 'num_ref_idx_l1_active_minus1') + 1;
      }
      if (pps.listsModificationPresent && numPicTotalCurr > 1) {
        const bits = ceilLog2(numPicTotalCurr);
        if (r.flag()) r.skip(bits * l0); // ref_pic_list_modification_flag_l0, list_entry_l0[]
        if (sliceType === B && r.flag()) r.skip(bits * l1);
      }
      if (sliceType === B) r.u1(); // mvd_l1_zero_flag
      if (pps.cabacInitPresent) r.u1(); // cabac_init_flag
      if (sliceTemporalMvp) {
        const fromL0 = sliceType === B ? r.flag() : true; // collocated_from_l0_flag
        if ((fromL0 && l0 > 1) || (!fromL0 && l1 > 1)) r.ue(); // collocated_ref_idx
      }
      if ((pps.weightedPred && sliceType === P) || (pps.weightedBipred && sliceType === B)) {
        skipPredWeightTable(r, sps.chromaArrayType, l0, l1);
      }
      ueMax(r, 4, 'five_minus_max_num_merge_cand');
    }
    r.se(); // slice_qp_delta
    if (pps.sliceChromaQpOffsetsPresent) {
      r.se(); // slice_cb_qp_offset
      r.se(); // slice_cr_qp_offset
    }
    if (pps.chromaQpOffsetListEnabled) r.u1(); // cu_chroma_qp_offset_enabled_flag
    const override = pps.deblockingFilterOverrideEnabled ? r.flag() : false;
    let deblockingDisabled = pps.deblockingFilterDisabled;
    if (override) {
      deblockingDisabled = r.flag();
      if (!deblockingDisabled) {
        r.se(); // slice_beta_offset_div2
        r.se(); // slice_tc_offset_div2
      }
    }
    if (pps.loopFilterAcrossSlicesEnabled && (saoLuma || saoChroma || !deblockingDisabled)) {
      r.u1(); // slice_loop_filter_across_slices_enabled_flag
    }
  }
  if (pps.entryPointsPresent) {
    const n = ueMax(r, 0xffff, 'num_entry_point_offsets');
    if (n > 0) {
      const bits = ueMax(r, 31, 'offset_len_minus1') + 1;
      r.skip(n * bits); // entry_point_offset_minus1[]
    }
  }
  if (pps.sliceSegmentHeaderExtensionPresent) r.skip(8 * ueMax(r, 256, 'slice_segment_header_extension_length'));
  // byte_alignment(): a 1 then 0s. Checking them catches a header read with the wrong parameters.
  if (r.u1() !== 1) throw invalid('alignment_bit_equal_to_one is 0: slice segment header misread');
  while (!r.byteAligned) if (r.u1() !== 0) throw invalid('alignment_bit_equal_to_zero is 1: slice segment header misread');
}

/** Stored bytes of NAL header + slice segment header, for a VCL NAL unit at buf[start, end). */
export function hevcSliceHeaderSize(
  buf: Uint8Array,
  start: number,
  end: number,
  params: HevcParameterSets,
  r = new RbspReader(),
): number {
  r.reset(buf, start, end);
  readHevcSliceHeader(r, params);
  return r.storedLength;
}

/**
 * pred_weight_table() (§7.3.6.3). luma/chroma_weight_lX_flag are present for every entry whose
 * reference is not the current picture itself; with one layer and no SCC that is every entry.
 */
function skipPredWeightTable(r: RbspReader, chromaArrayType: number, l0: number, l1: number): void {
  ueMax(r, 7, 'luma_log2_weight_denom');
  if (chromaArrayType !== 0) r.se(); // delta_chroma_log2_weight_denom
  for (const count of [l0, l1]) {
    if (count === 0) continue;
    let luma = 0;
    let chroma = 0;
    for (let i = 0; i < count; i++) luma |= r.u1() << i;
    if (chromaArrayType !== 0) for (let i = 0; i < count; i++) chroma |= r.u1() << i;
    for (let i = 0; i < count; i++) {
      if (luma & (1 << i)) {
        r.se(); // delta_luma_weight
        r.se(); // luma_offset
      }
      if (chroma & (1 << i)) for (let j = 0; j < 4; j++) r.se(); // delta_chroma_weight, delta_chroma_offset
    }
  }
}
