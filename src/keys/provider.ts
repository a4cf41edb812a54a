/**
 * One interface for every key source (derived, static, KeyOS, SPEKE/CPIX). The HTTP layer resolves the
 * key before it builds a segment and passes it in; nothing awaits a provider inside a loop over samples.
 */

/** Content keys are AES-128. */
export const CONTENT_KEY_BYTES = 16;

export interface ContentKey {
  /** The KID to signal; a remote provider may return another one than was asked for. */
  readonly kid: Uint8Array;
  /** Never log it, never put it in a message. Treat as read-only: caches hand out the same bytes. */
  readonly key: Uint8Array;
  // Later: pssh boxes per DRM system, licence URLs, an IV a key server imposes.
}

export interface KeyContext {
  /** What the key is for (location and title, or stream name): sent to key servers that want it. */
  readonly contentId: string;
}

export interface KeyProvider {
  /** `local`, `static`, `keyos`, `cpix`: for logs and the status API. */
  readonly kind: string;
  /**
   * When set, every title of the location has this KID (`drm static kid=...`), and the HTTP layer uses
   * it instead of reading sidecars.
   */
  readonly fixedKid?: Uint8Array;
  /** May be slow and may fail; callers go through CachedKeyProvider, which maps failures to a 503. */
  getKey(kid: Uint8Array, ctx: KeyContext): Promise<ContentKey>;
}
