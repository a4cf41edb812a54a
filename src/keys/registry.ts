/** From a location's `drm` directive to the provider that serves its keys. */
import type { DrmConfig } from '../config/model.js';
import { formatAt } from '../config/errors.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { LocalKeyProvider } from './local.js';
import type { ContentKey, KeyContext, KeyProvider } from './provider.js';
import { StaticKeyProvider } from './static.js';
import { KeyosKeyProvider } from './keyos.js';
import { CpixKeyProvider } from './cpix.js';
import type { KeyFetchOptions } from './keyos-fetch.js';
import { drmSignalling } from '../config/drm.js';
import { isWrappedKey, KEK_ENV, unwrapKey } from './wrap.js';

export interface KeyProviderDeps {
  /** The server secret (loadSecret), asked for only by `drm local`, on its first key. */
  secret: () => Promise<Uint8Array>;
  /** The key-encryption key (loadKek), needed by `drm static key=v1:…` only. */
  kek?: Uint8Array;
  /** Timeouts and retries of the remote key sources (keyos, cpix); defaults: 5 s, 2 retries. */
  fetch?: KeyFetchOptions;
}

/**
 * The bare provider of a `drm` directive. The caller wraps it in a CachedKeyProvider (with the TTL it
 * wants per location): that is what turns every failure into KEY_UNAVAILABLE (503), counts hits for the
 * status API and keeps `keyos` and `cpix` off the network. `fixedKid` is set for `drm static kid=...`.
 */
export function createKeyProvider(drm: DrmConfig, deps: KeyProviderDeps): KeyProvider {
  switch (drm.kind) {
    case 'local':
      return new DeferredKeyProvider('local', async () => new LocalKeyProvider(await deps.secret()));
    case 'static': {
      if (!isWrappedKey(drm.key)) return new StaticKeyProvider(drm.key, drm.kid);
      if (deps.kek === undefined) {
        throw new PackagerError(
          ErrorCode.CONFIG_INVALID,
          formatAt(drm.pos, `the static key is wrapped: give the key-encryption key in ${KEK_ENV} or with kek_file`),
          { expose: false },
        );
      }
      let key: Uint8Array;
      try {
        key = unwrapKey(drm.key, deps.kek);
      } catch (e) {
        throw new PackagerError(ErrorCode.CONFIG_INVALID, formatAt(drm.pos, e instanceof Error ? e.message : String(e)), { expose: false, cause: e });
      }
      return new StaticKeyProvider(key, drm.kid);
    }
    case 'keyos':
      return new KeyosKeyProvider({
        userkey: drm.userkey,
        ...(drm.serverKey === undefined ? {} : { serverKey: drm.serverKey }),
        ...(drm.url === undefined ? {} : { url: drm.url }),
        systems: drmSignalling(drm).systems,
        ...fetchOptions(drm.options, deps.fetch),
      });
    case 'cpix':
      return new CpixKeyProvider({ url: drm.url, headers: drm.headers, systems: drmSignalling(drm).systems, scheme: drm.schemes.dash, ...fetchOptions(drm.options, deps.fetch) });
  }
}

/** `timeout=SECONDS` and `retries=N` of a keyos/cpix directive, over the caller's defaults. */
function fetchOptions(options: Record<string, string>, defaults: KeyFetchOptions | undefined): KeyFetchOptions {
  return {
    ...defaults,
    ...(options.timeout === undefined ? {} : { timeoutMs: Math.round(Number(options.timeout) * 1000) }),
    ...(options.retries === undefined ? {} : { retries: Number(options.retries) }),
  };
}

/**
 * Builds its provider on first use, so creating providers stays synchronous while the secret is read
 * from disk. A failed build is retried on the next key rather than remembered forever.
 */
class DeferredKeyProvider implements KeyProvider {
  private built: Promise<KeyProvider> | undefined;

  constructor(
    readonly kind: string,
    private readonly build: () => Promise<KeyProvider>,
  ) {}

  async getKey(kid: Uint8Array, ctx: KeyContext): Promise<ContentKey> {
    const built = (this.built ??= this.build());
    let provider: KeyProvider;
    try {
      provider = await built;
    } catch (e) {
      if (this.built === built) this.built = undefined;
      throw e;
    }
    return provider.getKey(kid, ctx);
  }
}
