import { describe, it, expect } from 'vitest';
import { ErrorCode, PackagerError } from '../../../src/media/errors.js';
import { CachedKeyProvider } from '../../../src/keys/cache.js';
import { parseKid } from '../../../src/keys/kid.js';
import type { ContentKey, KeyContext, KeyProvider } from '../../../src/keys/provider.js';
import { StaticKeyProvider } from '../../../src/keys/static.js';
import { hex } from './helpers.js';

const A = parseKid('5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b');
const B = parseKid('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
const ctx = { contentId: 'drm/movie.mp4' };
const SECRET_URL = 'https://keys.example/?userkey=TOP-SECRET-USERKEY';

/** An inner provider whose answers the test decides, counting calls. */
class FakeProvider implements KeyProvider {
  readonly kind = 'fake';
  calls = 0;
  fail: Error | undefined;
  gate: Promise<void> | undefined;
  keyLength = 16;

  async getKey(kid: Uint8Array, _ctx: KeyContext): Promise<ContentKey> {
    this.calls++;
    await this.gate;
    if (this.fail) throw this.fail;
    return { kid, key: new Uint8Array(this.keyLength).fill(kid[0]!) };
  }
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

async function rejection(p: Promise<unknown>): Promise<PackagerError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PackagerError);
  return e as PackagerError;
}

describe('CachedKeyProvider', () => {
  it('answers from memory until the TTL passes', async () => {
    const inner = new FakeProvider();
    const c = clock();
    const cache = new CachedKeyProvider(inner, { ttlMs: 60_000, max: 10, now: c.now });
    expect(cache.kind).toBe('fake');
    const first = await cache.getKey(A, ctx);
    expect(hex(first.key)).toBe('5d'.repeat(16));
    await cache.getKey(A, ctx);
    c.advance(59_999);
    await cache.getKey(A, ctx);
    expect(inner.calls).toBe(1);
    c.advance(2);
    await cache.getKey(A, ctx);
    expect(inner.calls).toBe(2);
    await cache.getKey(B, ctx);
    expect(inner.calls).toBe(3);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 3, size: 2, failures: 0 });
    expect(cache.stats().lastSuccessAt).toBeTypeOf('number');
  });

  it('shares one inner call among concurrent requests for a KID', async () => {
    const inner = new FakeProvider();
    let open!: () => void;
    inner.gate = new Promise((r) => (open = r));
    const cache = new CachedKeyProvider(inner, { ttlMs: 60_000, max: 10 });
    const all = Array.from({ length: 50 }, () => cache.getKey(A, ctx));
    const other = cache.getKey(B, ctx);
    open();
    const keys = await Promise.all(all);
    await other;
    expect(inner.calls).toBe(2);
    expect(new Set(keys).size).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 2, shared: 49 });
  });

  it('shares a failure too, as a 503 that keeps the inner error as cause only', async () => {
    const inner = new FakeProvider();
    let open!: () => void;
    inner.gate = new Promise((r) => (open = r));
    inner.fail = new Error(`connect ECONNREFUSED ${SECRET_URL}`);
    const cache = new CachedKeyProvider(inner, { ttlMs: 60_000, max: 10 });
    const waiting = [cache.getKey(A, ctx), cache.getKey(A, ctx)];
    open();
    for (const p of waiting) {
      const e = await rejection(p);
      expect(e.code).toBe(ErrorCode.KEY_UNAVAILABLE);
      expect(e.status).toBe(503);
      expect(e.expose).toBe(false);
      expect(e.message).toBe('no key for KeyID 5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b from the fake key source');
      expect(e.message).not.toContain('TOP-SECRET');
      expect(e.cause).toBe(inner.fail);
    }
    expect(inner.calls).toBe(1);
  });

  it('remembers a failure briefly, then asks again', async () => {
    const inner = new FakeProvider();
    const c = clock();
    const cache = new CachedKeyProvider(inner, { ttlMs: 60_000, max: 10, now: c.now });
    inner.fail = new Error('key server down');
    await rejection(cache.getKey(A, ctx));
    c.advance(1000);
    const again = await rejection(cache.getKey(A, ctx));
    expect(again.code).toBe(ErrorCode.KEY_UNAVAILABLE);
    expect(inner.calls).toBe(1);
    expect(cache.stats()).toMatchObject({ negativeHits: 1, failures: 1 });
    expect(cache.stats().lastFailureAt).toBeTypeOf('number');

    inner.fail = undefined;
    c.advance(1001);
    expect(hex((await cache.getKey(A, ctx)).key)).toBe('5d'.repeat(16));
    expect(inner.calls).toBe(2);
  });

  it('can do without the negative cache', async () => {
    const inner = new FakeProvider();
    const cache = new CachedKeyProvider(inner, { ttlMs: 60_000, max: 10, negativeTtlMs: 0 });
    inner.fail = new Error('down');
    await rejection(cache.getKey(A, ctx));
    await rejection(cache.getKey(A, ctx));
    expect(inner.calls).toBe(2);
  });

  it('maps an inner PackagerError of another status to 503 as well', async () => {
    const cache = new CachedKeyProvider(new StaticKeyProvider('00'.repeat(16), '5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b'), {
      ttlMs: 60_000,
      max: 10,
    });
    expect(cache.fixedKid && hex(cache.fixedKid)).toBe(hex(A));
    const e = await rejection(cache.getKey(B, ctx));
    expect(e.status).toBe(503);
    expect(e.cause).toBeInstanceOf(PackagerError);
  });

  it('refuses a key of the wrong length from a buggy provider', async () => {
    const inner = new FakeProvider();
    inner.keyLength = 32;
    const e = await rejection(new CachedKeyProvider(inner, { ttlMs: 1000, max: 10 }).getKey(A, ctx));
    expect(e.code).toBe(ErrorCode.KEY_UNAVAILABLE);
    expect(String((e.cause as Error).message)).toMatch(/key of 32 bytes/);
  });

  it('is bounded, and forgets on demand', async () => {
    const inner = new FakeProvider();
    const cache = new CachedKeyProvider(inner, { ttlMs: 60_000, max: 2 });
    const kids = ['11', '22', '33'].map((b) => parseKid(b.repeat(16)));
    for (const kid of kids) await cache.getKey(kid, ctx);
    expect(cache.stats().size).toBe(2);
    cache.invalidate(kids[2]!);
    expect(cache.stats().size).toBe(1);
    cache.invalidate();
    expect(cache.stats().size).toBe(0);
  });

  it('rejects a KID that is not 16 bytes and bad options', async () => {
    const cache = new CachedKeyProvider(new FakeProvider(), { ttlMs: 1000, max: 10 });
    await expect(cache.getKey(new Uint8Array(4), ctx)).rejects.toThrow(RangeError);
    expect(() => new CachedKeyProvider(new FakeProvider(), { ttlMs: 0, max: 10 })).toThrow(RangeError);
  });
});
