import { muxError, type BoxWriter } from '../box-writer.js';

export interface SaioFields {
  /** Moof-relative offset of the first sample's aux info (its first IV byte in senc); -1 until known. */
  offset: number;
}

export function size(): number {
  return 20;
}

// Version 0 (32-bit offset): the offset lies inside the moof, which is far smaller than 4 GiB.
export function write(w: BoxWriter, f: SaioFields): void {
  if (f.offset < 0) throw muxError('saio offset is unset');
  w.beginFull('saio', 0, 0, size());
  w.u32(1); // entry_count: all aux info is contiguous in senc
  w.u32(f.offset);
  w.end();
}
