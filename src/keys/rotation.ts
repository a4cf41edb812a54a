/**
 * Key rotation of live streams: the stream's timeline is split into key periods, each with its own
 * KeyID derived from the resource_id and the period index, so every origin (and the key server, which
 * is asked by KID) agrees on which key protects which segment with nothing shared but the config.
 *
 * Period of a segment: floor(start / (rotate seconds · 90000)) for `rotate=` (time-based, like
 * Flussonic), floor((number - 1) / N) for `rotate_segments=N` (like nginx-rtmp). Both come from values
 * every origin computes identically from the media timestamps.
 */
import { createHash } from 'node:crypto';

export type KeyRotation = { readonly seconds: number } | { readonly segments: number };

const LIVE_CLOCK = 90_000;

export function keyPeriodOf(rotation: KeyRotation, segment: { readonly number: number; readonly start: number }): number {
  if ('seconds' in rotation) return Math.floor(segment.start / (rotation.seconds * LIVE_CLOCK));
  return Math.floor((segment.number - 1) / rotation.segments);
}

/**
 * The KeyID of period p: SHA-256('packager-key-period' 0 resourceKid p)[0..16], with the UUID version
 * (4) and variant bits set so that key servers that validate UUIDs accept it.
 */
export function periodKid(resourceKid: Uint8Array, period: number): Uint8Array {
  if (resourceKid.length !== 16) throw new RangeError('KID must be 16 bytes');
  if (!Number.isSafeInteger(period) || period < 0) throw new RangeError(`bad key period ${period}`);
  const h = createHash('sha256').update('packager-key-period\0').update(resourceKid).update(`\0${period}`).digest();
  const kid = new Uint8Array(h.subarray(0, 16));
  kid[6] = (kid[6]! & 0x0f) | 0x40;
  kid[8] = (kid[8]! & 0x3f) | 0x80;
  return kid;
}
