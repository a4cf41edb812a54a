/**
 * One HLS MPEG-TS media segment from samples [start, end) of one track: PAT, PMT, then one PES per
 * video access unit or per group of AAC frames. Pure: the caller reads the sample bytes.
 *
 * Two passes over the samples: the first measures every PES and decides its packet count, so the
 * output is allocated once at its exact size; the second writes the packets in place.
 *
 * With `sampleAes`, the samples are encrypted first (HLS SAMPLE-AES, see sample-aes.ts), and both
 * passes run over the encrypted copy; without it nothing on the clear path changes.
 */

import { parseAudioSpecificConfig } from '../../media/codec/aac.js';
import type { AacConfig } from '../../media/codec/aac.js';
import { parseAvcC } from '../../media/codec/avc.js';
import { parseHvcC } from '../../media/codec/hevc.js';
import { ErrorCode, PackagerError } from '../../media/errors.js';
import { byteSize } from '../../media/track.js';
import type { Track } from '../../media/track.js';
import { ADTS_HEADER_SIZE, adtsFrameSize, writeAdtsFrame } from './adts.js';
import { ByteCounter, parameterSetsAnnexb, writeAccessUnit } from './annexb.js';
import type { AnnexbParams } from './annexb.js';
import { PesPacketizer, TS_PACKET_SIZE, pesPacketCount } from './packetizer.js';
import type { PesStart } from './packetizer.js';
import {
  MAX_PES_HEADER_LENGTH,
  MAX_PES_PACKET_LENGTH,
  PES_STREAM_ID_AUDIO,
  PES_STREAM_ID_VIDEO,
  pesHeaderLength,
  writePesHeader,
} from './pes.js';
import {
  AUDIO_PID,
  PMT_PID,
  STREAM_TYPE_AAC_ADTS,
  STREAM_TYPE_H264,
  STREAM_TYPE_HEVC,
  VIDEO_PID,
  writePat,
  writePmt,
} from './psi.js';
import type { Pmt, PmtStream } from './psi.js';
import {
  SAMPLE_AES_PMT_VERSION,
  encryptAudioSamples,
  encryptVideoSamples,
  sampleAesAudioStream,
  sampleAesVideoStream,
} from './sample-aes.js';
import type { SampleAesKey } from './sample-aes.js';

export type { SampleAesKey };

/**
 * Added to every PTS, DTS and PCR (90 kHz): 10 s. The common timeline starts at 0, but decode times
 * of B-frame streams start before it (DTS < PTS of the first frame), as do AAC priming frames an edit
 * list hides; an offset keeps all of them positive instead of wrapping to 2^33 - n, which players
 * would read as a 26-hour jump. The same constant for every track keeps audio and video in sync.
 */
export const TS_TIME_OFFSET = 900000;

export const TS_CLOCK_RATE = 90000;

/** Continuity counters cycle through 16 values (4 bits). */
const CC_MODULUS = 16;

/**
 * Audio frames are grouped into PESs of at most 100 ms: the PCR rides on the first packet of each PES
 * and ISO/IEC 13818-1 asks for one at least every 100 ms, while grouping saves the PES header, PCR and
 * stuffing that one-frame PESs would spend per ~21 ms frame.
 */
const MAX_AUDIO_PES_MS = 100;
/** Audio PESs must state their length, which counts everything after the 6-byte start code + length field. */
const MAX_AUDIO_PES_PAYLOAD = MAX_PES_PACKET_LENGTH - (MAX_PES_HEADER_LENGTH - 6);

export interface TsSegmentInput {
  readonly track: Track;
  /** Sample range [start, end) in decode order. */
  readonly start: number;
  readonly end: number;
  /** Bytes of samples [start, end) back to back (sizes from track.samples.size). */
  readonly sampleData: Uint8Array;
  /** 0-based index of this segment in the title (continuity counters of PAT and PMT). */
  readonly segmentIndex: number;
  /**
   * HLS METHOD=SAMPLE-AES (H.264 and AAC only): the EXT-X-KEY key and the segment's IV, 16 bytes
   * each. The playlist must state the IV explicitly (hls.js treats a SAMPLE-AES key without IV= as
   * clear).
   */
  readonly sampleAes?: SampleAesKey;
}

/** A track time (track timescale, before the edit list) as a 90 kHz TS timestamp. */
export function toTsTime(track: Track, t: number): number {
  return Math.round(((t - track.presentationOffset) * TS_CLOCK_RATE) / track.timescale) + TS_TIME_OFFSET;
}

/** What the TS carries for one track. */
type Elementary =
  | { readonly kind: 'video'; readonly stream: PmtStream; readonly streamId: number; readonly annexb: AnnexbParams }
  | { readonly kind: 'audio'; readonly stream: PmtStream; readonly streamId: number; readonly aac: AacConfig };

/** What a segment muxes: the track's elementary stream and the sample bytes, clear or encrypted. */
interface SegmentSource {
  readonly es: Elementary;
  readonly input: TsSegmentInput;
  readonly pmtVersion: number;
}

/** The PMT entry for a track sent in the clear: PID, stream_type and (audio) its language. */
export function tsStreamFor(track: Track): PmtStream {
  return elementaryFor(track).stream;
}

/** The PMT of a clear segment of this track: one stream, PCR on its PID. */
export function pmtFor(track: Track): Pmt {
  const stream = tsStreamFor(track);
  return { pcrPid: stream.pid, streams: [stream] };
}

function elementaryFor(track: Track): Elementary {
  const entry = track.sampleEntryType;
  const mismatch = (): PackagerError =>
    new PackagerError(ErrorCode.UNSUPPORTED_CODEC, `a ${track.kind} track cannot have sample entry ${entry}`);
  switch (entry) {
    case 'avc1':
    case 'avc3': {
      if (track.kind !== 'video') throw mismatch();
      const cfg = parseAvcC(track.codecConfig);
      return {
        kind: 'video',
        stream: { streamType: STREAM_TYPE_H264, pid: VIDEO_PID, descriptors: new Uint8Array(0) },
        streamId: PES_STREAM_ID_VIDEO,
        annexb: {
          codec: 'avc',
          nalLengthSize: track.nalLengthSize || cfg.nalLengthSize,
          parameterSets: parameterSetsAnnexb([...cfg.sps, ...cfg.pps]),
        },
      };
    }
    case 'hvc1':
    case 'hev1': {
      if (track.kind !== 'video') throw mismatch();
      const cfg = parseHvcC(track.codecConfig);
      return {
        kind: 'video',
        stream: { streamType: STREAM_TYPE_HEVC, pid: VIDEO_PID, descriptors: new Uint8Array(0) },
        streamId: PES_STREAM_ID_VIDEO,
        annexb: {
          codec: 'hevc',
          nalLengthSize: track.nalLengthSize || cfg.nalLengthSize,
          parameterSets: parameterSetsAnnexb([...cfg.vps, ...cfg.sps, ...cfg.pps]),
        },
      };
    }
    case 'mp4a': {
      if (track.kind !== 'audio') throw mismatch();
      return {
        kind: 'audio',
        stream: { streamType: STREAM_TYPE_AAC_ADTS, pid: AUDIO_PID, descriptors: languageDescriptor(track.language) },
        streamId: PES_STREAM_ID_AUDIO,
        aac: parseAudioSpecificConfig(track.codecConfig),
      };
    }
    default:
      throw new PackagerError(ErrorCode.UNSUPPORTED_CODEC, `sample entry ${String(entry)} cannot be muxed to TS`);
  }
}

/**
 * The SAMPLE-AES form of a segment: samples encrypted into a copy, the PMT entry with the encrypted
 * stream type and descriptors, and (video) the NAL writer that re-escapes encrypted NAL units.
 */
function sampleAesSource(input: TsSegmentInput, keys: SampleAesKey): SegmentSource {
  const { track, start, end, sampleData } = input;
  const clear = elementaryFor(track);
  if (clear.kind === 'video') {
    if (clear.annexb.codec !== 'avc') {
      throw new PackagerError(
        ErrorCode.UNSUPPORTED_CODEC,
        'SAMPLE-AES in MPEG-TS is defined for H.264 and AAC only; use fMP4 (cbcs) for HEVC',
      );
    }
    const enc = encryptVideoSamples(track, start, end, sampleData, clear.annexb.nalLengthSize, keys);
    return {
      es: { ...clear, stream: sampleAesVideoStream(clear.stream), annexb: { ...clear.annexb, nalBody: enc.nalBody } },
      input: { ...input, sampleData: enc.data },
      pmtVersion: SAMPLE_AES_PMT_VERSION,
    };
  }
  const stream = sampleAesAudioStream(clear.stream, track.codecConfig, clear.aac);
  return {
    es: { ...clear, stream },
    input: { ...input, sampleData: encryptAudioSamples(track, start, end, sampleData, keys) },
    pmtVersion: SAMPLE_AES_PMT_VERSION,
  };
}

/** ISO_639_language_descriptor (tag 0x0A), audio_type 0; nothing for 'und' or a malformed code. */
function languageDescriptor(language: string): Uint8Array {
  if (!/^[a-z]{3}$/.test(language) || language === 'und') return new Uint8Array(0);
  return Uint8Array.of(0x0a, 4, language.charCodeAt(0), language.charCodeAt(1), language.charCodeAt(2), 0);
}

/** The PESs of a segment, measured: parallel arrays indexed by PES. */
interface PesPlan {
  count: number;
  /** First sample (absolute index) and end (exclusive) of each PES. */
  readonly first: Uint32Array;
  readonly end: Uint32Array;
  /** Offset of the first sample's bytes in sampleData. */
  readonly dataOffset: Float64Array;
  /** Elementary-stream bytes (Annex B / ADTS) and whole PES bytes (with the header). */
  readonly payload: Float64Array;
  readonly length: Float64Array;
  readonly packets: Float64Array;
  readonly pts: Float64Array;
  readonly dts: Float64Array;
  readonly key: Uint8Array;
}

function newPlan(capacity: number): PesPlan {
  return {
    count: 0,
    first: new Uint32Array(capacity),
    end: new Uint32Array(capacity),
    dataOffset: new Float64Array(capacity),
    payload: new Float64Array(capacity),
    length: new Float64Array(capacity),
    packets: new Float64Array(capacity),
    pts: new Float64Array(capacity),
    dts: new Float64Array(capacity),
    key: new Uint8Array(capacity),
  };
}

function pesStart(plan: PesPlan, i: number): PesStart {
  // PCR = DTS: the latest value the standard allows (data may not arrive after its decode time), on
  // the same clock as the timestamps, with no margin to tune. File segments are downloaded whole, so
  // the T-STD buffer lead that a live multiplexer models with PCR < DTS buys a player nothing.
  return { pcr: plan.dts[i]!, randomAccess: plan.key[i] === 1 };
}

/** One PES per access unit. */
function planVideo(input: TsSegmentInput, annexb: AnnexbParams): PesPlan {
  const { track, start, end, sampleData } = input;
  const s = track.samples;
  const plan = newPlan(end - start);
  const counter = new ByteCounter();
  let offset = 0;
  for (let i = start; i < end; i++) {
    const size = s.size[i]!;
    const k = plan.count++;
    const dts = s.dts[i]!;
    plan.first[k] = i;
    plan.end[k] = i + 1;
    plan.dataOffset[k] = offset;
    counter.length = 0;
    writeAccessUnit(counter, sampleData.subarray(offset, offset + size), s.sync[i] === 1, annexb);
    plan.payload[k] = counter.length;
    plan.dts[k] = toTsTime(track, dts);
    plan.pts[k] = toTsTime(track, dts + s.cto[i]!);
    plan.key[k] = s.sync[i]!;
    offset += size;
  }
  return plan;
}

/**
 * Consecutive AAC frames share a PES while they are contiguous in time (the player derives each
 * frame's time from the PES PTS and the frame duration, so a gap must start a new PES), the PES spans
 * at most 100 ms, and PES_packet_length can still be exact.
 */
function planAudio(input: TsSegmentInput): PesPlan {
  const { track, start, end } = input;
  const s = track.samples;
  const plan = newPlan(end - start);
  let offset = 0;
  let k = -1;
  let unitPts = 0; // track ticks
  let nextPts = 0;
  for (let i = start; i < end; i++) {
    const pts = s.dts[i]! + s.cto[i]!;
    const frame = adtsFrameSize(s.size[i]!);
    const join =
      k >= 0 &&
      pts === nextPts &&
      (pts + s.duration[i]! - unitPts) * 1000 <= MAX_AUDIO_PES_MS * track.timescale &&
      plan.payload[k]! + frame <= MAX_AUDIO_PES_PAYLOAD;
    if (join) {
      plan.end[k] = i + 1;
      plan.payload[k] = plan.payload[k]! + frame;
    } else {
      k = plan.count++;
      unitPts = pts;
      plan.first[k] = i;
      plan.end[k] = i + 1;
      plan.dataOffset[k] = offset;
      plan.payload[k] = frame;
      plan.dts[k] = toTsTime(track, s.dts[i]!);
      plan.pts[k] = toTsTime(track, pts);
      plan.key[k] = s.sync[i]!;
    }
    nextPts = pts + s.duration[i]!;
    offset += s.size[i]!;
  }
  return plan;
}

/**
 * Packet counts per PES, padded so the segment holds a multiple of 16 packets on the ES PID.
 *
 * Why: segments are built independently (any one may be requested first, from the sample table alone),
 * yet strict demuxers check continuity counters across segment boundaries. If every segment starts the
 * ES PID at CC 0 and ends on CC 15, segment n+1 continues segment n exactly, with no state. Padding is
 * done by spreading the last PES over more packets, each still carrying at least one payload byte
 * (CC only advances on packets with payload) and the rest adaptation-field stuffing: at most 15 extra
 * packets (2.8 KB) per segment. Every PES has at least 21 bytes (14-byte header + 7-byte AUD/ADTS
 * header), so the last one alone can always absorb 15; earlier PESs are used only as a fallback.
 */
function assignPackets(plan: PesPlan): number {
  let total = 0;
  for (let k = 0; k < plan.count; k++) {
    plan.length[k] = pesHeaderLength(plan.pts[k]!, plan.dts[k]!) + plan.payload[k]!;
    plan.packets[k] = pesPacketCount(plan.length[k]!, pesStart(plan, k));
    total += plan.packets[k]!;
  }
  let pad = (CC_MODULUS - (total % CC_MODULUS)) % CC_MODULUS;
  for (let k = plan.count - 1; k >= 0 && pad > 0; k--) {
    // A packet needs at least one payload byte, so a PES of n bytes spans at most n packets.
    const extra = Math.min(pad, plan.length[k]! - plan.packets[k]!);
    plan.packets[k] = plan.packets[k]! + extra;
    pad -= extra;
    total += extra;
  }
  if (pad > 0) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, 'TS segment too small to pad its continuity counters to 16 packets');
  }
  return total;
}

function validate(input: TsSegmentInput): void {
  const { track, start, end, sampleData, segmentIndex } = input;
  const count = track.samples.count;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > count || start >= end) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, `TS segment: sample range [${start}, ${end}) is not within 0..${count}`);
  }
  if (!Number.isInteger(segmentIndex) || segmentIndex < 0) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, `TS segment: bad segment index ${segmentIndex}`);
  }
  if (!(track.timescale > 0)) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, `TS segment: track timescale ${track.timescale}`);
  }
  const expected = byteSize(track.samples, start, end);
  if (sampleData.length !== expected) {
    throw new PackagerError(
      ErrorCode.MUX_FAILURE,
      `TS segment: ${sampleData.length} bytes of sample data for samples [${start}, ${end}), expected ${expected}`,
    );
  }
}

export function buildTsSegment(input: TsSegmentInput): Uint8Array {
  validate(input);
  const source: SegmentSource = input.sampleAes
    ? sampleAesSource(input, input.sampleAes)
    : { es: elementaryFor(input.track), input, pmtVersion: 0 };
  const { es, pmtVersion } = source;
  const { track, sampleData, segmentIndex } = source.input;
  const plan = es.kind === 'video' ? planVideo(source.input, es.annexb) : planAudio(source.input);
  const esPackets = assignPackets(plan);

  const out = new Uint8Array((2 + esPackets) * TS_PACKET_SIZE);
  // One PAT and one PMT per segment, so CC = segment index keeps them continuous across segments.
  const psiCc = segmentIndex % CC_MODULUS;
  writePat(out, 0, psiCc, PMT_PID);
  writePmt(out, TS_PACKET_SIZE, psiCc, { pcrPid: es.stream.pid, streams: [es.stream], version: pmtVersion });

  const packetizer = new PesPacketizer(out, 2 * TS_PACKET_SIZE);
  const header = new Uint8Array(MAX_PES_HEADER_LENGTH);
  const adtsScratch = new Uint8Array(ADTS_HEADER_SIZE);
  const s = track.samples;
  let cc = 0;
  for (let k = 0; k < plan.count; k++) {
    const pts = plan.pts[k]!;
    const dts = plan.dts[k]!;
    packetizer.begin(es.stream.pid, plan.length[k]!, plan.packets[k]!, pesStart(plan, k), cc);
    const headerEnd = writePesHeader(header, 0, { streamId: es.streamId, pts, dts, payloadLength: plan.payload[k]! });
    packetizer.write(header, 0, headerEnd);
    let offset = plan.dataOffset[k]!;
    for (let i = plan.first[k]!; i < plan.end[k]!; i++) {
      const size = s.size[i]!;
      if (es.kind === 'video') {
        writeAccessUnit(packetizer, sampleData.subarray(offset, offset + size), s.sync[i] === 1, es.annexb);
      } else {
        writeAdtsFrame(packetizer, es.aac, sampleData, offset, offset + size, adtsScratch);
      }
      offset += size;
    }
    cc = packetizer.end();
  }
  if (packetizer.offset !== out.length || cc !== 0) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, 'TS segment: written size differs from the measured size');
  }
  return out;
}
