/**
 * `drm local`: content keys derived from the server secret and the KID, after nginx-vod-module's
 * `vod_secret_key`. Every instance given the same secret derives the same keys, so a fleet needs no key
 * store, and no content key is ever written anywhere.
 */
import { hkdfSync } from 'node:crypto';
import { KID_BYTES } from './kid.js';
import { MIN_SECRET_BYTES } from './secret.js';
import { CONTENT_KEY_BYTES, type ContentKey, type KeyContext, type KeyProvider } from './provider.js';

/**
 * HKDF salt: a fixed label, so keys derived here can never collide with another use of the same secret.
 * Part of the on-disk contract: changing it changes every key and breaks every licence already issued
 * and every encrypted segment in a CDN cache. A new derivation gets a new label (`.../v2`).
 */
export const LOCAL_KEY_SALT = 'packager/cenc/v1';

/** RFC 5869 HKDF with SHA-256. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/** The content key of `kid` under `secret`: HKDF-SHA256(ikm = secret, salt = LOCAL_KEY_SALT, info = kid, 16). */
export function deriveLocalKey(secret: Uint8Array, kid: Uint8Array): Uint8Array {
  return hkdfSha256(secret, new TextEncoder().encode(LOCAL_KEY_SALT), kid, CONTENT_KEY_BYTES);
}

export class LocalKeyProvider implements KeyProvider {
  readonly kind = 'local';
  readonly #secret: Uint8Array;

  constructor(secret: Uint8Array) {
    if (secret.length < MIN_SECRET_BYTES) {
      throw new RangeError(`the server secret must have at least ${MIN_SECRET_BYTES} bytes`);
    }
    // A private copy: the caller's buffer may be reused or zeroed.
    this.#secret = secret.slice();
  }

  getKey(kid: Uint8Array, _ctx: KeyContext): Promise<ContentKey> {
    if (kid.length !== KID_BYTES) return Promise.reject(new RangeError(`a KeyID has ${KID_BYTES} bytes, not ${kid.length}`));
    return Promise.resolve({ kid: kid.slice(), key: deriveLocalKey(this.#secret, kid) });
  }
}
