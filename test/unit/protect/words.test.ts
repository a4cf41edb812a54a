import { describe, expect, it } from 'vitest';
import { WordView, copy16, xorInto } from '../../../src/protect/words.js';

function filled(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + ((i * i) >> 3)) & 0xff);
}

describe('word-wise copy and XOR at every alignment', () => {
  it('copy16 equals a byte copy for all 16 source/destination alignments, inside views at any offset', () => {
    for (let viewOffset = 0; viewOffset < 4; viewOffset++) {
      for (let s = 0; s < 8; s++) {
        for (let d = 0; d < 8; d++) {
          const srcBuf = filled(64, 1);
          const src = srcBuf.subarray(viewOffset);
          const dst = filled(64, 2).subarray(3);
          const want = dst.slice();
          want.set(src.subarray(s, s + 16), d);
          const sv = new WordView(src);
          const dv = new WordView(dst);
          copy16(sv, sv.base + s, dv, dv.base + d);
          expect(Array.from(dst)).toEqual(Array.from(want));
        }
      }
    }
  });

  it('xorInto equals a byte XOR for all alignments and lengths 0..40', () => {
    for (let s = 0; s < 4; s++) {
      for (let d = 0; d < 4; d++) {
        for (let len = 0; len <= 40; len++) {
          const src = filled(64, 3).subarray(1);
          const dst = filled(64, 4).subarray(2);
          const want = dst.slice();
          for (let i = 0; i < len; i++) want[d + i] = want[d + i]! ^ src[s + i]!;
          const sv = new WordView(src);
          const dv = new WordView(dst);
          xorInto(dv, dv.base + d, sv, sv.base + s, len);
          expect(Array.from(dst), `s ${s} d ${d} len ${len}`).toEqual(Array.from(want));
        }
      }
    }
  });
});
