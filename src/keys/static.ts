/**
 * `drm static key=HEX|v1:WRAPPED [kid=UUID]`: one raw key for the whole location. Meant for tests and
 * migrations: every title shares the key, so one leaked licence opens them all. The registry unwraps a
 * wrapped key (keys/wrap.ts) and hands the bytes in.
 */
import { PackagerError, ErrorCode } from '../media/errors.js';
import { KID_BYTES, kidEquals, kidToUuid, parseKid } from './kid.js';
import { CONTENT_KEY_BYTES, type ContentKey, type KeyContext, type KeyProvider } from './provider.js';

export class StaticKeyProvider implements KeyProvider {
  readonly kind = 'static';
  readonly fixedKid?: Uint8Array;
  readonly #key: Uint8Array;

  /**
   * `key`: 32 hex digits, or the 16 bytes (an unwrapped key). `kid`: a UUID (any form parseKid takes); the
   * location's KID when given.
   */
  constructor(key: string | Uint8Array, kid?: string) {
    if (typeof key === 'string') {
      // The config parser checked it already; the message still must not echo a near-miss key.
      if (!/^[0-9a-fA-F]{32}$/.test(key)) {
        throw new PackagerError(ErrorCode.CONFIG_INVALID, `a static key is ${CONTENT_KEY_BYTES * 2} hex digits`);
      }
      this.#key = Uint8Array.from(Buffer.from(key, 'hex'));
    } else {
      if (key.length !== CONTENT_KEY_BYTES) throw new PackagerError(ErrorCode.CONFIG_INVALID, `a static key is ${CONTENT_KEY_BYTES} bytes`);
      this.#key = key.slice();
    }
    if (kid !== undefined) {
      try {
        this.fixedKid = parseKid(kid);
      } catch (e) {
        throw new PackagerError(ErrorCode.CONFIG_INVALID, `drm static kid: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    }
  }

  getKey(kid: Uint8Array, _ctx: KeyContext): Promise<ContentKey> {
    if (kid.length !== KID_BYTES) return Promise.reject(new RangeError(`a KeyID has ${KID_BYTES} bytes, not ${kid.length}`));
    // With kid= every title of the location carries that KID; handing the key out under another KID
    // would license content this location never encrypted.
    if (this.fixedKid !== undefined && !kidEquals(kid, this.fixedKid)) {
      return Promise.reject(
        new PackagerError(ErrorCode.KEY_UNAVAILABLE, `KeyID ${kidToUuid(kid)} is not this location's (${kidToUuid(this.fixedKid)})`),
      );
    }
    return Promise.resolve({ kid: kid.slice(), key: this.#key.slice() });
  }
}
