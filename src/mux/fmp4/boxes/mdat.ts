import type { BoxWriter } from '../box-writer.js';

/** Largest payload a 32-bit mdat size can describe. */
export const MAX_PAYLOAD = 0xffffffff - 8;

export function size(payloadSize: number): number {
  return 8 + payloadSize;
}

/** Only the header: the payload is the samples' bytes, which the caller places (and may encrypt). */
export function writeHeader(w: BoxWriter, payloadSize: number): void {
  w.u32(size(payloadSize));
  w.fourcc('mdat');
}
