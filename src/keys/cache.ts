/**
 * Keys live in memory only, per KID, for a bounded time: a revoked or rotated key at a key server takes
 * effect within one TTL, and a process dump holds at most `max` keys.
 */
import { LRUCache } from 'lru-cache';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { KID_BYTES, kidToHex, kidToUuid } from './kid.js';
import { CONTENT_KEY_BYTES, KeySourceError, type ContentKey, type KeyContext, type KeyProvider } from './provider.js';

export interface KeyCacheOptions {
  ttlMs: number;
  max: number;
  /**
   * How long a failure is answered from memory (default 2 s): long enough that a down key server is not
   * hit by every segment request of every viewer, short enough that it is used again as soon as it is
   * back. 0 disables it.
   */
  negativeTtlMs?: number;
  /** Monotonic clock in ms, for tests; defaults to performance.now. */
  now?: () => number;
}

export interface KeyCacheStats {
  readonly kind: string;
  readonly size: number;
  /** Answered from the cache. */
  readonly hits: number;
  /** Went to the inner provider. */
  readonly misses: number;
  /** Joined a call to the inner provider already under way for the same KID. */
  readonly shared: number;
  /** Answered with a recent failure without asking the inner provider. */
  readonly negativeHits: number;
  /** Inner calls that failed. */
  readonly failures: number;
  /** Wall-clock ms (Date.now) of the last inner success and failure. */
  readonly lastSuccessAt?: number;
  readonly lastFailureAt?: number;
}

export const DEFAULT_NEGATIVE_TTL_MS = 2000;

export class CachedKeyProvider implements KeyProvider {
  readonly kind: string;
  readonly fixedKid?: Uint8Array;
  private readonly keys: LRUCache<string, ContentKey>;
  private readonly failed: LRUCache<string, PackagerError> | undefined;
  private readonly inflight = new Map<string, Promise<ContentKey>>();
  private hits = 0;
  private misses = 0;
  private shared = 0;
  private negativeHits = 0;
  private failures = 0;
  private lastSuccessAt: number | undefined;
  private lastFailureAt: number | undefined;

  constructor(
    private readonly inner: KeyProvider,
    opts: KeyCacheOptions,
  ) {
    if (!(opts.ttlMs > 0) || !(opts.max > 0)) throw new RangeError('a key cache needs ttlMs > 0 and max > 0');
    this.kind = inner.kind;
    if (inner.fixedKid !== undefined) this.fixedKid = inner.fixedKid;
    // lru-cache caches the clock for ttlResolution ms on a timer; an injected clock must be read each time.
    const clock = opts.now ? { perf: { now: opts.now }, ttlResolution: 0 } : {};
    this.keys = new LRUCache<string, ContentKey>({ max: opts.max, ttl: opts.ttlMs, ...clock });
    const negativeTtlMs = opts.negativeTtlMs ?? DEFAULT_NEGATIVE_TTL_MS;
    this.failed = negativeTtlMs > 0 ? new LRUCache<string, PackagerError>({ max: opts.max, ttl: negativeTtlMs, ...clock }) : undefined;
  }

  /**
   * The key of `kid`. Concurrent calls for one KID share one inner call. Any failure, including a recent
   * one answered from memory, is a PackagerError(KEY_UNAVAILABLE) (503) whose message names the KID and
   * the provider kind only; the inner error, which may hold a URL with credentials, is only its `cause`.
   */
  getKey(kid: Uint8Array, ctx: KeyContext): Promise<ContentKey> {
    if (kid.length !== KID_BYTES) return Promise.reject(new RangeError(`a KeyID has ${KID_BYTES} bytes, not ${kid.length}`));
    const id = kidToHex(kid);
    const hit = this.keys.get(id);
    if (hit !== undefined) {
      this.hits++;
      return Promise.resolve(hit);
    }
    const failure = this.failed?.get(id);
    if (failure !== undefined) {
      this.negativeHits++;
      return Promise.reject(failure);
    }
    const pending = this.inflight.get(id);
    if (pending !== undefined) {
      this.shared++;
      return pending;
    }
    this.misses++;
    const load = this.load(id, kid, ctx);
    this.inflight.set(id, load);
    const done = (): void => void this.inflight.delete(id);
    load.then(done, done);
    return load;
  }

  /** Forgets one KID (a rotated key), or everything (a config reload). */
  invalidate(kid?: Uint8Array): void {
    if (kid === undefined) {
      this.keys.clear();
      this.failed?.clear();
      return;
    }
    const id = kidToHex(kid);
    this.keys.delete(id);
    this.failed?.delete(id);
  }

  stats(): KeyCacheStats {
    return {
      kind: this.kind,
      size: this.keys.size,
      hits: this.hits,
      misses: this.misses,
      shared: this.shared,
      negativeHits: this.negativeHits,
      failures: this.failures,
      ...(this.lastSuccessAt === undefined ? {} : { lastSuccessAt: this.lastSuccessAt }),
      ...(this.lastFailureAt === undefined ? {} : { lastFailureAt: this.lastFailureAt }),
    };
  }

  private async load(id: string, kid: Uint8Array, ctx: KeyContext): Promise<ContentKey> {
    try {
      const got = await this.inner.getKey(kid, ctx);
      checkContentKey(got);
      const key: ContentKey = Object.freeze({ ...got });
      this.keys.set(id, key);
      // A key server may override the KID: the key is then asked for (licences, /keys) by the new one.
      if (kidToHex(key.kid) !== id) this.keys.set(kidToHex(key.kid), key);
      this.lastSuccessAt = Date.now();
      return key;
    } catch (e) {
      this.failures++;
      this.lastFailureAt = Date.now();
      // Only a KeySourceError's message is known to be free of secrets; anything else stays the cause.
      const why = e instanceof KeySourceError ? `: ${e.message}` : '';
      const error = new PackagerError(ErrorCode.KEY_UNAVAILABLE, `no key for KeyID ${kidToUuid(kid)} from the ${this.kind} key source${why}`, {
        cause: e,
      });
      this.failed?.set(id, error);
      throw error;
    }
  }
}

/** A provider bug must fail here, not as a cipher error (or garbage output) deep inside a segment build. */
function checkContentKey(k: ContentKey): void {
  if (!(k.kid instanceof Uint8Array) || k.kid.length !== KID_BYTES) {
    throw new TypeError(`the key source returned a KeyID of ${k.kid?.length ?? 0} bytes, not ${KID_BYTES}`);
  }
  if (!(k.key instanceof Uint8Array) || k.key.length !== CONTENT_KEY_BYTES) {
    throw new TypeError(`the key source returned a key of ${k.key?.length ?? 0} bytes, not ${CONTENT_KEY_BYTES}`);
  }
}
