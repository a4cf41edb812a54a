import type { BoxWriter } from '../box-writer.js';

export function size(): number {
  return 12;
}

export function write(w: BoxWriter): void {
  // flags 1: the media data is in this file (no location string follows).
  w.beginFull('url ', 0, 1, size());
  w.end();
}
