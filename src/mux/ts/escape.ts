/**
 * Start-code emulation prevention (H.264 7.4.1): inside a NAL unit, 00 00 followed by a byte <= 03
 * must become 00 00 03 xx. SAMPLE-AES needs one more escaping layer over NAL units that are already
 * escaped (the encryption works on the stored bytes, emulation prevention bytes included, and its
 * ciphertext can hold any pattern), so the escaping is computed as a list of insertion points and
 * applied while copying: the input is never rewritten, and a NAL with nothing to escape (nearly all)
 * is still one copy.
 */
import type { ByteSink } from './annexb.js';

export const EMULATION_PREVENTION_BYTE = Uint8Array.of(0x03);

/**
 * Appends to `out`, in increasing order, every offset p in data[start, end) before which an
 * emulation prevention byte must be inserted (data[p] <= 3 after two zeros not already broken up by
 * an insertion). A trailing 00 00 needs none: valid EBSP never ends in 00, and SAMPLE-AES leaves
 * the last bytes of a NAL unit clear.
 */
export function findEscapes(data: Buffer, start: number, end: number, out: number[]): void {
  // Zero bytes are rare in entropy-coded data and ciphertext (~1/256): let indexOf (memchr) find them.
  let i = start;
  while (i < end) {
    const p = data.indexOf(0, i);
    if (p < 0 || p + 2 >= end) return;
    if (data[p + 1] !== 0) {
      i = p + 2;
      continue;
    }
    if (data[p + 2]! <= 3) {
      out.push(p + 2);
      // The inserted byte ends the run of zeros: counting starts afresh at p + 2.
      i = p + 2;
    } else {
      i = p + 3;
    }
  }
}

/** Index of the first insertion point >= offset. */
export function lowerBound(escapes: readonly number[], offset: number): number {
  let lo = 0;
  let hi = escapes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (escapes[mid]! < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Writes data[start, end) to the sink with an emulation prevention byte before each insertion point. */
export function writeEscaped(sink: ByteSink, data: Uint8Array, start: number, end: number, escapes: readonly number[]): void {
  let from = start;
  for (let k = escapes.length === 0 ? 0 : lowerBound(escapes, start); k < escapes.length; k++) {
    const at = escapes[k]!;
    if (at >= end) break;
    sink.write(data, from, at);
    sink.write(EMULATION_PREVENTION_BYTE, 0, 1);
    from = at;
  }
  sink.write(data, from, end);
}
