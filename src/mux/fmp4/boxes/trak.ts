import type { BoxWriter } from '../box-writer.js';
import * as mdia from './mdia.js';
import type { MdiaFields } from './mdia.js';
import * as tkhd from './tkhd.js';
import type { TkhdFields } from './tkhd.js';

export interface TrakFields {
  readonly tkhd: TkhdFields;
  readonly mdia: MdiaFields;
}

// No edts: presentation offsets travel in signed trun composition offsets instead of an edit list.
export function size(f: TrakFields): number {
  return 8 + tkhd.size() + mdia.size(f.mdia);
}

export function write(w: BoxWriter, f: TrakFields): void {
  w.begin('trak', size(f));
  tkhd.write(w, f.tkhd);
  mdia.write(w, f.mdia);
  w.end();
}
