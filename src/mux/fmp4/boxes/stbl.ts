import type { BoxWriter } from '../box-writer.js';
import type { SampleEntryFields } from './sample-entry.js';
import * as stco from './stco.js';
import * as stsc from './stsc.js';
import * as stsd from './stsd.js';
import * as stsz from './stsz.js';
import * as stts from './stts.js';

export function size(f: SampleEntryFields): number {
  return 8 + stsd.size(f) + stts.size() + stsc.size() + stsz.size() + stco.size();
}

export function write(w: BoxWriter, f: SampleEntryFields): void {
  w.begin('stbl', size(f));
  stsd.write(w, f);
  stts.write(w);
  stsc.write(w);
  stsz.write(w);
  stco.write(w);
  w.end();
}
