import type { BoxWriter } from '../box-writer.js';

export const SENC_USE_SUBSAMPLE_ENCRYPTION = 0x000002;

export interface SencSubsamples {
  /** Fragment-local: sample k uses entries index[k]..index[k+1]-1 of clear/protected. */
  readonly index: Uint32Array;
  readonly clearBytes: Uint16Array | Uint32Array;
  readonly protectedBytes: Uint32Array;
}

export interface SencFields {
  readonly sampleCount: number;
  readonly perSampleIvSize: number;
  /** sampleCount * perSampleIvSize bytes. */
  readonly ivs?: Uint8Array | undefined;
  readonly subsamples?: SencSubsamples | undefined;
}

/** Header (12) + sample_count (4): where the first sample's entry starts, relative to the box. */
export const SENC_FIRST_ENTRY = 16;

export function size(f: SencFields): number {
  let n = SENC_FIRST_ENTRY + f.sampleCount * f.perSampleIvSize;
  const sub = f.subsamples;
  if (sub) n += 2 * f.sampleCount + 6 * (sub.index[f.sampleCount]! - sub.index[0]!);
  return n;
}

export function write(w: BoxWriter, f: SencFields): void {
  const sub = f.subsamples;
  w.beginFull('senc', 0, sub ? SENC_USE_SUBSAMPLE_ENCRYPTION : 0, size(f));
  w.u32(f.sampleCount);
  const ivSize = f.perSampleIvSize;
  for (let k = 0; k < f.sampleCount; k++) {
    if (ivSize > 0 && f.ivs) w.bytes(f.ivs.subarray(k * ivSize, (k + 1) * ivSize));
    if (sub) {
      const from = sub.index[k]!;
      const to = sub.index[k + 1]!;
      w.u16(to - from);
      for (let j = from; j < to; j++) {
        w.u16(sub.clearBytes[j]!);
        w.u32(sub.protectedBytes[j]!);
      }
    }
  }
  w.end();
}
