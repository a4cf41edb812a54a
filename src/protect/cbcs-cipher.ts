/**
 * 'cbcs': AES-128-CBC with a pattern over each protected range (CENC §10.4, FORMATS.md §1.2). Every
 * protected range (every subsample; a whole audio sample) starts a new CBC chain from the same
 * constant IV; in it, `crypt` 16-byte blocks are encrypted then `skip` left clear, repeating, and the
 * chain runs through the encrypted blocks only. Only whole blocks are encrypted: a partial block at the
 * end of a range stays clear. Pattern 0:0 means every whole block of the range.
 *
 * Speed: the crypt blocks of a range are gathered into one scratch buffer and encrypted with one
 * update() (never one call per block). One CBC cipher serves the whole fragment: a new chain is started
 * by XORing the range's first block with IV ^ (the cipher's last ciphertext block), so the cipher's
 * running state cancels out and the block is enciphered as P0 ^ IV — what a fresh cipher would do.
 * Measured (shared 2-core VM, 1 MB, 1:9): ~1.0 ms per MB with 100 chains vs ~1.2 ms with a cipher per
 * chain; 0.5 vs 0.3 GB/s with 1000 chains. The gather and scatter then copy 32-bit words (words.ts):
 * the scratch copy of a range starts at the same alignment mod 4 as the range (its crypt blocks are a
 * multiple of 16 bytes apart, so all share it). That took a 2 MB, 200-slice segment from 1.1 to
 * 0.8 ms, about the time of one raw aes-128-ctr call over all its bytes.
 */
import { type Cipher, createCipheriv } from 'node:crypto';
import { type SampleRanges } from './ranges.js';
import { WordView, copy16 } from './words.js';

export interface CbcsPattern {
  readonly cryptByteBlock: number;
  readonly skipByteBlock: number;
}

/** Encrypts in place. iv: the 16-byte constant IV. */
export function encryptCbcs(ranges: SampleRanges, key: Uint8Array, iv: Uint8Array, pattern: CbcsPattern): void {
  const chain = new CbcChain(key, iv, pattern, ranges.data);
  const { sizes, subsamples: sub } = ranges;
  let pos = ranges.at;
  for (let k = 0; k < sizes.length; k++) {
    const size = sizes[k]!;
    if (!sub) {
      chain.encryptRange(pos, size);
    } else {
      let p = pos;
      for (let j = sub.index[k]!; j < sub.index[k + 1]!; j++) {
        p += sub.clearBytes[j]!;
        const len = sub.protectedBytes[j]!;
        chain.encryptRange(p, len);
        p += len;
      }
    }
    pos += size;
  }
}

class CbcChain {
  private readonly cipher: Cipher;
  private readonly iv: Uint8Array;
  /** The cipher's last ciphertext block: what its next block will be XORed with. */
  private readonly last: Uint8Array;
  private readonly crypt: number;
  private readonly stride: number;
  private readonly data: Uint8Array;
  private readonly dataWords: WordView;
  private scratch = new Uint8Array(0);
  private scratchWords = new WordView(this.scratch);

  constructor(key: Uint8Array, iv: Uint8Array, pattern: CbcsPattern, data: Uint8Array) {
    this.cipher = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
    this.iv = iv;
    this.last = Uint8Array.from(iv);
    this.crypt = pattern.cryptByteBlock;
    this.stride = 16 * (pattern.cryptByteBlock + pattern.skipByteBlock);
    this.data = data;
    this.dataWords = new WordView(data);
  }

  /** One protected range data[p, p + len): a fresh chain from the IV. */
  encryptRange(p: number, len: number): void {
    const whole = len - (len % 16);
    if (whole === 0) return;
    const data = this.data;
    if (this.crypt === 0) {
      // 0:0: the range's whole blocks are contiguous; no gathering needed.
      this.restartChain(data, p);
      const out = this.cipher.update(data.subarray(p, p + whole));
      data.set(out, p);
      this.keepLast(out, whole);
      return;
    }
    // Crypt blocks of the range into scratch[at, at + n), `at` aligned like the range itself.
    const abs = this.dataWords.base + p;
    const at = abs & 3;
    const n = this.blockBytes(len);
    if (this.scratch.length < at + n) {
      this.scratch = new Uint8Array(2 * (at + n));
      this.scratchWords = new WordView(this.scratch);
    }
    this.moveCryptBlocks(abs, len, at, true);
    this.restartChain(this.scratch, at);
    const out = this.cipher.update(this.scratch.subarray(at, at + n));
    this.keepLast(out, n);
    // Back through scratch, where the alignment matches (out's own may not).
    this.scratch.set(out, at);
    this.moveCryptBlocks(abs, len, at, false);
  }

  /** Bytes of the whole crypt blocks in a range of `len` bytes. */
  private blockBytes(len: number): number {
    const groups = Math.floor(len / this.stride);
    const rest = Math.min(this.crypt, Math.floor((len - groups * this.stride) / 16));
    return 16 * (groups * this.crypt + rest);
  }

  /** Copies each whole crypt block of the range at `abs` to (gather) or from scratch[at...] (scatter). */
  private moveCryptBlocks(abs: number, len: number, at: number, gather: boolean): void {
    const end = abs + len;
    const data = this.dataWords;
    const scratch = this.scratchWords;
    let g = at;
    for (let group = abs; end - group >= 16; group += this.stride) {
      for (let b = 0, a = group; b < this.crypt && end - a >= 16; b++, a += 16, g += 16) {
        if (gather) copy16(data, a, scratch, g);
        else copy16(scratch, g, data, a);
      }
    }
  }

  private restartChain(buf: Uint8Array, at: number): void {
    for (let i = 0; i < 16; i++) buf[at + i] = buf[at + i]! ^ this.iv[i]! ^ this.last[i]!;
  }

  private keepLast(out: Uint8Array, n: number): void {
    for (let i = 0; i < 16; i++) this.last[i] = out[n - 16 + i]!;
  }
}
