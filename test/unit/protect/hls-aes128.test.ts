import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode, PackagerError } from '../../../src/media/errors.js';
import { encryptAes128Segment, hlsSegmentIv } from '../../../src/protect/hls-aes128.js';

const KEY = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('encryptAes128Segment', () => {
  it('always pads with 1..16 bytes (PKCS#7) and decrypts back with a standard CBC decipher', () => {
    for (const n of [0, 1, 15, 16, 17, 31, 32, 188, 188 * 7, 100_003]) {
      const segment = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
      const iv = hlsSegmentIv(n);
      const out = encryptAes128Segment(segment, KEY, iv);
      expect(out.length, `${n} bytes`).toBe((Math.floor(n / 16) + 1) * 16);
      // Decrypt without auto padding to see the padding bytes themselves.
      const d = createDecipheriv('aes-128-cbc', KEY, iv).setAutoPadding(false);
      const plain = Buffer.concat([d.update(out), d.final()]);
      const pad = out.length - n;
      expect(plain.subarray(0, n).equals(Buffer.from(segment))).toBe(true);
      expect([...plain.subarray(n)]).toEqual(new Array<number>(pad).fill(pad));
    }
  });

  it('matches the NIST SP 800-38A CBC-AES128 vector for its first block', () => {
    const key = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex');
    const iv = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    const out = encryptAes128Segment(Buffer.from('6bc1bee22e409f96e93d7e117393172a', 'hex'), key, iv);
    expect(hex(out.subarray(0, 16))).toBe('7649abac8119b246cee98e9b12e9197d');
    expect(out.length).toBe(32);
  });

  it('does not touch its input', () => {
    const segment = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const copy = Uint8Array.from(segment);
    encryptAes128Segment(segment, KEY, hlsSegmentIv(3));
    expect(segment).toEqual(copy);
  });

  it('rejects keys and IVs that are not 16 bytes', () => {
    expect(() => encryptAes128Segment(new Uint8Array(32), new Uint8Array(32), new Uint8Array(16))).toThrow(PackagerError);
    expect(() => encryptAes128Segment(new Uint8Array(32), KEY, new Uint8Array(12))).toThrow(/16-byte/);
  });
});

describe('hlsSegmentIv', () => {
  it('is the number as a 128-bit big-endian integer', () => {
    expect(hex(hlsSegmentIv(0))).toBe('00000000000000000000000000000000');
    expect(hex(hlsSegmentIv(1))).toBe('00000000000000000000000000000001');
    expect(hex(hlsSegmentIv(0x1234))).toBe('00000000000000000000000000001234');
    expect(hex(hlsSegmentIv(2 ** 32))).toBe('00000000000000000000000100000000');
    expect(hex(hlsSegmentIv(2 ** 32 + 5))).toBe('00000000000000000000000100000005');
    expect(hex(hlsSegmentIv(Number.MAX_SAFE_INTEGER))).toBe('0000000000000000001fffffffffffff');
    expect(hlsSegmentIv(7)).toBeInstanceOf(Uint8Array);
    expect(hlsSegmentIv(7).length).toBe(16);
  });

  it('rejects negative, fractional and unsafe numbers', () => {
    for (const n of [-1, 1.5, Number.NaN, 2 ** 53, Infinity]) {
      let err: unknown;
      try {
        hlsSegmentIv(n);
      } catch (e) {
        err = e;
      }
      expect(err, String(n)).toBeInstanceOf(PackagerError);
      expect((err as PackagerError).code).toBe(ErrorCode.ENCRYPTION_FAILURE);
    }
  });
});
