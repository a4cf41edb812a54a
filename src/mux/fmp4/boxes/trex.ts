import type { BoxWriter } from '../box-writer.js';

export interface TrexFields {
  readonly trackId: number;
}

export function size(): number {
  return 32;
}

// Defaults are 0: every fragment states its own in tfhd/trun, so nothing depends on trex but the index.
export function write(w: BoxWriter, f: TrexFields): void {
  w.beginFull('trex', 0, 0, size());
  w.u32(f.trackId);
  w.u32(1); // default_sample_description_index
  w.u32(0); // default_sample_duration
  w.u32(0); // default_sample_size
  w.u32(0); // default_sample_flags
  w.end();
}
