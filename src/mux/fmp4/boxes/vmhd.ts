import type { BoxWriter } from '../box-writer.js';

export function size(): number {
  return 20;
}

export function write(w: BoxWriter): void {
  // flags 1 is mandated by the spec for vmhd.
  w.beginFull('vmhd', 0, 1, size());
  w.u16(0); // graphicsmode: copy
  w.zeros(6); // opcolor
  w.end();
}
