/**
 * Differential tests: the fast ciphers (cenc: ECB keystream windows XORed by the SIMD kernels, or a CTR
 * cipher per sample; cbcs: short chains in lock step through ECB, long ones gathered through one running
 * CBC cipher) against the block-by-block reference, on random data and random subsample maps, each
 * path forced on its own and mixed. ffmpeg is the end-to-end oracle elsewhere (encrypt-fragment.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { encryptCbcs } from '../../../src/protect/cbcs-cipher.js';
import { encryptCenc } from '../../../src/protect/cenc-cipher.js';
import { writeSampleIv } from '../../../src/protect/iv.js';
import type { SampleRanges } from '../../../src/protect/ranges.js';
import { simdKernels } from '../../../src/protect/simd.js';
import { referenceCbcs, referenceCenc } from './reference-cipher.js';
import { seededRandom as rng } from '../../helpers/random.js';


function bytes(n: number, rand: () => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

interface Case {
  ranges: SampleRanges;
  payload: number;
}

/**
 * Samples of mixed sizes (tiny, AAC-like, around the 1 KB crossover, video-like), at a random offset,
 * each either whole-sample or split into random (clear, protected) subsamples.
 */
function randomCase(seed: number, withSubsamples: boolean, align16: boolean): Case {
  const rand = rng(seed);
  const n = 1 + ((rand() * 40) | 0);
  const sizes = new Uint32Array(n);
  const shapes = [0, 5, 15, 16, 17, 200, 350, 1000, 1023, 1024, 1040, 5000, 30000];
  for (let k = 0; k < n; k++) sizes[k] = rand() < 0.5 ? shapes[(rand() * shapes.length) | 0]! : (rand() * 20000) | 0;
  const index = new Uint32Array(n + 1);
  const clear: number[] = [];
  const prot: number[] = [];
  for (let k = 0; k < n; k++) {
    let left = sizes[k]!;
    const parts = 1 + ((rand() * 5) | 0);
    for (let j = 0; j < parts; j++) {
      const last = j === parts - 1;
      let c = Math.min(left, (rand() * 300) | 0);
      left -= c;
      let p = last ? left : Math.min(left, (rand() * 8000) | 0);
      if (align16) {
        const cut = p % 16;
        p -= cut;
        // The last subsample's leftover joins its clear part, keeping the sum exact.
        if (last) {
          c += cut;
          left -= cut;
        }
      }
      clear.push(c);
      prot.push(p);
      left -= p;
    }
    if (left > 0) {
      clear.push(left);
      prot.push(0);
    }
    index[k + 1] = clear.length;
  }
  const payload = sizes.reduce((a, b) => a + b, 0);
  const at = (rand() * 37) | 0;
  const data = bytes(at + payload + 11, rand);
  return {
    ranges: {
      data,
      at,
      sizes,
      subsamples: withSubsamples ? { index, clearBytes: Uint32Array.from(clear), protectedBytes: Uint32Array.from(prot) } : undefined,
    },
    payload,
  };
}

function withData(r: SampleRanges, data: Uint8Array): SampleRanges {
  return { ...r, data };
}

function checkSums(c: Case): void {
  const sub = c.ranges.subsamples;
  if (!sub) return;
  for (let k = 0; k < c.ranges.sizes.length; k++) {
    let s = 0;
    for (let j = sub.index[k]!; j < sub.index[k + 1]!; j++) s += sub.clearBytes[j]! + sub.protectedBytes[j]!;
    expect(s).toBe(c.ranges.sizes[k]);
  }
}

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
const IV16 = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

/** cenc paths: the default mix, every sample through a CTR cipher of its own, every sample through the windows. */
const CENC_PATHS = [
  ['mixed', undefined],
  ['own CTR ciphers', 0],
  ['keystream windows', Infinity],
] as const;

/** Each cenc path against the reference (computed once: it is the slow part). */
function checkCenc(ranges: SampleRanges, ivs: Uint8Array, what: string): void {
  const slow = ranges.data.slice();
  referenceCenc(withData(ranges, slow), KEY, ivs);
  for (const [path, ownCipherFrom] of CENC_PATHS) {
    const fast = ranges.data.slice();
    encryptCenc(withData(ranges, fast), KEY, ivs, ownCipherFrom);
    expect(Buffer.compare(fast, slow), `${what}, ${path}`).toBe(0);
    // Decrypting (the same operation) restores the input.
    encryptCenc(withData(ranges, fast), KEY, ivs, ownCipherFrom);
    expect(Buffer.compare(fast, ranges.data), `${what}, ${path}, decrypted`).toBe(0);
  }
}

describe('encryptCenc matches the block-by-block CTR reference, on each path', () => {
  it('has the SIMD kernels on this platform (else only the CTR fallback is tested)', () => {
    expect(simdKernels).toBeDefined();
  });

  it.each([
    ['whole samples', false, false],
    ['16-aligned subsamples', true, true],
    ['unaligned subsamples (keystream continues across ranges)', true, false],
  ] as const)('%s, 40 random segments', (_name, withSub, align) => {
    for (let seed = 1; seed <= 40; seed++) {
      const c = randomCase(seed, withSub, align);
      checkSums(c);
      const rand = rng(seed * 7);
      const ivs = bytes(8 * c.ranges.sizes.length, rand);
      // All-ones IVs: the counter block is IV || n with n from 0, so nothing may carry into the IV half.
      if (seed % 3 === 0) for (let i = 0; i < ivs.length; i++) ivs[i] = 0xff;
      checkCenc(c.ranges, ivs, `seed ${seed}`);
    }
  });

  it('1- and 15-byte samples and tails, samples straddling the 64 KB windows, IVs wrapping at 2^64', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const rand = rng(1000 + seed);
      const shapes = [1, 15, 16, 17, 31, 33, 1023, 65536 + 1, 65536 + 15, 100_000];
      const n = 5 + ((rand() * 40) | 0);
      const sizes = new Uint32Array(n);
      for (let k = 0; k < n; k++) sizes[k] = shapes[(rand() * shapes.length) | 0]!;
      const index = new Uint32Array(n + 1);
      const clear: number[] = [];
      const prot: number[] = [];
      for (let k = 0; k < n; k++) {
        const size = sizes[k]!;
        if (size > 40 && rand() < 0.7) {
          // (clear, whole blocks), then (clear, a 1- or 15-byte protected tail).
          const tail = rand() < 0.5 ? 1 : 15;
          const c0 = 1 + ((rand() * 20) | 0);
          const p0 = (size - c0 - tail - 7) & ~15;
          clear.push(c0, size - c0 - p0 - tail);
          prot.push(p0, tail);
        } else {
          clear.push(0);
          prot.push(size);
        }
        index[k + 1] = clear.length;
      }
      const payload = sizes.reduce((a, b) => a + b, 0);
      const at = (rand() * 37) | 0;
      const data = bytes(at + payload + 5, rand);
      const sub = seed % 2 ? undefined : { index, clearBytes: Uint32Array.from(clear), protectedBytes: Uint32Array.from(prot) };
      // IV base a few samples short of 2^64: IV_k = base + k wraps to 0 within the run.
      const short = (rand() * 4) | 0;
      const base = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff - short]);
      const ivs = new Uint8Array(8 * n);
      for (let k = 0; k < n; k++) writeSampleIv(base, k, ivs, 8 * k);
      expect(Array.from(ivs.subarray(8 * (short + 1), 8 * (short + 2)))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      checkCenc({ data, at, sizes, subsamples: sub }, ivs, `seed ${seed}`);
    }
  });
});

/** cbcs paths: the default mix, all chains through the CBC cipher, all in lock step, and a low threshold. */
const CBCS_PATHS = [
  ['mixed', undefined],
  ['CBC cipher only', 0],
  ['lock step only', Infinity],
  ['lock step up to 3 blocks', 3],
] as const;

describe('encryptCbcs matches the block-by-block CBC pattern reference, on each path', () => {
  it.each([
    ['1:9 video pattern over subsamples', true, 1, 9],
    ['0:0 whole blocks of whole samples (audio)', false, 0, 0],
    ['0:0 over subsamples', true, 0, 0],
    ['2:3, a pattern with several crypt blocks', true, 2, 3],
    ['1:9 over whole samples', false, 1, 9],
  ] as const)('%s, 40 random segments', (_name, withSub, crypt, skip) => {
    for (let seed = 100; seed < 140; seed++) {
      const c = randomCase(seed, withSub, false);
      checkSums(c);
      const slow = c.ranges.data.slice();
      referenceCbcs(withData(c.ranges, slow), KEY, IV16, crypt, skip);
      for (const [path, shortChain] of CBCS_PATHS) {
        const fast = c.ranges.data.slice();
        encryptCbcs(withData(c.ranges, fast), KEY, IV16, { cryptByteBlock: crypt, skipByteBlock: skip }, shortChain);
        expect(Buffer.compare(fast, slow), `seed ${seed}, ${path}`).toBe(0);
      }
      // And the reference decrypter gives the input back.
      referenceCbcs(withData(c.ranges, slow), KEY, IV16, crypt, skip, true);
      expect(Buffer.compare(slow, c.ranges.data), `seed ${seed}`).toBe(0);
    }
  });

  it('leaves skipped blocks and partial tail blocks clear, and restarts the chain for identical ranges', () => {
    // Two identical 200-byte subsamples: same ciphertext (fresh chain from the IV each time).
    const data = new Uint8Array(400).fill(0x5a);
    const ranges: SampleRanges = {
      data,
      at: 0,
      sizes: [400],
      subsamples: { index: Uint32Array.of(0, 2), clearBytes: Uint32Array.of(0, 0), protectedBytes: Uint32Array.of(200, 200) },
    };
    encryptCbcs(ranges, KEY, IV16, { cryptByteBlock: 1, skipByteBlock: 9 });
    expect(Buffer.compare(data.subarray(0, 200), data.subarray(200, 400))).toBe(0);
    // Blocks 0 and 10 (bytes 0-15, 160-175) are encrypted; 16..159 and the 8-byte tail 192..199 are clear.
    expect(data.subarray(0, 16).every((b) => b === 0x5a)).toBe(false);
    expect(data.subarray(160, 176).every((b) => b === 0x5a)).toBe(false);
    expect(data.subarray(16, 160).every((b) => b === 0x5a)).toBe(true);
    expect(data.subarray(176, 200).every((b) => b === 0x5a)).toBe(true);
  });
});
