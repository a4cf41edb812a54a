import type { BoxWriter } from '../box-writer.js';

export interface FrmaFields {
  /** The sample entry type before it became encv/enca. */
  readonly dataFormat: string;
}

export function size(): number {
  return 12;
}

export function write(w: BoxWriter, f: FrmaFields): void {
  w.begin('frma', size());
  w.fourcc(f.dataFormat);
  w.end();
}
