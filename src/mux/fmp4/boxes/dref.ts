import type { BoxWriter } from '../box-writer.js';
import * as url from './url.js';

export function size(): number {
  return 16 + url.size();
}

export function write(w: BoxWriter): void {
  w.beginFull('dref', 0, 0, size());
  w.u32(1); // entry_count
  url.write(w);
  w.end();
}
