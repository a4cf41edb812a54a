import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { parseKid } from '../../../src/keys/kid.js';
import { LOCAL_KEY_SALT, LocalKeyProvider, deriveLocalKey, hkdfSha256 } from '../../../src/keys/local.js';
import { fromHex, hex } from './helpers.js';

/** RFC 5869 written out from the spec with HMAC alone: an implementation independent of hkdfSync. */
function rfc5869(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  const blocks: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; blocks.length * 32 < length; i++) {
    t = createHmac('sha256', prk).update(Buffer.concat([t, info, Buffer.from([i])])).digest();
    blocks.push(t);
  }
  return Uint8Array.from(Buffer.concat(blocks).subarray(0, length));
}

function opensslHkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): string | undefined {
  try {
    const out = execFileSync(
      'openssl',
      ['kdf', '-keylen', String(length), '-kdfopt', 'digest:SHA256', '-kdfopt', `hexkey:${hex(ikm)}`,
        '-kdfopt', `hexsalt:${hex(salt)}`, '-kdfopt', `hexinfo:${hex(info)}`, 'HKDF'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    return out.trim().replaceAll(':', '').toLowerCase();
  } catch {
    return undefined; // OpenSSL < 3 has no `kdf`; the HMAC-only implementation still checks.
  }
}

const SECRET = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const KID = parseKid('5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b');
const SALT = new TextEncoder().encode(LOCAL_KEY_SALT);

describe('hkdfSha256', () => {
  it('matches RFC 5869 test case 1', () => {
    const okm = hkdfSha256(fromHex('0b'.repeat(22)), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(hex(okm)).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('matches the HMAC-only implementation', () => {
    for (let n = 0; n < 20; n++) {
      const ikm = Uint8Array.from({ length: 32 + n }, (_, i) => (i * 7 + n) & 0xff);
      const info = Uint8Array.from({ length: 16 }, (_, i) => (i * 13 + n) & 0xff);
      expect(hex(hkdfSha256(ikm, SALT, info, 16))).toBe(hex(rfc5869(ikm, SALT, info, 16)));
    }
  });
});

describe('LocalKeyProvider', () => {
  // The expected key is fixed: it is what every deployed server derives for this secret and KID, and
  // a change here means every licence and every cached segment out there stops working.
  const EXPECTED = 'cca6cd2db33315bc58133444d5a1c9bb';

  it('pins the derived key, computed independently', () => {
    expect(hex(rfc5869(SECRET, SALT, KID, 16))).toBe(EXPECTED);
  });

  it('derives HKDF-SHA256(secret, "packager/cenc/v1", kid) as 16 bytes', async () => {
    const key = await new LocalKeyProvider(SECRET).getKey(KID, { contentId: 'drm/movie.mp4' });
    expect(key.key.length).toBe(16);
    expect(hex(key.key)).toBe(EXPECTED);
    expect(hex(key.kid)).toBe(hex(KID));
    expect(hex(deriveLocalKey(SECRET, KID))).toBe(EXPECTED);
  });

  it('agrees with `openssl kdf`', () => {
    expect(opensslHkdf(SECRET, SALT, KID, 16)).toBe(EXPECTED);
    expect(opensslHkdf(fromHex('0b'.repeat(22)), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42))
      .toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });

  it('gives the same key on every instance sharing the secret, another for another KID or secret', async () => {
    const a = await new LocalKeyProvider(SECRET).getKey(KID, { contentId: 'a' });
    const b = await new LocalKeyProvider(Uint8Array.from(SECRET)).getKey(KID, { contentId: 'b' });
    expect(hex(a.key)).toBe(hex(b.key));
    const otherKid = await new LocalKeyProvider(SECRET).getKey(parseKid('0f1e2d3c4b5a69788796a5b4c3d2e1f0'), { contentId: 'a' });
    expect(hex(otherKid.key)).not.toBe(hex(a.key));
    const otherSecret = SECRET.slice();
    otherSecret[0] = 0xff;
    expect(hex((await new LocalKeyProvider(otherSecret).getKey(KID, { contentId: 'a' })).key)).not.toBe(hex(a.key));
  });

  it('keeps its own copy of the secret', async () => {
    const secret = SECRET.slice();
    const provider = new LocalKeyProvider(secret);
    secret.fill(0);
    expect(hex((await provider.getKey(KID, { contentId: 'a' })).key)).toBe(EXPECTED);
  });

  it('refuses a short secret and a KID that is not 16 bytes', async () => {
    expect(() => new LocalKeyProvider(new Uint8Array(31))).toThrow(/at least 32 bytes/);
    await expect(new LocalKeyProvider(SECRET).getKey(new Uint8Array(8), { contentId: 'a' })).rejects.toThrow(RangeError);
  });
});
