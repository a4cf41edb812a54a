/**
 * The per-scheme table (CENC §10, FORMATS.md §1.1): IV size and pattern for each scheme and kind of
 * track. Everything else in protect/ reads its parameters from here.
 */
import { ErrorCode, PackagerError } from '../media/errors.js';
import type { TrackKind } from '../media/track.js';

export type CencScheme = 'cenc' | 'cbcs';

export interface SchemeParams {
  readonly scheme: CencScheme;
  /** 8 for cenc (the low 8 bytes of the counter block stay the block counter); 0 for cbcs (constant IV). */
  readonly perSampleIvSize: 0 | 8;
  /** cbcs video 1:9; everything else 0:0 (cbcs audio: every whole block of the sample, tenc v1). */
  readonly cryptByteBlock: number;
  readonly skipByteBlock: number;
  /** cbcs: 16 bytes, the same for every segment (FairPlay needs that); absent for cenc. */
  readonly constantIv?: Uint8Array | undefined;
}

export function schemeParams(scheme: CencScheme, kind: TrackKind, constantIv?: Uint8Array): SchemeParams {
  if (scheme === 'cenc') return { scheme, perSampleIvSize: 8, cryptByteBlock: 0, skipByteBlock: 0 };
  if (scheme !== 'cbcs') throw encryptionError(`unknown scheme ${String(scheme)}`);
  if (!constantIv || constantIv.length !== 16) throw encryptionError('cbcs needs a 16-byte constant IV');
  const video = kind === 'video';
  return { scheme, perSampleIvSize: 0, cryptByteBlock: video ? 1 : 0, skipByteBlock: video ? 9 : 0, constantIv };
}

/**
 * saiz stores each sample's aux info size in 8 bits: IV + 2 + 6 per subsample <= 255, so 40
 * subsamples with 8-byte IVs, 42 with a constant IV.
 */
export function maxSubsamples(perSampleIvSize: number): number {
  return Math.floor((255 - perSampleIvSize - 2) / 6);
}

export function encryptionError(message: string, cause?: unknown): PackagerError {
  return new PackagerError(ErrorCode.ENCRYPTION_FAILURE, message, { expose: false, cause });
}
