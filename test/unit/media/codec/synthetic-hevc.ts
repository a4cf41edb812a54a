/**
 * Test-only: random, syntactically valid H.265 VPS/SPS/PPS and slice segment headers covering what
 * x265 never writes: short-term RPS sets in the SPS with inter-RPS prediction (also in slice headers),
 * long-term pictures (SPS candidates and explicit), list modification, tiles with entropy sync, dependent
 * slice segments, extra slice header bits, pic_output_flag, separate colour planes, header extensions,
 * chroma QP offset lists, deblocking overrides, explicit weighted bi-prediction.
 */
import { BitWriter, Rand, escape } from './bit-writer.js';
import type { SyntheticNal } from './synthetic-avc.js';

interface Rps {
  s0: { delta: number; used: boolean }[];
  s1: { delta: number; used: boolean }[];
}

interface Sps {
  id: number;
  chromaArrayType: number;
  separate: boolean;
  log2MaxPocLsb: number;
  ctbLog2: number;
  minCbLog2: number;
  widthCtbs: number;
  heightCtbs: number;
  rps: Rps[];
  ltSpsUsed: boolean[];
  longTerm: boolean;
  temporalMvp: boolean;
  sao: boolean;
}

interface Pps {
  id: number;
  sps: Sps;
  dependentSlices: boolean;
  outputFlag: boolean;
  extraBits: number;
  cabacInit: boolean;
  l0Default: number;
  l1Default: number;
  chromaQpOffsets: boolean;
  weightedPred: boolean;
  weightedBipred: boolean;
  tiles: boolean;
  tileCols: number;
  tileRows: number;
  sync: boolean;
  loopFilterAcrossSlices: boolean;
  deblockOverride: boolean;
  deblockDisabled: boolean;
  listsModification: boolean;
  headerExtension: boolean;
  chromaQpOffsetList: boolean;
}

function nal(type: number, w: BitWriter, headerBits = -1): SyntheticNal {
  const body = escape(w.bytes());
  const bytes = new Uint8Array(2 + body.length);
  bytes[0] = type << 1;
  bytes[1] = 1; // nuh_layer_id 0, nuh_temporal_id_plus1 1
  bytes.set(body, 2);
  return { bytes, headerBits };
}

function profileTierLevel(w: BitWriter, maxSubLayersMinus1: number, r: Rand): void {
  w.u(2, 0).u(1, 0).u(5, 1).u(32, 0x60000000).u(4, 0b1001).u(32, 0).u(12, 0).u(8, 93);
  const present: [boolean, boolean][] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    const p: [boolean, boolean] = [r.bool(), r.bool()];
    present.push(p);
    w.flag(p[0]).flag(p[1]);
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) w.u(2, 0);
  for (const [profile, level] of present) {
    if (profile) w.u(2, 0).u(1, 0).u(5, 1).u(32, 0x60000000).u(4, 0b1001).u(32, 0).u(12, 0);
    if (level) w.u(8, 90);
  }
}

// ffmpeg 5.1's cbs refuses an SPS whose sub-layer count differs from the VPS's: one count per stream.
function vps(r: Rand, subLayers: number): SyntheticNal {
  const w = new BitWriter().u(4, 0).flag(1).flag(1).u(6, 0).u(3, subLayers).flag(1).u(16, 0xffff);
  profileTierLevel(w, subLayers, r);
  w.flag(1);
  for (let i = 0; i <= subLayers; i++) w.ue(15).ue(0).ue(0);
  w.u(6, 0).ue(0).flag(0).flag(0).trailing();
  return nal(32, w);
}

/** Writes st_ref_pic_set(idx) and returns the derived set (equations 7-61, 7-62, written plainly). */
function stRps(w: BitWriter, r: Rand, idx: number, sets: Rps[], inSlice: boolean): Rps {
  const inter = idx !== 0 && r.bool(0.6);
  if (idx !== 0) w.flag(inter);
  if (!inter) {
    const neg = r.int(0, 4);
    const pos = r.int(0, 3);
    w.ue(neg).ue(pos);
    const out: Rps = { s0: [], s1: [] };
    let poc = 0;
    for (let i = 0; i < neg; i++) {
      const d = r.int(0, 4);
      poc -= d + 1;
      const used = r.bool();
      w.ue(d).flag(used);
      out.s0.push({ delta: poc, used });
    }
    poc = 0;
    for (let i = 0; i < pos; i++) {
      const d = r.int(0, 4);
      poc += d + 1;
      const used = r.bool();
      w.ue(d).flag(used);
      out.s1.push({ delta: poc, used });
    }
    return out;
  }
  const deltaIdx = inSlice ? r.int(1, idx) : 1;
  if (inSlice) w.ue(deltaIdx - 1);
  const ref = sets[idx - deltaIdx]!;
  const sign = r.int(0, 1);
  const abs = r.int(1, 4);
  w.flag(sign).ue(abs - 1);
  const deltaRps = sign ? -abs : abs;
  // Candidates: the reference set's pictures (S0 then S1) shifted by deltaRps, then the reference itself.
  const refPics = [...ref.s0, ...ref.s1].map((p) => p.delta + deltaRps);
  refPics.push(deltaRps);
  const kept: { delta: number; used: boolean }[] = [];
  for (const delta of refPics) {
    const used = r.bool();
    const useDelta = used || r.bool();
    w.flag(used);
    if (!used) w.flag(useDelta);
    if (useDelta && delta !== 0) kept.push({ delta, used });
  }
  // Keeping at most 16 pictures is the encoder's job; these small sets stay far below.
  return {
    s0: kept.filter((p) => p.delta < 0).sort((a, b) => b.delta - a.delta),
    s1: kept.filter((p) => p.delta > 0).sort((a, b) => a.delta - b.delta),
  };
}

function scalingListData(w: BitWriter, r: Rand): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      const explicit = r.bool();
      w.flag(explicit);
      if (!explicit) {
        w.ue(r.int(0, sizeId === 3 ? matrixId / 3 : matrixId));
        continue;
      }
      if (sizeId > 1) w.se(r.int(-7, 20));
      for (let i = 0; i < Math.min(64, 1 << (4 + (sizeId << 1))); i++) w.se(r.int(-5, 5));
    }
  }
}

function sps(r: Rand, id: number, plain: boolean, subLayers: number): { sps: Sps; nal: SyntheticNal } {
  const w = new BitWriter();
  w.u(4, 0).u(3, subLayers).flag(1);
  profileTierLevel(w, subLayers, r);
  w.ue(id);
  // Separate colour planes are rare but change the header: make them one case in three.
  const planes = !plain && r.bool(0.35);
  const chroma = plain ? 1 : planes ? 3 : r.int(0, 3);
  w.ue(chroma);
  const separate = planes;
  if (chroma === 3) w.flag(separate);
  const minCbLog2 = 3;
  const ctbLog2 = r.int(4, 6);
  const width = 8 * r.int(4, 90);
  const height = 8 * r.int(4, 60);
  w.ue(width).ue(height);
  const crop = r.bool(0.2);
  w.flag(crop);
  if (crop) w.ue(0).ue(1).ue(0).ue(1);
  const depth = r.int(0, 2);
  w.ue(depth).ue(plain ? depth : r.int(0, 2));
  const log2MaxPocLsb = r.int(4, 16);
  w.ue(log2MaxPocLsb - 4);
  const orderingAll = r.bool();
  w.flag(orderingAll);
  for (let i = orderingAll ? 0 : subLayers; i <= subLayers; i++) w.ue(15).ue(r.int(0, 4)).ue(0);
  w.ue(minCbLog2 - 3).ue(ctbLog2 - minCbLog2).ue(0).ue(Math.min(ctbLog2, 5) - 2).ue(r.int(0, 1)).ue(r.int(0, 1));
  const scaling = r.bool(0.3);
  w.flag(scaling);
  if (scaling) {
    const data = r.bool();
    w.flag(data);
    if (data) scalingListData(w, r);
  }
  w.flag(r.bool());
  const sao = r.bool();
  w.flag(sao);
  const pcm = r.bool(0.2);
  w.flag(pcm);
  if (pcm) w.u(4, 7).u(4, 7).ue(0).ue(0).flag(r.bool());
  const numSets = r.int(0, 6);
  w.ue(numSets);
  const rps: Rps[] = [];
  for (let i = 0; i < numSets; i++) rps.push(stRps(w, r, i, rps, false));
  const longTerm = r.bool(0.4);
  w.flag(longTerm);
  const ltSpsUsed: boolean[] = [];
  if (longTerm) {
    const n = r.int(0, 4);
    w.ue(n);
    for (let i = 0; i < n; i++) {
      const used = r.bool();
      w.u(log2MaxPocLsb, r.int(0, 2 ** log2MaxPocLsb - 1)).flag(used);
      ltSpsUsed.push(used);
    }
  }
  const temporalMvp = r.bool();
  w.flag(temporalMvp).flag(r.bool()).flag(0); // strong intra smoothing, no VUI
  const ext = r.bool(0.3);
  w.flag(ext);
  if (ext) {
    w.flag(1).flag(0).flag(0).flag(0).u(4, 0);
    for (let i = 0; i < 9; i++) w.flag(r.bool()); // sps_range_extension flags
  }
  w.trailing();
  const ctb = 2 ** ctbLog2;
  return {
    sps: {
      id,
      chromaArrayType: separate ? 0 : chroma,
      separate,
      log2MaxPocLsb,
      ctbLog2,
      minCbLog2,
      widthCtbs: Math.ceil(width / ctb),
      heightCtbs: Math.ceil(height / ctb),
      rps,
      ltSpsUsed,
      longTerm,
      temporalMvp,
      sao,
    },
    nal: nal(33, w),
  };
}

function pps(r: Rand, id: number, s: Sps): { pps: Pps; nal: SyntheticNal } {
  const w = new BitWriter().ue(id).ue(s.id);
  const p: Pps = {
    id,
    sps: s,
    dependentSlices: r.bool(),
    outputFlag: r.bool(0.3),
    extraBits: r.int(0, 2),
    cabacInit: r.bool(),
    l0Default: r.int(1, 4),
    l1Default: r.int(1, 4),
    chromaQpOffsets: r.bool(),
    weightedPred: r.bool(),
    weightedBipred: r.bool(),
    tiles: r.bool(0.4) && s.widthCtbs > 1,
    tileCols: 1,
    tileRows: 1,
    sync: r.bool(0.4),
    loopFilterAcrossSlices: r.bool(),
    deblockOverride: false,
    deblockDisabled: false,
    listsModification: r.bool(),
    headerExtension: r.bool(0.3),
    chromaQpOffsetList: false,
  };
  w.flag(p.dependentSlices).flag(p.outputFlag).u(3, p.extraBits).flag(r.bool()).flag(p.cabacInit);
  w.ue(p.l0Default - 1).ue(p.l1Default - 1).se(r.int(-3, 3)).flag(r.bool());
  const transformSkip = r.bool();
  w.flag(transformSkip);
  const cuQpDelta = r.bool();
  w.flag(cuQpDelta);
  if (cuQpDelta) w.ue(r.int(0, s.ctbLog2 - s.minCbLog2));
  w.se(r.int(-2, 2)).se(r.int(-2, 2)).flag(p.chromaQpOffsets).flag(p.weightedPred).flag(p.weightedBipred).flag(r.bool());
  w.flag(p.tiles).flag(p.sync);
  if (p.tiles) {
    p.tileCols = r.int(1, Math.min(4, s.widthCtbs));
    p.tileRows = r.int(1, Math.min(4, s.heightCtbs));
    w.ue(p.tileCols - 1).ue(p.tileRows - 1);
    const uniform = r.bool();
    w.flag(uniform);
    if (!uniform) {
      for (let i = 0; i < p.tileCols - 1; i++) w.ue(0);
      for (let i = 0; i < p.tileRows - 1; i++) w.ue(0);
    }
    w.flag(r.bool());
  }
  w.flag(p.loopFilterAcrossSlices);
  const deblockControl = r.bool();
  w.flag(deblockControl);
  if (deblockControl) {
    p.deblockOverride = r.bool();
    p.deblockDisabled = r.bool();
    w.flag(p.deblockOverride).flag(p.deblockDisabled);
    if (!p.deblockDisabled) w.se(r.int(-6, 6)).se(r.int(-6, 6));
  }
  const scaling = r.bool(0.2);
  w.flag(scaling);
  if (scaling) scalingListData(w, r);
  w.flag(p.listsModification).ue(r.int(0, s.ctbLog2 - 2)).flag(p.headerExtension);
  const ext = r.bool(0.4);
  w.flag(ext);
  if (ext) {
    w.flag(1).flag(0).flag(0).flag(0).u(4, 0);
    if (transformSkip) w.ue(r.int(0, 3));
    w.flag(r.bool());
    p.chromaQpOffsetList = r.bool();
    w.flag(p.chromaQpOffsetList);
    if (p.chromaQpOffsetList) {
      w.ue(r.int(0, s.ctbLog2 - s.minCbLog2));
      const n = r.int(1, 6);
      w.ue(n - 1);
      for (let i = 0; i < n; i++) w.se(r.int(-12, 12)).se(r.int(-12, 12));
    }
    w.ue(0).ue(0);
  }
  w.trailing();
  return { pps: p, nal: nal(34, w) };
}

const B = 0;
const P = 1;
const I = 2;
const IRAP = [16, 17, 18, 19, 20, 21];
const NON_IRAP = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

function ceilLog2(n: number): number {
  let b = 0;
  while (2 ** b < n) b++;
  return b;
}

/** One slice segment NAL of a picture; `first`/`address` place it in the picture. */
function slice(r: Rand, p: Pps, type: number, first: boolean, address: number): SyntheticNal {
  const s = p.sps;
  const w = new BitWriter();
  w.flag(first);
  if (type >= 16 && type <= 23) w.flag(r.bool());
  w.ue(p.id);
  let dependent = false;
  if (!first) {
    if (p.dependentSlices) w.flag((dependent = r.bool()));
    w.u(ceilLog2(s.widthCtbs * s.heightCtbs), address);
  }
  if (!dependent) {
    w.u(p.extraBits, r.int(0, 2 ** p.extraBits - 1));
    const sliceType = IRAP.includes(type) ? I : r.pick([B, P, I]);
    w.ue(sliceType);
    if (p.outputFlag) w.flag(r.bool());
    if (s.separate) w.u(2, r.int(0, 2));
    let numPicTotalCurr = 0;
    let temporalMvp = false;
    if (type !== 19 && type !== 20) {
      w.u(s.log2MaxPocLsb, r.int(0, 2 ** s.log2MaxPocLsb - 1));
      const fromSps = s.rps.length > 0 && r.bool();
      w.flag(fromSps);
      let rps: Rps;
      if (!fromSps) {
        rps = stRps(w, r, s.rps.length, s.rps, true);
      } else {
        const idx = r.int(0, s.rps.length - 1);
        if (s.rps.length > 1) w.u(ceilLog2(s.rps.length), idx);
        rps = s.rps[idx]!;
      }
      numPicTotalCurr += [...rps.s0, ...rps.s1].filter((x) => x.used).length;
      if (s.longTerm) {
        const numLtSps = s.ltSpsUsed.length > 0 ? r.int(0, s.ltSpsUsed.length) : 0;
        if (s.ltSpsUsed.length > 0) w.ue(numLtSps);
        const numLtPics = r.int(0, 2);
        w.ue(numLtPics);
        for (let i = 0; i < numLtSps + numLtPics; i++) {
          if (i < numLtSps) {
            const idx = r.int(0, s.ltSpsUsed.length - 1);
            if (s.ltSpsUsed.length > 1) w.u(ceilLog2(s.ltSpsUsed.length), idx);
            if (s.ltSpsUsed[idx]) numPicTotalCurr++;
          } else {
            const used = r.bool();
            w.u(s.log2MaxPocLsb, r.int(0, 2 ** s.log2MaxPocLsb - 1)).flag(used);
            if (used) numPicTotalCurr++;
          }
          const msb = r.bool();
          w.flag(msb);
          if (msb) w.ue(r.int(0, 3));
        }
      }
      if (s.temporalMvp) w.flag((temporalMvp = r.bool()));
    }
    let saoLuma = false;
    let saoChroma = false;
    if (s.sao) {
      w.flag((saoLuma = r.bool()));
      if (s.chromaArrayType !== 0) w.flag((saoChroma = r.bool()));
    }
    if (sliceType !== I) {
      let l0 = p.l0Default;
      let l1 = sliceType === B ? p.l1Default : 0;
      const override = r.bool();
      w.flag(override);
      if (override) {
        w.ue((l0 = r.int(1, 6)) - 1);
        if (sliceType === B) w.ue((l1 = r.int(1, 6)) - 1);
      }
      if (p.listsModification && numPicTotalCurr > 1) {
        const bits = ceilLog2(numPicTotalCurr);
        for (const count of sliceType === B ? [l0, l1] : [l0]) {
          const on = r.bool();
          w.flag(on);
          if (on) for (let i = 0; i < count; i++) w.u(bits, r.int(0, numPicTotalCurr - 1));
        }
      }
      if (sliceType === B) w.flag(r.bool());
      if (p.cabacInit) w.flag(r.bool());
      if (temporalMvp) {
        const fromL0 = sliceType === B ? r.bool() : true;
        if (sliceType === B) w.flag(fromL0);
        const n = fromL0 ? l0 : l1;
        if (n > 1) w.ue(r.int(0, n - 1));
      }
      if ((p.weightedPred && sliceType === P) || (p.weightedBipred && sliceType === B)) {
        const denom = r.int(0, 7);
        w.ue(denom);
        if (s.chromaArrayType !== 0) w.se(r.int(-denom, 7 - denom));
        for (const count of sliceType === B ? [l0, l1] : [l0]) {
          const luma = Array.from({ length: count }, () => r.bool());
          const chroma = Array.from({ length: count }, () => s.chromaArrayType !== 0 && r.bool());
          for (const f of luma) w.flag(f);
          if (s.chromaArrayType !== 0) for (const f of chroma) w.flag(f);
          for (let i = 0; i < count; i++) {
            if (luma[i]) w.se(r.int(-128, 127)).se(r.int(-128, 127));
            if (chroma[i]) for (let j = 0; j < 2; j++) w.se(r.int(-128, 127)).se(r.int(-100, 100));
          }
        }
      }
      w.ue(r.int(0, 4));
    }
    w.se(r.int(-10, 10));
    if (p.chromaQpOffsets) w.se(r.int(-2, 2)).se(r.int(-2, 2));
    if (p.chromaQpOffsetList) w.flag(r.bool());
    let deblockDisabled = p.deblockDisabled;
    if (p.deblockOverride) {
      const override = r.bool();
      w.flag(override);
      if (override) {
        w.flag((deblockDisabled = r.bool()));
        if (!deblockDisabled) w.se(r.int(-6, 6)).se(r.int(-6, 6));
      }
    }
    if (p.loopFilterAcrossSlices && (saoLuma || saoChroma || !deblockDisabled)) w.flag(r.bool());
  }
  if (p.tiles || p.sync) {
    const limit = p.tiles && p.sync ? p.tileCols * s.heightCtbs - 1 : p.tiles ? p.tileCols * p.tileRows - 1 : s.heightCtbs - 1;
    const n = r.int(0, Math.min(limit, 6));
    w.ue(n);
    if (n > 0) {
      const len = r.int(1, 32);
      w.ue(len - 1);
      for (let i = 0; i < n; i++) w.u(len, r.int(0, 2 ** Math.min(len, 30) - 1));
    }
  }
  if (p.headerExtension) {
    const n = r.int(0, 4);
    w.ue(n);
    for (let i = 0; i < n; i++) w.u(8, r.int(0, 255));
  }
  w.u(1, 1).align(0); // byte_alignment()
  const headerBits = 16 + w.length;
  for (let i = r.int(1, 40); i > 0; i--) w.u(8, r.int(0, 255));
  w.trailing();
  return nal(type, w, headerBits);
}

/**
 * A random H.265 stream: VPS, 2 SPS, 3 PPS, then `pictures` pictures of 1-3 slice segments each.
 * SPS 0 / PPS 0 (used by the first picture) are plain 4:2:0 with equal bit depths: ffmpeg's probe
 * must accept them to learn the picture size.
 */
export function syntheticHevc(seed: number, pictures: number): SyntheticNal[] {
  const r = new Rand(seed);
  const subLayers = r.int(0, 2);
  const out: SyntheticNal[] = [vps(r, subLayers)];
  const spss = [sps(r, 0, true, subLayers), sps(r, 1, false, subLayers)];
  const ppss = [pps(r, 0, spss[0]!.sps), pps(r, 1, spss[1]!.sps), pps(r, 2, spss[r.int(0, 1)]!.sps)];
  for (const x of [...spss, ...ppss]) out.push(x.nal);
  for (let i = 0; i < pictures; i++) {
    if (i > 0 && r.bool(0.05)) {
      const id = r.int(0, 2);
      const next = pps(r, id, spss[r.int(0, 1)]!.sps);
      ppss[id] = next;
      out.push(next.nal);
    }
    const p = i === 0 ? ppss[0]!.pps : r.pick(ppss).pps;
    const type = i === 0 ? 19 : r.bool(0.15) ? r.pick(IRAP) : r.pick(NON_IRAP);
    const size = p.sps.widthCtbs * p.sps.heightCtbs;
    const segments = Math.min(r.int(1, 3), size);
    let address = 0;
    for (let k = 0; k < segments; k++) {
      if (k > 0) address = r.int(address + 1, size - (segments - k));
      out.push(slice(r, p, type, k === 0, address));
    }
  }
  return out;
}
