/**
 * Test-only, obviously-correct CENC ciphers: one AES block at a time through a single-block ECB call,
 * the chaining and counters written out by hand from ISO/IEC 23001-7. Slow on purpose; they are the
 * yardstick for the fast gathered/batched implementations in src/protect.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { SampleRanges } from '../../../src/protect/ranges.js';

function aesBlock(key: Uint8Array, block: Uint8Array, decrypt = false): Uint8Array {
  const c = decrypt ? createDecipheriv('aes-128-ecb', key, null) : createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block));
}

/** [offset, length] of each protected range of sample k, offsets absolute in ranges.data. */
export function protectedRanges(r: SampleRanges, k: number, sampleStart: number): [number, number][] {
  const sub = r.subsamples;
  if (!sub) return [[sampleStart, r.sizes[k]!]];
  const out: [number, number][] = [];
  let p = sampleStart;
  for (let j = sub.index[k]!; j < sub.index[k + 1]!; j++) {
    p += sub.clearBytes[j]!;
    out.push([p, sub.protectedBytes[j]!]);
    p += sub.protectedBytes[j]!;
  }
  return out;
}

function forEachSample(r: SampleRanges, fn: (k: number, start: number) => void): void {
  let pos = r.at;
  for (let k = 0; k < r.sizes.length; k++) {
    fn(k, pos);
    pos += r.sizes[k]!;
  }
}

/** cenc (CTR is its own inverse): counter block = IV(8) || big-endian block number; one keystream per sample. */
export function referenceCenc(r: SampleRanges, key: Uint8Array, ivs: Uint8Array): void {
  forEachSample(r, (k, start) => {
    let byteInStream = 0;
    let keystream: Uint8Array = new Uint8Array(0);
    for (const [off, len] of protectedRanges(r, k, start)) {
      for (let i = 0; i < len; i++, byteInStream++) {
        if (byteInStream % 16 === 0) {
          const counter = new Uint8Array(16);
          counter.set(ivs.subarray(8 * k, 8 * k + 8));
          new DataView(counter.buffer).setBigUint64(8, BigInt(byteInStream / 16));
          keystream = aesBlock(key, counter);
        }
        r.data[off + i] = r.data[off + i]! ^ keystream[byteInStream % 16]!;
      }
    }
  });
}

/** Whole-block positions encrypted in a protected range of `len` bytes under crypt:skip (0:0 = all). */
export function cryptBlocks(len: number, crypt: number, skip: number): number[] {
  const out: number[] = [];
  for (let b = 0; (b + 1) * 16 <= len; b++) if (crypt === 0 || b % (crypt + skip) < crypt) out.push(b * 16);
  return out;
}

/** cbcs, either way: each protected range one CBC chain from the IV over its crypt blocks only. */
export function referenceCbcs(r: SampleRanges, key: Uint8Array, iv: Uint8Array, crypt: number, skip: number, decrypt = false): void {
  forEachSample(r, (k, start) => {
    for (const [off, len] of protectedRanges(r, k, start)) {
      let prev: Uint8Array = Uint8Array.from(iv);
      for (const b of cryptBlocks(len, crypt, skip)) {
        const at = off + b;
        const block = r.data.slice(at, at + 16);
        if (decrypt) {
          const plain = aesBlock(key, block, true).map((x, i) => x ^ prev[i]!);
          r.data.set(plain, at);
          prev = block;
        } else {
          const cipher = aesBlock(key, block.map((x, i) => x ^ prev[i]!));
          r.data.set(cipher, at);
          prev = cipher;
        }
      }
    }
  });
}
