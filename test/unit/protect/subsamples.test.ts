/**
 * The subsample rules on hand-built samples, with a stand-in for the slice-header parser: NAL type byte
 * 0x65 (a slice) keeps HEADER bytes clear, anything else is a non-VCL NAL.
 */
import { describe, expect, it } from 'vitest';
import { ALL_CLEAR, type SliceHeaderScanner } from '../../../src/protect/slice-headers.js';
import { SubsampleMap, sampleSubsamples } from '../../../src/protect/subsamples.js';
import { maxSubsamples } from '../../../src/protect/types.js';

const SLICE = 0x65;
const SEI = 0x06;
const HEADER = 5;

function scanner(lengthSize = 4): SliceHeaderScanner {
  return {
    nalLengthSize: lengthSize,
    clearLeader: (buf, start) => (buf[start] === SLICE ? HEADER : ALL_CLEAR),
  };
}

/** A sample of NAL units [type, payload length]; returns the bytes. */
function sample(nals: [number, number][], lengthSize = 4): Uint8Array {
  const total = nals.reduce((n, [, len]) => n + lengthSize + len, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const [type, len] of nals) {
    for (let i = 0; i < lengthSize; i++) out[p + i] = Math.floor(len / 256 ** (lengthSize - 1 - i)) & 0xff;
    p += lengthSize;
    if (len > 0) out[p] = type;
    p += len;
  }
  return out;
}

function entries(s: Uint8Array, scheme: 'cenc' | 'cbcs', opts: { lengthSize?: number; max?: number } = {}): [number, number][] {
  const map = new SubsampleMap(1);
  sampleSubsamples(s, 0, s.length, scanner(opts.lengthSize), scheme, opts.max ?? maxSubsamples(scheme === 'cenc' ? 8 : 0), map);
  expect(map.index[1]).toBe(map.count);
  const out: [number, number][] = [];
  for (let j = 0; j < map.count; j++) out.push([map.clearBytes[j]!, map.protectedBytes[j]!]);
  const sum = out.reduce((n, [c, p]) => n + c + p, 0);
  expect(sum).toBe(s.length);
  return out;
}

describe('sampleSubsamples', () => {
  it('cenc: non-VCL NALs join the next clear part; protected = whole blocks at the end of each slice', () => {
    // SEI (4+20) then a slice of 4 + 100 bytes: header 5, 95 left -> 80 protected, 15 join the clear.
    expect(entries(sample([[SEI, 20], [SLICE, 100]]), 'cenc')).toEqual([[24 + 4 + 20, 80]]);
  });

  it('cbcs: protected starts right after the slice header, unaligned', () => {
    expect(entries(sample([[SEI, 20], [SLICE, 100]]), 'cbcs')).toEqual([[24 + 4 + 5, 95]]);
  });

  it('several slices: one subsample each; trailing clear NALs become a final (clear, 0) entry', () => {
    const s = sample([[SLICE, 50], [SLICE, 70], [SEI, 9]]);
    expect(entries(s, 'cbcs')).toEqual([[9, 45], [9, 65], [13, 0]]);
    expect(entries(s, 'cenc')).toEqual([[4 + 50 - 32, 32], [4 + 70 - 64, 64], [13, 0]]);
  });

  it('a slice with under 16 protectable bytes, or a sample with no slice, is all clear', () => {
    expect(entries(sample([[SLICE, 20]]), 'cbcs')).toEqual([[24, 0]]);
    expect(entries(sample([[SLICE, 20]]), 'cenc')).toEqual([[24, 0]]);
    expect(entries(sample([[SLICE, 21]]), 'cbcs')).toEqual([[9, 16]]);
    expect(entries(sample([[SEI, 10], [SEI, 3]]), 'cenc')).toEqual([[21, 0]]);
    expect(entries(new Uint8Array(0), 'cenc')).toEqual([[0, 0]]);
  });

  it('1- and 2-byte NAL lengths', () => {
    expect(entries(sample([[SEI, 3], [SLICE, 40]], 1), 'cbcs', { lengthSize: 1 })).toEqual([[4 + 1 + 5, 35]]);
    expect(entries(sample([[SLICE, 40]], 2), 'cenc', { lengthSize: 2 })).toEqual([[2 + 8, 32]]);
  });

  it('splits clear runs over 65535 bytes into (65535, 0) entries', () => {
    const s = sample([[SEI, 140000], [SLICE, 100]]);
    const clear = 4 + 140000 + 4 + 5;
    expect(entries(s, 'cbcs')).toEqual([[65535, 0], [65535, 0], [clear - 2 * 65535, 95]]);
    expect(entries(sample([[SEI, 65531]]), 'cenc')).toEqual([[65535, 0]]);
    expect(entries(sample([[SEI, 65532]]), 'cenc')).toEqual([[65535, 0], [1, 0]]);
  });

  it('never exceeds what saiz can describe: the least-protected subsamples are folded into clear', () => {
    // 60 slices with growing payloads: slice i has 16 * (i + 1) protected bytes under cbcs.
    const nals: [number, number][] = Array.from({ length: 60 }, (_, i) => [SLICE, HEADER + 16 * (i + 1)]);
    const s = sample(nals);
    for (const [scheme, max] of [['cenc', 40], ['cbcs', 42]] as const) {
      const e = entries(s, scheme);
      expect(maxSubsamples(scheme === 'cenc' ? 8 : 0)).toBe(max);
      expect(e.length).toBe(max);
      // The largest protected ranges survive, in order; the smallest 60 - max became clear.
      expect(e.map(([, p]) => p)).toEqual(Array.from({ length: max }, (_, i) => 16 * (60 - max + i + 1)));
    }
  });

  it('the entry limit counts the extra entries of split clear runs', () => {
    const nals: [number, number][] = [[SEI, 200000], ...Array.from({ length: 45 }, (): [number, number] => [SLICE, 100])];
    const e = entries(sample(nals), 'cenc', { max: 40 });
    expect(e.length).toBeLessThanOrEqual(40);
    expect(e.every(([c]) => c <= 0xffff)).toBe(true);
  });

  it('refuses a NAL unit that runs past the sample', () => {
    const s = sample([[SLICE, 100]]).subarray(0, 50);
    expect(() => entries(s, 'cenc')).toThrow(/past the sample/);
  });

  it('appends sample after sample to one map with a running index', () => {
    const a = sample([[SLICE, 100]]);
    const b = sample([[SEI, 10], [SLICE, 60], [SLICE, 60]]);
    const buf = new Uint8Array(a.length + b.length);
    buf.set(a);
    buf.set(b, a.length);
    const map = new SubsampleMap(2, 1);
    sampleSubsamples(buf, 0, a.length, scanner(), 'cbcs', 42, map);
    sampleSubsamples(buf, a.length, buf.length, scanner(), 'cbcs', 42, map);
    expect(Array.from(map.index)).toEqual([0, 1, 3]);
    expect(Array.from(map.clearBytes.subarray(0, 3))).toEqual([9, 14 + 9, 9]);
    expect(Array.from(map.protectedBytes.subarray(0, 3))).toEqual([95, 55, 55]);
  });
});
