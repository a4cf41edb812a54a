import type { BoxWriter } from '../box-writer.js';
import * as mvex from './mvex.js';
import * as mvhd from './mvhd.js';
import type { MvhdFields } from './mvhd.js';
import * as pssh from './pssh.js';
import type { PsshFields } from './pssh.js';
import * as trak from './trak.js';
import type { TrakFields } from './trak.js';
import type { TrexFields } from './trex.js';

export interface MoovFields {
  readonly mvhd: MvhdFields;
  readonly trak: TrakFields;
  readonly trex: TrexFields;
  readonly pssh: readonly PsshFields[];
}

export function size(f: MoovFields): number {
  let n = 8 + mvhd.size() + trak.size(f.trak) + mvex.size();
  for (const p of f.pssh) n += pssh.size(p);
  return n;
}

export function write(w: BoxWriter, f: MoovFields): void {
  w.begin('moov', size(f));
  mvhd.write(w, f.mvhd);
  trak.write(w, f.trak);
  mvex.write(w, f.trex);
  for (const p of f.pssh) pssh.write(w, p);
  w.end();
}
