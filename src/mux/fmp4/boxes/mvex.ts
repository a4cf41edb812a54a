import type { BoxWriter } from '../box-writer.js';
import * as trex from './trex.js';
import type { TrexFields } from './trex.js';

export function size(): number {
  return 8 + trex.size();
}

export function write(w: BoxWriter, f: TrexFields): void {
  w.begin('mvex', size());
  trex.write(w, f);
  w.end();
}
