/** What the init segment says about protection: sinf/tenc from the scheme table, and pssh boxes. */
import type { Track } from '../media/track.js';
import type { InitProtection, PsshBox } from '../mux/fmp4/init.js';
import { type CencScheme, encryptionError, schemeParams } from './types.js';

/** W3C "Common PSSH box" system (also ClearKey's): 1077efec-c0b2-4d02-ace3-3c1e52e2fb4b. */
export const COMMON_SYSTEM_ID = Uint8Array.from([
  0x10, 0x77, 0xef, 0xec, 0xc0, 0xb2, 0x4d, 0x02, 0xac, 0xe3, 0x3c, 0x1e, 0x52, 0xe2, 0xfb, 0x4b,
]);

export function initProtection(
  track: Track,
  scheme: CencScheme,
  kid: Uint8Array,
  constantIv: Uint8Array | undefined,
  pssh: readonly PsshBox[],
): InitProtection {
  if (kid.length !== 16) throw encryptionError(`KID must be 16 bytes, got ${kid.length}`);
  const p = schemeParams(scheme, track.kind, constantIv);
  return {
    scheme,
    kid,
    perSampleIvSize: p.perSampleIvSize,
    constantIv: p.constantIv,
    cryptByteBlock: p.cryptByteBlock,
    skipByteBlock: p.skipByteBlock,
    pssh,
  };
}

/** Version 1 common pssh listing the KIDs, no data (52 bytes for one KID; FORMATS.md §1.3). */
export function commonPssh(kids: readonly Uint8Array[]): PsshBox {
  for (const k of kids) if (k.length !== 16) throw encryptionError(`KID must be 16 bytes, got ${k.length}`);
  return { systemId: COMMON_SYSTEM_ID, kids, data: new Uint8Array(0) };
}
