/**
 * 33-bit MPEG-TS timestamps (90 kHz). A PTS/DTS wraps every 2^33 ticks (~26.5 h); each new value is
 * unwrapped against the previous unwrapped value of the same stream (hls.js `normalizePts`): add or
 * subtract 2^33 while the gap exceeds 2^32. Pure.
 */

export const TS_WRAP = 2 ** 33;
const HALF_WRAP = 2 ** 32;

/** Unwraps `value` (any 33-bit or already unwrapped number) against `reference`; none = no change. */
export function unwrapTimestamp(value: number, reference: number | undefined): number {
  if (reference === undefined) return value;
  const step = reference < value ? -TS_WRAP : TS_WRAP;
  let v = value;
  while (Math.abs(v - reference) > HALF_WRAP) v += step;
  return v;
}

/** Per-stream unwrapping state: one reference for PTS and one for DTS. */
export class TimestampUnwrapper {
  private lastPts: number | undefined;
  private lastDts: number | undefined;

  /** Forgets the references: the next value starts a new timeline (discontinuity_indicator). */
  reset(): void {
    this.lastPts = undefined;
    this.lastDts = undefined;
  }

  unwrap(pts: number, dts: number): { pts: number; dts: number } {
    // A stream's first DTS is unwrapped against its PTS, so a pair straddling the wrap stays ordered.
    const d = unwrapTimestamp(dts, this.lastDts ?? unwrapTimestamp(pts, this.lastPts));
    const p = unwrapTimestamp(pts, this.lastPts ?? d);
    this.lastPts = p;
    this.lastDts = d;
    return { pts: p, dts: d };
  }
}
