import { createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SampleAesEncryptor, audioCryptBlocks, isProtectedNal, nalCryptBlocks } from '../../../src/protect/sample-aes.js';
import {
  audioBlockOffsets,
  expectBytes,
  nalBlockOffsets,
  referenceDecryptAudio,
  referenceDecryptNal,
  referenceEncryptAudio,
  referenceEncryptNal,
} from './sample-aes-reference.js';

const KEY = Uint8Array.from(Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex'));
const IV = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));

/** A deterministic pseudo-random byte source (xorshift), so failures reproduce. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A NAL unit of `length` bytes with header byte `header`. */
function nal(length: number, header = 0x65, seed = length): Uint8Array {
  const n = bytes(length, seed);
  if (length > 0) n[0] = header;
  return n;
}

function encryptNal(n: Uint8Array, enc = new SampleAesEncryptor(KEY, IV)): { out: Uint8Array; done: boolean } {
  const out = Uint8Array.from(n);
  const done = enc.encryptNal(out, 0, out.length);
  return { out, done };
}

describe('H.264 NAL units', () => {
  it('encrypts 16 bytes at 32, 192, 352 ... while MORE than 16 bytes remain (strict >)', () => {
    const cases: [number, number[]][] = [
      [48, []],
      [49, [32]],
      [64, [32]],
      [65, [32]],
      [192, [32]],
      [193, [32]],
      [208, [32]],
      [209, [32, 192]],
      [368, [32, 192]],
      [369, [32, 192, 352]],
      [529, [32, 192, 352, 512]],
    ];
    for (const [length, blocks] of cases) {
      expect(nalBlockOffsets(length), `reference, ${length} bytes`).toEqual(blocks);
      expect(nalCryptBlocks(length), `count, ${length} bytes`).toBe(blocks.length);
      const n = nal(length);
      const { out, done } = encryptNal(n);
      expect(done).toBe(blocks.length > 0);
      // Exactly the expected blocks changed, each in full (a changed block differs somewhere in 16 bytes).
      const changed = new Set<number>();
      for (let i = 0; i < length; i++) if (out[i] !== n[i]) changed.add(i);
      for (const i of changed) expect(blocks.some((b) => i >= b && i < b + 16), `${length}: byte ${i} changed`).toBe(true);
      for (const b of blocks) expect(out.subarray(b, b + 16)).not.toEqual(n.subarray(b, b + 16));
      // The 32-byte lead and the tail after the last block are clear.
      expect(out.subarray(0, 32)).toEqual(n.subarray(0, 32));
      if (blocks.length) expect(length - (blocks.at(-1)! + 16)).toBeGreaterThanOrEqual(1);
    }
  });

  it('counts blocks like the spec loop for every size up to 2000', () => {
    for (let length = 0; length <= 2000; length++) expect(nalCryptBlocks(length)).toBe(nalBlockOffsets(length).length);
  });

  it('protects only coded slices (types 1 and 5) longer than 48 bytes', () => {
    for (const header of [0x65, 0x25, 0x05, 0x41, 0x21, 0x01]) {
      expect(isProtectedNal(header, 49)).toBe(true);
      expect(isProtectedNal(header, 48)).toBe(false);
    }
    for (const header of [0x67, 0x68, 0x06, 0x09, 0x0c, 0x02, 0x14]) {
      expect(isProtectedNal(header, 500)).toBe(false);
      const n = nal(500, header);
      const { out, done } = encryptNal(n);
      expect(done).toBe(false);
      expect(out).toEqual(n);
    }
  });

  it('matches the block-by-block reference on random NALs, through one encryptor (IV reset per NAL)', () => {
    const enc = new SampleAesEncryptor(KEY, IV);
    for (let k = 0; k < 300; k++) {
      const length = k < 100 ? 40 + k : 1 + ((k * 7919) % 20000);
      const n = nal(length, k % 2 ? 0x65 : 0x41, k + 1);
      const { out } = encryptNal(n, enc);
      expectBytes(out, referenceEncryptNal(n, KEY, IV), `NAL ${k} (${length} bytes)`);
      expectBytes(referenceDecryptNal(out, KEY, IV), n);
    }
  });

  it('restarts the chain from the IV at every NAL: identical NALs encrypt identically', () => {
    const enc = new SampleAesEncryptor(KEY, IV);
    const n = nal(1000);
    const a = encryptNal(n, enc).out;
    const b = encryptNal(n, enc).out;
    expect(a).not.toEqual(n);
    expect(b).toEqual(a);
    expect(encryptNal(n, new SampleAesEncryptor(KEY, IV)).out).toEqual(a);
  });

  it('chains the crypt blocks of one NAL (skipped blocks are not in the chain): Node CBC over the gathered blocks decrypts it', () => {
    const n = nal(2000);
    const { out } = encryptNal(n);
    const offsets = nalBlockOffsets(n.length);
    const gathered = Buffer.concat(offsets.map((o) => out.subarray(o, o + 16)));
    const d = createDecipheriv('aes-128-cbc', KEY, IV).setAutoPadding(false);
    const plain = Buffer.concat([d.update(gathered), d.final()]);
    expect(plain).toEqual(Buffer.concat(offsets.map((o) => n.subarray(o, o + 16))));
  });

  it('encrypts in place within a larger buffer and leaves the neighbours alone', () => {
    const buf = bytes(3000, 7);
    const before = Uint8Array.from(buf);
    buf[1000] = 0x65;
    before[1000] = 0x65;
    new SampleAesEncryptor(KEY, IV).encryptNal(buf, 1000, 1500);
    expect(buf.subarray(0, 1000)).toEqual(before.subarray(0, 1000));
    expect(buf.subarray(1500)).toEqual(before.subarray(1500));
    expect(buf.subarray(1000, 1500)).toEqual(referenceEncryptNal(before.subarray(1000, 1500), KEY, IV));
  });
});

describe('AAC frames', () => {
  it('leaves frames under 32 bytes clear; then 16 clear bytes, whole blocks, the partial tail clear', () => {
    const cases: [number, number[]][] = [
      [0, []],
      [16, []],
      [31, []],
      [32, [16]],
      [33, [16]],
      [47, [16]],
      [48, [16, 32]],
      [100, [16, 32, 48, 64, 80]],
    ];
    for (const [length, blocks] of cases) {
      expect(audioBlockOffsets(length)).toEqual(blocks);
      expect(audioCryptBlocks(length)).toBe(blocks.length);
      const frame = bytes(length, length + 3);
      const out = Uint8Array.from(frame);
      expect(new SampleAesEncryptor(KEY, IV).encryptAudioFrame(out, 0, length)).toBe(blocks.length > 0);
      expect(out.subarray(0, 16)).toEqual(frame.subarray(0, 16));
      const end = 16 + 16 * blocks.length;
      if (blocks.length) {
        for (const b of blocks) expect(out.subarray(b, b + 16)).not.toEqual(frame.subarray(b, b + 16));
        expect(out.subarray(end)).toEqual(frame.subarray(end));
      } else {
        expect(out).toEqual(frame);
      }
    }
  });

  it('matches the reference frame after frame (IV reset per frame) and decrypts back', () => {
    const enc = new SampleAesEncryptor(KEY, IV);
    const sizes = [400, 400, 31, 32, 250, 6, 1000, 17];
    const data = bytes(sizes.reduce((a, b) => a + b, 0), 99);
    const original = Uint8Array.from(data);
    let p = 0;
    for (const size of sizes) {
      enc.encryptAudioFrame(data, p, p + size);
      p += size;
    }
    p = 0;
    for (const size of sizes) {
      const frame = original.subarray(p, p + size);
      expect(data.subarray(p, p + size), `frame of ${size}`).toEqual(referenceEncryptAudio(frame, KEY, IV));
      expect(referenceDecryptAudio(data.subarray(p, p + size), KEY, IV)).toEqual(frame);
      p += size;
    }
    // The two identical-size, different-content leading frames differ; equal content would match.
    const again = Uint8Array.from(original.subarray(0, 400));
    enc.encryptAudioFrame(again, 0, 400);
    expect(again).toEqual(data.subarray(0, 400));
  });
});

describe('keys', () => {
  it('rejects a key or IV that is not 16 bytes', () => {
    expect(() => new SampleAesEncryptor(new Uint8Array(15), IV)).toThrow(/16-byte/);
    expect(() => new SampleAesEncryptor(KEY, new Uint8Array(8))).toThrow(/16-byte/);
  });

  it('a random key round-trips through the reference', () => {
    const key = Uint8Array.from(randomBytes(16));
    const iv = Uint8Array.from(randomBytes(16));
    const n = nal(5000, 0x41, 5);
    const out = Uint8Array.from(n);
    new SampleAesEncryptor(key, iv).encryptNal(out, 0, out.length);
    expect(referenceDecryptNal(out, key, iv)).toEqual(n);
  });
});
