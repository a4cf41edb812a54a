/**
 * Where an H.264 slice header ends (ITU-T H.264 §7.3.3): CENC keeps the NAL header and the whole slice
 * header clear, so a decoder (hardware ones in particular) can read them before decrypting.
 */
import type { AvcConfig } from './avc.js';
import { type AvcPps, type AvcSps, parseAvcPps, parseAvcSps } from './avc-parameter-sets.js';
import { RbspReader, invalid, ueMax } from './bit-reader.js';

export const AVC_NAL_SLICE = 1;
export const AVC_NAL_IDR = 5;
export const AVC_NAL_SPS = 7;
export const AVC_NAL_PPS = 8;

const P = 0;
const B = 1;
const I = 2;
const SP = 3;
const SI = 4;

/** The SPS and PPS in force, by id: from the avcC, then replaced by any met in band. */
export class AvcParameterSets {
  private readonly spsById: Map<number, AvcSps>;
  private readonly ppsById: Map<number, AvcPps>;

  constructor(sps: Iterable<[number, AvcSps]> = [], pps: Iterable<[number, AvcPps]> = []) {
    this.spsById = new Map(sps);
    this.ppsById = new Map(pps);
  }

  static fromConfig(cfg: AvcConfig): AvcParameterSets {
    const r = new RbspReader();
    const sets = new AvcParameterSets();
    for (const s of cfg.sps) sets.addSps(parseAvcSps(s, r));
    for (const p of cfg.pps) sets.addPps(parseAvcPps(p, r));
    return sets;
  }

  /** An independent copy, so in-band updates for one segment never leak into another. */
  copy(): AvcParameterSets {
    return new AvcParameterSets(this.spsById, this.ppsById);
  }

  addSps(sps: AvcSps): void {
    this.spsById.set(sps.id, sps);
  }

  addPps(pps: AvcPps): void {
    this.ppsById.set(pps.id, pps);
  }

  /** The PPS with this id and the SPS it names. */
  resolve(ppsId: number): { sps: AvcSps; pps: AvcPps } {
    const pps = this.ppsById.get(ppsId);
    if (!pps) throw invalid(`slice refers to PPS ${ppsId}, which neither the avcC nor the sample carries`);
    const sps = this.spsById.get(pps.spsId);
    if (!sps) throw invalid(`PPS ${ppsId} refers to SPS ${pps.spsId}, which neither the avcC nor the sample carries`);
    return { sps, pps };
  }
}

/**
 * Reads the header of a slice NAL unit (types 1 and 5; `r` reset to the NAL, header byte first) up to
 * and including its last field. Afterwards r.bitPosition is the header's length in RBSP bits (NAL
 * header byte included) and r.storedLength its length in stored bytes, rounded up.
 */
export function readAvcSliceHeader(r: RbspReader, params: AvcParameterSets): void {
  const head = r.u(8);
  const nalRefIdc = (head >> 5) & 3;
  const nalType = head & 0x1f;
  if (nalType !== AVC_NAL_SLICE && nalType !== AVC_NAL_IDR) throw invalid(`NAL type ${nalType} is not a slice`);
  const idr = nalType === AVC_NAL_IDR;
  r.ue(); // first_mb_in_slice
  const sliceTypeRaw = ueMax(r, 9, 'slice_type');
  const sliceType = sliceTypeRaw % 5;
  const { sps, pps } = params.resolve(ueMax(r, 255, 'pic_parameter_set_id'));
  if (sps.separateColourPlane) r.skip(2); // colour_plane_id
  r.skip(sps.log2MaxFrameNum); // frame_num
  let fieldPic = false;
  if (!sps.frameMbsOnly) {
    fieldPic = r.flag();
    if (fieldPic) r.u1(); // bottom_field_flag
  }
  if (idr) r.ue(); // idr_pic_id
  if (sps.picOrderCntType === 0) {
    r.skip(sps.log2MaxPicOrderCntLsb); // pic_order_cnt_lsb
    if (pps.bottomFieldPicOrderInFramePresent && !fieldPic) r.se(); // delta_pic_order_cnt_bottom
  } else if (sps.picOrderCntType === 1 && !sps.deltaPicOrderAlwaysZero) {
    r.se(); // delta_pic_order_cnt[0]
    if (pps.bottomFieldPicOrderInFramePresent && !fieldPic) r.se(); // delta_pic_order_cnt[1]
  }
  if (pps.redundantPicCntPresent) r.ue(); // redundant_pic_cnt
  if (sliceType === B) r.u1(); // direct_spatial_mv_pred_flag
  let numRefIdxL0Active = pps.numRefIdxL0DefaultActive;
  let numRefIdxL1Active = pps.numRefIdxL1DefaultActive;
  if (sliceType === P || sliceType === SP || sliceType === B) {
    if (r.flag()) {
      // num_ref_idx_active_override_flag; up to 32 for field slices.
      numRefIdxL0Active = ueMax(r, 31, 'num_ref_idx_l0_active_minus1') + 1;
      if (sliceType === B) numRefIdxL1Active = ueMax(r, 31, 'num_ref_idx_l1_active_minus1') + 1;
    }
  }
  // ref_pic_list_modification() (types 1 and 5 only; the MVC variant belongs to NAL types 20/21).
  if (sliceType !== I && sliceType !== SI) {
    if (r.flag()) skipRefPicListModification(r);
    if (sliceType === B && r.flag()) skipRefPicListModification(r);
  }
  if ((pps.weightedPred && (sliceType === P || sliceType === SP)) || (pps.weightedBipredIdc === 1 && sliceType === B)) {
    skipPredWeightTable(r, sps.chromaArrayType, numRefIdxL0Active, sliceType === B ? numRefIdxL1Active : 0);
  }
  if (nalRefIdc !== 0) skipDecRefPicMarking(r, idr);
  if (pps.entropyCodingMode && sliceType !== I && sliceType !== SI) ueMax(r, 2, 'cabac_init_idc');
  r.se(); // slice_qp_delta
  if (sliceType === SP || sliceType === SI) {
    if (sliceType === SP) r.u1(); // sp_for_switch_flag
    r.se(); // slice_qs_delta
  }
  if (pps.deblockingFilterControlPresent) {
    const disable = ueMax(r, 2, 'disable_deblocking_filter_idc');
    if (disable !== 1) {
      r.se(); // slice_alpha_c0_offset_div2
      r.se(); // slice_beta_offset_div2
    }
  }
  // slice_group_change_cycle exists only with FMO, which parseAvcPps refuses.
  if (pps.entropyCodingMode) {
    // cabac_alignment_one_bit: not part of the header, but every one must be 1 — a cheap check that the
    // header was read with the right parameters (peeked: the header's end stays where it is).
    checkCabacAlignment(r);
  }
}

/** Stored bytes of NAL header + slice header, for a slice NAL unit at buf[start, end). */
export function avcSliceHeaderSize(
  buf: Uint8Array,
  start: number,
  end: number,
  params: AvcParameterSets,
  r = new RbspReader(),
): number {
  r.reset(buf, start, end);
  readAvcSliceHeader(r, params);
  return r.storedLength;
}

function skipRefPicListModification(r: RbspReader): void {
  for (let n = 0; ; n++) {
    if (n > 100) throw invalid('ref_pic_list_modification does not end');
    const idc = ueMax(r, 5, 'modification_of_pic_nums_idc');
    if (idc === 3) return;
    r.ue(); // abs_diff_pic_num_minus1 (0, 1) or long_term_pic_num (2) or abs_diff_view_idx_minus1 (4, 5)
  }
}

function skipPredWeightTable(r: RbspReader, chromaArrayType: number, l0: number, l1: number): void {
  ueMax(r, 7, 'luma_log2_weight_denom');
  if (chromaArrayType !== 0) ueMax(r, 7, 'chroma_log2_weight_denom');
  for (const count of [l0, l1]) {
    for (let i = 0; i < count; i++) {
      if (r.flag()) {
        r.se(); // luma_weight
        r.se(); // luma_offset
      }
      if (chromaArrayType !== 0 && r.flag()) {
        for (let j = 0; j < 4; j++) r.se(); // chroma_weight/offset for Cb and Cr
      }
    }
  }
}

function skipDecRefPicMarking(r: RbspReader, idr: boolean): void {
  if (idr) {
    r.u1(); // no_output_of_prior_pics_flag
    r.u1(); // long_term_reference_flag
    return;
  }
  if (!r.flag()) return; // adaptive_ref_pic_marking_mode_flag
  for (let n = 0; ; n++) {
    if (n > 100) throw invalid('dec_ref_pic_marking does not end');
    const op = ueMax(r, 6, 'memory_management_control_operation');
    if (op === 0) return;
    if (op === 1 || op === 3) r.ue(); // difference_of_pic_nums_minus1
    if (op === 2) r.ue(); // long_term_pic_num
    if (op === 3 || op === 6) r.ue(); // long_term_frame_idx
    if (op === 4) r.ue(); // max_long_term_frame_idx_plus1
  }
}

function checkCabacAlignment(r: RbspReader): void {
  const n = r.bitsToAlignment;
  if (r.peekToAlignment() !== (1 << n) - 1) throw invalid('cabac_alignment_one_bit is 0: slice header misread');
}
