import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { ErrorCode, PackagerError } from '../../../src/media/errors.js';
import { SECRET_ENV, loadSecret } from '../../../src/keys/secret.js';
import { hex, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const HEX64 = 'a1'.repeat(32);

async function rejection(p: Promise<unknown>): Promise<PackagerError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PackagerError);
  expect((e as PackagerError).code).toBe(ErrorCode.CONFIG_INVALID);
  return e as PackagerError;
}

describe('loadSecret from the file', () => {
  it('creates 32 random bytes, hex, mode 0600, folder included, and reuses them', async () => {
    const dir = await tempDir();
    const file = join(dir, 'state', 'deep', 'secret');
    const first = await loadSecret({ env: {}, defaultFile: file });
    expect(first.length).toBe(32);
    const st = await stat(file);
    expect(st.mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'state'))).mode & 0o077).toBe(0);
    expect((await readFile(file, 'utf8')).trim()).toBe(hex(first));
    const again = await loadSecret({ env: {}, defaultFile: file });
    expect(hex(again)).toBe(hex(first));
  });

  it('prefers secret_file to the default', async () => {
    const dir = await tempDir();
    const chosen = join(dir, 'chosen');
    await loadSecret({ env: {}, secretFile: chosen, defaultFile: join(dir, 'default') });
    await expect(stat(chosen)).resolves.toBeDefined();
    await expect(stat(join(dir, 'default'))).rejects.toThrow();
  });

  it('gives two racing starts the same secret', async () => {
    const file = join(await tempDir(), 'secret');
    const all = await Promise.all(Array.from({ length: 8 }, () => loadSecret({ env: {}, defaultFile: file })));
    expect(new Set(all.map(hex)).size).toBe(1);
    expect((await readFile(file, 'utf8')).trim()).toBe(hex(all[0]!));
  });

  it('reads a secret written by the operator, hex or base64', async () => {
    const dir = await tempDir();
    const file = join(dir, 'secret');
    await writeFile(file, `${HEX64.toUpperCase()}\n`, { mode: 0o600 });
    expect(hex(await loadSecret({ env: {}, defaultFile: file }))).toBe(HEX64);
    await writeFile(file, Buffer.from(HEX64, 'hex').toString('base64'), { mode: 0o600 });
    expect(hex(await loadSecret({ env: {}, defaultFile: file }))).toBe(HEX64);
  });

  it('refuses a file group or others can read, like ssh, without revealing it', async () => {
    const file = join(await tempDir(), 'secret');
    await writeFile(file, HEX64, { mode: 0o600 });
    await chmod(file, 0o644);
    const e = await rejection(loadSecret({ env: {}, defaultFile: file }));
    expect(e.message).toContain('accessible by group or others (mode 0644)');
    expect(e.message).toContain(`chmod 600 ${file}`);
    expect(e.message).not.toContain(HEX64);
    await chmod(file, 0o640);
    await rejection(loadSecret({ env: {}, defaultFile: file }));
  });

  it.each([
    ['too short', 'ab'.repeat(16), /holds 16 bytes; at least 32/],
    ['odd hex', `${HEX64}a`, /odd number of hex digits/],
    ['garbage', 'this is not a secret!', /neither hex nor base64/],
  ])('refuses a %s file with a clear message that does not show it', async (_name, content, message) => {
    const file = join(await tempDir(), 'secret');
    await writeFile(file, content, { mode: 0o600 });
    const e = await rejection(loadSecret({ env: {}, defaultFile: file }));
    expect(e.message).toMatch(message);
    expect(e.message).toContain(file);
    expect(e.message).not.toContain(content);
  });

  it('refuses an empty file once no creator is writing it', async () => {
    const file = join(await tempDir(), 'secret');
    await writeFile(file, '', { mode: 0o600 });
    const e = await rejection(loadSecret({ env: {}, defaultFile: file }));
    expect(e.message).toMatch(/is empty: delete it/);
  }, 10_000);
});

describe('loadSecret from PACKAGER_SECRET', () => {
  it('wins over the file, which is then not created', async () => {
    const file = join(await tempDir(), 'secret');
    expect(hex(await loadSecret({ env: { [SECRET_ENV]: HEX64 }, defaultFile: file }))).toBe(HEX64);
    await expect(stat(file)).rejects.toThrow();
  });

  it('takes base64 and base64url', async () => {
    const bytes = Buffer.from('fbff'.repeat(20), 'hex');
    const defaultFile = join(await tempDir(), 'secret');
    for (const text of [bytes.toString('base64'), bytes.toString('base64url')]) {
      expect(hex(await loadSecret({ env: { [SECRET_ENV]: text }, defaultFile }))).toBe(bytes.toString('hex'));
    }
  });

  it.each([
    ['shorter than 32 bytes', 'ab'.repeat(31), /holds 31 bytes/],
    ['short base64', Buffer.alloc(24, 7).toString('base64'), /holds 24 bytes/],
    ['empty', '', /is empty/],
    ['odd hex (a digit lost in a paste)', HEX64.slice(1), /odd number of hex digits/],
  ])('refuses one %s', async (_name, value, message) => {
    const e = await rejection(loadSecret({ env: { [SECRET_ENV]: value }, defaultFile: join(await tempDir(), 's') }));
    expect(e.message).toMatch(message);
    expect(e.message).toContain(SECRET_ENV);
    if (value !== '') expect(e.message).not.toContain(value);
  });
});
