import type { BoxWriter } from '../box-writer.js';
import * as saio from './saio.js';
import type { SaioFields } from './saio.js';
import * as saiz from './saiz.js';
import type { SaizFields } from './saiz.js';
import * as senc from './senc.js';
import type { SencFields } from './senc.js';
import * as tfdt from './tfdt.js';
import type { TfdtFields } from './tfdt.js';
import * as tfhd from './tfhd.js';
import type { TfhdFields } from './tfhd.js';
import * as trun from './trun.js';
import type { TrunFields } from './trun.js';

/** saiz + saio + senc, in that order and last in the traf so saio can be derived from the moof end. */
export interface CencAuxFields {
  readonly saiz: SaizFields;
  readonly saio: SaioFields;
  readonly senc: SencFields;
}

export interface TrafFields {
  readonly tfhd: TfhdFields;
  readonly tfdt: TfdtFields;
  readonly trun: TrunFields;
  readonly aux?: CencAuxFields | undefined;
}

export function size(f: TrafFields): number {
  let n = 8 + tfhd.size(f.tfhd) + tfdt.size(f.tfdt) + trun.size(f.trun);
  if (f.aux) n += saiz.size(f.aux.saiz) + saio.size() + senc.size(f.aux.senc);
  return n;
}

export function write(w: BoxWriter, f: TrafFields): void {
  w.begin('traf', size(f));
  tfhd.write(w, f.tfhd);
  tfdt.write(w, f.tfdt);
  trun.write(w, f.trun);
  if (f.aux) {
    saiz.write(w, f.aux.saiz);
    saio.write(w, f.aux.saio);
    senc.write(w, f.aux.senc);
  }
  w.end();
}
