export { KID_BYTES, parseKid, kidToUuid, kidToHex, kidToB64url, kidFromB64url, kidEquals } from './kid.js';
export {
  SIDECAR_SUFFIX,
  KidUnavailableError,
  SidecarKids,
  readSidecarKid,
  invalidateSidecar,
  sidecarPathOf,
  type SidecarProblem,
} from './sidecar.js';
export { SECRET_ENV, MIN_SECRET_BYTES, loadSecret, decodeSecret, type LoadSecretOptions } from './secret.js';
export { CONTENT_KEY_BYTES, KeySourceError, type ContentKey, type DrmData, type DrmSystemName, type KeyContext, type KeyProvider } from './provider.js';
export { LOCAL_KEY_SALT, LocalKeyProvider, deriveLocalKey, hkdfSha256 } from './local.js';
export { StaticKeyProvider } from './static.js';
export { CachedKeyProvider, DEFAULT_NEGATIVE_TTL_MS, type KeyCacheOptions, type KeyCacheStats } from './cache.js';
export { createKeyProvider, type KeyProviderDeps } from './registry.js';
export { KnownKids, type KnownKid } from './known-kids.js';
export { scanSidecars, type ScanOptions } from './scan.js';
export { KEK_ENV, KEK_BYTES, WRAP_PREFIX, wrapKey, unwrapKey, isWrappedKey, kekIdOf, decodeKek, loadKek, readKekFile, createKekFile } from './wrap.js';
