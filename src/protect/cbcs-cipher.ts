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
 * Measured (2-core VM, 1 MB, 1:9): ~1.0 ms per MB with 100 chains vs ~1.2 ms with a cipher per chain;
 * 0.5 vs 0.3 GB/s with 1000 chains.
 */
import { type Cipher, createCipheriv } from 'node:crypto';
import { type SampleRanges } from './ranges.js';

export interface CbcsPattern {
  readonly cryptByteBlock: number;
  readonly skipByteBlock: number;
}

/** Encrypts in place. iv: the 16-byte constant IV. */
export function encryptCbcs(ranges: SampleRanges, key: Uint8Array, iv: Uint8Array, pattern: CbcsPattern): void {
  const chain = new CbcChain(key, iv, pattern);
  const { sizes, subsamples: sub } = ranges;
  let pos = ranges.at;
  for (let k = 0; k < sizes.length; k++) {
    const size = sizes[k]!;
    if (!sub) {
      chain.encryptRange(ranges.data, pos, size);
    } else {
      let p = pos;
      for (let j = sub.index[k]!; j < sub.index[k + 1]!; j++) {
        p += sub.clearBytes[j]!;
        const len = sub.protectedBytes[j]!;
        chain.encryptRange(ranges.data, p, len);
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
  private scratch: Buffer = Buffer.alloc(0);

  constructor(key: Uint8Array, iv: Uint8Array, pattern: CbcsPattern) {
    this.cipher = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
    this.iv = iv;
    this.last = Uint8Array.from(iv);
    this.crypt = pattern.cryptByteBlock;
    this.stride = 16 * (pattern.cryptByteBlock + pattern.skipByteBlock);
  }

  /** One protected range data[p, p + len): a fresh chain from the IV. */
  encryptRange(data: Uint8Array, p: number, len: number): void {
    const whole = len - (len % 16);
    if (whole === 0) return;
    if (this.crypt === 0) {
      // 0:0: the range's whole blocks are contiguous; no gathering needed.
      this.restartChain(data, p);
      const out = this.cipher.update(data.subarray(p, p + whole));
      data.set(out, p);
      this.keepLast(out, whole);
      return;
    }
    const g = this.gather(data, p, len);
    this.restartChain(this.scratch, 0);
    const out = this.cipher.update(this.scratch.subarray(0, g));
    this.scatter(out, data, p, len);
    this.keepLast(out, g);
  }

  private restartChain(buf: Uint8Array, at: number): void {
    for (let i = 0; i < 16; i++) buf[at + i]! ^= this.iv[i]! ^ this.last[i]!;
  }

  private keepLast(out: Uint8Array, n: number): void {
    for (let i = 0; i < 16; i++) this.last[i] = out[n - 16 + i]!;
  }

  /** Copies the crypt blocks of the range into scratch; returns their byte count. */
  private gather(data: Uint8Array, p: number, len: number): number {
    const groups = Math.ceil(len / this.stride);
    if (this.scratch.length < groups * 16 * this.crypt) this.scratch = Buffer.alloc(groups * 16 * this.crypt * 2);
    const s = this.scratch;
    let g = 0;
    for (let off = 0; len - off >= 16; off += this.stride) {
      for (let b = 0, o = p + off; b < this.crypt && p + len - o >= 16; b++, o += 16) {
        for (let i = 0; i < 16; i++) s[g + i] = data[o + i]!;
        g += 16;
      }
    }
    return g;
  }

  private scatter(out: Uint8Array, data: Uint8Array, p: number, len: number): void {
    let g = 0;
    for (let off = 0; len - off >= 16; off += this.stride) {
      for (let b = 0, o = p + off; b < this.crypt && p + len - o >= 16; b++, o += 16) {
        for (let i = 0; i < 16; i++) data[o + i] = out[g + i]!;
        g += 16;
      }
    }
  }
}
