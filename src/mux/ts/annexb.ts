/**
 * MP4 (length-prefixed) access units to Annex B byte streams for MPEG-TS (ISO/IEC 14496-10 Annex B,
 * ITU-T H.265 Annex B).
 *
 * Every access unit gets its own access unit delimiter first: mux.js (video.js VHS) and some hardware
 * demuxers split frames on AUDs, and H.264 7.4.1.2.3 puts the AUD first in the AU. AUDs already in the
 * sample are dropped so there is exactly one. Sync samples get the decoder configuration's parameter
 * sets so that a player joining at any segment can decode (FORMATS §10 item 11), unless the sample
 * carries parameter sets of its own (avc3/hev1 may refresh them in band, and a copy from the sample
 * entry could then be stale).
 *
 * The conversion is written once against a ByteSink, and run twice: with a ByteCounter to measure the
 * output, then with the packetizer to write it, so both passes agree by construction.
 */

import { forEachNal } from '../../media/codec/avc.js';

/** Receives bytes src[start, end). */
export interface ByteSink {
  write(src: Uint8Array, start: number, end: number): void;
}

/** A sink that only measures. */
export class ByteCounter implements ByteSink {
  length = 0;
  write(_src: Uint8Array, start: number, end: number): void {
    this.length += end - start;
  }
}

export type NalCodec = 'avc' | 'hevc';

/** Four-byte start codes everywhere: a zero_byte is always legal and keeps the rule simple. */
export const START_CODE = Uint8Array.of(0, 0, 0, 1);
/** H.264 AUD, primary_pic_type 7 (any slice type). */
export const AVC_AUD = Uint8Array.of(0, 0, 0, 1, 0x09, 0xf0);
/** HEVC AUD (nal_unit_type 35, layer 0, temporal id 1), pic_type 2 (any slice type). */
export const HEVC_AUD = Uint8Array.of(0, 0, 0, 1, 0x46, 0x01, 0x50);

const AVC_NAL_SPS = 7;
const AVC_NAL_PPS = 8;
const AVC_NAL_AUD = 9;
const HEVC_NAL_VPS = 32;
const HEVC_NAL_PPS = 34;
const HEVC_NAL_AUD = 35;

/**
 * Writes the bytes of the NAL unit sample[start, end) (after its start code) to the sink. The default
 * copies them; SAMPLE-AES writes its encrypted NAL units re-escaped (longer) instead.
 */
export type NalBodyWriter = (sink: ByteSink, sample: Uint8Array, start: number, end: number) => void;

export interface AnnexbParams {
  readonly codec: NalCodec;
  /** Bytes of each NAL length prefix in the samples (1, 2 or 4). */
  readonly nalLengthSize: number;
  /** The configuration's parameter sets as Annex B (see parameterSetsAnnexb), inserted before sync samples. */
  readonly parameterSets: Uint8Array;
  /** How each NAL unit of the samples is written; a plain copy when absent. */
  readonly nalBody?: NalBodyWriter;
}

/** Joins parameter sets (VPS, SPS, PPS in decoding order) into one Annex B block, each after a start code. */
export function parameterSetsAnnexb(sets: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const s of sets) size += START_CODE.length + s.length;
  const out = new Uint8Array(size);
  let p = 0;
  for (const s of sets) {
    out.set(START_CODE, p);
    out.set(s, p + START_CODE.length);
    p += START_CODE.length + s.length;
  }
  return out;
}

function nalType(codec: NalCodec, header: number): number {
  return codec === 'avc' ? header & 0x1f : (header >> 1) & 0x3f;
}

function isAud(codec: NalCodec, type: number): boolean {
  return type === (codec === 'avc' ? AVC_NAL_AUD : HEVC_NAL_AUD);
}

function isParameterSet(codec: NalCodec, type: number): boolean {
  return codec === 'avc'
    ? type === AVC_NAL_SPS || type === AVC_NAL_PPS
    : type >= HEVC_NAL_VPS && type <= HEVC_NAL_PPS;
}

/** Whether the sample carries any parameter set (VPS/SPS/PPS) of its own. */
export function hasInBandParameterSets(sample: Uint8Array, codec: NalCodec, nalLengthSize: number): boolean {
  let found = false;
  forEachNal(sample, nalLengthSize, (start, end) => {
    if (end > start && isParameterSet(codec, nalType(codec, sample[start]!))) found = true;
  });
  return found;
}

/**
 * Writes one access unit as Annex B: AUD, then (sync samples without in-band parameter sets) the
 * configuration's parameter sets, then every NAL of the sample except AUDs and empty ones, each after
 * a 4-byte start code.
 */
export function writeAccessUnit(sink: ByteSink, sample: Uint8Array, isSync: boolean, params: AnnexbParams): void {
  const { codec, nalLengthSize, nalBody } = params;
  const aud = codec === 'avc' ? AVC_AUD : HEVC_AUD;
  sink.write(aud, 0, aud.length);
  if (isSync && params.parameterSets.length > 0 && !hasInBandParameterSets(sample, codec, nalLengthSize)) {
    sink.write(params.parameterSets, 0, params.parameterSets.length);
  }
  forEachNal(sample, nalLengthSize, (start, end) => {
    if (end === start || isAud(codec, nalType(codec, sample[start]!))) return;
    sink.write(START_CODE, 0, START_CODE.length);
    if (nalBody === undefined) sink.write(sample, start, end);
    else nalBody(sink, sample, start, end);
  });
}

/** Bytes writeAccessUnit produces for this sample. */
export function accessUnitSize(sample: Uint8Array, isSync: boolean, params: AnnexbParams): number {
  const counter = new ByteCounter();
  writeAccessUnit(counter, sample, isSync, params);
  return counter.length;
}
