import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { kidToUuid, parseKid } from '../../../src/keys/kid.js';
import { KnownKids } from '../../../src/keys/known-kids.js';
import { scanSidecars } from '../../../src/keys/scan.js';
import { useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const A = '5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b';
const B = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const C = '11111111-2222-3333-4444-555555555555';

describe('scanSidecars', () => {
  it('finds sidecars recursively, skips bad ones with a reason, stays inside the root', async () => {
    const root = await tempDir();
    const outside = await tempDir();
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await writeFile(join(root, 'top.mp4.keyos_id'), `${A}\n`);
    await writeFile(join(root, 'a', 'b', 'deep.mp4.keyos_id'), B.toUpperCase());
    await writeFile(join(root, 'a', 'bad.mp4.keyos_id'), 'garbage');
    await writeFile(join(root, 'a', 'empty.mp4.keyos_id'), '');
    await writeFile(join(root, 'a', 'movie.mp4'), 'not a sidecar');
    await writeFile(join(outside, 'x.mp4.keyos_id'), C);
    // Neither a symlinked folder nor a symlinked sidecar may lead out of the root.
    await symlink(outside, join(root, 'escape'));
    await symlink(join(outside, 'x.mp4.keyos_id'), join(root, 'linked.mp4.keyos_id'));
    // A symlinked sidecar inside the root is fine; a loop is not followed.
    await symlink(join(root, 'top.mp4.keyos_id'), join(root, 'a', 'alias.mp4.keyos_id'));
    await symlink(root, join(root, 'a', 'loop'));

    const found: [string, string][] = [];
    const skipped: [string, string][] = [];
    const n = await scanSidecars(root, (kid, media) => found.push([kidToUuid(kid), media.slice(root.length)]), {
      onSkip: (path, e) => skipped.push([path.slice(root.length), e.message]),
    });
    expect(n).toBe(3);
    expect(found.sort()).toEqual(
      [
        [A, '/top.mp4'],
        [A, '/a/alias.mp4'],
        [B, '/a/b/deep.mp4'],
      ].sort(),
    );
    expect(skipped.map(([p]) => p).sort()).toEqual(['/a/bad.mp4.keyos_id', '/a/empty.mp4.keyos_id', '/linked.mp4.keyos_id']);
    expect(skipped.find(([p]) => p === '/a/bad.mp4.keyos_id')?.[1]).toMatch(/does not hold a KeyID/);
    expect(skipped.find(([p]) => p === '/linked.mp4.keyos_id')?.[1]).toMatch(/outside the location/);
  });

  it('stops at maxDepth and reports it', async () => {
    const root = await tempDir();
    await mkdir(join(root, '1', '2', '3'), { recursive: true });
    await writeFile(join(root, '1', 'a.mp4.keyos_id'), A);
    await writeFile(join(root, '1', '2', '3', 'b.mp4.keyos_id'), B);
    const skipped: string[] = [];
    const n = await scanSidecars(root, () => undefined, { maxDepth: 1, onSkip: (p) => skipped.push(p.slice(root.length)) });
    expect(n).toBe(1);
    expect(skipped).toEqual(['/1/2']);
  });

  it('fails on a root that does not exist', async () => {
    await expect(scanSidecars(join(await tempDir(), 'nope'), () => undefined)).rejects.toThrow(/ENOENT/);
  });

  it('fills KnownKids', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'm.mp4.keyos_id'), A);
    const known = new KnownKids();
    await scanSidecars(root, (kid, media) => known.add(kid, 'drm', media));
    expect(known.get(parseKid(A))).toEqual({ location: 'drm', mediaPath: join(root, 'm.mp4') });
  });
});

describe('KnownKids', () => {
  it('answers which location a KID belongs to, and only for KIDs it was told', () => {
    const known = new KnownKids();
    expect(known.add(parseKid(A), 'drm', '/v/a.mp4')).toBeUndefined();
    expect(known.add(parseKid(B), 'static')).toBeUndefined();
    expect(known.has(parseKid(A))).toBe(true);
    expect(known.get(parseKid(B))).toEqual({ location: 'static' });
    expect(known.has(parseKid(C))).toBe(false);
    expect(known.get(parseKid(C))).toBeUndefined();
    expect(known.size).toBe(2);
  });

  it('reports a KID claimed by a second location', () => {
    const known = new KnownKids();
    known.add(parseKid(A), 'drm');
    expect(known.add(parseKid(A), 'drm')).toBeUndefined();
    expect(known.add(parseKid(A), 'drm2')).toBe('drm');
    expect(known.get(parseKid(A))?.location).toBe('drm2');
  });

  it('forgets a KID or a whole location', () => {
    const known = new KnownKids();
    known.add(parseKid(A), 'x');
    known.add(parseKid(B), 'x');
    known.add(parseKid(C), 'y');
    expect(known.delete(parseKid(C))).toBe(true);
    expect(known.removeLocation('x')).toBe(2);
    expect(known.size).toBe(0);
  });

  it('is bounded', () => {
    const known = new KnownKids(2);
    for (const k of [A, B, C]) known.add(parseKid(k), 'x');
    expect(known.size).toBe(2);
    expect(known.has(parseKid(A))).toBe(false);
  });
});
