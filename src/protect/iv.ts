/**
 * Deterministic IVs, so every origin serving the same file under the same key writes the same bytes
 * (cache- and CDN-friendly, no state shared between instances).
 *
 * cenc: sample i of a track uses the 8-byte IV base + i (mod 2^64, big-endian); the counter block is
 * IV || 64-bit block counter from 0, so a sample's blocks never spill into another sample's IV. The base
 * is HMAC-SHA256(key, 'cenc-iv' 0 contentId 0 trackId)[0..8]:
 *  - one key, one file: tracks (renditions) get independent bases, and samples of one track distinct IVs;
 *  - one key, several files (a KID shared by a title's files): contentId separates them;
 *  - different keys: the key in the HMAC makes the bases independent, though reuse across keys is harmless.
 * Collisions: two tracks' IV ranges [b, b + n) overlap with probability about 2n / 2^64 for
 * pseudo-random bases. With n <= 10^6 samples (11 hours at 25 fps) that is ~1e-13 per pair; even 10^4
 * tracks under one key (5e7 pairs) stay below 1e-5. Same (key, IV) on *identical* plaintext (the same
 * sample served again) is not a reuse problem: it yields the same ciphertext.
 * The caller must make contentId unique per distinct content sharing a key (a location-relative path, or
 * a live stream's name).
 */
import { createHmac } from 'node:crypto';
import { encryptionError } from './types.js';

export function cencIvBase(key: Uint8Array, contentId: string, trackId: number): Uint8Array {
  checkKey(key);
  const mac = createHmac('sha256', key).update(`cenc-iv\0${contentId}\0${trackId}`, 'utf8').digest();
  return new Uint8Array(mac.subarray(0, 8));
}

/** 16 bytes: one constant IV per key, for every segment and rendition (FORMATS.md §10.7). */
export function cbcsConstantIv(key: Uint8Array): Uint8Array {
  checkKey(key);
  return new Uint8Array(createHmac('sha256', key).update('cbcs-iv', 'utf8').digest().subarray(0, 16));
}

/** Writes base + n (mod 2^64, big-endian) into out[at, at + 8); n is a non-negative safe integer. */
export function writeSampleIv(base: Uint8Array, n: number, out: Uint8Array, at: number): void {
  // Add in two 32-bit halves: n may exceed 2^32 (a long live stream), bitwise ops only see 32 bits.
  let lo = n % 0x100000000;
  let hi = Math.floor(n / 0x100000000);
  lo += ((base[4]! << 24) | (base[5]! << 16) | (base[6]! << 8) | base[7]!) >>> 0;
  hi += ((base[0]! << 24) | (base[1]! << 16) | (base[2]! << 8) | base[3]!) >>> 0;
  if (lo >= 0x100000000) {
    lo -= 0x100000000;
    hi += 1;
  }
  hi %= 0x100000000;
  out[at] = hi >>> 24;
  out[at + 1] = (hi >>> 16) & 0xff;
  out[at + 2] = (hi >>> 8) & 0xff;
  out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = (lo >>> 16) & 0xff;
  out[at + 6] = (lo >>> 8) & 0xff;
  out[at + 7] = lo & 0xff;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== 16) throw encryptionError(`AES-128 key must be 16 bytes, got ${key.length}`);
}
