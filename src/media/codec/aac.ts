/**
 * AAC helpers: the AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), RFC 6381 codec strings and ADTS
 * headers for MPEG-TS output. Pure: no I/O.
 */
import { ErrorCode, PackagerError } from '../errors.js';

export interface AacConfig {
  /** Signalled audioObjectType: 2 AAC-LC, 5 HE-AAC (SBR), 29 HE-AACv2 (PS), ... (codec string mp4a.40.N). */
  objectType: number;
  /**
   * Index of the AAC core's sampling rate (what ADTS carries). For explicit HE-AAC signalling this is
   * the core (half) rate; 15 only when the rate is not in the table.
   */
  samplingFrequencyIndex: number;
  /** Output sampling rate in Hz (with SBR, the doubled extension rate). */
  sampleRate: number;
  channelConfig: number;
  /**
   * Output channel count when the config alone does not say it (parametric stereo: 2 from a mono
   * core; config 7: 8 channels). Optional so a config built from an ADTS header need not set it; see
   * aacChannelCount().
   */
  channels?: number;
}

export const AAC_SAMPLE_RATES: readonly number[] = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/** Channels per channelConfiguration (ISO/IEC 23001-8 ChannelConfiguration); 0 = defined by a PCE. */
const CHANNELS_PER_CONFIG: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7, 8, 24, 8, 0];

const AOT_SBR = 5;
const AOT_PS = 29;

class Bits {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}

  get left(): number {
    return this.data.length * 8 - this.pos;
  }

  read(n: number): number {
    if (n > this.left) {
      throw new PackagerError(
        ErrorCode.SOURCE_INVALID,
        `AudioSpecificConfig is truncated (${this.data.length} bytes)`,
      );
    }
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.data[this.pos >> 3]!;
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }
}

function readObjectType(b: Bits): number {
  const aot = b.read(5);
  return aot === 31 ? 32 + b.read(6) : aot;
}

/** Returns [index, rate]; an explicit rate that is in the table is normalised to its index. */
function readFrequency(b: Bits): [number, number] {
  const idx = b.read(4);
  if (idx === 15) {
    const rate = b.read(24);
    const known = AAC_SAMPLE_RATES.indexOf(rate);
    return known >= 0 ? [known, rate] : [15, rate];
  }
  const rate = AAC_SAMPLE_RATES[idx];
  if (rate === undefined) {
    throw new PackagerError(ErrorCode.SOURCE_INVALID, `AudioSpecificConfig: reserved samplingFrequencyIndex ${idx}`);
  }
  return [idx, rate];
}

export function parseAudioSpecificConfig(asc: Uint8Array): AacConfig {
  const b = new Bits(asc);
  const objectType = readObjectType(b);
  if (objectType === 0) throw new PackagerError(ErrorCode.SOURCE_INVALID, 'AudioSpecificConfig: audioObjectType 0');
  const [samplingFrequencyIndex, coreRate] = readFrequency(b);
  const channelConfig = b.read(4);
  let sampleRate = coreRate;
  let ps = objectType === AOT_PS;

  if (objectType === AOT_SBR || objectType === AOT_PS) {
    // Explicit hierarchical signalling: the extension (output) rate follows; the core's object type
    // after it is not needed.
    sampleRate = readFrequency(b)[1];
  } else if (objectType === 2 && channelConfig !== 0) {
    let ext: { rate: number; ps: boolean } | null = null;
    try {
      ext = implicitExtension(b);
    } catch {
      ext = null; // truncated trailing extension: the core config is still valid
    }
    if (ext) {
      sampleRate = ext.rate;
      ps = ext.ps;
    }
    // objectType stays 2: a backward-compatible stream is meant to be announced as LC.
  }
  const cfg: AacConfig = { objectType, samplingFrequencyIndex, sampleRate, channelConfig };
  if (ps && channelConfig === 1) cfg.channels = 2;
  else if (CHANNELS_PER_CONFIG[channelConfig] !== channelConfig) cfg.channels = CHANNELS_PER_CONFIG[channelConfig]!;
  return cfg;
}

/**
 * Backward-compatible (implicit) SBR/PS signalling after an LC GASpecificConfig. Only LC with a
 * plain channel config gets here: anything else would need the full PCE/extension parse, and all
 * that is learnt is the output rate and channel count. Missing or unknown trailing bits are not an
 * error (most files have none).
 */
function implicitExtension(b: Bits): { rate: number; ps: boolean } | null {
  if (b.left < 3) return null;
  b.read(1); // frameLengthFlag
  if (b.read(1)) {
    if (b.left < 14) return null;
    b.read(14); // coreCoderDelay
  }
  if (b.left < 1) return null;
  b.read(1); // extensionFlag (0 for LC)
  if (b.left < 16 || b.read(11) !== 0x2b7) return null;
  if (readObjectType(b) !== AOT_SBR || b.left < 1 || !b.read(1)) return null;
  if (b.left < 4) return null;
  const rate = readFrequency(b)[1];
  const ps = b.left >= 12 && b.read(11) === 0x548 && b.read(1) === 1;
  return { rate, ps };
}

/** Output channel count (0 when the channel layout is only in a program config element). */
export function aacChannelCount(cfg: AacConfig): number {
  return cfg.channels ?? CHANNELS_PER_CONFIG[cfg.channelConfig] ?? 0;
}

export function aacCodecString(cfg: AacConfig): string {
  return `mp4a.40.${cfg.objectType}`;
}

export const ADTS_HEADER_SIZE = 7;

/**
 * Writes a 7-byte ADTS header (no CRC) at out[at..at+7) for a raw AAC frame of `frameLength` bytes.
 * HE-AAC (v1/v2) is written as its AAC-LC core (profile 1, core rate), which is how ADTS carries it:
 * the SBR/PS layers are found implicitly by the decoder.
 */
export function adtsHeader(cfg: AacConfig, frameLength: number, out: Uint8Array, at: number): void {
  const aot = cfg.objectType;
  let profile: number;
  if (aot === AOT_SBR || aot === AOT_PS) profile = 1;
  else if (aot >= 1 && aot <= 4) profile = aot - 1;
  else throw new PackagerError(ErrorCode.UNSUPPORTED_CODEC, `ADTS cannot carry audioObjectType ${aot}`);
  const sfi = cfg.samplingFrequencyIndex;
  if (sfi < 0 || sfi >= AAC_SAMPLE_RATES.length) {
    throw new PackagerError(ErrorCode.UNSUPPORTED_CODEC, `ADTS cannot carry a sampling rate of ${cfg.sampleRate} Hz`);
  }
  const ch = cfg.channelConfig;
  if (ch < 0 || ch > 7) throw new PackagerError(ErrorCode.UNSUPPORTED_CODEC, `ADTS cannot carry channelConfiguration ${ch}`);
  const len = frameLength + ADTS_HEADER_SIZE;
  if (frameLength < 0 || len > 0x1fff) {
    throw new PackagerError(ErrorCode.SOURCE_INVALID, `AAC frame of ${frameLength} bytes does not fit an ADTS frame`);
  }
  if (at < 0 || at + ADTS_HEADER_SIZE > out.length) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, `ADTS header at ${at} does not fit a ${out.length}-byte buffer`);
  }
  out[at] = 0xff;
  out[at + 1] = 0xf1; // sync, MPEG-4, layer 0, protection_absent
  out[at + 2] = (profile << 6) | (sfi << 2) | (ch >> 2);
  out[at + 3] = ((ch & 3) << 6) | (len >> 11);
  out[at + 4] = (len >> 3) & 0xff;
  out[at + 5] = ((len & 7) << 5) | 0x1f; // buffer fullness 0x7FF (VBR)
  out[at + 6] = 0xfc;
}
