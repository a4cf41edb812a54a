import { describe, expect, it } from 'vitest';
import type { ByteSink } from '../../../../src/mux/ts/annexb.js';
import { findEscapes, lowerBound, writeEscaped } from '../../../../src/mux/ts/escape.js';
import { referenceEscape, unescape } from '../../protect/sample-aes-reference.js';

/** A sink that keeps what it gets, and how many write() calls. */
class Collect implements ByteSink {
  bytes: number[] = [];
  calls = 0;
  write(src: Uint8Array, start: number, end: number): void {
    this.calls++;
    for (let i = start; i < end; i++) this.bytes.push(src[i]!);
  }
}

function escape(data: Uint8Array, start = 0, end = data.length): { out: Uint8Array; points: number[]; calls: number } {
  const buf = Buffer.from(data);
  const points: number[] = [];
  findEscapes(buf, start, end, points);
  const sink = new Collect();
  writeEscaped(sink, buf, start, end, points);
  return { out: Uint8Array.from(sink.bytes), points, calls: sink.calls };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('emulation prevention (re-escaping)', () => {
  it.each([
    ['000000', '00000300'],
    ['000001', '00000301'],
    ['000002', '00000302'],
    ['000003', '00000303'],
    ['000004', '000004'],
    ['0000ff', '0000ff'],
    ['000000000001', '0000030000030001'],
    ['0000000000', '00000300000300'],
    ['65000001000002', '650000030100000302'],
    // An existing emulation prevention byte is escaped once more (the decoder strips one layer).
    ['4100000301', '410000030301'],
    // Two zeros at the very end need nothing (no next byte; valid EBSP never ends in 00).
    ['410000', '410000'],
    ['00', '00'],
    ['', ''],
  ])('%s -> %s', (input, expected) => {
    const { out } = escape(Buffer.from(input, 'hex'));
    expect(hex(out)).toBe(expected);
    expect(hex(referenceEscape(Buffer.from(input, 'hex')))).toBe(expected);
  });

  it('equals the textbook escaping on zero-heavy random data, and un-escaping gives the input back', () => {
    let x = 12345;
    const alphabet = [0, 0, 0, 0, 1, 2, 3, 4, 0x80, 0xff];
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + (trial * 37) % 700;
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        data[i] = alphabet[(x >>> 16) % alphabet.length]!;
      }
      const { out } = escape(data);
      expect(hex(out), `trial ${trial}`).toBe(hex(referenceEscape(data)));
      expect(hex(unescape(out))).toBe(hex(data));
      // No start code prefix (or anything that could be mistaken for one) is left.
      for (let i = 0; i + 2 < out.length; i++) {
        if (out[i] === 0 && out[i + 1] === 0) expect(out[i + 2]! > 3 || out[i + 2] === 3).toBe(true);
      }
    }
  });

  it('works on a range of a larger buffer and copies a NAL with nothing to escape in one write', () => {
    const data = Buffer.from('0000010000016511223344000001', 'hex');
    const { out, points, calls } = escape(data, 6, 11);
    expect(hex(out)).toBe('6511223344');
    expect(points).toEqual([]);
    expect(calls).toBe(1);
    const inner = escape(data, 3, 14);
    expect(hex(inner.out)).toBe('00000301651122334400000301');
  });

  it('lowerBound finds the first insertion point at or after an offset', () => {
    const p = [3, 10, 10, 40];
    expect([0, 3, 4, 10, 11, 40, 41].map((o) => lowerBound(p, o))).toEqual([0, 0, 1, 1, 3, 3, 4]);
    expect(lowerBound([], 5)).toBe(0);
  });
});
