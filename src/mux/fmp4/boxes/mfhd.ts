import type { BoxWriter } from '../box-writer.js';

export interface MfhdFields {
  readonly sequenceNumber: number;
}

export function size(): number {
  return 16;
}

export function write(w: BoxWriter, f: MfhdFields): void {
  w.beginFull('mfhd', 0, 0, size());
  w.u32(f.sequenceNumber);
  w.end();
}
