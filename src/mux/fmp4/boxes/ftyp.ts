import type { BoxWriter } from '../box-writer.js';

export interface FtypFields {
  readonly majorBrand: string;
  readonly minorVersion: number;
  readonly compatibleBrands: readonly string[];
}

export function size(f: FtypFields): number {
  return 16 + 4 * f.compatibleBrands.length;
}

export function write(w: BoxWriter, f: FtypFields): void {
  writeBrands(w, 'ftyp', f);
}

/** ftyp and styp share one layout. */
export function writeBrands(w: BoxWriter, type: 'ftyp' | 'styp', f: FtypFields): void {
  w.begin(type, size(f));
  w.fourcc(f.majorBrand);
  w.u32(f.minorVersion);
  for (const b of f.compatibleBrands) w.fourcc(b);
  w.end();
}
