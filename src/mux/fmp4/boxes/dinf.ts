import type { BoxWriter } from '../box-writer.js';
import * as dref from './dref.js';

export function size(): number {
  return 8 + dref.size();
}

export function write(w: BoxWriter): void {
  w.begin('dinf', size());
  dref.write(w);
  w.end();
}
