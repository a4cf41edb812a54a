import type { BoxWriter } from '../box-writer.js';
import * as tenc from './tenc.js';
import type { TencFields } from './tenc.js';

export function size(f: TencFields): number {
  return 8 + tenc.size(f);
}

export function write(w: BoxWriter, f: TencFields): void {
  w.begin('schi', size(f));
  tenc.write(w, f);
  w.end();
}
