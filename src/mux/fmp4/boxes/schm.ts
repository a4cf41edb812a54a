import type { BoxWriter } from '../box-writer.js';

export interface SchmFields {
  readonly schemeType: 'cenc' | 'cbcs';
}

/** CENC scheme version 1.0. */
const SCHEME_VERSION = 0x00010000;

export function size(): number {
  return 20;
}

export function write(w: BoxWriter, f: SchmFields): void {
  w.beginFull('schm', 0, 0, size());
  w.fourcc(f.schemeType);
  w.u32(SCHEME_VERSION);
  w.end();
}
