/**
 * HLS SAMPLE-AES for MPEG-TS (Apple, "MPEG-2 Stream Encryption Format for HTTP Live Streaming";
 * FORMATS.md §3.2): which bytes of an H.264 NAL unit or an AAC frame are encrypted. AES-128-CBC, no
 * padding, the chain restarting from the EXT-X-KEY IV at every protected unit.
 *
 * H.264: only coded slices (NAL types 1 and 5) longer than 48 bytes. 32 clear bytes (the NAL header
 * byte and 31 more), then one encrypted 16-byte block, then up to 144 clear bytes, repeating; a block
 * is encrypted only while MORE than 16 bytes remain from its start (a NAL never ends on an encrypted
 * block). The NAL is encrypted as stored, emulation prevention bytes included; re-escaping the
 * result is the muxer's job (the decoder un-escapes once, then decrypts).
 *
 * AAC: the raw frame (after the ADTS header): 16 clear bytes, then every whole 16-byte block, the
 * partial tail clear; frames under 32 bytes stay clear.
 *
 * Speed: the crypt blocks of one NAL are gathered into a scratch buffer, encrypted with one cipher
 * call, and scattered back; audio blocks are contiguous and encrypted where they lie. The gather and
 * scatter move 32-bit words (words.ts): the scratch copy starts at the same alignment mod 4 as the
 * NAL's first crypt block, and the blocks are 160 bytes apart, so all of them line up. Bytewise, the
 * copies cost twice the AES (2.5 MB of 6 KB slices: 0.6 ms vs 0.3 ms).
 */
import { AES_BLOCK, CbcChains } from './cbc-chains.js';
import { WordView, copy16 } from './words.js';

/** Clear bytes at the start of a protected NAL unit (header byte + 31). */
export const NAL_CLEAR_LEAD = 32;
/** One encrypted block, then nine clear ones. */
export const NAL_PATTERN_STRIDE = 10 * AES_BLOCK;
/** NAL units of at most this many bytes stay clear (Apple's spec; shaka's minimum of 49). */
export const NAL_MAX_CLEAR_SIZE = 48;
/** Clear bytes at the start of a protected audio frame's raw payload. */
export const AUDIO_CLEAR_LEAD = 16;
/** Raw audio frames shorter than this stay clear (hls.js skips < 32, FFmpeg decrypts > 31). */
export const AUDIO_MIN_PROTECTED_SIZE = 32;

const AVC_NAL_SLICE = 1;
const AVC_NAL_IDR = 5;

/** Whether SAMPLE-AES encrypts an H.264 NAL unit whose header byte is `header` and size is `length`. */
export function isProtectedNal(header: number, length: number): boolean {
  const type = header & 0x1f;
  return (type === AVC_NAL_SLICE || type === AVC_NAL_IDR) && length > NAL_MAX_CLEAR_SIZE;
}

/**
 * Encrypted blocks in a protected NAL unit of `length` bytes: block k starts at 32 + 160k and is
 * encrypted while length - (32 + 160k) > 16, i.e. k < (length - 48) / 160.
 */
export function nalCryptBlocks(length: number): number {
  return length > NAL_MAX_CLEAR_SIZE ? Math.ceil((length - NAL_MAX_CLEAR_SIZE) / NAL_PATTERN_STRIDE) : 0;
}

/** Encrypted blocks in a raw audio frame of `length` bytes. */
export function audioCryptBlocks(length: number): number {
  return length >= AUDIO_MIN_PROTECTED_SIZE ? Math.floor((length - AUDIO_CLEAR_LEAD) / AES_BLOCK) : 0;
}

export class SampleAesEncryptor {
  private readonly chains: CbcChains;
  private scratch = new Uint8Array(4096);
  private scratchWords = new WordView(this.scratch);
  /** Word view of the buffer last encrypted in (a segment's samples: one buffer for every NAL). */
  private dataWords: WordView | undefined;

  /** key and iv: 16 bytes each; iv is the EXT-X-KEY IV of the segment. */
  constructor(key: Uint8Array, iv: Uint8Array) {
    this.chains = new CbcChains(key, iv);
  }

  /**
   * Encrypts the H.264 NAL unit data[start, end) (header byte first, as stored) in place if SAMPLE-AES
   * protects it. Returns whether it did: only those NAL units must be re-escaped.
   */
  encryptNal(data: Uint8Array, start: number, end: number): boolean {
    const length = end - start;
    if (length <= 0 || !isProtectedNal(data[start]!, length)) return false;
    const blocks = nalCryptBlocks(length);
    const bytes = blocks * AES_BLOCK;
    const words = this.wordsOf(data);
    const first = words.base + start + NAL_CLEAR_LEAD; // absolute in data's ArrayBuffer
    const at = first & 3;
    if (this.scratch.length < at + bytes) {
      this.scratch = new Uint8Array(2 * (at + bytes));
      this.scratchWords = new WordView(this.scratch);
    }
    const scratch = this.scratchWords;
    for (let k = 0, src = first, dst = at; k < blocks; k++, src += NAL_PATTERN_STRIDE, dst += AES_BLOCK) copy16(words, src, scratch, dst);
    this.chains.encryptChain(this.scratch, at, bytes);
    for (let k = 0, dst = first, src = at; k < blocks; k++, dst += NAL_PATTERN_STRIDE, src += AES_BLOCK) copy16(scratch, src, words, dst);
    return true;
  }

  private wordsOf(data: Uint8Array): WordView {
    const cached = this.dataWords;
    if (cached !== undefined && cached.u8.buffer === data.buffer && cached.base === data.byteOffset) return cached;
    this.dataWords = new WordView(data);
    return this.dataWords;
  }

  /**
   * Encrypts the raw AAC frame data[start, end) (the bytes after its ADTS header) in place if
   * SAMPLE-AES protects it; returns whether it did.
   */
  encryptAudioFrame(data: Uint8Array, start: number, end: number): boolean {
    const blocks = audioCryptBlocks(end - start);
    if (blocks === 0) return false;
    this.chains.encryptChain(data, start + AUDIO_CLEAR_LEAD, blocks * AES_BLOCK);
    return true;
  }
}
