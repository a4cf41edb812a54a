import type { BoxWriter } from '../box-writer.js';

export function size(): number {
  return 16;
}

export function write(w: BoxWriter): void {
  w.beginFull('smhd', 0, 0, size());
  w.u16(0); // balance: centre
  w.u16(0);
  w.end();
}
