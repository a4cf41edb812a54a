// HTTP behaviour of the VOD routes: headers, HEAD, conditional requests, CORS, and every way a request
// can be wrong (unknown file, bad numbers, traversal, corrupt media) — the server answers clearly and
// keeps serving everything else.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFile, mkdir, open, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, rawRequest, FIXTURES, type TestServer } from '../helpers/server.js';

let server: TestServer;
let lib: string;

beforeAll(async () => {
  server = await startTestServer('http 8080;\n');
  lib = join(server.dir, 'lib');
  await mkdir(join(lib, 'nested', 'deeper'), { recursive: true });
  await copyFile(join(FIXTURES, 'bframes.mp4'), join(lib, 'good.mp4'));
  await copyFile(join(FIXTURES, 'moov-at-end.mp4'), join(lib, 'nested', 'deeper', 'space name.mp4'));
  // Corrupt inputs: random bytes; the moov-at-end file cut before its moov; a faststart file cut in
  // its media data (the index parses, the segments cannot be read).
  await writeFile(join(lib, 'garbage.mp4'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)));
  const atEnd = await readFile(join(FIXTURES, 'moov-at-end.mp4'));
  await writeFile(join(lib, 'no-moov.mp4'), atEnd.subarray(0, atEnd.length - 20000));
  const fast = await readFile(join(FIXTURES, 'bframes.mp4'));
  await writeFile(join(lib, 'truncated.mp4'), fast.subarray(0, 200_000));
  // A symlink that leads outside the location.
  await writeFile(join(server.dir, 'outside.mp4'), fast);
  await symlink(join(server.dir, 'outside.mp4'), join(lib, 'escape.mp4'));
  await writeFile(server.configPath, `http 8080;\nfile lib { path ${lib}; protocols hls dash; }\nfile hlsonly { path ${lib}; protocols hls; }\n`);
  expect(await server.reload()).toBe(true);
});
afterAll(async () => server?.stop());

const get = (path: string, method = 'GET', headers: Record<string, string> = {}) => rawRequest(server.url, path, method, headers);

describe('headers', () => {
  it('sets content types, lengths, caching headers and CORS', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['/lib/good.mp4/index.m3u8', 'application/vnd.apple.mpegurl', /max-age=60/],
      ['/lib/good.mp4/index.mpd', 'application/dash+xml', /max-age=60/],
      ['/lib/good.mp4/ts/v1/1.ts', 'video/mp2t', /max-age=31536000/],
      ['/lib/good.mp4/hls/v1/init.mp4', 'video/mp4', /max-age=31536000/],
      ['/lib/good.mp4/dash/a2/init.mp4', 'audio/mp4', /max-age=31536000/],
      ['/lib/good.mp4/dash/v1/2.m4s', 'video/iso.segment', /max-age=31536000/],
    ];
    for (const [path, type, cache] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(200);
      expect(String(r.headers['content-type'])).toContain(type);
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      expect(String(r.headers['cache-control'])).toMatch(cache);
      expect(r.headers['access-control-allow-origin']).toBe('*');
      expect(r.headers['etag']).toBeDefined();
      expect(r.headers['last-modified']).toBeDefined();
    }
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const g = await get('/lib/good.mp4/ts/v1/2.ts');
    const h = await get('/lib/good.mp4/ts/v1/2.ts', 'HEAD');
    expect(h.status).toBe(200);
    expect(h.body.length).toBe(0);
    expect(h.headers['content-length']).toBe(String(g.body.length));
    expect(h.headers['etag']).toBe(g.headers['etag']);
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const g = await get('/lib/good.mp4/hls/v1/1.m4s');
    const c = await get('/lib/good.mp4/hls/v1/1.m4s', 'GET', { 'If-None-Match': String(g.headers['etag']) });
    expect(c.status).toBe(304);
    expect(c.body.length).toBe(0);
  });

  it('answers CORS preflights', async () => {
    const r = await get('/lib/good.mp4/index.mpd', 'OPTIONS', { Origin: 'http://player.example', 'Access-Control-Request-Method': 'GET' });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(String(r.headers['access-control-allow-methods'])).toContain('GET');
  });

  it('gives the same bytes for the same URL (stateless segments)', async () => {
    const a = await get('/lib/good.mp4/ts/v1/3.ts');
    await get('/lib/good.mp4/ts/v1/1.ts');
    const b = await get('/lib/good.mp4/ts/v1/3.ts');
    expect(a.body.equals(b.body)).toBe(true);
  });

  it('serves files in subfolders with encoded names', async () => {
    expect((await get('/lib/nested/deeper/space%20name.mp4/index.m3u8')).status).toBe(200);
  });
});

describe('requests that are wrong', () => {
  it('404s unknown locations, files, renditions and resources', async () => {
    for (const path of ['/nope/good.mp4/index.m3u8', '/lib/missing.mp4/index.m3u8', '/lib/good.mp4/hls/v9.m3u8', '/lib/good.mp4/ts/a7/1.ts', '/lib/good.mp4/index.html', '/lib/good.mp4/ts/v1/init.mp4']) {
      expect((await get(path)).status, path).toBe(404);
    }
  });

  it('404s segment numbers out of range and 400s malformed ones', async () => {
    expect((await get('/lib/good.mp4/ts/v1/999.ts')).status).toBe(404);
    expect((await get('/lib/good.mp4/hls/v1/0.m4s')).status).toBe(400);
    expect((await get('/lib/good.mp4/hls/v1/abc.m4s')).status).toBe(400);
    expect((await get('/lib/good.mp4/dash/v1/-1.m4s')).status).toBe(400);
  });

  it('404s DASH on a location that serves HLS only', async () => {
    expect((await get('/hlsonly/good.mp4/index.mpd')).status).toBe(404);
    expect((await get('/hlsonly/good.mp4/index.m3u8')).status).toBe(200);
  });

  it('refuses every path that tries to leave its location with 400', async () => {
    const attempts = [
      '/lib/../outside.mp4/index.m3u8',
      '/lib/%2e%2e/outside.mp4/index.m3u8',
      '/lib/%2E%2E/outside.mp4/index.m3u8',
      '/lib/nested/..%2F..%2Foutside.mp4/index.m3u8',
      '/lib/..%5coutside.mp4/index.m3u8',
      '/lib//etc/passwd.mp4/index.m3u8',
      '/lib/%2Fetc%2Fpasswd.mp4/index.m3u8',
      '/lib/good%00.mp4/index.m3u8',
      '/lib/escape.mp4/index.m3u8',
    ];
    for (const path of attempts) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.body.toString()).not.toContain('#EXTM3U');
    }
  });

  it('answers a clear 4xx for corrupt or truncated MP4s and keeps serving the rest', async () => {
    for (const path of ['/lib/garbage.mp4/index.m3u8', '/lib/no-moov.mp4/index.mpd']) {
      const r = await get(path);
      expect(r.status, path).toBe(422);
      expect(r.body.toString().length).toBeGreaterThan(5);
    }
    // A file cut in its media data is refused when indexed (its chunks run past the end), not when a
    // late segment happens to be read.
    const cut = await get('/lib/truncated.mp4/index.m3u8');
    expect(cut.status).toBe(422);
    expect(cut.body.toString()).toMatch(/truncated|past the end/i);
    expect((await get('/lib/good.mp4/ts/v1/1.ts')).status).toBe(200);
    expect(server.logs.some((l) => l.includes('request failed'))).toBe(true);
  });

  it('answers 405 for methods it does not serve', async () => {
    expect((await get('/lib/good.mp4/index.m3u8', 'DELETE')).status).toBe(405);
  });
});

describe('replaced and deleted files', () => {
  it('never serves a stale index: a replaced file is re-read, a deleted one is 404', async () => {
    const target = join(lib, 'swap.mp4');
    await copyFile(join(FIXTURES, 'bframes.mp4'), target);
    const before = await get('/lib/swap.mp4/index.m3u8');
    expect(before.body.toString()).toContain('RESOLUTION=640x360');
    await copyFile(join(FIXTURES, 'moov-at-end.mp4'), target);
    // Make sure the mtime moves even on coarse clocks.
    const fh = await open(target, 'r+');
    await fh.utimes(new Date(), new Date(Date.now() + 5000));
    await fh.close();
    const after = await get('/lib/swap.mp4/index.m3u8');
    expect(after.body.toString()).toContain('RESOLUTION=480x270');
    await import('node:fs/promises').then((fs) => fs.unlink(target));
    expect((await get('/lib/swap.mp4/index.m3u8')).status).toBe(404);
  });
});
