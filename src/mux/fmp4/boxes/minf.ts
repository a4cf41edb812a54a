import type { TrackKind } from '../../../media/track.js';
import type { BoxWriter } from '../box-writer.js';
import * as dinf from './dinf.js';
import type { SampleEntryFields } from './sample-entry.js';
import * as smhd from './smhd.js';
import * as stbl from './stbl.js';
import * as vmhd from './vmhd.js';

export interface MinfFields {
  readonly kind: TrackKind;
  readonly sampleEntry: SampleEntryFields;
}

function mediaHeaderSize(kind: TrackKind): number {
  return kind === 'video' ? vmhd.size() : smhd.size();
}

export function size(f: MinfFields): number {
  return 8 + mediaHeaderSize(f.kind) + dinf.size() + stbl.size(f.sampleEntry);
}

export function write(w: BoxWriter, f: MinfFields): void {
  w.begin('minf', size(f));
  if (f.kind === 'video') vmhd.write(w);
  else smhd.write(w);
  dinf.write(w);
  stbl.write(w, f.sampleEntry);
  w.end();
}
