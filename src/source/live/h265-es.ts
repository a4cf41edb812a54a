/**
 * H.265 elementary stream (Annex B in PES) to access units, the HEVC counterpart of H264EsParser with
 * the same input, outputs and loss handling: access-unit boundaries per ITU-T H.265 §7.4.2.4.4 (AUD;
 * VPS/SPS/PPS, prefix SEI and NAL types 41..44, 48..55 after a VCL NAL; a VCL NAL with
 * first_slice_segment_in_pic_flag after a VCL NAL; and a PES with a PTS), judged on layer 0 NAL units
 * only; key frames are IRAP pictures (NAL types 16..23); the hvcC is built from in-band VPS/SPS/PPS
 * (as FFmpeg ff_isom_write_hvcc). Samples come out with 4-byte NAL lengths, without AUD and layer 0
 * parameter sets (an `hvc1` track keeps them in the hvcC only); SEI stays in the samples.
 */
import { buildHvcC, hevcCodecString, parseHvcC, type HevcConfig } from '../../media/codec/hevc.js';
import { parseHevcPps, parseHevcSps, type HevcSps } from '../../media/codec/hevc-parameter-sets.js';
import { splitAnnexB } from './h264-es.js';
import { AccessUnitAssembler, sameBytes, type VideoAccessUnit, type VideoEsOutput, type VideoPes } from './access-units.js';

const NAL_VPS = 32;
const NAL_SPS = 33;
const NAL_PPS = 34;
const NAL_AUD = 35;
const NAL_PREFIX_SEI = 39;
const NAL_IRAP_FIRST = 16;
const NAL_IRAP_LAST = 23;
/** nal_unit_type below 32 is a VCL NAL unit (slice segment or reserved VCL type). */
const NAL_FIRST_NON_VCL = 32;

/** Same shapes as H.264's: the demuxer treats both alike. */
export type H265AccessUnit = VideoAccessUnit;
export type H265Pes = VideoPes;

export interface H265Config {
  /** Parsed from `hvcC` (its parameter sets are views into it). */
  readonly config: HevcConfig;
  /** hvcC box payload (without the 8-byte box header). */
  readonly hvcC: Uint8Array;
  readonly codecString: string;
  /** Picture size from the first SPS, conformance window applied. */
  readonly width: number;
  readonly height: number;
}

export type H265Output = VideoEsOutput<H265Config>;

function nalType(nal: Uint8Array): number {
  return (nal[0]! >> 1) & 0x3f;
}

function layerId(nal: Uint8Array): number {
  return ((nal[0]! & 1) << 5) | (nal[1]! >> 3);
}

/** A non-VCL NAL unit that, after a VCL NAL unit of the access unit, begins the next one (§7.4.2.4.4). */
function startsUnitAfterVcl(type: number): boolean {
  return (
    (type >= NAL_VPS && type <= NAL_AUD) ||
    type === NAL_PREFIX_SEI ||
    (type >= 41 && type <= 44) ||
    (type >= 48 && type <= 55)
  );
}

/**
 * One H.265 stream. Feed whole PES payloads; an access unit is output once the next one starts, once
 * the demuxer sees that the next PES begins one (endUnit), or on flush. Views of a PES are kept only
 * until push() returns if the caller detach()es.
 */
export class H265EsParser extends AccessUnitAssembler<H265Config> {
  private readonly vps = new Map<number, Uint8Array>();
  private readonly sps = new Map<number, { nal: Uint8Array; info: HevcSps }>();
  private readonly pps = new Map<number, Uint8Array>();
  private paramsChanged = false;

  push(pes: H265Pes, out: H265Output[]): void {
    if (pes.discontinuity) this.pendingDiscontinuity = true;
    const { lead, nals } = splitAnnexB(pes.data);
    this.continueLastNal(lead);
    let first = pes.pts !== undefined;
    for (const nal of nals) {
      if (nal.length < 2) {
        this.errors++;
        continue;
      }
      const type = nalType(nal);
      // Units of other layers (scalable/multiview) ride along in the sample; only the base layer
      // delimits access units and feeds the hvcC.
      const base = layerId(nal) === 0;
      const vcl = type < NAL_FIRST_NON_VCL;
      const cur = this.current;
      const boundary =
        cur === null ||
        first ||
        (base && type === NAL_AUD) ||
        (base && cur.hasVcl && startsUnitAfterVcl(type)) ||
        (base && cur.hasVcl && vcl && nal.length > 2 && (nal[2]! & 0x80) !== 0);
      if (boundary) this.startUnit(first ? pes : undefined, out);
      first = false;
      const u = this.current!;
      if (base && type === NAL_VPS) this.keepVps(nal);
      else if (base && type === NAL_SPS) this.keepSps(nal);
      else if (base && type === NAL_PPS) this.keepPps(nal);
      else if (!(base && type === NAL_AUD)) {
        u.nals.push(nal);
        if (vcl && base) u.hasVcl = true;
        if (base && type >= NAL_IRAP_FIRST && type <= NAL_IRAP_LAST) u.key = true;
      }
    }
  }

  protected takeConfig(): H265Config | undefined {
    if (!this.paramsChanged || this.vps.size === 0 || this.sps.size === 0 || this.pps.size === 0) return undefined;
    this.paramsChanged = false;
    return this.config();
  }

  private keepVps(nal: Uint8Array): void {
    if (nal.length < 3) {
      this.errors++;
      return;
    }
    this.keep(this.vps, nal[2]! >> 4, nal); // vps_video_parameter_set_id, u(4) right after the header
  }

  private keepSps(nal: Uint8Array): void {
    let info: HevcSps;
    try {
      info = parseHevcSps(nal);
    } catch {
      this.errors++;
      return;
    }
    if (sameBytes(this.sps.get(info.id)?.nal, nal)) return;
    this.sps.set(info.id, { nal: nal.slice(), info });
    this.paramsChanged = true;
  }

  private keepPps(nal: Uint8Array): void {
    let id: number;
    try {
      id = parseHevcPps(nal).id;
    } catch {
      this.errors++;
      return;
    }
    this.keep(this.pps, id, nal);
  }

  private keep(sets: Map<number, Uint8Array>, id: number, nal: Uint8Array): void {
    if (sameBytes(sets.get(id), nal)) return;
    sets.set(id, nal.slice());
    this.paramsChanged = true;
  }

  private config(): H265Config {
    const byId = <T>(m: Map<number, T>): T[] => [...m.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    const sps = byId(this.sps);
    const info = sps[0]!.info;
    const hvcC = buildHvcC(byId(this.vps), sps.map((s) => s.nal), byId(this.pps), info);
    const config = parseHvcC(hvcC);
    return { config, hvcC, codecString: hevcCodecString(config, 'hvc1'), width: info.width, height: info.height };
  }
}
