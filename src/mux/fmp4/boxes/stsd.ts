import type { BoxWriter } from '../box-writer.js';
import * as sampleEntry from './sample-entry.js';
import type { SampleEntryFields } from './sample-entry.js';

export function size(f: SampleEntryFields): number {
  return 16 + sampleEntry.size(f);
}

export function write(w: BoxWriter, f: SampleEntryFields): void {
  w.beginFull('stsd', 0, 0, size(f));
  w.u32(1); // entry_count
  sampleEntry.write(w, f);
  w.end();
}
