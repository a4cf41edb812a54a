/**
 * H.265 SPS and PPS (ITU-T H.265 §7.3.2.2, §7.3.2.3), read only as far as the fields that the slice
 * segment header's syntax depends on, plus the SPS fields an hvcC record and a sample entry are made
 * of (profile_tier_level, chroma format, bit depths, cropped picture size). Input: one NAL unit as
 * stored (2-byte header included).
 */
import { RbspReader, ceilLog2, invalid, unsupported, ueMax } from './bit-reader.js';

/** One st_ref_pic_set(), derived (§7.4.8): what later sets and the slice header need of it. */
export interface StRefPicSet {
  numNegative: number;
  numPositive: number;
  /** DeltaPocS0 / DeltaPocS1 and UsedByCurrPicS0 / S1; valid up to numNegative / numPositive. */
  readonly deltaS0: Int32Array;
  readonly usedS0: Uint8Array;
  readonly deltaS1: Int32Array;
  readonly usedS1: Uint8Array;
}

/** The general part of profile_tier_level() (§7.3.3), as the hvcC record and codec string carry it. */
export interface HevcProfileTierLevel {
  readonly profileSpace: number;
  readonly tierFlag: number;
  readonly profileIdc: number;
  /** general_profile_compatibility_flag[0..31], flag 0 in bit 31. */
  readonly compatibilityFlags: number;
  /** The 48 bits from general_progressive_source_flag on, 6 bytes. */
  readonly constraintIndicator: Uint8Array;
  readonly levelIdc: number;
}

export interface HevcSps {
  readonly id: number;
  /** sps_max_sub_layers_minus1 + 1 */
  readonly maxSubLayers: number;
  readonly temporalIdNesting: boolean;
  readonly profileTierLevel: HevcProfileTierLevel;
  readonly chromaFormatIdc: number;
  readonly bitDepthLuma: number;
  readonly bitDepthChroma: number;
  /** Picture size after the conformance window (what is displayed). */
  readonly width: number;
  readonly height: number;
  readonly chromaArrayType: number;
  readonly separateColourPlane: boolean;
  readonly log2MaxPicOrderCntLsb: number;
  /** Ceil(Log2(PicSizeInCtbsY)): the width of slice_segment_address. */
  readonly sliceSegmentAddressBits: number;
  readonly stRefPicSets: readonly StRefPicSet[];
  readonly longTermRefPicsPresent: boolean;
  /** used_by_curr_pic_lt_sps_flag[i]; its length is num_long_term_ref_pics_sps. */
  readonly usedByCurrPicLtSps: Uint8Array;
  readonly temporalMvpEnabled: boolean;
  readonly saoEnabled: boolean;
}

export interface HevcPps {
  readonly id: number;
  readonly spsId: number;
  readonly dependentSliceSegmentsEnabled: boolean;
  readonly outputFlagPresent: boolean;
  readonly numExtraSliceHeaderBits: number;
  readonly cabacInitPresent: boolean;
  /** num_ref_idx_lX_default_active_minus1 + 1 */
  readonly numRefIdxL0DefaultActive: number;
  readonly numRefIdxL1DefaultActive: number;
  readonly sliceChromaQpOffsetsPresent: boolean;
  readonly weightedPred: boolean;
  readonly weightedBipred: boolean;
  /** tiles_enabled_flag || entropy_coding_sync_enabled_flag: the header lists entry points. */
  readonly entryPointsPresent: boolean;
  readonly loopFilterAcrossSlicesEnabled: boolean;
  readonly deblockingFilterOverrideEnabled: boolean;
  readonly deblockingFilterDisabled: boolean;
  readonly listsModificationPresent: boolean;
  readonly sliceSegmentHeaderExtensionPresent: boolean;
  readonly chromaQpOffsetListEnabled: boolean;
}

/** A st_ref_pic_set never holds more than 16 pictures (sps_max_dec_pic_buffering_minus1 <= 15). */
const MAX_REFS = 16;

export function emptyStRefPicSet(): StRefPicSet {
  return {
    numNegative: 0,
    numPositive: 0,
    deltaS0: new Int32Array(MAX_REFS),
    usedS0: new Uint8Array(MAX_REFS),
    deltaS1: new Int32Array(MAX_REFS),
    usedS1: new Uint8Array(MAX_REFS),
  };
}

/**
 * st_ref_pic_set(idx) (§7.3.7) into `out`: `sets` are the SPS's sets already read; idx === sets.length
 * for the one in a slice header (then delta_idx_minus1 is present). Inter-RPS prediction is derived as
 * in equations 7-61 and 7-62.
 */
export function readStRefPicSet(r: RbspReader, idx: number, sets: readonly StRefPicSet[], inSliceHeader: boolean, out: StRefPicSet): void {
  const interPrediction = idx !== 0 && r.flag();
  if (!interPrediction) {
    const neg = ueMax(r, MAX_REFS, 'num_negative_pics');
    const pos = ueMax(r, MAX_REFS - neg, 'num_positive_pics');
    let poc = 0;
    for (let i = 0; i < neg; i++) {
      poc -= ueMax(r, 0x7fff, 'delta_poc_s0_minus1') + 1;
      out.deltaS0[i] = poc;
      out.usedS0[i] = r.u1();
    }
    poc = 0;
    for (let i = 0; i < pos; i++) {
      poc += ueMax(r, 0x7fff, 'delta_poc_s1_minus1') + 1;
      out.deltaS1[i] = poc;
      out.usedS1[i] = r.u1();
    }
    out.numNegative = neg;
    out.numPositive = pos;
    return;
  }
  const deltaIdx = inSliceHeader ? ueMax(r, idx - 1, 'delta_idx_minus1') + 1 : 1;
  const ref = sets[idx - deltaIdx];
  if (!ref) throw invalid(`st_ref_pic_set ${idx} predicts from missing set ${idx - deltaIdx}`);
  const sign = r.u1();
  const deltaRps = (1 - 2 * sign) * (ueMax(r, 0x7fff, 'abs_delta_rps_minus1') + 1);
  const numDelta = ref.numNegative + ref.numPositive;
  // used_by_curr_pic_flag[j] | use_delta_flag[j] << 1, for j = 0..NumDeltaPocs[RefRpsIdx].
  const flags = scratchFlags;
  for (let j = 0; j <= numDelta; j++) {
    const used = r.u1();
    const useDelta = used ? 1 : r.u1();
    flags[j] = used | (useDelta << 1);
  }
  // The derivation reads `ref` while writing `out`; they are distinct objects (out is never in sets).
  let i = 0;
  const push0 = (d: number, f: number): void => {
    if (i >= MAX_REFS) throw invalid('st_ref_pic_set holds more than 16 pictures');
    out.deltaS0[i] = d;
    out.usedS0[i++] = f & 1;
  };
  for (let j = ref.numPositive - 1; j >= 0; j--) {
    const d = ref.deltaS1[j]! + deltaRps;
    const f = flags[ref.numNegative + j]!;
    if (d < 0 && f & 2) push0(d, f);
  }
  if (deltaRps < 0 && flags[numDelta]! & 2) push0(deltaRps, flags[numDelta]!);
  for (let j = 0; j < ref.numNegative; j++) {
    const d = ref.deltaS0[j]! + deltaRps;
    const f = flags[j]!;
    if (d < 0 && f & 2) push0(d, f);
  }
  const numNegative = i;
  i = 0;
  const push1 = (d: number, f: number): void => {
    if (numNegative + i >= MAX_REFS) throw invalid('st_ref_pic_set holds more than 16 pictures');
    out.deltaS1[i] = d;
    out.usedS1[i++] = f & 1;
  };
  for (let j = ref.numNegative - 1; j >= 0; j--) {
    const d = ref.deltaS0[j]! + deltaRps;
    const f = flags[j]!;
    if (d > 0 && f & 2) push1(d, f);
  }
  if (deltaRps > 0 && flags[numDelta]! & 2) push1(deltaRps, flags[numDelta]!);
  for (let j = 0; j < ref.numPositive; j++) {
    const d = ref.deltaS1[j]! + deltaRps;
    const f = flags[ref.numNegative + j]!;
    if (d > 0 && f & 2) push1(d, f);
  }
  out.numNegative = numNegative;
  out.numPositive = i;
}

const scratchFlags = new Uint8Array(MAX_REFS + 1);

export function parseHevcSps(nal: Uint8Array, r = new RbspReader()): HevcSps {
  r.reset(nal, 0, nal.length);
  const head = r.u(16);
  if (((head >> 9) & 0x3f) !== 33) throw invalid('not an SPS NAL unit');
  if ((head >> 3) & 0x3f) throw unsupported('H.265 SPS of a layer above 0 (multi-layer HEVC)');
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.u(3);
  if (maxSubLayersMinus1 > 6) throw invalid(`sps_max_sub_layers_minus1 ${maxSubLayersMinus1}`);
  const temporalIdNesting = r.flag();
  const profileTierLevel = readProfileTierLevel(r, maxSubLayersMinus1);
  // Screen content coding adds slice header fields (use_integer_mv_flag, ACT QP offsets) whose SPS
  // switches sit behind the VUI; it is not a delivery profile, so it is refused.
  if (profileTierLevel.profileIdc === 9) throw unsupported('H.265 screen content coding (SCC) profile');
  const id = ueMax(r, 15, 'sps_seq_parameter_set_id');
  const chromaFormatIdc = ueMax(r, 3, 'chroma_format_idc');
  const separateColourPlane = chromaFormatIdc === 3 ? r.flag() : false;
  const width = r.ue();
  const height = r.ue();
  // Conformance window offsets count chroma samples (Table 6-1: SubWidthC, SubHeightC).
  const subWidth = chromaFormatIdc === 1 || chromaFormatIdc === 2 ? 2 : 1;
  const subHeight = chromaFormatIdc === 1 ? 2 : 1;
  let cropX = 0;
  let cropY = 0;
  if (r.flag()) {
    cropX = subWidth * (r.ue() + r.ue());
    cropY = subHeight * (r.ue() + r.ue());
  }
  const bitDepthLuma = ueMax(r, 8, 'bit_depth_luma_minus8') + 8;
  const bitDepthChroma = ueMax(r, 8, 'bit_depth_chroma_minus8') + 8;
  const log2MaxPicOrderCntLsb = ueMax(r, 12, 'log2_max_pic_order_cnt_lsb_minus4') + 4;
  const orderingInfoAll = r.flag();
  for (let i = orderingInfoAll ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    r.ue(); // sps_max_dec_pic_buffering_minus1
    r.ue(); // sps_max_num_reorder_pics
    r.ue(); // sps_max_latency_increase_plus1
  }
  const minCbLog2 = ueMax(r, 3, 'log2_min_luma_coding_block_size_minus3') + 3;
  const ctbLog2 = minCbLog2 + ueMax(r, 3, 'log2_diff_max_min_luma_coding_block_size');
  if (ctbLog2 > 6) throw invalid(`CTB size 2^${ctbLog2}`);
  r.ue(); // log2_min_luma_transform_block_size_minus2
  r.ue(); // log2_diff_max_min_luma_transform_block_size
  r.ue(); // max_transform_hierarchy_depth_inter
  r.ue(); // max_transform_hierarchy_depth_intra
  if (r.flag() && r.flag()) skipScalingListData(r); // scaling_list_enabled_flag, sps_scaling_list_data_present_flag
  r.u1(); // amp_enabled_flag
  const saoEnabled = r.flag();
  if (r.flag()) {
    // pcm_enabled_flag
    r.skip(8); // pcm_sample_bit_depth_luma_minus1, chroma_minus1
    r.ue(); // log2_min_pcm_luma_coding_block_size_minus3
    r.ue(); // log2_diff_max_min_pcm_luma_coding_block_size
    r.u1(); // pcm_loop_filter_disabled_flag
  }
  const numSets = ueMax(r, 64, 'num_short_term_ref_pic_sets');
  const stRefPicSets: StRefPicSet[] = [];
  for (let i = 0; i < numSets; i++) {
    const set = emptyStRefPicSet();
    readStRefPicSet(r, i, stRefPicSets, false, set);
    stRefPicSets.push(set);
  }
  const longTermRefPicsPresent = r.flag();
  let usedByCurrPicLtSps = new Uint8Array(0);
  if (longTermRefPicsPresent) {
    const n = ueMax(r, 32, 'num_long_term_ref_pics_sps');
    usedByCurrPicLtSps = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      r.skip(log2MaxPicOrderCntLsb); // lt_ref_pic_poc_lsb_sps
      usedByCurrPicLtSps[i] = r.u1();
    }
  }
  const temporalMvpEnabled = r.flag();
  // strong_intra_smoothing, the VUI and the extensions follow; none changes the slice header syntax
  // for the profiles accepted above.
  const ctb = 1 << ctbLog2;
  const picSizeInCtbs = Math.ceil(width / ctb) * Math.ceil(height / ctb);
  return {
    id,
    maxSubLayers: maxSubLayersMinus1 + 1,
    temporalIdNesting,
    profileTierLevel,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    // A window larger than the picture is not conformant; it is not refused here, as the slice header
    // does not depend on it (users of the size check it).
    width: Math.max(0, width - cropX),
    height: Math.max(0, height - cropY),
    chromaArrayType: separateColourPlane ? 0 : chromaFormatIdc,
    separateColourPlane,
    log2MaxPicOrderCntLsb,
    sliceSegmentAddressBits: ceilLog2(picSizeInCtbs),
    stRefPicSets,
    longTermRefPicsPresent,
    usedByCurrPicLtSps,
    temporalMvpEnabled,
    saoEnabled,
  };
}

export function parseHevcPps(nal: Uint8Array, r = new RbspReader()): HevcPps {
  r.reset(nal, 0, nal.length);
  const head = r.u(16);
  if (((head >> 9) & 0x3f) !== 34) throw invalid('not a PPS NAL unit');
  if ((head >> 3) & 0x3f) throw unsupported('H.265 PPS of a layer above 0 (multi-layer HEVC)');
  const id = ueMax(r, 63, 'pps_pic_parameter_set_id');
  const spsId = ueMax(r, 15, 'pps_seq_parameter_set_id');
  const dependentSliceSegmentsEnabled = r.flag();
  const outputFlagPresent = r.flag();
  const numExtraSliceHeaderBits = r.u(3);
  r.u1(); // sign_data_hiding_enabled_flag
  const cabacInitPresent = r.flag();
  const numRefIdxL0DefaultActive = ueMax(r, 14, 'num_ref_idx_l0_default_active_minus1') + 1;
  const numRefIdxL1DefaultActive = ueMax(r, 14, 'num_ref_idx_l1_default_active_minus1') + 1;
  r.se(); // init_qp_minus26
  r.u1(); // constrained_intra_pred_flag
  const transformSkipEnabled = r.flag();
  if (r.flag()) r.ue(); // cu_qp_delta_enabled_flag, diff_cu_qp_delta_depth
  r.se(); // pps_cb_qp_offset
  r.se(); // pps_cr_qp_offset
  const sliceChromaQpOffsetsPresent = r.flag();
  const weightedPred = r.flag();
  const weightedBipred = r.flag();
  r.u1(); // transquant_bypass_enabled_flag
  const tilesEnabled = r.flag();
  const entropyCodingSync = r.flag();
  if (tilesEnabled) {
    const cols = ueMax(r, 1023, 'num_tile_columns_minus1') + 1;
    const rows = ueMax(r, 1023, 'num_tile_rows_minus1') + 1;
    if (!r.flag()) {
      // uniform_spacing_flag = 0: explicit widths and heights, all but the last of each.
      for (let i = 0; i < cols - 1; i++) r.ue();
      for (let i = 0; i < rows - 1; i++) r.ue();
    }
    r.u1(); // loop_filter_across_tiles_enabled_flag
  }
  const loopFilterAcrossSlicesEnabled = r.flag();
  let deblockingFilterOverrideEnabled = false;
  let deblockingFilterDisabled = false;
  if (r.flag()) {
    // deblocking_filter_control_present_flag
    deblockingFilterOverrideEnabled = r.flag();
    deblockingFilterDisabled = r.flag();
    if (!deblockingFilterDisabled) {
      r.se(); // pps_beta_offset_div2
      r.se(); // pps_tc_offset_div2
    }
  }
  if (r.flag()) skipScalingListData(r); // pps_scaling_list_data_present_flag
  const listsModificationPresent = r.flag();
  r.ue(); // log2_parallel_merge_level_minus2
  const sliceSegmentHeaderExtensionPresent = r.flag();
  let chromaQpOffsetListEnabled = false;
  if (r.flag()) {
    // pps_extension_present_flag
    const range = r.flag();
    r.u1(); // pps_multilayer_extension_flag: its fields only reach the header's extension bytes
    r.u1(); // pps_3d_extension_flag: likewise
    const scc = r.flag();
    r.skip(4); // pps_extension_4bits
    if (scc) throw unsupported('H.265 screen content coding (SCC) PPS extension');
    if (range) {
      if (transformSkipEnabled) r.ue(); // log2_max_transform_skip_block_size_minus2
      r.u1(); // cross_component_prediction_enabled_flag
      chromaQpOffsetListEnabled = r.flag();
      // The rest of pps_range_extension() does not affect the slice header.
    }
  }
  return {
    id,
    spsId,
    dependentSliceSegmentsEnabled,
    outputFlagPresent,
    numExtraSliceHeaderBits,
    cabacInitPresent,
    numRefIdxL0DefaultActive,
    numRefIdxL1DefaultActive,
    sliceChromaQpOffsetsPresent,
    weightedPred,
    weightedBipred,
    entryPointsPresent: tilesEnabled || entropyCodingSync,
    loopFilterAcrossSlicesEnabled,
    deblockingFilterOverrideEnabled,
    deblockingFilterDisabled,
    listsModificationPresent,
    sliceSegmentHeaderExtensionPresent,
    chromaQpOffsetListEnabled,
  };
}

/** profile_tier_level(1, maxSubLayersMinus1) (§7.3.3): its general part; sub-layer parts are skipped. */
function readProfileTierLevel(r: RbspReader, maxSubLayersMinus1: number): HevcProfileTierLevel {
  const profileSpace = r.u(2);
  const tierFlag = r.u1();
  const profileIdc = r.u(5);
  const compatibilityFlags = r.u(32);
  const constraintIndicator = new Uint8Array(6);
  for (let i = 0; i < 6; i++) constraintIndicator[i] = r.u(8);
  const levelIdc = r.u(8);
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.flag());
    levelPresent.push(r.flag());
  }
  if (maxSubLayersMinus1 > 0) r.skip(2 * (8 - maxSubLayersMinus1)); // reserved_zero_2bits
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.skip(88);
    if (levelPresent[i]) r.skip(8);
  }
  return { profileSpace, tierFlag, profileIdc, compatibilityFlags, constraintIndicator, levelIdc };
}

/** scaling_list_data() (§7.3.4). */
function skipScalingListData(r: RbspReader): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (!r.flag()) {
        r.ue(); // scaling_list_pred_matrix_id_delta
        continue;
      }
      const coefNum = Math.min(64, 1 << (4 + (sizeId << 1)));
      if (sizeId > 1) r.se(); // scaling_list_dc_coef_minus8
      for (let i = 0; i < coefNum; i++) r.se(); // scaling_list_delta_coef
    }
  }
}
