import { KeyosKeyProvider } from '../../../src/keys/keyos.js';
import { CpixKeyProvider } from '../../../src/keys/cpix.js';
import { describe, it, expect } from 'vitest';
import type { DrmConfig } from '../../../src/config/model.js';
import { ErrorCode, PackagerError } from '../../../src/media/errors.js';
import { CachedKeyProvider } from '../../../src/keys/cache.js';
import { parseKid } from '../../../src/keys/kid.js';
import { deriveLocalKey } from '../../../src/keys/local.js';
import { createKeyProvider } from '../../../src/keys/registry.js';
import { StaticKeyProvider } from '../../../src/keys/static.js';
import { hex } from './helpers.js';

const base = { options: {}, pos: { file: 'x.conf', line: 1, column: 1 }, schemes: { dash: 'cenc', hls: 'cbcs', ts: 'aes-128' } } as const;
const KID = parseKid('5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b');
const SECRET = new Uint8Array(32).fill(9);
const ctx = { contentId: 'drm/movie.mp4' };
const LOCAL: DrmConfig = { kind: 'local', ...base };

describe('createKeyProvider', () => {
  it('drm local derives from the secret, read once, on first use', async () => {
    let reads = 0;
    const p = createKeyProvider(LOCAL, { secret: () => (reads++, Promise.resolve(SECRET)) });
    expect(p.kind).toBe('local');
    expect(p.fixedKid).toBeUndefined();
    expect(reads).toBe(0);
    expect(hex((await p.getKey(KID, ctx)).key)).toBe(hex(deriveLocalKey(SECRET, KID)));
    await p.getKey(parseKid('11'.repeat(16)), ctx);
    expect(reads).toBe(1);
  });

  it('drm local fails while the secret cannot be had (503 behind the cache), and recovers', async () => {
    let ok = false;
    const inner = createKeyProvider(LOCAL, { secret: () => (ok ? Promise.resolve(SECRET) : Promise.reject(new Error('no secret'))) });
    const p = new CachedKeyProvider(inner, { ttlMs: 60_000, max: 10, negativeTtlMs: 0 });
    await expect(p.getKey(KID, ctx)).rejects.toMatchObject({ code: ErrorCode.KEY_UNAVAILABLE, status: 503 });
    ok = true;
    expect((await p.getKey(KID, ctx)).key.length).toBe(16);
  });

  it('drm static serves its key and exposes kid= as fixedKid', async () => {
    const drm: DrmConfig = { kind: 'static', key: 'ab'.repeat(16), kid: '5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b', ...base };
    const p = createKeyProvider(drm, { secret: () => Promise.reject(new Error('not needed')) });
    expect(p).toBeInstanceOf(StaticKeyProvider);
    expect(p.fixedKid && hex(p.fixedKid)).toBe(hex(KID));
    expect(new CachedKeyProvider(p, { ttlMs: 1000, max: 1 }).fixedKid).toBe(p.fixedKid);
    expect(hex((await p.getKey(KID, ctx)).key)).toBe('ab'.repeat(16));
  });

  it.each([
    [{ kind: 'keyos', userkey: 'U', ...base } as DrmConfig, KeyosKeyProvider],
    [{ kind: 'cpix', url: 'https://k.example/', headers: {}, ...base } as DrmConfig, CpixKeyProvider],
  ])('builds the remote provider of drm %#', (drm, cls) => {
    const p = createKeyProvider(drm, { secret: () => Promise.resolve(SECRET) });
    expect(p).toBeInstanceOf(cls);
    expect(p.kind).toBe(drm.kind);
    expect(p.fixedKid).toBeUndefined();
  });
});
