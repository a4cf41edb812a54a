import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it, expect } from 'vitest';
import { validate, version } from 'uuid';
import { keyidCommand } from '../../../src/cli/keyid.js';
import { readSidecarKid } from '../../../src/keys/sidecar.js';
import { kidToUuid } from '../../../src/keys/kid.js';
import { useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const A = '5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b';
const B = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: '', err: '' };
  out.on('data', (c: Buffer) => (chunks.out += c.toString()));
  err.on('data', (c: Buffer) => (chunks.err += c.toString()));
  const code = await keyidCommand(args, out, err);
  return { code, ...chunks };
}

async function media(): Promise<string> {
  const path = join(await tempDir(), 'movie.mp4');
  await writeFile(path, 'mp4');
  return path;
}

describe('packager keyid', () => {
  it('writes a fresh v4 UUID and prints it', async () => {
    const path = await media();
    const r = await run(path);
    expect(r.code).toBe(0);
    const uuid = r.out.trim();
    expect(validate(uuid) && version(uuid)).toBe(4);
    expect(await readFile(`${path}.keyos_id`, 'utf8')).toBe(`${uuid}\n`);
    expect(kidToUuid(await readSidecarKid(path))).toBe(uuid);
    expect(r.err).toBe('');
  });

  it('normalises --uuid to lowercase dashed', async () => {
    const path = await media();
    const r = await run(path, '--uuid', A.replaceAll('-', '').toUpperCase());
    expect(r).toMatchObject({ code: 0, out: `${A}\n` });
    expect(await readFile(`${path}.keyos_id`, 'utf8')).toBe(`${A}\n`);
  });

  it('refuses to overwrite, explaining why, unless --force', async () => {
    const path = await media();
    await run(path, '--uuid', A);
    const refused = await run(path, '--uuid', B);
    expect(refused.code).toBe(1);
    expect(refused.out).toBe('');
    expect(refused.err).toContain(`holds KeyID ${A}`);
    expect(refused.err).toMatch(/licence/);
    expect(refused.err).toContain('--force');
    expect(await readFile(`${path}.keyos_id`, 'utf8')).toBe(`${A}\n`);
    expect((await run(path)).code).toBe(1);

    const forced = await run(path, '--uuid', B, '--force');
    expect(forced).toMatchObject({ code: 0, out: `${B}\n` });
    expect(forced.err).toContain(`replaced KeyID ${A}`);
    expect(await readFile(`${path}.keyos_id`, 'utf8')).toBe(`${B}\n`);
  });

  it('accepts asking again for the KID already there', async () => {
    const path = await media();
    await run(path, '--uuid', A);
    expect(await run(path, '--uuid', A.toUpperCase())).toMatchObject({ code: 0, out: `${A}\n` });
  });

  it('replaces a broken sidecar only with --force', async () => {
    const path = await media();
    await writeFile(`${path}.keyos_id`, 'garbage');
    const refused = await run(path);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('holds no valid KeyID');
    const forced = await run(path, '--force');
    expect(forced.code).toBe(0);
    expect(await readFile(`${path}.keyos_id`, 'utf8')).toBe(forced.out);
  });

  it.each([['not-a-uuid'], [`${A}0`], ['00000000-0000-0000-0000-000000000000']])('refuses --uuid %s with exit 2', async (bad) => {
    const path = await media();
    const r = await run(path, '--uuid', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not a KeyID/);
    await expect(readFile(`${path}.keyos_id`)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a media file that does not exist, or a folder', async () => {
    const dir = await tempDir();
    const missing = await run(join(dir, 'nope.mp4'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.mp4: no such file/);
    await expect(readFile(join(dir, 'nope.mp4.keyos_id'))).rejects.toThrow(/ENOENT/);
    expect((await run(dir)).err).toMatch(/is not a file/);
  });

  it('prints usage on bad arguments', async () => {
    expect((await run()).code).toBe(2);
    expect((await run('a.mp4', 'b.mp4')).code).toBe(2);
    const unknown = await run('a.mp4', '--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/usage: packager keyid/);
    expect(await run('--help')).toMatchObject({ code: 0 });
  });
});
