import type { BoxWriter } from '../box-writer.js';

// Empty: in a fragmented file the samples are described by the fragments' trun boxes.
export function size(): number {
  return 20;
}

export function write(w: BoxWriter): void {
  w.beginFull('stsz', 0, 0, size());
  w.u32(0); // sample_size
  w.u32(0); // sample_count
  w.end();
}
