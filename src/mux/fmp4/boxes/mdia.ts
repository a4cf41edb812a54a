import type { BoxWriter } from '../box-writer.js';
import * as hdlr from './hdlr.js';
import type { HdlrFields } from './hdlr.js';
import * as mdhd from './mdhd.js';
import type { MdhdFields } from './mdhd.js';
import * as minf from './minf.js';
import type { MinfFields } from './minf.js';

export interface MdiaFields {
  readonly mdhd: MdhdFields;
  readonly hdlr: HdlrFields;
  readonly minf: MinfFields;
}

export function size(f: MdiaFields): number {
  return 8 + mdhd.size() + hdlr.size(f.hdlr) + minf.size(f.minf);
}

export function write(w: BoxWriter, f: MdiaFields): void {
  w.begin('mdia', size(f));
  mdhd.write(w, f.mdhd);
  hdlr.write(w, f.hdlr);
  minf.write(w, f.minf);
  w.end();
}
