/**
 * Token buckets for the key and licence endpoints: one per client address and one per access token, so
 * neither a single client nor a leaked token can harvest keys at speed. Bounded (LRU): a flood of new
 * addresses evicts the oldest buckets, which then start full again — the bound costs precision, never
 * memory.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RateLimitConfig } from '../config/model.js';

export const DEFAULT_KEY_RATE_LIMIT: RateLimitConfig = { burst: 20, perSecond: 5 };

interface Bucket {
  tokens: number;
  /** performance.now() of the last refill. */
  at: number;
}

export class TokenBuckets {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(
    readonly limit: RateLimitConfig,
    max = 100_000,
  ) {
    this.buckets = new LRUCache<string, Bucket>({ max });
  }

  /** Takes one request from `key`'s bucket. Returns 0 when allowed, else the seconds until one is. */
  take(key: string, now = performance.now()): number {
    const { burst, perSecond } = this.limit;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / perSecond;
  }
}

/** The per-address and per-token buckets of the key and licence endpoints. */
export class KeyRateLimiter {
  private readonly byAddress: TokenBuckets;
  private readonly byToken: TokenBuckets;

  constructor(readonly limit: RateLimitConfig) {
    this.byAddress = new TokenBuckets(limit);
    this.byToken = new TokenBuckets(limit);
  }

  /**
   * Counts one request of `address` (and of `token`, when given). Returns 0 when allowed, else the whole
   * seconds to wait (for Retry-After, at least 1). A request refused by one bucket still costs the other.
   */
  check(address: string, token: string | undefined): number {
    const a = this.byAddress.take(address);
    // Tokens can be long; the bucket is keyed by a digest so the cache's size bound is also a memory bound.
    const t = token === undefined ? 0 : this.byToken.take(createHash('sha256').update(token).digest('base64url').slice(0, 22));
    const wait = Math.max(a, t);
    return wait === 0 ? 0 : Math.max(1, Math.ceil(wait));
  }
}
