import type { BoxWriter } from '../box-writer.js';
import { size as ftypSize, writeBrands, type FtypFields } from './ftyp.js';

// Not emitted by fragment.ts (segments are moof+mdat, see there); kept for callers that want one.
export function size(f: FtypFields): number {
  return ftypSize(f);
}

export function write(w: BoxWriter, f: FtypFields): void {
  writeBrands(w, 'styp', f);
}
