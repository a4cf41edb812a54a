/**
 * The MPEG-TS side of HLS SAMPLE-AES (FORMATS.md §3.2): encrypting a segment's samples before they
 * are muxed, re-escaping encrypted NAL units on the way out, and the PMT signalling (stream types
 * 0xDB / 0xCF with their private_data_indicator and `apad` descriptors).
 *
 * The samples are encrypted once per segment, into a copy of the sample data (the caller's bytes are
 * left alone), before the muxer's measure pass. Encryption keeps sizes, but re-escaping does not, so
 * the insertion points of the extra emulation prevention bytes are found at the same time; the NAL
 * writer handed to the Annex B conversion applies them in both passes, so the measured and the
 * written PES sizes agree by construction.
 */
import type { AacConfig } from '../../media/codec/aac.js';
import { forEachNal } from '../../media/codec/avc.js';
import { ErrorCode, PackagerError } from '../../media/errors.js';
import type { Track } from '../../media/track.js';
import { SampleAesEncryptor } from '../../protect/sample-aes.js';
import type { NalBodyWriter } from './annexb.js';
import { findEscapes, writeEscaped } from './escape.js';
import { STREAM_TYPE_AAC_SAMPLE_AES, STREAM_TYPE_H264_SAMPLE_AES } from './psi.js';
import type { PmtStream } from './psi.js';

/** The EXT-X-KEY key and IV (16 bytes each) of the segment. */
export interface SampleAesKey {
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
}

/**
 * PMT version_number of SAMPLE-AES segments. Clear segments carry version 0, so a playlist that
 * starts in the clear (a clear lead, METHOD=NONE) and switches to SAMPLE-AES announces the changed
 * stream types with a new version, as shaka-packager does; a demuxer that ignores a PMT whose version
 * it has seen would otherwise keep treating 0xDB as unknown or the stream as clear.
 */
export const SAMPLE_AES_PMT_VERSION = 1;

const TAG_PRIVATE_DATA_INDICATOR = 0x0f;
const TAG_REGISTRATION = 0x05;
const AOT_AAC_LC = 2;
const AOT_SBR = 5;
const AOT_PS = 29;

function fourcc(s: string): number[] {
  return [s.charCodeAt(0), s.charCodeAt(1), s.charCodeAt(2), s.charCodeAt(3)];
}

function privateDataIndicator(id: string): number[] {
  return [TAG_PRIVATE_DATA_INDICATOR, 4, ...fourcc(id)];
}

/** H.264 under SAMPLE-AES: stream_type 0xDB, private_data_indicator 'zavc'. */
export function sampleAesVideoStream(clear: PmtStream): PmtStream {
  return {
    streamType: STREAM_TYPE_H264_SAMPLE_AES,
    pid: clear.pid,
    descriptors: Uint8Array.from([...privateDataIndicator('zavc'), ...clear.descriptors]),
  };
}

/** The audio_type of Apple's audio setup information for an AAC stream. */
export function aacAudioType(cfg: AacConfig): 'zaac' | 'zach' | 'zacp' {
  switch (cfg.objectType) {
    case AOT_AAC_LC:
      return 'zaac';
    case AOT_SBR:
      return 'zach';
    case AOT_PS:
      return 'zacp';
    default:
      throw new PackagerError(
        ErrorCode.UNSUPPORTED_CODEC,
        `SAMPLE-AES in MPEG-TS defines AAC-LC, HE-AAC and HE-AACv2 only, not audioObjectType ${cfg.objectType}`,
      );
  }
}

/**
 * ADTS AAC under SAMPLE-AES: stream_type 0xCF, private_data_indicator 'aacd', then a registration
 * descriptor 'apad' whose additional_identification_info is the audio setup information: audio_type
 * 4CC, priming (u16, 0: the edit list is applied by timestamps), version (u8, 1), setup_data_length
 * (u8) and the AudioSpecificConfig. Any clear descriptors (language) follow.
 */
export function sampleAesAudioStream(clear: PmtStream, asc: Uint8Array, cfg: AacConfig): PmtStream {
  const setup = [...fourcc(aacAudioType(cfg)), 0x00, 0x00, 0x01, asc.length, ...asc];
  const registration = [TAG_REGISTRATION, 4 + setup.length, ...fourcc('apad'), ...setup];
  if (asc.length > 0xff || registration[1]! > 0xff) {
    throw new PackagerError(ErrorCode.UNSUPPORTED_CODEC, `AudioSpecificConfig of ${asc.length} bytes does not fit SAMPLE-AES audio setup information`);
  }
  return {
    streamType: STREAM_TYPE_AAC_SAMPLE_AES,
    pid: clear.pid,
    descriptors: Uint8Array.from([...privateDataIndicator('aacd'), ...registration, ...clear.descriptors]),
  };
}

/**
 * A copy of the segment's sample bytes, as a Buffer (its indexOf finds zero bytes natively) and as a
 * plain Uint8Array over the same memory for the muxer: the packetizer's subarray() calls on a Buffer
 * go through Buffer's species constructor and made the write pass ~2x slower.
 */
function copyOf(sampleData: Uint8Array): { buffer: Buffer; bytes: Uint8Array } {
  const buffer = Buffer.allocUnsafe(sampleData.length);
  buffer.set(sampleData);
  return { buffer, bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length) };
}

export interface EncryptedVideo {
  /** The sample bytes with every protected NAL unit encrypted (sizes unchanged). */
  readonly data: Uint8Array;
  /** Writes a NAL unit of `data`, re-escaped if it was encrypted. */
  readonly nalBody: NalBodyWriter;
}

/**
 * Encrypts the H.264 samples [start, end) of `track` (bytes back to back in sampleData, NAL lengths
 * of nalLengthSize bytes) and returns them with the NAL writer that re-escapes the encrypted NALs.
 */
export function encryptVideoSamples(
  track: Track,
  start: number,
  end: number,
  sampleData: Uint8Array,
  nalLengthSize: number,
  keys: SampleAesKey,
): EncryptedVideo {
  const { buffer, bytes: data } = copyOf(sampleData);
  const encryptor = new SampleAesEncryptor(keys.key, keys.iv);
  const escapes: number[] = [];
  const sizes = track.samples.size;
  let offset = 0;
  for (let i = start; i < end; i++) {
    const size = sizes[i]!;
    const base = offset;
    // Offsets into the whole copy, not the sample's subarray: the encryptor keeps one word view of it.
    forEachNal(data.subarray(base, base + size), nalLengthSize, (s, e) => {
      if (encryptor.encryptNal(data, base + s, base + e)) findEscapes(buffer, base + s, base + e, escapes);
    });
    offset += size;
  }
  const nalBody: NalBodyWriter = (sink, sample, s, e) => {
    if (sample.buffer !== data.buffer) {
      throw new PackagerError(ErrorCode.MUX_FAILURE, 'SAMPLE-AES: a NAL unit from outside the encrypted sample data');
    }
    const base = sample.byteOffset - data.byteOffset;
    if (escapes.length === 0) sink.write(data, base + s, base + e);
    else writeEscaped(sink, data, base + s, base + e, escapes);
  };
  return { data, nalBody };
}

/** Encrypts the raw AAC frames [start, end) of `track` (before their ADTS headers are added). */
export function encryptAudioSamples(track: Track, start: number, end: number, sampleData: Uint8Array, keys: SampleAesKey): Uint8Array {
  const { bytes: data } = copyOf(sampleData);
  const encryptor = new SampleAesEncryptor(keys.key, keys.iv);
  const sizes = track.samples.size;
  let offset = 0;
  for (let i = start; i < end; i++) {
    const size = sizes[i]!;
    encryptor.encryptAudioFrame(data, offset, offset + size);
    offset += size;
  }
  return data;
}
