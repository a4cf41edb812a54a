import type { BoxWriter } from '../box-writer.js';

export interface TfdtFields {
  /** The first sample's DTS on the track's continuous timeline; a safe integer. */
  readonly baseMediaDecodeTime: number;
}

/** Version 1 (u64) only when the time does not fit 32 bits (shaka: IsFitIn32Bits). */
export function version(f: TfdtFields): 0 | 1 {
  return f.baseMediaDecodeTime > 0xffffffff ? 1 : 0;
}

export function size(f: TfdtFields): number {
  return version(f) === 1 ? 20 : 16;
}

export function write(w: BoxWriter, f: TfdtFields): void {
  const v = version(f);
  w.beginFull('tfdt', v, 0, size(f));
  if (v === 1) w.u64(f.baseMediaDecodeTime);
  else w.u32(f.baseMediaDecodeTime);
  w.end();
}
