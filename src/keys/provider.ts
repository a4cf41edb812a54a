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
  /** What a key server returned for the DRM systems (KeyOS, CPIX); absent for local and static keys. */
  readonly drm?: DrmData;
}

/** System names as in `drm … systems=`. */
export type DrmSystemName = 'widevine' | 'playready' | 'fairplay' | 'clearkey';

/** A key server's DRM data for one key: used instead of what the packager would build itself. */
export interface DrmData {
  /** Whole pssh boxes per system, as returned. */
  readonly pssh?: Partial<Record<DrmSystemName, Uint8Array>>;
  /** PlayReady Object (the `mspr:pro` bytes), when the server returned one outside a pssh box. */
  readonly playreadyObject?: Uint8Array;
  /** CPIX ContentProtectionData per system: XML to paste inside the DASH ContentProtection element. */
  readonly contentProtectionData?: Partial<Record<DrmSystemName, string>>;
  /** CPIX HLSSignalingData per system: complete `#EXT-X-KEY` (media) / `#EXT-X-SESSION-KEY` (master) lines. */
  readonly hls?: Partial<Record<DrmSystemName, { media?: string; master?: string }>>;
}

/**
 * A failure of a remote key source whose message is safe to log (no secrets, no credentials in URLs):
 * CachedKeyProvider puts it into the KEY_UNAVAILABLE message, so the log says why (the key server's own
 * message, a timeout, a malformed answer).
 */
export class KeySourceError extends Error {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? {} : { cause: opts.cause });
    this.name = 'KeySourceError';
  }
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
