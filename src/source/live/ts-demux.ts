/**
 * Live MPEG-TS demuxer (FORMATS §8.2; shaped after hls.js tsdemuxer): a packet loop with a switch on
 * the PID, pure PAT/PMT/PES parsers, explicit state for bytes carried between calls, and one
 * elementary-stream parser per codec (H.264, H.265, AAC/ADTS). Input is any split of the byte stream;
 * output is a list of events per call: the program (track set), codec configs, video access units
 * and audio frames, with 90 kHz timestamps unwrapped past 2^33.
 *
 * Latency: a PES is complete when its PES_packet_length is reached, or (length 0) when the next PUSI
 * on its PID arrives; it is parsed at once. Video access units go out as soon as they are known
 * complete (h264-es.ts): at the first packet of the next PES when that packet shows it begins a new
 * access unit, and at the end of a PES with a length when the stream has been aligned (one or more
 * whole access units per PES). So the segmenter hears of a key frame in the push of the packet right
 * after its last one, not when the next-but-one PES starts; the units themselves are unchanged.
 *
 * Copies: a PES is assembled in one buffer per PID that is reused (grown, never shrunk), and parsed
 * as views of it; the parsers copy what they keep (access units, AAC frames) before the next PES.
 */
import type { AacConfig } from '../../media/codec/aac.js';
import type { AvcConfig } from '../../media/codec/avc.js';
import type { HevcConfig } from '../../media/codec/hevc.js';
import { PAT_PID, STREAM_TYPE_AAC_ADTS, STREAM_TYPE_H264, STREAM_TYPE_HEVC } from '../../mux/ts/psi.js';
import { AdtsEsParser, type AdtsOutput } from './adts-es.js';
import { H264EsParser, pesStartsAccessUnit, type H264Output } from './h264-es.js';
import { H265EsParser, type H265Output } from './h265-es.js';
import { parsePes } from './pes.js';
import { SectionAssembler, parsePat, parsePmt, sectionCrcOk, type ParsedPmt } from './psi-parse.js';
import { TimestampUnwrapper } from './timestamps.js';

export const TS_PACKET = 188;
const SYNC = 0x47;
const NULL_PID = 0x1fff;

export type LiveCodec = 'avc' | 'hevc' | 'aac';

export interface LiveStreamInfo {
  readonly pid: number;
  readonly streamType: number;
  /** null: listed in the PMT but not demuxed. */
  readonly codec: LiveCodec | null;
}

/**
 * A new track set: the first PMT, a PMT version change, or a switch of program/PMT PID. Streams whose
 * PID and codec are unchanged continue (their config stays valid until a new `config` event).
 */
export interface ProgramEvent {
  readonly kind: 'program';
  readonly program: number;
  readonly pmtPid: number;
  readonly version: number;
  readonly pcrPid: number;
  readonly streams: readonly LiveStreamInfo[];
}

export type ConfigEvent =
  | { readonly kind: 'config'; readonly pid: number; readonly codec: 'avc'; readonly config: AvcConfig; readonly avcC: Uint8Array; readonly codecString: string }
  | {
      readonly kind: 'config';
      readonly pid: number;
      readonly codec: 'hevc';
      readonly config: HevcConfig;
      readonly hvcC: Uint8Array;
      readonly codecString: string;
      /** From the SPS, conformance window applied. */
      readonly width: number;
      readonly height: number;
    }
  | { readonly kind: 'config'; readonly pid: number; readonly codec: 'aac'; readonly config: AacConfig; readonly asc: Uint8Array; readonly codecString: string };

export interface VideoUnit {
  readonly kind: 'video';
  readonly pid: number;
  /** 90 kHz, unwrapped. */
  readonly pts: number;
  readonly dts: number;
  readonly key: boolean;
  /** 4-byte length-prefixed NAL units; AUD and parameter sets (VPS, SPS, PPS) removed. */
  readonly data: Uint8Array;
  /** Data was lost before this unit, or the timebase changed (discontinuity_indicator). */
  readonly discontinuity: boolean;
}

export interface AudioUnit {
  readonly kind: 'audio';
  readonly pid: number;
  readonly pts: number;
  /** Raw AAC frame. */
  readonly data: Uint8Array;
  readonly discontinuity: boolean;
}

export type DemuxEvent = ProgramEvent | ConfigEvent | VideoUnit | AudioUnit;

export interface TsDemuxStats {
  /** Whole 188-byte packets read. */
  packets: number;
  /** Continuity-counter gaps (data lost) on the PIDs in use. */
  ccErrors: number;
  /** Packets repeated once with the same CC, dropped. */
  duplicates: number;
  /** Packets with transport_error_indicator, dropped. */
  teiDropped: number;
  /** Times sync was lost and found again. */
  resyncs: number;
  /** Bytes skipped looking for sync. */
  skippedBytes: number;
  /** PSI sections with a bad CRC, ignored. */
  crcErrors: number;
  /** PES packets dropped incomplete (loss) or unreadable. */
  pesDropped: number;
  /** Packets with the adaptation-field discontinuity_indicator. */
  discontinuityIndicators: number;
  /** Elementary-stream data the codec parsers could not use. */
  esErrors: number;
}

export interface TsDemuxerOptions {
  /** program_number to demux; the first program of the PAT by default. */
  readonly program?: number;
  /**
   * Output video access units as soon as they are known complete (default true). false: only when
   * the next one starts, as before; the units are the same either way (kept for comparisons).
   */
  readonly earlyUnits?: boolean;
}

interface PesAssembly {
  /** Bytes of the PES so far, at the start of the stream's `buf`. */
  len: number;
  /** Total PES size from PES_packet_length, 0 = unbounded (ends at the next PUSI). */
  expected: number;
}

interface EsState {
  readonly pid: number;
  readonly codec: LiveCodec;
  readonly h264: H264EsParser | null;
  readonly h265: H265EsParser | null;
  readonly adts: AdtsEsParser | null;
  readonly unwrapper: TimestampUnwrapper;
  pes: PesAssembly | null;
  /** The PES being assembled (reused from one PES to the next; the parsers copy what they keep). */
  buf: Uint8Array;
  /** discontinuity_indicator seen: the next PES starts a new timeline. */
  timebaseChange: boolean;
}

interface CcState {
  cc: number;
  duplicated: boolean;
}

type CcResult = 'ok' | 'duplicate' | 'loss';

function codecOf(streamType: number): LiveCodec | null {
  if (streamType === STREAM_TYPE_H264) return 'avc';
  if (streamType === STREAM_TYPE_HEVC) return 'hevc';
  if (streamType === STREAM_TYPE_AAC_ADTS) return 'aac';
  return null;
}

export class TsDemuxer {
  readonly stats: TsDemuxStats = {
    packets: 0,
    ccErrors: 0,
    duplicates: 0,
    teiDropped: 0,
    resyncs: 0,
    skippedBytes: 0,
    crcErrors: 0,
    pesDropped: 0,
    discontinuityIndicators: 0,
    esErrors: 0,
  };

  private readonly wantedProgram: number | undefined;
  /** Bytes of an incomplete packet (or of unsynced data) carried to the next push. */
  private remainder: Uint8Array = new Uint8Array(0);
  private synced = false;
  private readonly cc = new Map<number, CcState>();
  private readonly patSections = new SectionAssembler();
  private readonly pmtSections = new SectionAssembler();
  private program = -1;
  private pmtPid = -1;
  private pmtVersion = -1;
  private pcrPid = -1;
  private readonly es = new Map<number, EsState>();
  private out: DemuxEvent[] = [];
  private readonly earlyUnits: boolean;

  constructor(opts: TsDemuxerOptions = {}) {
    this.wantedProgram = opts.program;
    this.earlyUnits = opts.earlyUnits ?? true;
  }

  /** Feeds any number of bytes; returns the events they completed. */
  push(chunk: Uint8Array): DemuxEvent[] {
    // A plain Uint8Array view: Buffer#subarray (a Buffer from node:dgram) costs several times more per packet.
    let data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.remainder.length > 0) {
      data = new Uint8Array(this.remainder.length + chunk.length);
      data.set(this.remainder);
      data.set(chunk, this.remainder.length);
    }
    let pos = 0;
    while (data.length - pos >= TS_PACKET) {
      // Out of sync, a candidate is confirmed by the sync byte of the packet after it when present.
      const confirmed = this.synced || pos + TS_PACKET >= data.length || data[pos + TS_PACKET] === SYNC;
      if (data[pos] !== SYNC || !confirmed) {
        if (this.synced) this.stats.resyncs++;
        this.synced = false;
        this.stats.skippedBytes++;
        pos++;
        continue;
      }
      this.synced = true;
      this.packet(data, pos);
      pos += TS_PACKET;
    }
    this.remainder = data.slice(pos);
    return this.take();
  }

  /** End of input: completes the PES packets in progress and the last access units. */
  flush(): DemuxEvent[] {
    if (this.remainder.length > 0) this.stats.skippedBytes += this.remainder.length;
    this.remainder = new Uint8Array(0);
    for (const st of this.es.values()) this.flushStream(st);
    return this.take();
  }

  private take(): DemuxEvent[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private packet(data: Uint8Array, pos: number): void {
    this.stats.packets++;
    const b1 = data[pos + 1]!;
    if (b1 & 0x80) {
      this.stats.teiDropped++;
      return;
    }
    const unitStart = (b1 & 0x40) !== 0;
    const pid = ((b1 & 0x1f) << 8) | data[pos + 2]!;
    const afc = (data[pos + 3]! >> 4) & 3;
    const cc = data[pos + 3]! & 0x0f;
    const end = pos + TS_PACKET;
    let p = pos + 4;
    let discontinuity = false;
    if (afc & 2) {
      const afLength = data[p]!;
      if (afLength > 0) discontinuity = (data[p + 1]! & 0x80) !== 0;
      p += 1 + afLength;
      if (p > end) return; // malformed adaptation field
    }
    const hasPayload = (afc & 1) !== 0 && p < end;
    if (pid === NULL_PID) return;
    if (discontinuity) this.stats.discontinuityIndicators++;
    const payload = data.subarray(p, end);

    switch (pid) {
      case PAT_PID: {
        if (!hasPayload) return;
        const r = this.checkCc(pid, cc, discontinuity);
        if (r === 'duplicate') return;
        if (r === 'loss') this.patSections.reset();
        for (const s of this.patSections.push(payload, unitStart)) this.onPat(s);
        return;
      }
      case this.pmtPid: {
        if (!hasPayload) return;
        const r = this.checkCc(pid, cc, discontinuity);
        if (r === 'duplicate') return;
        if (r === 'loss') this.pmtSections.reset();
        for (const s of this.pmtSections.push(payload, unitStart)) this.onPmt(s);
        return;
      }
      default: {
        const st = this.es.get(pid);
        if (discontinuity) {
          if (st) st.timebaseChange = true;
          else if (pid === this.pcrPid) for (const s of this.es.values()) s.timebaseChange = true;
        }
        if (!st || !hasPayload) return;
        const r = this.checkCc(pid, cc, discontinuity);
        if (r === 'duplicate') return;
        if (r === 'loss') this.onLoss(st);
        this.onEsPayload(st, payload, unitStart);
      }
    }
  }

  private checkCc(pid: number, cc: number, discontinuity: boolean): CcResult {
    const prev = this.cc.get(pid);
    if (!prev || discontinuity) {
      this.cc.set(pid, { cc, duplicated: false });
      return 'ok';
    }
    if (cc === prev.cc) {
      if (!prev.duplicated) {
        prev.duplicated = true;
        this.stats.duplicates++;
        return 'duplicate';
      }
    } else if (cc === ((prev.cc + 1) & 0x0f)) {
      prev.cc = cc;
      prev.duplicated = false;
      return 'ok';
    }
    prev.cc = cc;
    prev.duplicated = false;
    this.stats.ccErrors++;
    return 'loss';
  }

  private onPat(section: Uint8Array): void {
    if (!sectionCrcOk(section)) {
      this.stats.crcErrors++;
      return;
    }
    if ((section[5]! & 1) === 0) return; // not yet applicable (current_next_indicator 0)
    const programs = parsePat(section);
    if (!programs || programs.length === 0) return;
    const chosen = this.wantedProgram === undefined ? programs[0] : programs.find((e) => e.program === this.wantedProgram);
    if (!chosen || (chosen.program === this.program && chosen.pmtPid === this.pmtPid)) return;
    this.program = chosen.program;
    if (chosen.pmtPid !== this.pmtPid) {
      this.pmtPid = chosen.pmtPid;
      this.pmtSections.reset();
      this.cc.delete(chosen.pmtPid);
    }
    this.pmtVersion = -1; // the next PMT signals a track set
  }

  private onPmt(section: Uint8Array): void {
    if (!sectionCrcOk(section)) {
      this.stats.crcErrors++;
      return;
    }
    if ((section[5]! & 1) === 0) return;
    const pmt = parsePmt(section);
    if (!pmt || pmt.program !== this.program || pmt.version === this.pmtVersion) return;
    this.setTracks(pmt);
  }

  private setTracks(pmt: ParsedPmt): void {
    // A PID that keeps its codec keeps its state (PES in progress, parameter sets, timeline): a new
    // PMT version does not interrupt the elementary streams it still lists. Others end here.
    const kept = new Map<number, EsState>();
    for (const s of pmt.streams) {
      const st = this.es.get(s.pid);
      if (st && st.codec === codecOf(s.streamType)) kept.set(s.pid, st);
    }
    for (const st of this.es.values()) {
      if (kept.has(st.pid)) continue;
      this.flushStream(st);
      this.cc.delete(st.pid);
    }
    this.es.clear();
    this.pmtVersion = pmt.version;
    this.pcrPid = pmt.pcrPid;
    const streams: LiveStreamInfo[] = [];
    for (const s of pmt.streams) {
      const codec = codecOf(s.streamType);
      streams.push({ pid: s.pid, streamType: s.streamType, codec });
      if (codec === null || s.pid === PAT_PID || s.pid === this.pmtPid || this.es.has(s.pid)) continue;
      this.es.set(
        s.pid,
        kept.get(s.pid) ?? {
          pid: s.pid,
          codec,
          h264: codec === 'avc' ? new H264EsParser() : null,
          h265: codec === 'hevc' ? new H265EsParser() : null,
          adts: codec === 'aac' ? new AdtsEsParser() : null,
          unwrapper: new TimestampUnwrapper(),
          pes: null,
          buf: new Uint8Array(4096),
          timebaseChange: false,
        },
      );
    }
    this.out.push({ kind: 'program', program: pmt.program, pmtPid: this.pmtPid, version: pmt.version, pcrPid: pmt.pcrPid, streams });
  }

  private onLoss(st: EsState): void {
    if (st.pes) this.stats.pesDropped++;
    st.pes = null;
    this.discardEs(st);
  }

  private discardEs(st: EsState): void {
    if (st.h264) {
      const out: H264Output[] = [];
      st.h264.discard(out);
      this.emitVideo(st, out);
    }
    if (st.h265) {
      const out: H265Output[] = [];
      st.h265.discard(out);
      this.emitVideo(st, out);
    }
    st.adts?.discard();
  }

  private onEsPayload(st: EsState, payload: Uint8Array, unitStart: boolean): void {
    if (unitStart) {
      // This packet's PES header and first bytes may show that a new access unit begins here: then
      // the one in progress is complete now (a PES of length 0 ends here too).
      const nextStartsUnit = this.earlyUnits && (st.h264 !== null || st.h265 !== null) && pesStartsAccessUnit(payload);
      if (st.pes) this.completePes(st, nextStartsUnit ? 'unit' : undefined);
      else if (nextStartsUnit) this.endVideoUnit(st);
      st.pes = { len: 0, expected: 0 };
    } else if (!st.pes) {
      return; // waiting for the start of a PES
    }
    const a = st.pes!;
    if (a.len + payload.length > st.buf.length) {
      const grown = new Uint8Array(Math.max(st.buf.length * 2, a.len + payload.length));
      grown.set(st.buf.subarray(0, a.len));
      st.buf = grown;
    }
    st.buf.set(payload, a.len);
    a.len += payload.length;
    if (a.expected === 0 && a.len >= 6) {
      const declared = (st.buf[4]! << 8) | st.buf[5]!;
      if (declared !== 0) a.expected = 6 + declared;
    }
    if (a.expected !== 0 && a.len >= a.expected) this.completePes(st, this.earlyUnits ? 'pes' : undefined);
  }

  private completePes(st: EsState, end?: 'unit' | 'pes'): void {
    const a = st.pes!;
    st.pes = null;
    const pes = parsePes(st.buf.subarray(0, a.len));
    if (!pes) {
      this.stats.pesDropped++;
      this.discardEs(st);
      return;
    }
    const discontinuity = st.timebaseChange;
    st.timebaseChange = false;
    if (discontinuity) st.unwrapper.reset();
    let pts: number | undefined;
    let dts: number | undefined;
    if (pes.pts !== undefined) ({ pts, dts } = st.unwrapper.unwrap(pes.pts, pes.dts ?? pes.pts));
    if (st.h264) {
      const out: H264Output[] = [];
      const base = pts === undefined ? { data: pes.payload, discontinuity } : { pts, dts: dts!, data: pes.payload, discontinuity };
      st.h264.push(end === undefined ? base : { ...base, end }, out);
      st.h264.detach(); // st.buf holds the next PES from the next packet on
      this.emitVideo(st, out);
    } else if (st.h265) {
      const out: H265Output[] = [];
      st.h265.push(pts === undefined ? { data: pes.payload, discontinuity } : { pts, dts: dts!, data: pes.payload, discontinuity }, out);
      // H.265 takes only the exact early end: the next PES's first packet (no speculation on 'pes').
      if (end === 'unit') st.h265.endUnit(out);
      st.h265.detach(); // st.buf holds the next PES from the next packet on
      this.emitVideo(st, out);
    } else if (st.adts) {
      const out: AdtsOutput[] = [];
      st.adts.push(pts === undefined ? { data: pes.payload, discontinuity } : { pts, data: pes.payload, discontinuity }, out);
      this.emitAudio(st, out);
    }
  }

  /** The unit in progress is complete (the next PES begins one). */
  private endVideoUnit(st: EsState): void {
    if (st.h264) {
      const out: H264Output[] = [];
      st.h264.endUnit(out);
      this.emitVideo(st, out);
    } else if (st.h265) {
      const out: H265Output[] = [];
      st.h265.endUnit(out);
      this.emitVideo(st, out);
    }
  }

  private flushStream(st: EsState): void {
    if (st.pes) this.completePes(st);
    if (st.h264) {
      const out: H264Output[] = [];
      st.h264.flush(out);
      this.emitVideo(st, out);
    }
    if (st.h265) {
      const out: H265Output[] = [];
      st.h265.flush(out);
      this.emitVideo(st, out);
    }
    st.adts?.flush();
  }

  private emitVideo(st: EsState, out: ReadonlyArray<H264Output | H265Output>): void {
    for (const o of out) {
      if (o.type === 'unit') this.out.push({ kind: 'video', pid: st.pid, ...o.value });
      else if ('avcC' in o.value) this.out.push({ kind: 'config', pid: st.pid, codec: 'avc', ...o.value });
      else this.out.push({ kind: 'config', pid: st.pid, codec: 'hevc', ...o.value });
    }
    const parser = st.h264 ?? st.h265!;
    this.stats.esErrors += parser.errors;
    parser.errors = 0;
  }

  private emitAudio(st: EsState, out: AdtsOutput[]): void {
    for (const o of out) {
      if (o.type === 'config') this.out.push({ kind: 'config', pid: st.pid, codec: 'aac', ...o.value });
      else this.out.push({ kind: 'audio', pid: st.pid, ...o.value });
    }
    this.stats.esErrors += st.adts!.errors + st.adts!.skippedBytes;
    st.adts!.errors = 0;
    st.adts!.skippedBytes = 0;
  }
}
