import { describe, expect, it } from 'vitest';
import { RbspReader, ceilLog2 } from '../../../../src/media/codec/bit-reader.js';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import { BitWriter, escape } from './bit-writer.js';

describe('RbspReader', () => {
  it('reads u(n), ue(v) and se(v) as written', () => {
    const values = [0, 1, 2, 3, 7, 8, 254, 255, 65535, 2 ** 31, 2 ** 32 - 2];
    const signed = [0, 1, -1, 2, -2, 100, -100, 2 ** 30, -(2 ** 30)];
    const w = new BitWriter().u(3, 5).u(32, 0xdeadbeef).flag(1);
    for (const v of values) w.ue(v);
    for (const v of signed) w.se(v);
    w.trailing();
    const r = new RbspReader(escape(w.bytes()));
    expect(r.u(3)).toBe(5);
    expect(r.u(32)).toBe(0xdeadbeef);
    expect(r.flag()).toBe(true);
    for (const v of values) expect(r.ue()).toBe(v);
    for (const v of signed) expect(r.se()).toBe(v);
  });

  it('drops emulation-prevention bytes and counts them in the stored length', () => {
    // RBSP 00 00 00 00 01 -> stored 00 00 03 00 00 03 01
    const stored = Uint8Array.from([0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x01, 0xff]);
    const r = new RbspReader(stored);
    expect(r.u(16)).toBe(0);
    expect(r.storedLength).toBe(2);
    expect(r.u(1)).toBe(0);
    // The third RBSP byte is the one after the first 03.
    expect(r.storedLength).toBe(4);
    expect(r.epbCount).toBe(1);
    r.skip(15 + 8);
    expect(r.bitPosition).toBe(40);
    expect(r.storedLength).toBe(7);
    expect(r.epbCount).toBe(2);
    expect(r.u(8)).toBe(0xff);
  });

  it('keeps an 03 that does not follow two zeros, and one that follows an emulation byte', () => {
    // 00 00 03 03: the second 03 is data.
    const r = new RbspReader(Uint8Array.from([0x00, 0x00, 0x03, 0x03, 0x03]));
    expect([r.u(8), r.u(8), r.u(8), r.u(8)]).toEqual([0, 0, 3, 3]);
    expect(r.epbCount).toBe(1);
  });

  it('does not count an emulation byte right after the last byte read', () => {
    const r = new RbspReader(Uint8Array.from([0x00, 0x00, 0x03, 0x01]));
    r.skip(16);
    expect(r.storedLength).toBe(2);
  });

  it('peeks the bits to the byte boundary without consuming them', () => {
    const r = new RbspReader(Uint8Array.from([0b10110111]));
    r.skip(3);
    expect(r.bitsToAlignment).toBe(5);
    expect(r.peekToAlignment()).toBe(0b10111);
    expect(r.bitPosition).toBe(3);
  });

  it('throws SOURCE_INVALID when a header runs past the NAL or an exp-Golomb code is too long', () => {
    const past = new RbspReader(Uint8Array.from([0xff]));
    past.skip(8);
    expect(() => past.u1()).toThrow(PackagerError);
    // 33 leading zeros (no 00 00 0x run either: 0x80 bytes in between keep it free of escapes).
    const long = new RbspReader(Uint8Array.from([0x00, 0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff]));
    try {
      long.ue();
      throw new Error('expected a throw');
    } catch (e) {
      expect((e as PackagerError).code).toBe(ErrorCode.SOURCE_INVALID);
    }
  });

  it('ceilLog2', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 1020].map(ceilLog2)).toEqual([0, 1, 2, 2, 3, 3, 4, 10]);
  });
});
