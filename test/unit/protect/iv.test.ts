import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cbcsConstantIv, cencIvBase, writeSampleIv } from '../../../src/protect/iv.js';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const from = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

function ivAt(base: string, n: number): string {
  const out = new Uint8Array(8);
  writeSampleIv(from(base), n, out, 0);
  return hex(out);
}

describe('writeSampleIv: base + n as a 64-bit big-endian integer', () => {
  it('adds with carries and wraps at 2^64', () => {
    expect(ivAt('0000000000000000', 0)).toBe('0000000000000000');
    expect(ivAt('0000000000000001', 41)).toBe('000000000000002a');
    expect(ivAt('00000000ffffffff', 1)).toBe('0000000100000000');
    expect(ivAt('ffffffffffffffff', 1)).toBe('0000000000000000');
    expect(ivAt('fffffffffffffffe', 3)).toBe('0000000000000001');
    expect(ivAt('0123456789abcdef', 2 ** 40 + 5)).toBe((0x0123456789abcdefn + 2n ** 40n + 5n).toString(16).padStart(16, '0'));
  });

  it('agrees with BigInt arithmetic on random bases and counts', () => {
    for (let i = 0; i < 200; i++) {
      const base = Array.from({ length: 8 }, () => ((Math.random() * 256) | 0).toString(16).padStart(2, '0')).join('');
      const n = Math.floor(Math.random() * 2 ** 50);
      const want = ((BigInt(`0x${base}`) + BigInt(n)) % 2n ** 64n).toString(16).padStart(16, '0');
      expect(ivAt(base, n)).toBe(want);
    }
  });
});

describe('cencIvBase', () => {
  it('is HMAC-SHA256(key, "cenc-iv" NUL contentId NUL trackId), first 8 bytes', () => {
    const want = createHmac('sha256', KEY).update('cenc-iv\0movies/a.mp4\u00001').digest().subarray(0, 8);
    expect(hex(cencIvBase(KEY, 'movies/a.mp4', 1))).toBe(hex(want));
  });

  it('differs per track, per content id and per key; is stable', () => {
    const all = [
      cencIvBase(KEY, 'a.mp4', 1),
      cencIvBase(KEY, 'a.mp4', 2),
      cencIvBase(KEY, 'b.mp4', 1),
      cencIvBase(KEY.map((b) => b ^ 1), 'a.mp4', 1),
      // The separator keeps ('a', 11) and ('a1', 1) apart.
      cencIvBase(KEY, 'a', 11),
      cencIvBase(KEY, 'a1', 1),
    ].map(hex);
    expect(new Set(all).size).toBe(all.length);
    expect(hex(cencIvBase(KEY, 'a.mp4', 1))).toBe(all[0]);
  });
});

describe('cbcsConstantIv', () => {
  it('is 16 bytes of HMAC-SHA256(key, "cbcs-iv"), one per key', () => {
    const iv = cbcsConstantIv(KEY);
    expect(iv.length).toBe(16);
    expect(hex(iv)).toBe(hex(createHmac('sha256', KEY).update('cbcs-iv').digest().subarray(0, 16)));
    expect(hex(cbcsConstantIv(KEY.map((b) => b ^ 1)))).not.toBe(hex(iv));
  });

  it('refuses keys that are not 16 bytes', () => {
    expect(() => cbcsConstantIv(new Uint8Array(15))).toThrow(/16 bytes/);
    expect(() => cencIvBase(new Uint8Array(32), 'x', 1)).toThrow(/16 bytes/);
  });
});
