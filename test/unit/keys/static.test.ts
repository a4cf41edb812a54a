import { describe, it, expect } from 'vitest';
import { ErrorCode, PackagerError } from '../../../src/media/errors.js';
import { kidToUuid, parseKid } from '../../../src/keys/kid.js';
import { StaticKeyProvider } from '../../../src/keys/static.js';
import { hex } from './helpers.js';

const KEY = '00112233445566778899aabbccddeeff';
const A = parseKid('5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b');
const B = parseKid('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');

describe('StaticKeyProvider', () => {
  it('returns the one key for any KID, under that KID', async () => {
    const p = new StaticKeyProvider(KEY.toUpperCase());
    expect(p.kind).toBe('static');
    expect(p.fixedKid).toBeUndefined();
    for (const kid of [A, B]) {
      const k = await p.getKey(kid, { contentId: 'x' });
      expect(hex(k.key)).toBe(KEY);
      expect(hex(k.kid)).toBe(hex(kid));
    }
  });

  it('hands out copies of the key', async () => {
    const p = new StaticKeyProvider(KEY);
    (await p.getKey(A, { contentId: 'x' })).key.fill(0);
    expect(hex((await p.getKey(A, { contentId: 'x' })).key)).toBe(KEY);
  });

  it('with kid= fixes the location KID and serves only that one', async () => {
    const p = new StaticKeyProvider(KEY, 'A' + '5d6e1c3a2f1b4d8e9a6b0c1d2e3f4a5b'.slice(1).toUpperCase());
    expect(p.fixedKid && kidToUuid(p.fixedKid)).toBe('ad6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b');
    const fixed = new StaticKeyProvider(KEY, kidToUuid(A));
    expect(hex((await fixed.getKey(A, { contentId: 'x' })).key)).toBe(KEY);
    const e = await fixed.getKey(B, { contentId: 'x' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(PackagerError);
    expect((e as PackagerError).code).toBe(ErrorCode.KEY_UNAVAILABLE);
    expect((e as PackagerError).message).not.toContain(KEY);
  });

  it('refuses a malformed key or kid as a config error, without echoing the key', () => {
    const bad = `${KEY.slice(0, 31)}z`;
    expect(() => new StaticKeyProvider(bad)).toThrow(PackagerError);
    expect(() => new StaticKeyProvider(bad)).toThrow(/^(?!.*0011223344).*32 hex digits/);
    expect(() => new StaticKeyProvider(KEY, 'nope')).toThrow(/drm static kid: not a KeyID/);
  });
});
