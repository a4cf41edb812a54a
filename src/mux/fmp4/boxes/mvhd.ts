import type { BoxWriter } from '../box-writer.js';
import { writeUnityMatrix } from './matrix.js';

export interface MvhdFields {
  readonly timescale: number;
  readonly nextTrackId: number;
}

// Version 0: every time field is 0 in a fragmented init segment, so 32 bits always suffice.
export function size(): number {
  return 108;
}

export function write(w: BoxWriter, f: MvhdFields): void {
  w.beginFull('mvhd', 0, 0, size());
  w.u32(0); // creation_time
  w.u32(0); // modification_time
  w.u32(f.timescale);
  w.u32(0); // duration: unknown up front, the fragments carry it
  w.u32(0x00010000); // rate 1.0
  w.u16(0x0100); // volume 1.0
  w.zeros(10);
  writeUnityMatrix(w);
  w.zeros(24); // pre_defined
  w.u32(f.nextTrackId);
  w.end();
}
