import { describe, it, expect } from 'vitest';
import { createHmac } from 'node:crypto';
import { MAX_TOKEN_LENGTH, signToken, subjectMatches, verifyToken } from '../../../src/http/token.js';
import { parseKid } from '../../../src/keys/kid.js';

const SECRET = 'unit-test-secret-0123456789abcdef0123';
const NOW = 1_800_000_000;

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** An HS256 JWT made with node:crypto alone, as the README describes. */
function handMade(claims: unknown, secret = SECRET, header: unknown = { alg: 'HS256', typ: 'JWT' }): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('signToken / verifyToken', () => {
  it('round-trips, and a hand-made token verifies alike', () => {
    const t = signToken({ sub: 'drm/a.mp4', exp: NOW + 60 }, SECRET);
    expect(t.split('.')).toHaveLength(3);
    expect(verifyToken(t, [SECRET], NOW)).toMatchObject({ ok: true, claims: { sub: 'drm/a.mp4', exp: NOW + 60 }, secretIndex: 0 });
    expect(verifyToken(handMade({ sub: 'x', exp: NOW + 1, extra: [1] }), [SECRET], NOW)).toMatchObject({ ok: true, claims: { sub: 'x', extra: [1] } });
  });

  it('computes the signature jwt.io computes (the published HS256 example verifies, then lacks exp)', () => {
    // https://jwt.io's default example, secret "your-256-bit-secret".
    const example =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    expect(verifyToken(example, ['your-256-bit-secret'], NOW)).toEqual({ ok: false, problem: 'malformed' });
    expect(verifyToken(example, ['another-secret'], NOW)).toEqual({ ok: false, problem: 'signature' });
  });

  it('tries every secret (rotation) and says which one verified', () => {
    const t = signToken({ sub: 's', exp: NOW + 1 }, 'old-secret-0123456789abcdef0123456789');
    expect(verifyToken(t, [SECRET, 'old-secret-0123456789abcdef0123456789'], NOW)).toMatchObject({ ok: true, secretIndex: 1 });
    expect(verifyToken(t, [SECRET], NOW)).toEqual({ ok: false, problem: 'signature' });
    expect(verifyToken(t, [], NOW)).toEqual({ ok: false, problem: 'signature' });
  });

  it('refuses other algorithms, alg none, crit, and headers that are not JSON objects', () => {
    for (const header of [{ alg: 'none' }, { alg: 'HS512' }, { alg: 'hs256' }, { alg: 'HS256', crit: ['x'] }, ['HS256'], 'HS256']) {
      expect(verifyToken(handMade({ sub: 's', exp: NOW + 1 }, SECRET, header), [SECRET], NOW).ok, JSON.stringify(header)).toBe(false);
    }
    expect(verifyToken(`${b64({ alg: 'none' })}.${b64({ sub: 's', exp: NOW + 1 })}.`, [SECRET], NOW).ok).toBe(false);
  });

  it('refuses a changed payload, a changed or non-canonical signature, and junk', () => {
    const t = signToken({ sub: 'a', exp: NOW + 60 }, SECRET);
    const [h, , s] = t.split('.') as [string, string, string];
    expect(verifyToken(`${h}.${b64({ sub: 'b', exp: NOW + 60 })}.${s}`, [SECRET], NOW)).toEqual({ ok: false, problem: 'signature' });
    const flipped = `${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`;
    expect(verifyToken(`${t.slice(0, t.lastIndexOf('.'))}.${flipped}`, [SECRET], NOW).ok).toBe(false);
    // 43 base64url characters carry 258 bits: a different last character can decode to the same bytes.
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const alias = `${s.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(s.at(-1)!) ^ 1]}`;
    expect(Buffer.from(alias, 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
    expect(verifyToken(`${t.slice(0, t.lastIndexOf('.'))}.${alias}`, [SECRET], NOW)).toEqual({ ok: false, problem: 'signature' });
    for (const junk of ['', 'a', 'a.b', 'a.b.c.d', `${t}.`, `${t}=`, t.replace('.', '.+'), 'x'.repeat(MAX_TOKEN_LENGTH + 1)]) {
      expect(verifyToken(junk, [SECRET], NOW).ok, junk.slice(0, 40)).toBe(false);
    }
  });

  it('checks exp (required, in the past is expired) and nbf', () => {
    expect(verifyToken(signToken({ sub: 's', exp: NOW }, SECRET), [SECRET], NOW)).toEqual({ ok: false, problem: 'expired' });
    expect(verifyToken(signToken({ sub: 's', exp: NOW - 3600 }, SECRET), [SECRET], NOW)).toEqual({ ok: false, problem: 'expired' });
    expect(verifyToken(handMade({ sub: 's' }), [SECRET], NOW)).toEqual({ ok: false, problem: 'malformed' });
    expect(verifyToken(handMade({ sub: 's', exp: String(NOW + 10) }), [SECRET], NOW)).toEqual({ ok: false, problem: 'malformed' });
    expect(verifyToken(handMade({ exp: NOW + 10 }), [SECRET], NOW)).toEqual({ ok: false, problem: 'malformed' });
    expect(verifyToken(handMade({ sub: 's', exp: NOW + 10, nbf: NOW + 5 }), [SECRET], NOW)).toEqual({ ok: false, problem: 'not-yet-valid' });
    expect(verifyToken(handMade({ sub: 's', exp: NOW + 10, nbf: NOW - 5 }), [SECRET], NOW).ok).toBe(true);
  });
});

describe('subjectMatches', () => {
  const kid = parseKid('5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b');
  it('takes the KeyID in any case, with or without dashes', () => {
    for (const sub of ['5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b', '5D6E1C3A2F1B4D8E9A6B0C1D2E3F4A5B']) expect(subjectMatches(sub, { kid })).toBe(true);
    expect(subjectMatches('5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5c', { kid })).toBe(false);
  });
  it('takes location/path exactly (a leading slash ignored), and stream names', () => {
    expect(subjectMatches('drm/sub/a b.mp4', { path: 'drm/sub/a b.mp4' })).toBe(true);
    expect(subjectMatches('/drm/a.mp4', { path: 'drm/a.mp4' })).toBe(true);
    expect(subjectMatches('drm/', { path: 'drm/a.mp4' })).toBe(false);
    expect(subjectMatches('drm/a.mp4x', { path: 'drm/a.mp4' })).toBe(false);
    expect(subjectMatches('drm/*', { path: 'drm/a.mp4' })).toBe(false);
    expect(subjectMatches('live1', { stream: 'live1' })).toBe(true);
    expect(subjectMatches('live1', { path: 'live1/a.mp4', kid })).toBe(false);
  });
});
