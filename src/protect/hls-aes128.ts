/**
 * HLS METHOD=AES-128 (RFC 8216 §4.3.2.4, FORMATS.md §3.1): the whole segment file is one AES-128-CBC
 * message with PKCS#7 padding, so the output is always 1..16 bytes longer than the input (a full pad
 * block when the input is a multiple of 16: players strip the padding unconditionally).
 */
import { createCipheriv } from 'node:crypto';
import { ErrorCode, PackagerError } from '../media/errors.js';

const BLOCK = 16;

/** AES-128-CBC + PKCS#7 over `segment` with `key` and `iv` (16 bytes each). */
export function encryptAes128Segment(segment: Uint8Array, key: Uint8Array, iv: Uint8Array): Buffer {
  if (key.length !== BLOCK || iv.length !== BLOCK) {
    throw new PackagerError(ErrorCode.ENCRYPTION_FAILURE, `AES-128 needs a 16-byte key and IV, got ${key.length} and ${iv.length}`);
  }
  // Node's default auto padding is PKCS#7; update() returns every whole block, final() the padded last.
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  const body = cipher.update(segment);
  const last = cipher.final();
  return Buffer.concat([body, last], body.length + last.length);
}

const TWO_POW_32 = 2 ** 32;

/**
 * The IV HLS implies when EXT-X-KEY has no IV attribute: the segment's media sequence number as a
 * 128-bit big-endian integer. Origins write it explicitly (IV=0x...) so that the playlist, not player
 * defaults, decides, and every origin serving the same title produces the same bytes.
 */
export function hlsSegmentIv(segmentNumber: number): Uint8Array {
  if (!Number.isSafeInteger(segmentNumber) || segmentNumber < 0) {
    throw new PackagerError(ErrorCode.ENCRYPTION_FAILURE, `HLS IV: segment number ${segmentNumber} is not a non-negative integer`);
  }
  const iv = new Uint8Array(BLOCK);
  const view = new DataView(iv.buffer);
  // Bit operators are 32-bit: split the (up to 53-bit) number into two 32-bit words.
  view.setUint32(8, Math.floor(segmentNumber / TWO_POW_32));
  view.setUint32(12, segmentNumber % TWO_POW_32);
  return iv;
}
