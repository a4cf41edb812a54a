import type { BoxWriter } from '../box-writer.js';

// Empty: in a fragmented file the samples are described by the fragments' trun boxes.
export function size(): number {
  return 16;
}

export function write(w: BoxWriter): void {
  w.beginFull('stts', 0, 0, size());
  w.u32(0); // entry_count
  w.end();
}
