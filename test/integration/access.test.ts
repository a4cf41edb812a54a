// Tokens end to end on the real server: every status of the key endpoint (401, 403 bad signature, 403
// expired, 403 other content, 404, 429, 200), query and header tokens, tokens written into playlists
// (master and media, TS and fMP4, DASH) and key URIs, the licence endpoint, refusals that look the same for
// known and unknown KeyIDs, `token_secret off`, and `packager token` accepted by the server. Tokens are
// minted with node:crypto alone, after the README's description.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { decodeSecret } from '../../src/keys/secret.js';
import { deriveLocalKey } from '../../src/keys/local.js';
import { parseKid } from '../../src/keys/kid.js';
import { inOneHour, kidB64, library, mint, send, visible, type Reply } from './access-helpers.js';

const SECRET = 'access-test-secret-0123456789abcdef-0123';
const OTHER_SECRET = 'another-location-secret-fedcba9876543210';
const KID_A = '0a0a0a0a-1111-4222-8333-444444444401';
const KID_A2 = '0a0a0a0a-1111-4222-8333-444444444402';
const KID_B = '0b0b0b0b-1111-4222-8333-444444444401';
const KID_C = '0c0c0c0c-1111-4222-8333-444444444401';
const UNKNOWN = '0d0d0d0d-1111-4222-8333-4444444444ff';
const ROOT = join(import.meta.dirname, '..', '..');

let server: TestServer;
let configText: string;

beforeAll(async () => {
  server = await startTestServer('http 8080;\n');
  const a = await library(join(server.dir, 'a'), KID_A, KID_A2);
  const b = await library(join(server.dir, 'b'), KID_B);
  const c = await library(join(server.dir, 'c'), KID_C);
  configText = [
    'http 8080;',
    `secret_file ${join(server.dir, 'secret')};`,
    `token_secret ${SECRET};`,
    'key_rate_limit 100000 100000;',
    `file vod { path ${a}; token_secret off; }`,
    `file tok { path ${a}; drm local; }`,
    `file sa { path ${b}; drm local ts=sample-aes; }`,
    `file other { path ${c}; drm local; token_secret ${OTHER_SECRET}; }`,
    '',
  ].join('\n');
  await writeFile(server.configPath, configText);
  expect(await server.reload()).toBe(true);
  // Let the sidecar scans finish so every KID is known to the key endpoint.
  for (const kid of [KID_A, KID_A2, KID_B, KID_C]) {
    for (let i = 0; i < 100 && !server.state.knownKids.has(parseKid(kid)); i++) await new Promise((r) => setTimeout(r, 10));
  }
});
afterAll(async () => server?.stop());

const get = (path: string, headers: Record<string, string> = {}): Promise<Reply> => send(server.url, path, { headers });
const token = (sub: string, exp = inOneHour(), secret = SECRET): string => mint(secret, { sub, exp });

async function expectedKey(kid: string): Promise<string> {
  const secret = decodeSecret(await readFile(join(server.dir, 'secret'), 'utf8'), 'secret');
  return Buffer.from(deriveLocalKey(secret, parseKid(kid))).toString('hex');
}

describe('GET /keys/{kid}', () => {
  it('401 without a token, with WWW-Authenticate, no-store and CORS', async () => {
    const r = await get(`/keys/${KID_A}`, { Origin: 'http://player.example' });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="packager"');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.body.toString()).toBe('unauthorized\n');
  });

  it('403 for a bad signature: another secret, a changed payload, alg none or another alg', async () => {
    const good = token(KID_A);
    const [h, , s] = good.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: KID_B, exp: inOneHour() })).toString('base64url')}.${s}`;
    const none = mint('', { sub: KID_A, exp: inOneHour() }, { alg: 'none' }).replace(/\.[^.]*$/, '.');
    const hs512 = mint(SECRET, { sub: KID_A, exp: inOneHour() }, { alg: 'HS512', typ: 'JWT' });
    for (const t of [token(KID_A, inOneHour(), 'not-the-secret-but-long-enough-0123456789'), forged, none, hs512, `${good}x`, 'garbage']) {
      const r = await get(`/keys/${KID_A}?token=${encodeURIComponent(t)}`);
      expect(r.status, t).toBe(403);
      expect(r.body.toString()).toBe('forbidden\n');
    }
  });

  it('403 for an expired token, and for a token without exp', async () => {
    expect((await get(`/keys/${KID_A}?token=${token(KID_A, Math.floor(Date.now() / 1000) - 1)}`)).status).toBe(403);
    expect((await get(`/keys/${KID_A}?token=${mint(SECRET, { sub: KID_A })}`)).status).toBe(403);
  });

  it('403 for a token for another key or content', async () => {
    expect((await get(`/keys/${KID_A}?token=${token(KID_A2)}`)).status).toBe(403);
    expect((await get(`/keys/${KID_A}?token=${token('tok/two-audio.mp4')}`)).status).toBe(403);
    expect((await get(`/keys/${KID_A}?token=${token('sa/bframes.mp4')}`)).status).toBe(403);
  });

  it("403 for a token signed with another location's secret", async () => {
    expect((await get(`/keys/${KID_C}?token=${token(KID_C)}`)).status).toBe(403);
    expect((await get(`/keys/${KID_A}?token=${token(KID_A, inOneHour(), OTHER_SECRET)}`)).status).toBe(403);
  });

  it('404 for an unknown key with a valid token', async () => {
    const r = await get(`/keys/${UNKNOWN}?token=${token(UNKNOWN)}`);
    expect(r.status).toBe(404);
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it('200 with exactly the 16 key bytes, octet-stream, no-store and CORS; token in the query or the header', async () => {
    const t = token(KID_A);
    const replies = [await get(`/keys/${KID_A}?token=${t}`, { Origin: 'http://player.example' }), await get(`/keys/${KID_A}`, { Authorization: `Bearer ${t}`, Origin: 'http://player.example' })];
    // (drm local's secret file exists once a key has been derived.)
    const key = await expectedKey(KID_A);
    for (const r of replies) {
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(16);
      expect(r.body.toString('hex')).toBe(key);
      expect(r.headers['content-type']).toBe('application/octet-stream');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['access-control-allow-origin']).toBe('*');
    }
    // The KeyID may be written in any case, with or without dashes, in the token.
    expect((await get(`/keys/${KID_A}?token=${token(KID_A.replace(/-/g, '').toUpperCase())}`)).status).toBe(200);
    // Per-location secret.
    expect((await get(`/keys/${KID_C}?token=${token(KID_C, inOneHour(), OTHER_SECRET)}`)).body.toString('hex')).toBe(await expectedKey(KID_C));
  });

  it("a playlist's token (sub location/path) opens that title's key only", async () => {
    const t = token('tok/bframes.mp4');
    expect((await get(`/keys/${KID_A}?token=${t}`)).status).toBe(200);
    expect((await get(`/keys/${KID_A2}?token=${t}`)).status).toBe(403);
    expect((await get(`/keys/${KID_A2}?token=${token('tok/two-audio.mp4')}`)).status).toBe(200);
  });

  it('the browser preflight for an Authorization header is answered', async () => {
    const r = await send(server.url, `/keys/${KID_A}`, { method: 'OPTIONS', headers: { Origin: 'http://p.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' } });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-headers']).toBe('authorization');
  });
});

describe('refusals do not tell whether a key exists', () => {
  it('401 and 403 look the same for a known and an unknown KeyID', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['', {}],
      [`?token=${token(KID_A2)}`, {}],
      [`?token=${token(KID_A, 1)}`, {}],
      ['', { Authorization: `Bearer ${token(KID_A, inOneHour(), 'not-the-secret-but-long-enough-0123456789')}` }],
      ['?token=garbage', {}],
    ];
    for (const [q, h] of cases) {
      const known = await get(`/keys/${KID_A}${q}`, h);
      const unknown = await get(`/keys/${UNKNOWN}${q}`, h);
      const malformed = await get(`/keys/not-a-kid${q}`, h);
      expect(known.status).toBeGreaterThanOrEqual(401);
      expect(visible(unknown)).toEqual(visible(known));
      expect(visible(malformed)).toEqual(visible(known));
    }
  });
});

describe('playlists', () => {
  const base = '/tok/bframes.mp4';

  it('401 without a token, 403 for a bad, expired or other-content token', async () => {
    expect((await get(`${base}/index.m3u8`)).status).toBe(401);
    expect((await get(`${base}/index.mpd`)).status).toBe(401);
    expect((await get(`${base}/ts/v1.m3u8?token=${token('tok/two-audio.mp4')}`)).status).toBe(403);
    expect((await get(`${base}/index.fmp4.m3u8?token=${token('tok/bframes.mp4', 5)}`)).status).toBe(403);
    expect((await get(`${base}/index.m3u8?token=${token('tok/bframes.mp4', inOneHour(), OTHER_SECRET)}`)).status).toBe(403);
  });

  it('segments and inits are not checked (the key is the gate)', async () => {
    expect((await get(`${base}/ts/v1/1.ts`)).status).toBe(200);
    expect((await get(`${base}/hls/v1/init.mp4`)).status).toBe(200);
  });

  it('TS master and media playlists: every URI and key URI carries the token', async () => {
    const t = token('tok/bframes.mp4');
    const master = await get(`${base}/index.m3u8?token=${t}`);
    expect(master.status).toBe(200);
    expect(master.headers['cache-control']).toBe('private, max-age=60');
    const uris = uriLines(master.body.toString());
    expect(uris.length).toBeGreaterThanOrEqual(2);
    for (const u of uris) expect(u).toMatch(new RegExp(`\\?token=${escape(t)}$`));
    const media = (await get(`${base}/ts/v1.m3u8?token=${t}`)).body.toString();
    const keys = media.split('\n').filter((l) => l.startsWith('#EXT-X-KEY'));
    expect(keys.length).toBe(3);
    keys.forEach((k, i) => expect(k).toBe(`#EXT-X-KEY:METHOD=AES-128,URI="/keys/${KID_A}?token=${t}",IV=0x${(i + 1).toString(16).padStart(32, '0')}`));
    for (const u of uriLines(media)) expect(u).toMatch(new RegExp(`^v1/\\d\\.ts\\?token=${escape(t)}$`));
    // A key URI from the playlist works as is.
    const keyUri = /URI="([^"]+)"/.exec(keys[0]!)![1]!;
    expect((await get(keyUri)).status).toBe(200);
  });

  it('a token in the Authorization header is written into the URIs too; the KeyID as sub opens the playlist', async () => {
    const t = token(KID_A);
    const media = await get(`${base}/ts/a2.m3u8`, { Authorization: `Bearer ${t}` });
    expect(media.status).toBe(200);
    expect(media.body.toString()).toContain(`URI="/keys/${KID_A}?token=${t}"`);
  });

  it('fMP4 master and media playlists: session key, key, map and segment URIs carry the token', async () => {
    const t = token('tok/bframes.mp4');
    const master = (await get(`${base}/index.fmp4.m3u8?token=${t}`)).body.toString();
    expect(master).toContain(`#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="/keys/${KID_A}?token=${t}"`);
    for (const u of uriLines(master)) expect(u.endsWith(`?token=${t}`)).toBe(true);
    const media = (await get(`${base}/hls/v1.m3u8?token=${t}`)).body.toString();
    expect(media).toContain(`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="/keys/${KID_A}?token=${t}",KEYFORMAT="identity"`);
    expect(media).toContain(`#EXT-X-MAP:URI="v1/init.mp4?token=${t}"`);
    for (const u of uriLines(media)) expect(u.endsWith(`?token=${t}`)).toBe(true);
  });

  it('SAMPLE-AES TS: one key tag with the title IV and the token', async () => {
    const t = token('sa/bframes.mp4');
    const media = (await get(`/sa/bframes.mp4/ts/v1.m3u8?token=${t}`)).body.toString();
    const keys = media.split('\n').filter((l) => l.startsWith('#EXT-X-KEY'));
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^#EXT-X-KEY:METHOD=SAMPLE-AES,URI="/keys/${KID_B}\\?token=${escape(t)}",IV=0x[0-9a-f]{32}$`));
    expect(media).toContain('#EXT-X-VERSION:5');
  });

  it('DASH: the licence URL and the segment templates carry the token', async () => {
    const t = token('tok/bframes.mp4');
    const mpd = (await get(`${base}/index.mpd?token=${t}`)).body.toString();
    expect(mpd).toMatch(new RegExp(`<dashif:Laurl>http://127\\.0\\.0\\.1:\\d+/license/clearkey\\?token=${escape(t)}</dashif:Laurl>`));
    expect(mpd).toContain(`media="dash/$RepresentationID$/$Number$.m4s?token=${t}"`);
  });

  it('a clear location with token_secret off is open, and passes a given token on', async () => {
    expect((await get('/vod/bframes.mp4/index.m3u8')).status).toBe(200);
    const r = await get('/vod/bframes.mp4/ts/v1.m3u8?token=cdn-edge-token');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('v1/1.ts?token=cdn-edge-token');
    expect(r.headers['cache-control']).toBe('private, max-age=60');
    expect((await get('/vod/bframes.mp4/ts/v1.m3u8')).headers['cache-control']).toBe('public, max-age=60');
  });

  it('a playlist ETag changes with the token', async () => {
    const a = await get(`${base}/index.m3u8?token=${token('tok/bframes.mp4')}`);
    const b = await get(`${base}/index.m3u8?token=${token('tok/bframes.mp4', inOneHour() + 5)}`);
    expect(a.headers['etag']).not.toBe(b.headers['etag']);
  });
});

describe('POST /license/clearkey', () => {
  const licence = (kids: string[], q = '', headers: Record<string, string> = {}): Promise<Reply> =>
    send(server.url, `/license/clearkey${q}`, { method: 'POST', headers, body: JSON.stringify({ kids: kids.map(kidB64), type: 'temporary' }) });

  it('401 without a token; 200 with one in the query or the header', async () => {
    expect((await licence([KID_A])).status).toBe(401);
    const t = token(KID_A);
    for (const r of [await licence([KID_A], `?token=${t}`), await licence([KID_A], '', { Authorization: `Bearer ${t}` })]) {
      expect(r.status).toBe(200);
      const j = JSON.parse(r.body.toString()) as { keys: Array<{ kid: string; k: string }> };
      expect(Buffer.from(j.keys[0]!.k, 'base64url').toString('hex')).toBe(await expectedKey(KID_A));
    }
  });

  it('403 when the token does not cover every KeyID asked for; 404 for an unknown one with a valid token', async () => {
    expect((await licence([KID_A, KID_A2], `?token=${token(KID_A)}`)).status).toBe(403);
    expect((await licence([KID_A2], `?token=${token(KID_A)}`)).status).toBe(403);
    expect((await licence([KID_A], `?token=${token(KID_A, 1)}`)).status).toBe(403);
    expect((await licence([UNKNOWN], `?token=${token(UNKNOWN)}`)).status).toBe(404);
    expect(visible(await licence([UNKNOWN]))).toEqual(visible(await licence([KID_A])));
  });

  it("a DASH MPD's token opens the licence its Laurl names", async () => {
    const t = token('tok/bframes.mp4');
    const mpd = (await get(`/tok/bframes.mp4/index.mpd?token=${t}`)).body.toString();
    const laurl = new URL(/<dashif:Laurl>([^<]+)</.exec(mpd)![1]!.replace(/&amp;/g, '&'));
    expect((await licence([KID_A], laurl.search)).status).toBe(200);
  });
});

describe('packager token', () => {
  it('prints a token alone on the last line that the server accepts', async () => {
    const run = promisify(execFile);
    const { stdout } = await run('node', [join(ROOT, 'bin', 'packager.js'), 'token', '--config', server.configPath, '--content', KID_A, '--ttl', '10m'], { cwd: ROOT });
    const last = stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect((await get(`/keys/${KID_A}?token=${last}`)).status).toBe(200);
    const claims = JSON.parse(Buffer.from(last.split('.')[1]!, 'base64url').toString()) as { sub: string; exp: number };
    expect(claims.sub).toBe(KID_A);
    expect(claims.exp - Date.now() / 1000).toBeGreaterThan(590);
    expect(claims.exp - Date.now() / 1000).toBeLessThan(610);
    // --location picks a location's own secret.
    const other = await run('node', [join(ROOT, 'bin', 'packager.js'), 'token', '--config', server.configPath, '--content', KID_C, '--location', 'other'], { cwd: ROOT });
    expect((await get(`/keys/${KID_C}?token=${other.stdout.trim().split('\n').at(-1)}`)).status).toBe(200);
    // A location/path content finds its location's secret on its own.
    const path = await run('node', [join(ROOT, 'bin', 'packager.js'), 'token', '--config', server.configPath, '--content', 'other/bframes.mp4'], { cwd: ROOT });
    expect((await get(`/other/bframes.mp4/index.m3u8?token=${path.stdout.trim()}`)).status).toBe(200);
  });
});

function uriLines(playlist: string): string[] {
  const out = playlist.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  for (const m of playlist.matchAll(/#EXT-X-MEDIA:.*URI="([^"]+)"/g)) out.push(m[1]!);
  return out;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}
