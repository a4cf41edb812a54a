import type { Track } from '../../media/track.js';
import { BoxWriter, muxError } from './box-writer.js';
import * as mdat from './boxes/mdat.js';
import * as moof from './boxes/moof.js';
import type { MoofFields } from './boxes/moof.js';
import * as saizBox from './boxes/saiz.js';
import type { SaizFields } from './boxes/saiz.js';
import * as senc from './boxes/senc.js';
import type { SencFields } from './boxes/senc.js';
import type { CencAuxFields } from './boxes/traf.js';
import type { TfhdFields } from './boxes/tfhd.js';
import {
  TRUN_DATA_OFFSET,
  TRUN_FIRST_SAMPLE_FLAGS,
  TRUN_SAMPLE_CTO,
  TRUN_SAMPLE_DURATION,
  TRUN_SAMPLE_FLAGS,
  TRUN_SAMPLE_SIZE,
  type TrunFields,
} from './boxes/trun.js';

/** sample_depends_on = 2 (an I frame). */
export const SAMPLE_FLAGS_SYNC = 0x02000000;
/** sample_depends_on = 1, sample_is_non_sync_sample = 1. */
export const SAMPLE_FLAGS_NON_SYNC = 0x01010000;

export interface FragmentInput {
  readonly track: Track;
  /** Sample indices in track.samples: the fragment holds [start, end) in decode order. */
  readonly start: number;
  readonly end: number;
  /** mfhd sequence_number: the segment number (1-based). */
  readonly sequenceNumber: number;
  readonly protection?: FragmentProtection | undefined;
}

/** Per-sample CENC auxiliary information of one fragment (what senc/saiz/saio describe). */
export interface FragmentProtection {
  readonly perSampleIvSize: 0 | 8 | 16;
  /** (end - start) * perSampleIvSize bytes when perSampleIvSize > 0. */
  readonly ivs?: Uint8Array | undefined;
  /**
   * Sample k (0-based within the fragment) uses entries subsampleIndex[k]..subsampleIndex[k+1]-1 of
   * clearBytes/protectedBytes; (end - start) + 1 entries. Absent: whole-sample protection (senc flags 0).
   */
  readonly subsampleIndex?: Uint32Array | undefined;
  /** A Uint32Array is accepted so values over 65535 are refused instead of silently wrapped. */
  readonly clearBytes?: Uint16Array | Uint32Array | undefined;
  readonly protectedBytes?: Uint32Array | undefined;
}

export interface FragmentLayout {
  /** moof + mdat, bytes. */
  readonly totalSize: number;
  readonly moofSize: number;
  /** Where the samples' bytes go: [mdatPayloadOffset, totalSize). */
  readonly mdatPayloadOffset: number;
}

/** The size pass: every version, flag, default and offset of the fragment, checked and resolved. */
interface FragmentPlan {
  readonly moof: MoofFields;
  readonly moofSize: number;
  readonly payloadSize: number;
}

const MAX_SAMPLE_INFO_SIZE = 255;
const MAX_CLEAR_BYTES = 0xffff;

/** Measures the fragment (moof + mdat) for samples [start, end). */
export function fragmentLayout(input: FragmentInput): FragmentLayout {
  const plan = planFragment(input);
  return layoutOf(plan);
}

/**
 * Writes moof and the mdat header into buf[0, mdatPayloadOffset). The payload range is left alone:
 * the caller copies the samples there (before or after) and may encrypt them in place.
 * Segments are moof+mdat without styp: styp is optional in CMAF and ISO BMFF, and players key
 * nothing on it.
 */
export function writeFragment(buf: Uint8Array, input: FragmentInput, layout: FragmentLayout): void {
  const plan = planFragment(input);
  const own = layoutOf(plan);
  if (
    own.totalSize !== layout.totalSize ||
    own.moofSize !== layout.moofSize ||
    own.mdatPayloadOffset !== layout.mdatPayloadOffset
  ) {
    throw muxError('fragment layout does not match its input');
  }
  if (buf.length < layout.totalSize) throw muxError(`buffer of ${buf.length} bytes, fragment needs ${layout.totalSize}`);
  const w = new BoxWriter(buf);
  moof.write(w, plan.moof);
  mdat.writeHeader(w, plan.payloadSize);
  w.finish(layout.mdatPayloadOffset);
}

/** Layout + one allocation + copy + write; `sampleData` is the concatenated payload of [start, end). */
export function buildFragment(input: FragmentInput, sampleData: Uint8Array): Uint8Array {
  const layout = fragmentLayout(input);
  if (sampleData.length !== layout.totalSize - layout.mdatPayloadOffset) {
    throw muxError(`sample data is ${sampleData.length} bytes, samples need ${layout.totalSize - layout.mdatPayloadOffset}`);
  }
  const buf = new Uint8Array(layout.totalSize);
  buf.set(sampleData, layout.mdatPayloadOffset);
  writeFragment(buf, input, layout);
  return buf;
}

function layoutOf(plan: FragmentPlan): FragmentLayout {
  const mdatPayloadOffset = plan.moofSize + mdat.size(0);
  return { totalSize: mdatPayloadOffset + plan.payloadSize, moofSize: plan.moofSize, mdatPayloadOffset };
}

function planFragment(input: FragmentInput): FragmentPlan {
  const { track, start, end } = input;
  const s = track.samples;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > s.count || start >= end) {
    throw muxError(`bad sample range [${start}, ${end}) of ${s.count} samples`);
  }
  checkU32(input.sequenceNumber, 'sequence number');
  checkU32(track.id, 'track id');
  const n = end - start;
  const baseMediaDecodeTime = s.dts[start]!;
  if (!Number.isSafeInteger(baseMediaDecodeTime) || baseMediaDecodeTime < 0) {
    throw muxError(`first DTS ${baseMediaDecodeTime} is not a non-negative integer`);
  }
  const ctoShift = track.presentationOffset;
  if (!Number.isSafeInteger(ctoShift)) throw muxError(`presentation offset ${ctoShift} is not an integer`);

  // One pass over the samples decides every optional field.
  const video = track.kind === 'video';
  const flagsOf = (i: number): number => (!video || s.sync[i] ? SAMPLE_FLAGS_SYNC : SAMPLE_FLAGS_NON_SYNC);
  const firstFlags = flagsOf(start);
  const restFlags = n > 1 ? flagsOf(start + 1) : firstFlags;
  let sameDuration = true;
  let sameSize = true;
  let sameRestFlags = true;
  let anyCto = false;
  let minCto = 0;
  let maxCto = 0;
  let payloadSize = 0;
  for (let i = start; i < end; i++) {
    if (s.duration[i] !== s.duration[start]) sameDuration = false;
    if (s.size[i] !== s.size[start]) sameSize = false;
    if (i > start && flagsOf(i) !== restFlags) sameRestFlags = false;
    const c = s.cto[i]! - ctoShift;
    if (c !== 0) anyCto = true;
    if (c < minCto) minCto = c;
    if (c > maxCto) maxCto = c;
    payloadSize += s.size[i]!;
  }
  if (payloadSize > mdat.MAX_PAYLOAD) throw muxError(`fragment payload of ${payloadSize} bytes needs a 64-bit mdat`);
  // Negative offsets need the signed field of trun v1: the edit-list shift is applied here.
  const version: 0 | 1 = minCto < 0 ? 1 : 0;
  if (version === 1 ? minCto < -0x80000000 || maxCto > 0x7fffffff : maxCto > 0xffffffff) {
    throw muxError(`composition offsets [${minCto}, ${maxCto}] do not fit trun v${version}`);
  }

  // Typical video GOP: one sync sample first, the rest non-sync (first_sample_flags + default); audio:
  // all alike (default only). Uniform durations (constant frame rate) and sizes go to tfhd as well.
  const tfhd: TfhdFields = {
    trackId: track.id,
    defaultSampleDuration: sameDuration ? s.duration[start]! : undefined,
    defaultSampleSize: sameSize ? s.size[start]! : undefined,
    defaultSampleFlags: sameRestFlags ? restFlags : undefined,
  };
  const trunFlags =
    TRUN_DATA_OFFSET |
    (sameDuration ? 0 : TRUN_SAMPLE_DURATION) |
    (sameSize ? 0 : TRUN_SAMPLE_SIZE) |
    (sameRestFlags ? (firstFlags !== restFlags ? TRUN_FIRST_SAMPLE_FLAGS : 0) : TRUN_SAMPLE_FLAGS) |
    (anyCto ? TRUN_SAMPLE_CTO : 0);

  const trun: TrunFields = {
    version,
    flags: trunFlags,
    samples: s,
    start,
    end,
    ctoShift,
    firstSampleFlags: firstFlags,
    syncFlags: SAMPLE_FLAGS_SYNC,
    nonSyncFlags: video ? SAMPLE_FLAGS_NON_SYNC : SAMPLE_FLAGS_SYNC,
    dataOffset: -1,
  };
  const aux = input.protection ? planAux(input, input.protection, n) : undefined;
  const fields: MoofFields = {
    mfhd: { sequenceNumber: input.sequenceNumber },
    traf: { tfhd, tfdt: { baseMediaDecodeTime }, trun, aux },
  };
  const moofSize = moof.size(fields);
  // Both offsets are moof-relative (default-base-is-moof); senc is the last box of the only traf.
  trun.dataOffset = moofSize + mdat.size(0);
  if (aux) aux.saio.offset = moofSize - senc.size(aux.senc) + senc.SENC_FIRST_ENTRY;
  return { moof: fields, moofSize, payloadSize };
}

/** saiz/saio/senc for the fragment, or undefined when there is no aux info at all (cbcs audio). */
function planAux(input: FragmentInput, p: FragmentProtection, n: number): CencAuxFields | undefined {
  const ivSize = p.perSampleIvSize;
  if (ivSize !== 0 && ivSize !== 8 && ivSize !== 16) throw muxError(`per-sample IV size ${String(ivSize)}`);
  if (ivSize > 0 && (!p.ivs || p.ivs.length !== n * ivSize)) {
    throw muxError(`expected ${n * ivSize} IV bytes, got ${p.ivs?.length ?? 0}`);
  }
  const subsamples = p.subsampleIndex ? checkSubsamples(input, p, n) : undefined;
  // Nothing per sample (constant IV, whole-sample protection): shaka omits all three boxes too.
  if (ivSize === 0 && !subsamples) return undefined;

  const saiz: SaizFields = { sampleCount: n, defaultSampleInfoSize: 0, perSampleIvSize: ivSize, subsampleIndex: subsamples?.index };
  const first = saizBox.infoSize(saiz, 0);
  let uniform = true;
  for (let k = 1; k < n && uniform; k++) uniform = saizBox.infoSize(saiz, k) === first;
  const sencFields: SencFields = { sampleCount: n, perSampleIvSize: ivSize, ivs: ivSize > 0 ? p.ivs : undefined, subsamples };
  return {
    saiz: uniform ? { ...saiz, defaultSampleInfoSize: first } : saiz,
    saio: { offset: -1 },
    senc: sencFields,
  };
}

/**
 * Checks the subsample map against the samples and returns it with a fragment-local index starting
 * at 0 relative to views of the entry arrays (so senc and saiz need no base offset).
 */
function checkSubsamples(input: FragmentInput, p: FragmentProtection, n: number): SencFields['subsamples'] {
  const idx = p.subsampleIndex!;
  const clear = p.clearBytes;
  const prot = p.protectedBytes;
  if (!clear || !prot) throw muxError('subsampleIndex without clearBytes/protectedBytes');
  if (idx.length < n + 1) throw muxError(`subsampleIndex has ${idx.length} entries, needs ${n + 1}`);
  const base = idx[0]!;
  const last = idx[n]!;
  if (last > clear.length || last > prot.length || base > last) throw muxError('subsampleIndex points past the subsample arrays');
  for (let k = 0; k < n; k++) if (idx[k + 1]! < idx[k]!) throw muxError('subsampleIndex is not increasing');
  const sizes = input.track.samples.size;
  for (let k = 0; k < n; k++) {
    const from = idx[k]!;
    const to = idx[k + 1]!;
    // saiz entry = IV + 2 + 6 per subsample must fit 8 bits.
    if (p.perSampleIvSize + 2 + 6 * (to - from) > MAX_SAMPLE_INFO_SIZE) {
      throw muxError(`sample ${input.start + k} has ${to - from} subsamples, more than saiz can describe`);
    }
    let sum = 0;
    for (let j = from; j < to; j++) {
      if (clear[j]! > MAX_CLEAR_BYTES) throw muxError(`sample ${input.start + k}: clear run of ${clear[j]} bytes exceeds 16 bits`);
      sum += clear[j]! + prot[j]!;
    }
    const size = sizes[input.start + k]!;
    // Chrome rejects the sample otherwise ("Incorrect CENC subsample size").
    if (sum !== size) throw muxError(`sample ${input.start + k}: subsamples cover ${sum} bytes, sample has ${size}`);
  }
  if (base === 0) return { index: idx, clearBytes: clear, protectedBytes: prot };
  // Rebase a window into larger (track-wide) arrays: views, no copy of the entries.
  const index = new Uint32Array(n + 1);
  for (let k = 0; k <= n; k++) index[k] = idx[k]! - base;
  return { index, clearBytes: clear.subarray(base, last), protectedBytes: prot.subarray(base, last) };
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw muxError(`${what} ${v} does not fit 32 bits`);
}
