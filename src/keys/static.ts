/**
 * `drm static key=HEX [kid=UUID]`: one raw key for the whole location. Meant for tests and migrations:
 * every title shares the key, so one leaked licence opens them all.
 */
import { PackagerError, ErrorCode } from '../media/errors.js';
import { KID_BYTES, kidEquals, kidToUuid, parseKid } from './kid.js';
import { CONTENT_KEY_BYTES, type ContentKey, type KeyContext, type KeyProvider } from './provider.js';

export class StaticKeyProvider implements KeyProvider {
  readonly kind = 'static';
  readonly fixedKid?: Uint8Array;
  readonly #key: Uint8Array;

  /** `keyHex`: 32 hex digits. `kid`: a UUID (any form parseKid takes); the location's KID when given. */
  constructor(keyHex: string, kid?: string) {
    // The config parser checked it already; the message still must not echo a near-miss key.
    if (!/^[0-9a-fA-F]{32}$/.test(keyHex)) {
      throw new PackagerError(ErrorCode.CONFIG_INVALID, `a static key is ${CONTENT_KEY_BYTES * 2} hex digits`);
    }
    this.#key = Uint8Array.from(Buffer.from(keyHex, 'hex'));
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
