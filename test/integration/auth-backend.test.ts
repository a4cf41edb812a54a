// The auth backend against a local backend started here on 127.0.0.1: allow, deny, down (a closed
// port), slow (answers after the timeout); what it is asked; decisions cached and shared; combined with
// tokens; and the rate limits of the key and licence endpoints (429 with Retry-After, per address and
// per token, the same for known and unknown KeyIDs).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { parseKid } from '../../src/keys/kid.js';
import { AUTH_TIMEOUT_MS } from '../../src/http/auth-backend.js';
import { closedPort, inOneHour, kidB64, library, mint, send, startBackend, visible, type Backend, type Reply } from './access-helpers.js';

const SECRET = 'auth-test-secret-0123456789abcdef-012345';
const KIDS = {
  allow: 'a1a1a1a1-1111-4222-8333-444444444401',
  deny: 'a2a2a2a2-1111-4222-8333-444444444401',
  down: 'a3a3a3a3-1111-4222-8333-444444444401',
  slow: 'a4a4a4a4-1111-4222-8333-444444444401',
  both: 'a5a5a5a5-1111-4222-8333-444444444401',
} as const;
const UNKNOWN = 'a9a9a9a9-1111-4222-8333-4444444444ff';

let server: TestServer;
let backend: Backend;

async function waitKnown(s: TestServer, kids: readonly string[]): Promise<void> {
  for (const kid of kids) {
    for (let i = 0; i < 200 && !s.state.knownKids.has(parseKid(kid)); i++) await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  [server, backend] = await Promise.all([startTestServer('http 8080;\n'), startBackend(AUTH_TIMEOUT_MS + 1500)]);
  const down = `http://127.0.0.1:${await closedPort()}/auth`;
  const lines = ['http 8080;', `secret_file ${join(server.dir, 'secret')};`, 'key_rate_limit off;'];
  for (const [name, kid] of Object.entries(KIDS)) {
    const lib = await library(join(server.dir, name), kid);
    const auth = name === 'down' ? down : name === 'both' ? `${backend.url}/allow` : `${backend.url}/${name}`;
    lines.push(`file ${name} { path ${lib}; drm local; auth ${auth};${name === 'both' ? ` token_secret ${SECRET};` : ''} }`);
  }
  await writeFile(server.configPath, `${lines.join('\n')}\n`);
  expect(await server.reload()).toBe(true);
  await waitKnown(server, Object.values(KIDS));
});
afterAll(async () => Promise.all([server?.stop(), backend?.stop()]));

const get = (path: string, headers: Record<string, string> = {}): Promise<Reply> => send(server.url, path, { headers });
const callsTo = (path: string) => backend.calls.filter((c) => c.path === path);

describe('auth backend', () => {
  it('allow: the playlist and the key are served; the backend is told name, ip, token, proto and type', async () => {
    const before = backend.calls.length;
    const r = await get('/allow/bframes.mp4/index.m3u8?token=viewer-1', { 'User-Agent': 'TestPlayer/1' });
    expect(r.status).toBe(200);
    // The backend's token is written into the playlist for the key and segment requests that follow.
    expect(r.body.toString()).toContain('ts/v1.m3u8?token=viewer-1');
    const call = backend.calls[before]!;
    expect(call.path).toBe('/allow');
    expect(call.query).toMatchObject({ name: 'allow/bframes.mp4', location: 'allow', ip: '127.0.0.1', token: 'viewer-1', proto: 'hls', type: 'playlist' });
    expect(call.headers['x-original-uri']).toBe('/allow/bframes.mp4/index.m3u8');
    expect(call.headers['x-original-user-agent']).toBe('TestPlayer/1');

    const key = await get(`/keys/${KIDS.allow}?token=viewer-1`);
    expect(key.status).toBe(200);
    expect(key.body.length).toBe(16);
    expect(backend.calls.at(-1)!.query).toMatchObject({ name: 'allow/bframes.mp4', token: 'viewer-1', proto: 'hls', type: 'key', kid: KIDS.allow });

    const lic = await send(server.url, '/license/clearkey?token=viewer-1', { method: 'POST', body: JSON.stringify({ kids: [kidB64(KIDS.allow)] }) });
    expect(lic.status).toBe(200);
    expect(backend.calls.at(-1)!.query).toMatchObject({ proto: 'dash', type: 'license', kid: KIDS.allow });
    // Without a token the backend is asked all the same (and decides): here it allows.
    expect((await get('/allow/bframes.mp4/index.mpd')).status).toBe(200);
    expect(backend.calls.at(-1)!.query).toMatchObject({ token: '', proto: 'dash', type: 'playlist' });
  });

  it('deny: 403 for the playlist, the key and the licence', async () => {
    expect((await get('/deny/bframes.mp4/index.m3u8?token=t')).status).toBe(403);
    expect((await get(`/keys/${KIDS.deny}?token=t`)).status).toBe(403);
    const lic = await send(server.url, '/license/clearkey?token=t', { method: 'POST', body: JSON.stringify({ kids: [kidB64(KIDS.deny)] }) });
    expect(lic.status).toBe(403);
    expect(callsTo('/deny').length).toBeGreaterThanOrEqual(3);
  });

  it('down: 403, logged', async () => {
    expect((await get('/down/bframes.mp4/index.m3u8')).status).toBe(403);
    expect((await get(`/keys/${KIDS.down}`)).status).toBe(403);
    expect(server.logs.some((l) => l.includes('auth backend unreachable; denied'))).toBe(true);
    // The log names the backend, never the token.
    expect(server.logs.filter((l) => l.includes('auth backend')).every((l) => !l.includes('viewer-1'))).toBe(true);
  });

  it('slow: no answer within the timeout is a 403, and the server does not wait for it', async () => {
    const started = Date.now();
    const r = await get('/slow/bframes.mp4/index.m3u8?token=s');
    const ms = Date.now() - started;
    expect(r.status).toBe(403);
    expect(ms).toBeGreaterThanOrEqual(AUTH_TIMEOUT_MS - 100);
    expect(ms).toBeLessThan(AUTH_TIMEOUT_MS + 1000);
    expect(server.logs.some((l) => l.includes('auth backend did not answer in time; denied'))).toBe(true);
  });

  it('decisions are cached per token and content, and identical checks in flight share one request', async () => {
    const n = callsTo('/allow').length;
    const replies = await Promise.all(Array.from({ length: 5 }, () => get('/allow/bframes.mp4/index.m3u8?token=viewer-cache')));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await get('/allow/bframes.mp4/index.m3u8?token=viewer-cache')).status).toBe(200);
    expect(callsTo('/allow').length).toBe(n + 1);
    // Another token, or another content, is asked anew.
    await get('/allow/bframes.mp4/index.m3u8?token=viewer-other');
    await get('/allow/bframes.mp4/index.fmp4.m3u8?token=viewer-cache');
    expect(callsTo('/allow').length).toBe(n + 2);
    await get(`/keys/${KIDS.allow}?token=viewer-cache`);
    expect(callsTo('/allow').length).toBe(n + 3);
  });

  it('with token_secret too: the token is checked first (401/403 without asking), then the backend', async () => {
    const n = backend.calls.length;
    expect((await get('/both/bframes.mp4/index.m3u8')).status).toBe(401);
    expect((await get(`/keys/${KIDS.both}?token=${mint(SECRET, { sub: KIDS.allow, exp: inOneHour() })}`)).status).toBe(403);
    expect(backend.calls.length).toBe(n);
    const t = mint(SECRET, { sub: 'both/bframes.mp4', exp: inOneHour() });
    expect((await get(`/both/bframes.mp4/index.m3u8?token=${t}`)).status).toBe(200);
    expect((await get(`/keys/${KIDS.both}?token=${t}`)).status).toBe(200);
    expect(backend.calls.length).toBe(n + 2);
  });

  it('an unknown KeyID under auth-only locations is refused like a denied one', async () => {
    expect(visible(await get(`/keys/${UNKNOWN}?token=x`))).toEqual(visible(await get(`/keys/${KIDS.deny}?token=x`)));
  });
});

describe('rate limits of the key and licence endpoints', () => {
  let limited: TestServer;
  const KID = 'b1b1b1b1-1111-4222-8333-444444444401';
  // A claim of its own per token, so each test's token has its own bucket.
  const token = (sub: string): string => mint(SECRET, { sub, exp: inOneHour(), jti: Math.random().toString(36).slice(2) });

  beforeAll(async () => {
    limited = await startTestServer('http 8080;\n');
    const lib = await library(join(limited.dir, 'lib'), KID);
    // The default limits: 20 at once, 5 per second.
    await writeFile(limited.configPath, `http 8080;\nsecret_file ${join(limited.dir, 'secret')};\ntoken_secret ${SECRET};\nfile tok { path ${lib}; drm local; }\n`);
    expect(await limited.reload()).toBe(true);
    await waitKnown(limited, [KID]);
  });
  afterAll(async () => limited?.stop());

  it('per address: after a burst of 20, 429 with Retry-After, the same for known and unknown KeyIDs and refused requests', async () => {
    const from = '127.0.0.2';
    const t = token(KID);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await send(limited.url, `/keys/${KID}?token=${t}`, { from })).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const known = await send(limited.url, `/keys/${KID}?token=${t}`, { from });
    expect(known.status).toBe(429);
    expect(Number(known.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(known.headers['cache-control']).toBe('no-store');
    expect(known.body.toString()).toBe('too many requests\n');
    const unknown = await send(limited.url, `/keys/${UNKNOWN}?token=${token(UNKNOWN)}`, { from });
    const noToken = await send(limited.url, `/keys/${UNKNOWN}`, { from });
    expect(visible(unknown)).toEqual(visible(known));
    expect(visible(noToken)).toEqual(visible(known));
    const lic = await send(limited.url, `/license/clearkey?token=${t}`, { from, method: 'POST', body: JSON.stringify({ kids: [kidB64(KID)] }) });
    expect(lic.status).toBe(429);
    // Another address is not affected; and the bucket refills (5 per second).
    expect((await send(limited.url, `/keys/${KID}?token=${token(KID)}`, { from: '127.0.0.3' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000 * Number(known.headers['retry-after'])));
    expect((await send(limited.url, `/keys/${KID}?token=${t}`, { from })).status).toBe(200);
  });

  it('per token: a token used from many addresses is limited too', async () => {
    const t = token(KID);
    for (let i = 0; i < 20; i++) expect((await send(limited.url, `/keys/${KID}?token=${t}`, { from: `127.0.1.${i + 1}` })).status).toBe(200);
    const r = await send(limited.url, `/keys/${KID}?token=${t}`, { from: '127.0.2.1' });
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBeDefined();
    expect((await send(limited.url, `/keys/${KID}?token=${token(KID)}x`, { from: '127.0.2.2' })).status).toBe(403);
  });

  it('playlists and segments are not rate-limited', async () => {
    const t = token('tok/bframes.mp4');
    for (let i = 0; i < 25; i++) expect((await send(limited.url, `/tok/bframes.mp4/ts/v1.m3u8?token=${t}`, { from: '127.0.3.1' })).status).toBe(200);
  });
});
