import type { BoxWriter } from '../box-writer.js';
import * as mfhd from './mfhd.js';
import type { MfhdFields } from './mfhd.js';
import * as traf from './traf.js';
import type { TrafFields } from './traf.js';

export interface MoofFields {
  readonly mfhd: MfhdFields;
  readonly traf: TrafFields;
}

export function size(f: MoofFields): number {
  return 8 + mfhd.size() + traf.size(f.traf);
}

export function write(w: BoxWriter, f: MoofFields): void {
  w.begin('moof', size(f));
  mfhd.write(w, f.mfhd);
  traf.write(w, f.traf);
  w.end();
}
