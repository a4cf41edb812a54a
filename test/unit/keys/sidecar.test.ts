import { chmod, mkdir, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { ErrorCode } from '../../../src/media/errors.js';
import { kidToUuid } from '../../../src/keys/kid.js';
import { KidUnavailableError, SidecarKids, invalidateSidecar, readSidecarKid } from '../../../src/keys/sidecar.js';
import { useTempDirs } from './helpers.js';

const A = '5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b';
const B = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const tempDir = useTempDirs();

async function media(content?: string): Promise<string> {
  const dir = await tempDir();
  const path = join(dir, 'movie.mp4');
  await writeFile(path, 'not really an mp4');
  if (content !== undefined) await writeFile(`${path}.keyos_id`, content);
  return path;
}

async function failure(p: Promise<unknown>): Promise<KidUnavailableError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KidUnavailableError);
  return e as KidUnavailableError;
}

describe('readSidecarKid', () => {
  it('reads the UUID next to the media, any accepted form', async () => {
    expect(kidToUuid(await readSidecarKid(await media(`${A}\n`)))).toBe(A);
    expect(kidToUuid(await readSidecarKid(await media(` ${A.replaceAll('-', '').toUpperCase()}\r\n`)))).toBe(A);
  });

  it.each([
    ['missing', undefined, /movie\.mp4\.keyos_id is missing/],
    ['empty', '', /movie\.mp4\.keyos_id is empty/],
    ['blank', ' \n\n', /movie\.mp4\.keyos_id is empty/],
    ['malformed', 'not-a-uuid\n', /movie\.mp4\.keyos_id does not hold a KeyID/],
    ['truncated', `${A.slice(0, 20)}\n`, /movie\.mp4\.keyos_id does not hold a KeyID/],
  ])('refuses a %s sidecar with a 503 naming the sidecar by file name only', async (problem, content, message) => {
    const path = await media(content);
    const e = await failure(readSidecarKid(path));
    expect(e.code).toBe(ErrorCode.KID_UNAVAILABLE);
    expect(e.status).toBe(503);
    expect(e.expose).toBe(true);
    expect(e.problem).toBe(problem === 'blank' ? 'empty' : problem === 'truncated' ? 'malformed' : problem);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain(path);
    // The full path is for the log line only.
    expect(e.logDetail.sidecar).toBe(`${path}.keyos_id`);
    expect(e.sidecarPath).toBe(`${path}.keyos_id`);
  });

  it('refuses a sidecar too large to be one without reading it', async () => {
    const e = await failure(readSidecarKid(await media(`${A}\n${' '.repeat(8192)}`)));
    expect(e.problem).toBe('malformed');
  });

  it('refuses a folder in place of the sidecar', async () => {
    const path = await media();
    await mkdir(`${path}.keyos_id`);
    expect((await failure(readSidecarKid(path))).problem).toBe('unreadable');
  });

  it.skipIf(process.getuid?.() === 0)('refuses an unreadable sidecar', async () => {
    const path = await media(A);
    await chmod(`${path}.keyos_id`, 0o000);
    const e = await failure(readSidecarKid(path));
    expect(e.problem).toBe('unreadable');
    expect(e.logDetail.detail).toBe('EACCES');
  });

  it('sees a changed sidecar at once, even with its old mtime put back', async () => {
    const sidecars = new SidecarKids();
    const path = await media(`${A}\n`);
    const side = `${path}.keyos_id`;
    expect(kidToUuid(await sidecars.read(path))).toBe(A);
    expect(kidToUuid(await sidecars.read(path))).toBe(A);
    expect(sidecars.hits).toBe(1);

    const before = await stat(side);
    await writeFile(side, `${B}\n`);
    await utimes(side, before.atime, before.mtime);
    expect(kidToUuid(await sidecars.read(path))).toBe(B);

    // Same size, mtime bumped: what an editor saving in place does.
    await writeFile(side, `${A}\n`);
    await utimes(side, new Date(), new Date(Date.now() + 5000));
    expect(kidToUuid(await sidecars.read(path))).toBe(A);
    expect(sidecars.misses).toBe(3);
  });

  it('sees a sidecar replaced by rename, and one that appears after a failure', async () => {
    const sidecars = new SidecarKids();
    const path = await media();
    expect((await failure(sidecars.read(path))).problem).toBe('missing');
    await writeFile(`${path}.tmp`, A);
    await rename(`${path}.tmp`, `${path}.keyos_id`);
    expect(kidToUuid(await sidecars.read(path))).toBe(A);
    await writeFile(`${path}.tmp`, B);
    await rename(`${path}.tmp`, `${path}.keyos_id`);
    expect(kidToUuid(await sidecars.read(path))).toBe(B);
    await unlink(`${path}.keyos_id`);
    expect((await failure(sidecars.read(path))).problem).toBe('missing');
  });

  it('hands out copies, so a caller cannot corrupt the cache', async () => {
    const sidecars = new SidecarKids();
    const path = await media(A);
    (await sidecars.read(path)).fill(0);
    expect(kidToUuid(await sidecars.read(path))).toBe(A);
  });

  it('invalidates by media or sidecar path', async () => {
    const sidecars = new SidecarKids();
    const path = await media(A);
    await sidecars.read(path);
    expect(sidecars.size).toBe(1);
    sidecars.invalidate(`${path}.keyos_id`);
    expect(sidecars.size).toBe(0);
    await sidecars.read(path);
    sidecars.invalidate(path);
    expect(sidecars.size).toBe(0);
    // The shared instance's export takes the same paths.
    await readSidecarKid(path);
    expect(() => invalidateSidecar(path)).not.toThrow();
  });
});
