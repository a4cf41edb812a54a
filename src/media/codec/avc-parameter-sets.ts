/**
 * H.264 SPS and PPS (ITU-T H.264 §7.3.2.1.1, §7.3.2.2), read only as far as the fields a slice header's
 * syntax depends on. Input: one NAL unit as stored (header byte included, emulation prevention in place).
 */
import { RbspReader, invalid, unsupported, ueMax } from './bit-reader.js';

export interface AvcSps {
  readonly id: number;
  /** 0 for monochrome or separate colour planes: no chroma weights in pred_weight_table. */
  readonly chromaArrayType: number;
  readonly separateColourPlane: boolean;
  readonly log2MaxFrameNum: number;
  readonly frameMbsOnly: boolean;
  readonly picOrderCntType: number;
  readonly log2MaxPicOrderCntLsb: number;
  readonly deltaPicOrderAlwaysZero: boolean;
  /** Displayed picture size in luma samples, frame cropping applied (live tracks need it for avc1/tkhd). */
  readonly width: number;
  readonly height: number;
}

export interface AvcPps {
  readonly id: number;
  readonly spsId: number;
  readonly entropyCodingMode: boolean;
  readonly bottomFieldPicOrderInFramePresent: boolean;
  /** num_ref_idx_lX_default_active_minus1 + 1 */
  readonly numRefIdxL0DefaultActive: number;
  readonly numRefIdxL1DefaultActive: number;
  readonly weightedPred: boolean;
  readonly weightedBipredIdc: number;
  readonly redundantPicCntPresent: boolean;
  readonly deblockingFilterControlPresent: boolean;
}

/** profile_idc values whose SPS carries chroma_format_idc, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

export function parseAvcSps(nal: Uint8Array, r = new RbspReader()): AvcSps {
  r.reset(nal, 0, nal.length);
  if ((r.u(8) & 0x1f) !== 7) throw invalid('not an SPS NAL unit');
  const profileIdc = r.u(8);
  r.skip(16); // constraint flags, reserved bits, level_idc
  const id = ueMax(r, 31, 'seq_parameter_set_id');
  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = ueMax(r, 3, 'chroma_format_idc');
    if (chromaFormatIdc === 3) separateColourPlane = r.flag();
    ueMax(r, 6, 'bit_depth_luma_minus8');
    ueMax(r, 6, 'bit_depth_chroma_minus8');
    r.u1(); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {
      // seq_scaling_matrix_present_flag: the lists must be walked to reach the fields after them.
      const lists = chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++) if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  const log2MaxFrameNum = ueMax(r, 12, 'log2_max_frame_num_minus4') + 4;
  const picOrderCntType = ueMax(r, 2, 'pic_order_cnt_type');
  let log2MaxPicOrderCntLsb = 0;
  let deltaPicOrderAlwaysZero = false;
  if (picOrderCntType === 0) {
    log2MaxPicOrderCntLsb = ueMax(r, 12, 'log2_max_pic_order_cnt_lsb_minus4') + 4;
  } else if (picOrderCntType === 1) {
    deltaPicOrderAlwaysZero = r.flag();
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = ueMax(r, 255, 'num_ref_frames_in_pic_order_cnt_cycle');
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u1(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.flag();
  if (!frameMbsOnly) r.u1(); // mb_adaptive_frame_field_flag
  r.u1(); // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.flag()) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
  // H.264 7.4.2.1.1: crop units depend on chroma subsampling and on field coding.
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const cropUnitX = chromaArrayType === 0 ? 1 : chromaFormatIdc === 3 ? 1 : 2;
  const cropUnitY = (chromaArrayType === 0 ? 1 : chromaFormatIdc === 1 ? 2 : 1) * (frameMbsOnly ? 1 : 2);
  const width = widthMbs * 16 - cropUnitX * (crop.left + crop.right);
  const height = heightMapUnits * 16 * (frameMbsOnly ? 1 : 2) - cropUnitY * (crop.top + crop.bottom);
  return {
    width: Math.max(0, width),
    height: Math.max(0, height),
    id,
    chromaArrayType: separateColourPlane ? 0 : chromaFormatIdc,
    separateColourPlane,
    log2MaxFrameNum,
    frameMbsOnly,
    picOrderCntType,
    log2MaxPicOrderCntLsb,
    deltaPicOrderAlwaysZero,
  };
}

export function parseAvcPps(nal: Uint8Array, r = new RbspReader()): AvcPps {
  r.reset(nal, 0, nal.length);
  if ((r.u(8) & 0x1f) !== 8) throw invalid('not a PPS NAL unit');
  const id = ueMax(r, 255, 'pic_parameter_set_id');
  const spsId = ueMax(r, 31, 'seq_parameter_set_id');
  const entropyCodingMode = r.flag();
  const bottomFieldPicOrderInFramePresent = r.flag();
  const numSliceGroupsMinus1 = r.ue();
  // FMO (Baseline/Extended only, practically never produced) would need slice_group_change_cycle,
  // whose width depends on the slice group map: refused rather than guessed.
  if (numSliceGroupsMinus1 > 0) throw unsupported(`H.264 PPS ${id} uses ${numSliceGroupsMinus1 + 1} slice groups (FMO)`);
  const numRefIdxL0DefaultActive = ueMax(r, 31, 'num_ref_idx_l0_default_active_minus1') + 1;
  const numRefIdxL1DefaultActive = ueMax(r, 31, 'num_ref_idx_l1_default_active_minus1') + 1;
  const weightedPred = r.flag();
  const weightedBipredIdc = r.u(2);
  if (weightedBipredIdc === 3) throw invalid('weighted_bipred_idc 3');
  r.se(); // pic_init_qp_minus26
  r.se(); // pic_init_qs_minus26
  r.se(); // chroma_qp_index_offset
  const deblockingFilterControlPresent = r.flag();
  r.u1(); // constrained_intra_pred_flag
  const redundantPicCntPresent = r.flag();
  // transform_8x8_mode_flag and the PPS scaling matrices that may follow do not affect the slice header.
  return {
    id,
    spsId,
    entropyCodingMode,
    bottomFieldPicOrderInFramePresent,
    numRefIdxL0DefaultActive,
    numRefIdxL1DefaultActive,
    weightedPred,
    weightedBipredIdc,
    redundantPicCntPresent,
    deblockingFilterControlPresent,
  };
}

/** scaling_list() (§7.3.2.1.1.1): delta_scale values until nextScale becomes 0. */
function skipScalingList(r: RbspReader, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let j = 0; j < size; j++) {
    if (nextScale !== 0) nextScale = (lastScale + r.se() + 256) % 256;
    lastScale = nextScale === 0 ? lastScale : nextScale;
  }
}
