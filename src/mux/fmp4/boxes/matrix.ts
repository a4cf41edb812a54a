import type { BoxWriter } from '../box-writer.js';

/** The identity transformation matrix of mvhd and tkhd (16.16 and 2.30 fixed point). */
export function writeUnityMatrix(w: BoxWriter): void {
  w.u32(0x00010000);
  w.u32(0);
  w.u32(0);
  w.u32(0);
  w.u32(0x00010000);
  w.u32(0);
  w.u32(0);
  w.u32(0);
  w.u32(0x40000000);
}
