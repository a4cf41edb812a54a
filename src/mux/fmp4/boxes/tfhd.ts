import type { BoxWriter } from '../box-writer.js';

export const TFHD_DEFAULT_SAMPLE_DURATION = 0x000008;
export const TFHD_DEFAULT_SAMPLE_SIZE = 0x000010;
export const TFHD_DEFAULT_SAMPLE_FLAGS = 0x000020;
/** Offsets (trun data_offset, saio) count from the moof start, not from the end of the previous data. */
export const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;

export interface TfhdFields {
  readonly trackId: number;
  readonly defaultSampleDuration?: number | undefined;
  readonly defaultSampleSize?: number | undefined;
  readonly defaultSampleFlags?: number | undefined;
}

export function flags(f: TfhdFields): number {
  return (
    TFHD_DEFAULT_BASE_IS_MOOF |
    (f.defaultSampleDuration === undefined ? 0 : TFHD_DEFAULT_SAMPLE_DURATION) |
    (f.defaultSampleSize === undefined ? 0 : TFHD_DEFAULT_SAMPLE_SIZE) |
    (f.defaultSampleFlags === undefined ? 0 : TFHD_DEFAULT_SAMPLE_FLAGS)
  );
}

export function size(f: TfhdFields): number {
  const fl = flags(f);
  return (
    16 +
    (fl & TFHD_DEFAULT_SAMPLE_DURATION ? 4 : 0) +
    (fl & TFHD_DEFAULT_SAMPLE_SIZE ? 4 : 0) +
    (fl & TFHD_DEFAULT_SAMPLE_FLAGS ? 4 : 0)
  );
}

export function write(w: BoxWriter, f: TfhdFields): void {
  w.beginFull('tfhd', 0, flags(f), size(f));
  w.u32(f.trackId);
  if (f.defaultSampleDuration !== undefined) w.u32(f.defaultSampleDuration);
  if (f.defaultSampleSize !== undefined) w.u32(f.defaultSampleSize);
  if (f.defaultSampleFlags !== undefined) w.u32(f.defaultSampleFlags);
  w.end();
}
