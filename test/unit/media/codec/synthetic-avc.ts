/**
 * Test-only: random, syntactically valid H.264 SPS/PPS/slice headers covering what x264 never writes
 * (POC type 1, field pictures, redundant_pic_cnt, SP/SI slices, explicit B weights, MMCO 1-6,
 * long-term list modifications, separate colour planes, scaling lists, 4:0:0). Each slice NAL carries
 * the length of the header the generator wrote, for a three-way check with the parser and ffmpeg.
 */
import { BitWriter, Rand, escape } from './bit-writer.js';

export interface SyntheticNal {
  /** Escaped NAL unit, header byte(s) first. */
  readonly bytes: Uint8Array;
  /** Slices: RBSP bits of NAL header + slice header as written; -1 otherwise. */
  readonly headerBits: number;
}

interface Sps {
  id: number;
  chromaArrayType: number;
  separate: boolean;
  log2MaxFrameNum: number;
  frameMbsOnly: boolean;
  pocType: number;
  log2MaxPocLsb: number;
  deltaAlwaysZero: boolean;
  maxNumRefFrames: number;
  picSizeInMbs: number;
}

interface Pps {
  id: number;
  sps: Sps;
  cabac: boolean;
  bottomFieldPicOrder: boolean;
  l0Default: number;
  l1Default: number;
  weightedPred: boolean;
  weightedBipredIdc: number;
  deblockingControl: boolean;
  redundantPicCnt: boolean;
}

function nal(refIdc: number, type: number, w: BitWriter, headerBits = -1): SyntheticNal {
  const head = new BitWriter().u(1, 0).u(2, refIdc).u(5, type).bytes();
  const body = escape(w.bytes());
  const bytes = new Uint8Array(1 + body.length);
  bytes[0] = head[0]!;
  bytes.set(body, 1);
  return { bytes, headerBits };
}

/**
 * `plain`: a set ffmpeg's own H.264 parser accepts (same luma and chroma depth, no separate planes),
 * so the stream probe finds the picture size, without which ffmpeg will not run the filter.
 */
function sps(r: Rand, id: number, plain = false): { sps: Sps; nal: SyntheticNal } {
  const w = new BitWriter();
  // Separate colour planes are rare but change the header: make them one case in three.
  const planes = !plain && r.bool(0.35);
  const profile = planes ? 244 : r.pick([66, 77, 88, 100, 110, 122, 244]);
  w.u(8, profile).u(8, 0).u(8, 40).ue(id);
  let chromaFormat = 1;
  let separate = false;
  if (profile >= 100) {
    chromaFormat = planes ? 3 : profile === 244 ? r.int(0, 3) : profile === 122 ? r.int(0, 2) : r.int(0, 1);
    w.ue(chromaFormat);
    if (chromaFormat === 3) w.flag((separate = planes));
    const depth = r.int(0, 2);
    w.ue(depth).ue(plain ? depth : r.int(0, 2)).flag(0);
    const matrix = r.bool(0.4);
    w.flag(matrix);
    if (matrix) {
      for (let i = 0; i < (chromaFormat !== 3 ? 8 : 12); i++) {
        const present = r.bool();
        w.flag(present);
        if (!present) continue;
        let last = 8;
        let next = 8;
        for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
          if (next !== 0) {
            const delta = r.bool(0.05) && last <= 128 ? -last : r.int(-8, 8);
            w.se(delta);
            next = (last + delta + 256) % 256;
          }
          last = next === 0 ? last : next;
        }
      }
    }
  }
  const log2MaxFrameNum = r.int(4, 16);
  w.ue(log2MaxFrameNum - 4);
  const pocType = r.int(0, 2);
  w.ue(pocType);
  let log2MaxPocLsb = 0;
  let deltaAlwaysZero = false;
  if (pocType === 0) {
    log2MaxPocLsb = r.int(4, 16);
    w.ue(log2MaxPocLsb - 4);
  } else if (pocType === 1) {
    w.flag((deltaAlwaysZero = r.bool()));
    w.se(r.int(-3, 3)).se(r.int(-3, 3));
    const cycle = r.int(0, 4);
    w.ue(cycle);
    for (let i = 0; i < cycle; i++) w.se(r.int(-3, 3));
  }
  const maxNumRefFrames = r.int(1, 16);
  w.ue(maxNumRefFrames).flag(0);
  const widthMbs = r.int(4, 40);
  const heightUnits = r.int(4, 30);
  w.ue(widthMbs - 1).ue(heightUnits - 1);
  const frameMbsOnly = r.bool();
  w.flag(frameMbsOnly);
  if (!frameMbsOnly) w.flag(r.bool()); // mb_adaptive_frame_field_flag
  w.flag(1).flag(0).flag(0).trailing(); // direct_8x8_inference, no cropping, no VUI
  return {
    sps: {
      id,
      chromaArrayType: separate ? 0 : chromaFormat,
      separate,
      log2MaxFrameNum,
      frameMbsOnly,
      pocType,
      log2MaxPocLsb,
      deltaAlwaysZero,
      maxNumRefFrames,
      picSizeInMbs: widthMbs * heightUnits * (frameMbsOnly ? 1 : 2),
    },
    nal: nal(3, 7, w),
  };
}

function pps(r: Rand, id: number, s: Sps): { pps: Pps; nal: SyntheticNal } {
  const p: Pps = {
    id,
    sps: s,
    cabac: r.bool(),
    bottomFieldPicOrder: r.bool(),
    l0Default: r.int(1, 4),
    l1Default: r.int(1, 4),
    weightedPred: r.bool(),
    weightedBipredIdc: r.int(0, 2),
    deblockingControl: r.bool(),
    redundantPicCnt: r.bool(0.3),
  };
  const w = new BitWriter().ue(id).ue(s.id).flag(p.cabac).flag(p.bottomFieldPicOrder).ue(0);
  w.ue(p.l0Default - 1).ue(p.l1Default - 1).flag(p.weightedPred).u(2, p.weightedBipredIdc);
  w.se(r.int(-3, 3)).se(0).se(r.int(-2, 2)).flag(p.deblockingControl).flag(r.bool()).flag(p.redundantPicCnt);
  if (r.bool()) w.flag(r.bool()).flag(0).se(r.int(-2, 2)); // transform_8x8_mode, no PPS matrices, 2nd chroma offset
  w.trailing();
  return { pps: p, nal: nal(3, 8, w) };
}

const P = 0;
const B = 1;
const I = 2;
const SP = 3;
const SI = 4;

function slice(r: Rand, p: Pps, idr: boolean): SyntheticNal {
  const s = p.sps;
  const refIdc = idr ? r.int(1, 3) : r.int(0, 3);
  const w = new BitWriter();
  // Zero-heavy values now and then, so 00 00 0x runs (emulation prevention) occur inside headers.
  const zeros = r.bool(0.3);
  const type = idr ? r.pick([I, SI]) : r.pick([P, B, I, SP, SI]);
  w.ue(zeros ? 0 : r.int(0, s.picSizeInMbs - 1)).ue(type + (r.bool() ? 5 : 0)).ue(p.id);
  if (s.separate) w.u(2, r.int(0, 2));
  w.u(s.log2MaxFrameNum, zeros || idr ? 0 : r.int(0, 2 ** s.log2MaxFrameNum - 1));
  let field = false;
  if (!s.frameMbsOnly) {
    w.flag((field = r.bool()));
    if (field) w.flag(r.bool());
  }
  if (idr) w.ue(r.int(0, 20));
  if (s.pocType === 0) {
    w.u(s.log2MaxPocLsb, zeros ? 0 : r.int(0, 2 ** s.log2MaxPocLsb - 1));
    if (p.bottomFieldPicOrder && !field) w.se(r.int(-3, 3));
  } else if (s.pocType === 1 && !s.deltaAlwaysZero) {
    w.se(r.int(-5, 5));
    if (p.bottomFieldPicOrder && !field) w.se(r.int(-5, 5));
  }
  if (p.redundantPicCnt) w.ue(r.int(0, 3));
  if (type === B) w.flag(r.bool());
  let l0 = p.l0Default;
  let l1 = p.l1Default;
  if (type === P || type === SP || type === B) {
    const override = r.bool();
    w.flag(override);
    if (override) {
      l0 = r.int(1, field ? 32 : 16);
      w.ue(l0 - 1);
      if (type === B) w.ue((l1 = r.int(1, field ? 32 : 16)) - 1);
    }
  }
  const maxPicNum = 2 ** s.log2MaxFrameNum * (field ? 2 : 1);
  const modification = (): void => {
    const on = r.bool();
    w.flag(on);
    if (!on) return;
    for (let i = r.int(1, 3); i > 0; i--) {
      const idc = r.int(0, 2);
      w.ue(idc).ue(idc === 2 ? r.int(0, s.maxNumRefFrames - 1) : r.int(0, Math.min(maxPicNum - 1, 50)));
    }
    w.ue(3);
  };
  if (type !== I && type !== SI) {
    modification();
    if (type === B) modification();
  }
  if ((p.weightedPred && (type === P || type === SP)) || (p.weightedBipredIdc === 1 && type === B)) {
    w.ue(r.int(0, 7));
    if (s.chromaArrayType !== 0) w.ue(r.int(0, 7));
    for (const count of type === B ? [l0, l1] : [l0]) {
      for (let i = 0; i < count; i++) {
        const luma = r.bool();
        w.flag(luma);
        if (luma) w.se(r.int(-128, 127)).se(r.int(-128, 127));
        if (s.chromaArrayType !== 0) {
          const chroma = r.bool();
          w.flag(chroma);
          if (chroma) for (let j = 0; j < 4; j++) w.se(r.int(-128, 127));
        }
      }
    }
  }
  if (refIdc !== 0) {
    if (idr) {
      w.flag(r.bool()).flag(r.bool());
    } else {
      const adaptive = r.bool();
      w.flag(adaptive);
      if (adaptive) {
        for (let i = r.int(1, 4); i > 0; i--) {
          const op = r.int(1, 6);
          w.ue(op);
          if (op === 1 || op === 3) w.ue(r.int(0, 30));
          if (op === 2) w.ue(r.int(0, s.maxNumRefFrames - 1));
          if (op === 3 || op === 6) w.ue(r.int(0, s.maxNumRefFrames - 1));
          if (op === 4) w.ue(r.int(0, s.maxNumRefFrames));
        }
        w.ue(0);
      }
    }
  }
  if (p.cabac && type !== I && type !== SI) w.ue(r.int(0, 2));
  w.se(r.int(-10, 10));
  if (type === SP || type === SI) {
    if (type === SP) w.flag(r.bool());
    w.se(r.int(-10, 10));
  }
  if (p.deblockingControl) {
    const disable = r.int(0, 2);
    w.ue(disable);
    if (disable !== 1) w.se(r.int(-6, 6)).se(r.int(-6, 6));
  }
  const headerBits = 8 + w.length;
  if (p.cabac) w.align(1); // cabac_alignment_one_bit
  // Some slice data, then the stop bit.
  for (let i = r.int(1, 40); i > 0; i--) w.u(8, r.int(0, 255));
  w.trailing();
  return nal(refIdc, idr ? 5 : 1, w, headerBits);
}

/** A random H.264 stream: 2 SPS, 3 PPS, then `count` slices (re-sending a parameter set now and then). */
export function syntheticAvc(seed: number, count: number): SyntheticNal[] {
  const r = new Rand(seed);
  const out: SyntheticNal[] = [];
  const spss = [sps(r, 0, true), sps(r, 1)];
  const ppss = [pps(r, 0, spss[0]!.sps), pps(r, 1, spss[1]!.sps), pps(r, 2, spss[r.int(0, 1)]!.sps)];
  for (const x of [...spss, ...ppss]) out.push(x.nal);
  for (let i = 0; i < count; i++) {
    if (i > 0 && r.bool(0.05)) {
      // A parameter set replaced in band: later slices must use the new one.
      const id = r.int(0, 2);
      const next = pps(r, id, spss[r.int(0, 1)]!.sps);
      ppss[id] = next;
      out.push(next.nal);
    }
    out.push(slice(r, i === 0 ? ppss[0]!.pps : r.pick(ppss).pps, i === 0 || r.bool(0.1)));
  }
  return out;
}
