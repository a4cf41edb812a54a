import type { BoxWriter } from '../box-writer.js';
import * as frma from './frma.js';
import * as schi from './schi.js';
import * as schm from './schm.js';
import type { TencFields } from './tenc.js';

export interface SinfFields {
  readonly originalFormat: string;
  readonly schemeType: 'cenc' | 'cbcs';
  readonly tenc: TencFields;
}

export function size(f: SinfFields): number {
  return 8 + frma.size() + schm.size() + schi.size(f.tenc);
}

export function write(w: BoxWriter, f: SinfFields): void {
  w.begin('sinf', size(f));
  frma.write(w, { dataFormat: f.originalFormat });
  schm.write(w, { schemeType: f.schemeType });
  schi.write(w, f.tenc);
  w.end();
}
