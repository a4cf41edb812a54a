/**
 * AAC in ADTS (ISO/IEC 13818-7 §6.2 / 14496-3 §1.A.2) to raw AAC frames. Frames may straddle PES
 * boundaries: the partial frame is carried to the next PES with the PTS it started with. Per-frame
 * PTS = PES PTS + i * 1024 * 90000 / sample_rate (FORMATS §8.2). The AudioSpecificConfig is built from
 * the ADTS header (FORMATS §9).
 */
import { AAC_SAMPLE_RATES, aacCodecString, type AacConfig } from '../../media/codec/aac.js';

export interface AacFrame {
  readonly pts: number;
  /** Raw AAC frame (ADTS header and CRC removed). */
  readonly data: Uint8Array;
  readonly discontinuity: boolean;
}

export interface AacStreamConfig {
  readonly config: AacConfig;
  /** AudioSpecificConfig bytes (2 bytes: AOT, sampling frequency index, channel configuration). */
  readonly asc: Uint8Array;
  readonly codecString: string;
}

export interface AdtsPes {
  readonly pts?: number;
  readonly data: Uint8Array;
  readonly discontinuity: boolean;
}

export type AdtsOutput = { type: 'config'; value: AacStreamConfig } | { type: 'frame'; value: AacFrame };

export interface AdtsHeader {
  readonly headerLength: number;
  readonly frameLength: number;
  /** MPEG-4 audioObjectType = profile + 1. */
  readonly objectType: number;
  readonly samplingFrequencyIndex: number;
  readonly channelConfig: number;
  readonly rawDataBlocks: number;
}

/** Reads the ADTS header at `at`; null when there is no valid header (or fewer than 7 bytes). */
export function parseAdtsHeader(b: Uint8Array, at: number): AdtsHeader | null {
  if (at + 7 > b.length || b[at] !== 0xff || (b[at + 1]! & 0xf6) !== 0xf0) return null;
  const headerLength = b[at + 1]! & 1 ? 7 : 9;
  const objectType = (b[at + 2]! >> 6) + 1;
  const samplingFrequencyIndex = (b[at + 2]! >> 2) & 0x0f;
  const channelConfig = ((b[at + 2]! & 1) << 2) | (b[at + 3]! >> 6);
  const frameLength = ((b[at + 3]! & 3) << 11) | (b[at + 4]! << 3) | (b[at + 5]! >> 5);
  const rawDataBlocks = (b[at + 6]! & 3) + 1;
  if (samplingFrequencyIndex >= AAC_SAMPLE_RATES.length || frameLength < headerLength) return null;
  return { headerLength, frameLength, objectType, samplingFrequencyIndex, channelConfig, rawDataBlocks };
}

/** The 2-byte AudioSpecificConfig for an ADTS header (FORMATS §9). */
export function ascFromAdts(h: AdtsHeader): Uint8Array {
  return Uint8Array.of((h.objectType << 3) | (h.samplingFrequencyIndex >> 1), ((h.samplingFrequencyIndex & 1) << 7) | (h.channelConfig << 3));
}

export class AdtsEsParser {
  /** Bytes of an unfinished frame (or header) carried from the previous PES. */
  private remainder: Uint8Array | null = null;
  private remainderPts = 0;
  private nextPts: number | undefined;
  private configKey = -1;
  private sampleRate = 0;
  private pendingDiscontinuity = false;
  /** Bytes skipped looking for a sync word, and frames left out (multiple raw data blocks). */
  skippedBytes = 0;
  errors = 0;

  /** Drops the carried partial frame and marks the next frame as a discontinuity. */
  discard(): void {
    this.remainder = null;
    this.pendingDiscontinuity = true;
  }

  push(pes: AdtsPes, out: AdtsOutput[]): void {
    if (pes.discontinuity) this.discard();
    let data = pes.data;
    let i = 0; // frames starting in this PES
    let carried = false;
    if (this.remainder) {
      const joined = new Uint8Array(this.remainder.length + data.length);
      joined.set(this.remainder);
      joined.set(data, this.remainder.length);
      data = joined;
      carried = true;
    }
    const carriedLength = carried ? this.remainder!.length : 0;
    const carriedPts = this.remainderPts;
    this.remainder = null;
    // Without a PES PTS, frames continue from the last one (after the carried frame, if any).
    const pts = pes.pts ?? (carried ? carriedPts + this.frameDuration() : (this.nextPts ?? 0));
    let p = 0;
    while (p < data.length) {
      const h = parseAdtsHeader(data, p);
      if (!h) {
        if (data.length - p < 7 && data[p] === 0xff) break; // header cut by the PES boundary
        p++;
        this.skippedBytes++;
        continue;
      }
      if (p + h.frameLength > data.length) break;
      const framePts = carried && p < carriedLength ? carriedPts : this.framePts(pts, i++, h);
      this.onConfig(h, out);
      if (h.rawDataBlocks !== 1) {
        this.errors++; // one ADTS frame holding several AAC frames: not split here
      } else {
        const disc = this.pendingDiscontinuity;
        this.pendingDiscontinuity = false;
        out.push({ type: 'frame', value: { pts: framePts, data: data.slice(p + h.headerLength, p + h.frameLength), discontinuity: disc } });
      }
      this.nextPts = framePts + this.frameDuration();
      p += h.frameLength;
    }
    if (p < data.length) {
      this.remainder = data.slice(p);
      this.remainderPts = carried && p < carriedLength ? carriedPts : this.framePts(pts, i, null);
    }
  }

  flush(): void {
    this.remainder = null;
  }

  private frameDuration(): number {
    return Math.round((1024 * 90000) / (this.sampleRate || 48000));
  }

  private framePts(pesPts: number, i: number, h: AdtsHeader | null): number {
    const rate = h ? AAC_SAMPLE_RATES[h.samplingFrequencyIndex]! : this.sampleRate || 48000;
    return pesPts + Math.round((i * 1024 * 90000) / rate);
  }

  private onConfig(h: AdtsHeader, out: AdtsOutput[]): void {
    const key = (h.objectType << 8) | (h.samplingFrequencyIndex << 4) | h.channelConfig;
    if (key === this.configKey) return;
    this.configKey = key;
    this.sampleRate = AAC_SAMPLE_RATES[h.samplingFrequencyIndex]!;
    const config: AacConfig = {
      objectType: h.objectType,
      samplingFrequencyIndex: h.samplingFrequencyIndex,
      sampleRate: this.sampleRate,
      channelConfig: h.channelConfig,
    };
    out.push({ type: 'config', value: { config, asc: ascFromAdts(h), codecString: aacCodecString(config) } });
  }
}
