import type { BoxWriter } from '../box-writer.js';

/** The per-sample size of the CENC auxiliary info (one senc entry). */
export interface SaizFields {
  readonly sampleCount: number;
  /** Used when every sample has the same size; 0 = the per-sample table follows. */
  readonly defaultSampleInfoSize: number;
  readonly perSampleIvSize: number;
  /** Fragment-local: sample k has subsampleIndex[k+1] - subsampleIndex[k] subsamples. */
  readonly subsampleIndex?: Uint32Array | undefined;
}

export function infoSize(f: SaizFields, k: number): number {
  const idx = f.subsampleIndex;
  return f.perSampleIvSize + (idx ? 2 + 6 * (idx[k + 1]! - idx[k]!) : 0);
}

export function size(f: SaizFields): number {
  return 17 + (f.defaultSampleInfoSize === 0 ? f.sampleCount : 0);
}

// flags 0: aux_info_type is implied by the scheme in the sample entry's schm (CENC 7.1).
export function write(w: BoxWriter, f: SaizFields): void {
  w.beginFull('saiz', 0, 0, size(f));
  w.u8(f.defaultSampleInfoSize);
  w.u32(f.sampleCount);
  if (f.defaultSampleInfoSize === 0) {
    for (let k = 0; k < f.sampleCount; k++) w.u8(infoSize(f, k));
  }
  w.end();
}
