import type { SampleTable } from '../../../media/track.js';
import { muxError, type BoxWriter } from '../box-writer.js';

export const TRUN_DATA_OFFSET = 0x000001;
export const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
export const TRUN_SAMPLE_DURATION = 0x000100;
export const TRUN_SAMPLE_SIZE = 0x000200;
export const TRUN_SAMPLE_FLAGS = 0x000400;
export const TRUN_SAMPLE_CTO = 0x000800;

/**
 * One run over samples [start, end) of a track. Which per-sample fields are present and the version
 * are decided in the fragment's size pass; this module only lays them out.
 */
export interface TrunFields {
  /** 1 when any composition offset is negative (signed field), else 0. */
  readonly version: 0 | 1;
  /** TRUN_* bits; TRUN_DATA_OFFSET is always set. */
  readonly flags: number;
  readonly samples: SampleTable;
  readonly start: number;
  readonly end: number;
  /** Subtracted from every cto: the edit-list shift (track.presentationOffset). */
  readonly ctoShift: number;
  readonly firstSampleFlags: number;
  /** sample_flags of sync / non-sync samples, when per-sample flags are written. */
  readonly syncFlags: number;
  readonly nonSyncFlags: number;
  /** Moof-relative offset of the first payload byte; -1 until the moof size is known. */
  dataOffset: number;
}

function bytesPerSample(flags: number): number {
  return (
    (flags & TRUN_SAMPLE_DURATION ? 4 : 0) +
    (flags & TRUN_SAMPLE_SIZE ? 4 : 0) +
    (flags & TRUN_SAMPLE_FLAGS ? 4 : 0) +
    (flags & TRUN_SAMPLE_CTO ? 4 : 0)
  );
}

export function size(f: TrunFields): number {
  return 20 + (f.flags & TRUN_FIRST_SAMPLE_FLAGS ? 4 : 0) + (f.end - f.start) * bytesPerSample(f.flags);
}

export function write(w: BoxWriter, f: TrunFields): void {
  // mp4ff MoofBox: a run whose data_offset was never resolved would point players at the wrong bytes.
  if (f.dataOffset < 0) throw muxError('trun data_offset is unset');
  w.beginFull('trun', f.version, f.flags, size(f));
  w.u32(f.end - f.start);
  w.i32(f.dataOffset);
  if (f.flags & TRUN_FIRST_SAMPLE_FLAGS) w.u32(f.firstSampleFlags);
  const s = f.samples;
  const duration = (f.flags & TRUN_SAMPLE_DURATION) !== 0;
  const sz = (f.flags & TRUN_SAMPLE_SIZE) !== 0;
  const sampleFlags = (f.flags & TRUN_SAMPLE_FLAGS) !== 0;
  const cto = (f.flags & TRUN_SAMPLE_CTO) !== 0;
  for (let i = f.start; i < f.end; i++) {
    if (duration) w.u32(s.duration[i]!);
    if (sz) w.u32(s.size[i]!);
    if (sampleFlags) w.u32(s.sync[i] ? f.syncFlags : f.nonSyncFlags);
    if (cto) {
      const v = s.cto[i]! - f.ctoShift;
      if (f.version === 1) w.i32(v);
      else w.u32(v);
    }
  }
  w.end();
}
