import { describe, expect, it } from 'vitest';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import { BoxWriter } from '../../../../src/mux/fmp4/box-writer.js';
import { hex } from './helpers.js';

describe('BoxWriter', () => {
  it('writes big-endian integers of every width', () => {
    const w = new BoxWriter(new Uint8Array(1 + 2 + 3 + 4 + 4 + 8));
    w.u8(0x01);
    w.u16(0x0203);
    w.u24(0x040506);
    w.u32(0x0708090a);
    w.i32(-2);
    w.u64(2 ** 53 - 1);
    w.finish(22);
    expect(hex(w.buf)).toBe('01' + '0203' + '040506' + '0708090a' + 'fffffffe' + '001fffffffffffff');
  });

  it('splits u64 values above 2^32 without BigInt', () => {
    const w = new BoxWriter(new Uint8Array(16));
    w.u64(0x1_0000_0002);
    w.u64(0xffffffff);
    expect(hex(w.buf)).toBe('0000000100000002' + '00000000ffffffff');
  });

  it('patches sizes of boxes begun without one, nested', () => {
    const w = new BoxWriter(new Uint8Array(8 + 12 + 2));
    w.begin('outr');
    w.beginFull('innr', 1, 0x000203);
    w.end();
    w.u16(0xabcd);
    w.end();
    w.finish(22);
    expect(hex(w.buf)).toBe('00000016' + '6f757472' + '0000000c' + '696e6e72' + '01000203' + 'abcd');
  });

  it('refuses a box whose write disagrees with its measured size', () => {
    const w = new BoxWriter(new Uint8Array(32));
    w.begin('free', 12);
    w.u16(0);
    expect(() => w.end()).toThrow(/box free: wrote 10 bytes, measured 12/);
  });

  it('refuses to finish short of the measured total or with a box open', () => {
    const w = new BoxWriter(new Uint8Array(16));
    w.u32(0);
    expect(() => w.finish(16)).toThrow(PackagerError);
    w.begin('free');
    try {
      w.finish(12);
      expect.unreachable();
    } catch (e) {
      expect((e as PackagerError).code).toBe(ErrorCode.MUX_FAILURE);
    }
  });

  it('throws instead of writing past the end of its buffer', () => {
    const w = new BoxWriter(new Uint8Array(4));
    w.u16(1);
    expect(() => w.u32(1)).toThrow(RangeError);
    expect(() => w.bytes(new Uint8Array(3))).toThrow(RangeError);
  });

  it('writes at an offset inside a larger buffer (a view of it)', () => {
    const big = new Uint8Array(12).fill(0xee);
    const w = new BoxWriter(big.subarray(4, 12), 2);
    w.u16(0x0102);
    expect(hex(big)).toBe('eeeeeeeeeeee0102eeeeeeee');
  });
});
