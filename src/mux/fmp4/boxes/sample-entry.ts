import type { BoxWriter } from '../box-writer.js';
import * as sinf from './sinf.js';
import type { SinfFields } from './sinf.js';

/**
 * The track's own sample entry (avc1, hvc1, mp4a, ...), copied verbatim; when protected, renamed to
 * encv/enca with a sinf appended after all of its original children (CENC 8.12: the original type
 * moves to frma).
 */
export interface SampleEntryFields {
  /** The whole source box, header included, already checked to be one well-formed box. */
  readonly source: Uint8Array;
  readonly protection?: { readonly type: 'encv' | 'enca'; readonly sinf: SinfFields } | undefined;
}

export function size(f: SampleEntryFields): number {
  return f.source.length + (f.protection ? sinf.size(f.protection.sinf) : 0);
}

export function write(w: BoxWriter, f: SampleEntryFields): void {
  if (!f.protection) {
    w.bytes(f.source);
    return;
  }
  // A new header with the grown size replaces the source's; the body (reserved fields, width/height
  // or channel count, codec configuration children) is unchanged.
  w.begin(f.protection.type, size(f));
  w.bytes(f.source.subarray(8));
  sinf.write(w, f.protection.sinf);
  w.end();
}
