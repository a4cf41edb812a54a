/**
 * Moving bytes 4 at a time. The ciphers copy crypt blocks between the segment buffer and a scratch
 * buffer (cbcs) and XOR keystream into samples (cenc, small samples); done bytewise in JS those loops
 * cost more than the AES itself. Both sides are viewed over their whole ArrayBuffer as bytes and as
 * 32-bit words; when two offsets have the same alignment mod 4 the middle of a run moves as words
 * (the caller places scratch data to match the sample's alignment). Byte order does not matter:
 * words are only copied or XORed, never interpreted.
 */
export class WordView {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  /** Offset of the viewed array in its buffer: absolute = base + index. */
  readonly base: number;

  constructor(a: Uint8Array) {
    this.u8 = new Uint8Array(a.buffer, 0, a.buffer.byteLength);
    this.u32 = new Uint32Array(a.buffer, 0, a.buffer.byteLength >>> 2);
    this.base = a.byteOffset;
  }
}

/** dst[d, d + 16) = src[s, s + 16), offsets absolute in each buffer. */
export function copy16(src: WordView, s: number, dst: WordView, d: number): void {
  const m = s & 3;
  if (m !== (d & 3)) {
    for (let k = 0; k < 16; k++) dst.u8[d + k] = src.u8[s + k]!;
    return;
  }
  const s8 = src.u8;
  const d8 = dst.u8;
  if (m === 0) {
    const sw = s >>> 2;
    const dw = d >>> 2;
    dst.u32[dw] = src.u32[sw]!;
    dst.u32[dw + 1] = src.u32[sw + 1]!;
    dst.u32[dw + 2] = src.u32[sw + 2]!;
    dst.u32[dw + 3] = src.u32[sw + 3]!;
    return;
  }
  const head = 4 - m;
  for (let k = 0; k < head; k++) d8[d + k] = s8[s + k]!;
  const sw = (s + head) >>> 2;
  const dw = (d + head) >>> 2;
  dst.u32[dw] = src.u32[sw]!;
  dst.u32[dw + 1] = src.u32[sw + 1]!;
  dst.u32[dw + 2] = src.u32[sw + 2]!;
  for (let k = head + 12; k < 16; k++) d8[d + k] = s8[s + k]!;
}

/** dst[d, d + len) ^= src[s, s + len), offsets absolute in each buffer. */
export function xorInto(dst: WordView, d: number, src: WordView, s: number, len: number): void {
  const d8 = dst.u8;
  const s8 = src.u8;
  const end = d + len;
  if ((d & 3) !== (s & 3)) {
    for (; d < end; d++, s++) d8[d] = d8[d]! ^ s8[s]!;
    return;
  }
  for (; d < end && d & 3; d++, s++) d8[d] = d8[d]! ^ s8[s]!;
  const d32 = dst.u32;
  const s32 = src.u32;
  let dw = d >>> 2;
  let sw = s >>> 2;
  const wordEnd = end >>> 2;
  for (; dw < wordEnd; dw++, sw++) d32[dw] = d32[dw]! ^ s32[sw]!;
  for (d = Math.max(d, wordEnd << 2), s = sw << 2; d < end; d++, s++) d8[d] = d8[d]! ^ s8[s]!;
}
