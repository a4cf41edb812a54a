import type { BoxWriter } from '../box-writer.js';

export interface PsshFields {
  readonly systemId: Uint8Array;
  /** Present: version 1 with a KID list (possibly empty). Absent: version 0. */
  readonly kids?: readonly Uint8Array[] | undefined;
  readonly data: Uint8Array;
}

export function size(f: PsshFields): number {
  return 32 + (f.kids ? 4 + 16 * f.kids.length : 0) + f.data.length;
}

export function write(w: BoxWriter, f: PsshFields): void {
  w.beginFull('pssh', f.kids ? 1 : 0, 0, size(f));
  w.bytes(f.systemId);
  if (f.kids) {
    w.u32(f.kids.length);
    for (const kid of f.kids) w.bytes(kid);
  }
  w.u32(f.data.length);
  w.bytes(f.data);
  w.end();
}
