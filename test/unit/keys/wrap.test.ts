import { describe, it, expect } from 'vitest';
import { chmod, mkdtemp, rm, writeFile, stat } from 'node:fs/promises';
import { createDecipheriv, createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WRAPPED_KEY } from '../../../src/config/validate.js';
import { ErrorCode } from '../../../src/media/errors.js';
import { createKekFile, decodeKek, kekIdOf, loadKek, unwrapKey, wrapKey } from '../../../src/keys/wrap.js';

const KEK = new Uint8Array(32).map((_, i) => i);
const OTHER = new Uint8Array(32).fill(7);
const KEY = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));

describe('wrapKey / unwrapKey', () => {
  it('round-trips, with a fresh nonce each time, in the shape the config accepts', () => {
    const a = wrapKey(KEY, KEK);
    const b = wrapKey(KEY, KEK);
    expect(a).not.toBe(b);
    for (const w of [a, b]) {
      expect(w).toMatch(WRAPPED_KEY);
      expect(Buffer.from(unwrapKey(w, KEK)).toString('hex')).toBe('00112233445566778899aabbccddeeff');
      expect(w).not.toContain('00112233');
    }
  });

  it('is AES-256-GCM as documented (decrypted here with node:crypto directly)', () => {
    const raw = Buffer.from(wrapKey(KEY, KEK).slice(3), 'base64url');
    const id = raw.subarray(0, 4);
    expect(id.toString('hex')).toBe(createHmac('sha256', KEK).update('packager/kek-id').digest().subarray(0, 4).toString('hex'));
    const d = createDecipheriv('aes-256-gcm', KEK, raw.subarray(4, 16));
    d.setAAD(Buffer.concat([Buffer.from('packager/static-key/v1'), id]));
    d.setAuthTag(raw.subarray(32));
    expect(Buffer.concat([d.update(raw.subarray(16, 32)), d.final()]).toString('hex')).toBe('00112233445566778899aabbccddeeff');
  });

  it('names both KEKs when the key was wrapped under another one, and refuses altered keys', () => {
    const w = wrapKey(KEY, KEK);
    expect(() => unwrapKey(w, OTHER)).toThrow(`another key-encryption key (id ${kekIdOf(KEK)}; this server's is ${kekIdOf(OTHER)})`);
    const raw = Buffer.from(w.slice(3), 'base64url');
    raw[20]! ^= 1;
    expect(() => unwrapKey(`v1:${raw.toString('base64url')}`, KEK)).toThrow(/does not authenticate/);
    expect(() => unwrapKey('v1:abc', KEK)).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
    expect(() => unwrapKey(`v2:${w.slice(3)}`, KEK)).toThrow(/v1:/);
  });
});

describe('the key-encryption key', () => {
  it('PACKAGER_KEK wins over the file; exactly 32 bytes in hex or base64', async () => {
    const hex = Buffer.from(KEK).toString('hex');
    expect(await loadKek({ env: { PACKAGER_KEK: hex }, kekFile: '/nonexistent' })).toEqual(KEK);
    expect(decodeKek(Buffer.from(KEK).toString('base64'), 'x')).toEqual(KEK);
    expect(() => decodeKek('00'.repeat(33), 'PACKAGER_KEK')).toThrow(/holds 33 bytes; a key-encryption key is exactly 32/);
    expect(await loadKek({ env: {} })).toBeUndefined();
  });

  it('a KEK file is created 0600, read back, and refused when others can read it or it is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kek-'));
    try {
      const path = join(dir, 'kek');
      const kek = await createKekFile(path);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await loadKek({ env: {}, kekFile: path })).toEqual(kek);
      await chmod(path, 0o644);
      await expect(loadKek({ env: {}, kekFile: path })).rejects.toThrow(/accessible by group or others \(mode 0644\)/);
      await expect(loadKek({ env: {}, kekFile: join(dir, 'none') })).rejects.toThrow(/cannot read the KEK file .*ENOENT/);
      await writeFile(join(dir, 'short'), 'abcd\n', { mode: 0o600 });
      await expect(loadKek({ env: {}, kekFile: join(dir, 'short') })).rejects.toThrow(/at least 32|exactly 32/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
