import type { BoxWriter } from '../box-writer.js';

export interface TencFields {
  /** 0 for cenc (pattern byte reserved), 1 for cbcs (pattern byte used), audio included: Safari needs v1. */
  readonly version: 0 | 1;
  readonly cryptByteBlock: number;
  readonly skipByteBlock: number;
  readonly perSampleIvSize: 0 | 8 | 16;
  readonly defaultKid: Uint8Array;
  /** Present exactly when perSampleIvSize is 0. */
  readonly constantIv?: Uint8Array | undefined;
}

export function size(f: TencFields): number {
  return 32 + (f.perSampleIvSize === 0 && f.constantIv ? 1 + f.constantIv.length : 0);
}

export function write(w: BoxWriter, f: TencFields): void {
  w.beginFull('tenc', f.version, 0, size(f));
  w.u8(0); // reserved
  w.u8(f.version === 0 ? 0 : (f.cryptByteBlock << 4) | f.skipByteBlock);
  w.u8(1); // default_isProtected
  w.u8(f.perSampleIvSize);
  w.bytes(f.defaultKid);
  if (f.perSampleIvSize === 0 && f.constantIv) {
    w.u8(f.constantIv.length);
    w.bytes(f.constantIv);
  }
  w.end();
}
