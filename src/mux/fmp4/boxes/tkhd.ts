import type { BoxWriter } from '../box-writer.js';
import { writeUnityMatrix } from './matrix.js';

export interface TkhdFields {
  readonly trackId: number;
  /** 0x0100 for audio, 0 otherwise. */
  readonly volume: number;
  /** 16.16 fixed point. */
  readonly width: number;
  readonly height: number;
}

/** track_enabled | track_in_movie. */
const FLAGS = 0x000003;

export function size(): number {
  return 92;
}

export function write(w: BoxWriter, f: TkhdFields): void {
  w.beginFull('tkhd', 0, FLAGS, size());
  w.u32(0); // creation_time
  w.u32(0); // modification_time
  w.u32(f.trackId);
  w.u32(0); // reserved
  w.u32(0); // duration
  w.zeros(8);
  w.u16(0); // layer
  w.u16(0); // alternate_group
  w.u16(f.volume);
  w.u16(0);
  writeUnityMatrix(w);
  w.u32(f.width);
  w.u32(f.height);
  w.end();
}
