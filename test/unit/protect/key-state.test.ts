/**
 * The per-key state (IV bases, constant IV, shared ECB cipher) must give exactly what deriving afresh
 * gives, per key bytes: never another key's values, not after a key is rewritten in place, and a key
 * re-fetched after the key cache's TTL is derived again.
 */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CachedKeyProvider } from '../../../src/keys/cache.js';
import { LocalKeyProvider } from '../../../src/keys/local.js';
import { cbcsConstantIv, cencIvBase } from '../../../src/protect/iv.js';
import { keyedCbcsConstantIv, keyedCencIvBase, sharedEcb } from '../../../src/protect/key-state.js';

const key = (first: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (first + i * 29) & 0xff);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const BLOCKS = Uint8Array.from({ length: 64 }, (_, i) => i * 7);

function freshEcb(k: Uint8Array, data: Uint8Array): string {
  return hex(createCipheriv('aes-128-ecb', k, null).setAutoPadding(false).update(data));
}

describe('per-key state', () => {
  it('gives what cencIvBase and cbcsConstantIv derive, for every key, content and track', () => {
    for (const k of [key(1), key(2), key(200)]) {
      for (const content of ['a.mp4', 'b.mp4', 'sub/a.mp4']) {
        for (const track of [1, 2, 3]) {
          expect(hex(keyedCencIvBase(k, content, track))).toBe(hex(cencIvBase(k, content, track)));
          // Asked again: the kept value, still the same.
          expect(hex(keyedCencIvBase(k, content, track))).toBe(hex(cencIvBase(k, content, track)));
        }
      }
      expect(hex(keyedCbcsConstantIv(k))).toBe(hex(cbcsConstantIv(k)));
    }
  });

  it('keeps IV bases apart per track, content and key', () => {
    const bases = new Set<string>();
    for (const k of [key(1), key(2)]) for (const content of ['a.mp4', 'b.mp4']) for (const track of [1, 2]) bases.add(hex(keyedCencIvBase(k, content, track)));
    expect(bases.size).toBe(8);
    expect(hex(keyedCbcsConstantIv(key(1)))).not.toBe(hex(keyedCbcsConstantIv(key(2))));
  });

  it('shares one ECB cipher per key object, which enciphers as a fresh one, and never across keys', () => {
    const a = key(1);
    const b = key(2);
    expect(sharedEcb(a)).toBe(sharedEcb(a));
    expect(sharedEcb(a)).not.toBe(sharedEcb(b));
    for (let i = 0; i < 3; i++) {
      expect(hex(sharedEcb(a).update(BLOCKS))).toBe(freshEcb(a, BLOCKS));
      expect(hex(sharedEcb(b).update(BLOCKS))).toBe(freshEcb(b, BLOCKS));
    }
  });

  it('follows a key buffer rewritten in place instead of answering with the old key', () => {
    const k = key(1);
    const oldBase = hex(keyedCencIvBase(k, 'a.mp4', 1));
    const oldIv = hex(keyedCbcsConstantIv(k));
    const oldEcb = sharedEcb(k);
    k.set(key(77));
    expect(hex(keyedCencIvBase(k, 'a.mp4', 1))).toBe(hex(cencIvBase(key(77), 'a.mp4', 1)));
    expect(hex(keyedCencIvBase(k, 'a.mp4', 1))).not.toBe(oldBase);
    expect(hex(keyedCbcsConstantIv(k))).not.toBe(oldIv);
    expect(sharedEcb(k)).not.toBe(oldEcb);
    expect(hex(sharedEcb(k).update(BLOCKS))).toBe(freshEcb(key(77), BLOCKS));
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => keyedCencIvBase(new Uint8Array(15), 'a', 1)).toThrow(/16 bytes/);
    expect(() => sharedEcb(new Uint8Array(32))).toThrow(/16 bytes/);
  });

  it('through the key cache: one state per KID, and a key fetched again after its TTL is derived again', async () => {
    // Not 0: lru-cache takes a start time of 0 for 'no TTL'.
    let now = 1000;
    const provider = new CachedKeyProvider(new LocalKeyProvider(new Uint8Array(32).fill(9)), { ttlMs: 1000, max: 10, now: () => now });
    const kid1 = new Uint8Array(16).fill(1);
    const kid2 = new Uint8Array(16).fill(2);
    const k1 = (await provider.getKey(kid1, { contentId: 'a.mp4' })).key;
    const k2 = (await provider.getKey(kid2, { contentId: 'a.mp4' })).key;
    // Per KID its own key, so its own IVs and cipher.
    expect(hex(k1)).not.toBe(hex(k2));
    expect(hex(keyedCencIvBase(k1, 'a.mp4', 1))).not.toBe(hex(keyedCencIvBase(k2, 'a.mp4', 1)));
    expect(sharedEcb(k1)).not.toBe(sharedEcb(k2));
    // Within the TTL the cache hands out the same key object: the state is reused.
    const ecb = sharedEcb(k1);
    expect((await provider.getKey(kid1, { contentId: 'a.mp4' })).key).toBe(k1);
    // After it, the key is fetched again: a new object, a new state (same bytes, same values).
    now += 1001;
    const again = (await provider.getKey(kid1, { contentId: 'a.mp4' })).key;
    expect(again).not.toBe(k1);
    expect(sharedEcb(again)).not.toBe(ecb);
    expect(hex(keyedCencIvBase(again, 'a.mp4', 1))).toBe(hex(cencIvBase(k1, 'a.mp4', 1)));
  });
});
