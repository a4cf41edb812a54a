import type { BoxWriter } from '../box-writer.js';

export interface MdhdFields {
  readonly timescale: number;
  /** ISO 639-2/T, three lowercase letters. */
  readonly language: string;
}

export function size(): number {
  return 32;
}

/** Three 5-bit letters offset by 0x60 (ISO/IEC 14496-12 8.4.2.3). */
export function packLanguage(lang: string): number {
  const code = /^[a-z]{3}$/.test(lang) ? lang : 'und';
  return ((code.charCodeAt(0) - 0x60) << 10) | ((code.charCodeAt(1) - 0x60) << 5) | (code.charCodeAt(2) - 0x60);
}

export function write(w: BoxWriter, f: MdhdFields): void {
  w.beginFull('mdhd', 0, 0, size());
  w.u32(0); // creation_time
  w.u32(0); // modification_time
  w.u32(f.timescale);
  w.u32(0); // duration
  w.u16(packLanguage(f.language));
  w.u16(0); // pre_defined
  w.end();
}
