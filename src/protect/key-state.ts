/**
 * What every segment under one content key would otherwise derive again: the cenc IV bases (an HMAC per
 * request), the cbcs constant IV (another), and the ECB cipher the cenc keystream and the cbcs lock-step
 * chains run through (key expansion, ~2 us per fragment). Measured on the bench's 4 s segments: ~20 us
 * per request, which is a third of the whole protection cost of a 50 KB audio segment.
 *
 * Keyed by the key's Uint8Array object, weakly: the key cache (keys/cache.ts) hands out the same object
 * for as long as it holds the key, so these live exactly as long as that key may be used — a key past
 * its TTL, invalidated or re-fetched is a new object with a fresh state, and nothing here outlives it.
 * The bytes are kept and compared on every lookup too, so a caller that rewrote a key buffer in place
 * can never get another key's IVs or cipher.
 *
 * Nothing here depends on sample bytes, and no encrypted output is kept.
 */
import { type Cipher, createCipheriv, timingSafeEqual } from 'node:crypto';
import { cbcsConstantIv, cencIvBase } from './iv.js';
import { encryptionError } from './types.js';

/** IV bases kept per key: titles × tracks in use under one key (a live stream's segments each take one). */
const MAX_IV_BASES = 1024;

class KeyState {
  readonly bytes: Uint8Array;
  private ecbCipher: Cipher | undefined;
  private constantIv: Uint8Array | undefined;
  /** `contentId \0 trackId` -> IV base, oldest first (a Map keeps insertion order). */
  private readonly ivBases = new Map<string, Uint8Array>();

  constructor(key: Uint8Array) {
    this.bytes = Uint8Array.from(key);
  }

  /**
   * AES-128-ECB without padding. Stateless between calls as long as every update() is whole blocks
   * (its callers only ever pass whole blocks), so one serves every fragment under this key.
   */
  ecb(): Cipher {
    return (this.ecbCipher ??= createCipheriv('aes-128-ecb', this.bytes, null).setAutoPadding(false));
  }

  cbcsIv(): Uint8Array {
    return (this.constantIv ??= cbcsConstantIv(this.bytes));
  }

  cencIvBase(contentId: string, trackId: number): Uint8Array {
    const id = `${contentId}\0${trackId}`;
    let base = this.ivBases.get(id);
    if (base === undefined) {
      base = cencIvBase(this.bytes, contentId, trackId);
      if (this.ivBases.size >= MAX_IV_BASES) this.ivBases.delete(this.ivBases.keys().next().value!);
      this.ivBases.set(id, base);
    }
    return base;
  }
}

const states = new WeakMap<Uint8Array, KeyState>();

function stateOf(key: Uint8Array): KeyState {
  if (key.length !== 16) throw encryptionError(`AES-128 key must be 16 bytes, got ${key.length}`);
  let s = states.get(key);
  if (s === undefined || !timingSafeEqual(s.bytes, key)) {
    s = new KeyState(key);
    states.set(key, s);
  }
  return s;
}

/** cencIvBase(key, contentId, trackId), derived once per key object. Callers must not modify it. */
export function keyedCencIvBase(key: Uint8Array, contentId: string, trackId: number): Uint8Array {
  return stateOf(key).cencIvBase(contentId, trackId);
}

/** cbcsConstantIv(key), derived once per key object. Callers must not modify it. */
export function keyedCbcsConstantIv(key: Uint8Array): Uint8Array {
  return stateOf(key).cbcsIv();
}

/** An AES-128-ECB cipher (no padding) for `key`, shared: pass it whole blocks only and never call final(). */
export function sharedEcb(key: Uint8Array): Cipher {
  return stateOf(key).ecb();
}
