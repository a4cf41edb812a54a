import type { BoxWriter } from '../box-writer.js';

export interface HdlrFields {
  readonly handlerType: 'vide' | 'soun';
  /** UTF-8 name without the terminating NUL. */
  readonly name: Uint8Array;
}

export function size(f: HdlrFields): number {
  return 32 + f.name.length + 1;
}

export function write(w: BoxWriter, f: HdlrFields): void {
  w.beginFull('hdlr', 0, 0, size(f));
  w.u32(0); // pre_defined
  w.fourcc(f.handlerType);
  w.zeros(12);
  w.bytes(f.name);
  w.u8(0);
  w.end();
}
