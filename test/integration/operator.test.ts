// The operator surface in one server: /api (status, caches, keys, listing), /metrics (format, values
// that move), the admin token, the development token route, and the access log (one JSON line per
// request, no token, key or secret in any line).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestServer, FIXTURES, rawRequest, type TestServer } from '../helpers/server.js';
import { signToken } from '../../src/http/token.js';

const SECRET = 'operator-test-token-secret-0123456789abcdef';
const ADMIN = 'operator-admin-token-0123456789abcdefABCDEF';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict little parser of the Prometheus text format: every sample's family has HELP and TYPE first. */
function parseMetrics(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (m) {
      helps.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
    if (m) {
      expect(helps.has(m[1]!), `HELP before TYPE of ${m[1]}`).toBe(true);
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `sample line: ${line}`).not.toBeNull();
    const name = m![1]!;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(name) || types.get(family) === 'histogram', `TYPE of ${name}`).toBe(true);
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = m![3] === '+Inf' ? Infinity : Number(m![3]);
    expect(Number.isNaN(value)).toBe(false);
    samples.push({ name, labels, value });
  }
  return { types, samples };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}

describe('operator surface', () => {
  let server: TestServer;
  const auth = { Authorization: `Bearer ${ADMIN}` };
  const api = async (path: string): Promise<any> => {
    const r = await fetch(`${server.url}${path}`, { headers: auth });
    expect(r.status, path).toBe(200);
    return r.json();
  };

  beforeAll(async () => {
    server = await startTestServer(
      `admin_token ${ADMIN};\ndev_tokens on;\n` +
        `file vod {\n  path ${FIXTURES};\n}\n` +
        `file drm {\n  path ${FIXTURES};\n  drm local;\n  token_secret ${SECRET};\n}\n`,
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('/api and /metrics need the admin token when one is configured', async () => {
    for (const path of ['/api/status', '/metrics', '/api/locations/vod/files', '/player/token?content=drm/bframes.mp4']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(401);
      expect((await fetch(`${server.url}${path}`, { headers: { Authorization: 'Bearer nope' } })).status, path).toBe(403);
    }
    // The page and the player libraries are public: they hold no data.
    expect((await fetch(`${server.url}/player`)).status).toBe(200);
    const shaka = await fetch(`${server.url}/player/shaka-player.compiled.js`);
    expect(shaka.status).toBe(200);
    expect(shaka.headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${server.url}/player/hls.min.js`)).status).toBe(200);
  });

  it('/api/status, /api/caches and /api/keys describe the server, and the cache numbers move', async () => {
    const status = await api('/api/status');
    expect(status).toMatchObject({ pid: process.pid, config: { file: server.configPath, lastReload: null }, streams: [] });
    expect(status.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(status.locations).toEqual([
      expect.objectContaining({ name: 'vod', drm: null, guarded: false, protocols: ['hls', 'dash'] }),
      expect.objectContaining({ name: 'drm', drm: { kind: 'local', schemes: { dash: 'cenc', hls: 'cbcs', ts: 'aes-128' } }, guarded: true }),
    ]);
    expect(JSON.stringify(status)).not.toContain(SECRET);
    expect(JSON.stringify(status)).not.toContain(ADMIN);

    const before = await api('/api/caches');
    const token = signToken({ sub: 'drm/bframes.mp4', exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);
    for (let i = 0; i < 2; i++) {
      expect((await fetch(`${server.url}/vod/multi-bitrate.mp4/index.mpd`)).status).toBe(200);
      expect((await fetch(`${server.url}/drm/bframes.mp4/dash/v1/1.m4s`)).status).toBe(200);
    }
    expect((await fetch(`${server.url}/drm/bframes.mp4/index.mpd?token=${token}`)).status).toBe(200);
    const after = await api('/api/caches');
    expect(after.indexes.hits).toBeGreaterThan(before.indexes.hits);
    expect(after.indexes.entries).toBeGreaterThanOrEqual(2);
    const drmKeys = after.keys.find((k: { location: string }) => k.location === 'drm');
    expect(drmKeys).toMatchObject({ provider: 'local' });
    expect(drmKeys.hits + drmKeys.misses).toBeGreaterThan(0);

    const keys = await api('/api/keys');
    expect(keys.providers).toEqual([expect.objectContaining({ location: 'drm', provider: 'local', failures: 0, healthy: true, lastFailureAt: null })]);
    expect(typeof keys.providers[0].lastSuccessAt).toBe('string');
  });

  it('lists .mp4 files and folders below a location, never outside it', async () => {
    const root = await api('/api/locations/vod/files');
    expect(root.folders).toContain('sub');
    expect(root.files.map((f: { name: string }) => f.name)).toContain('bframes.mp4');
    expect(root.files.every((f: { name: string }) => f.name.endsWith('.mp4'))).toBe(true);
    const sub = await api('/api/locations/vod/files?dir=sub');
    expect(sub.dir).toBe('sub');
    for (const dir of ['..', '../..', 'sub/../..', '%2e%2e', '/etc']) {
      const r = await fetch(`${server.url}/api/locations/vod/files?dir=${encodeURIComponent(dir)}`, { headers: auth });
      expect([400, 404], dir).toContain(r.status);
    }
    expect((await fetch(`${server.url}/api/locations/nope/files`, { headers: auth })).status).toBe(404);
  });

  it('/player/token mints a token that opens the guarded title', async () => {
    const r = await fetch(`${server.url}/player/token?content=drm/bframes.mp4`, { headers: auth });
    expect(r.status).toBe(200);
    const { token } = (await r.json()) as { token: string };
    expect((await fetch(`${server.url}/drm/bframes.mp4/index.m3u8`)).status).toBe(401);
    expect((await fetch(`${server.url}/drm/bframes.mp4/index.m3u8?token=${token}`)).status).toBe(200);
  });

  it('/metrics is valid text exposition whose counters and histograms move with requests', async () => {
    const scrape = async () => parseMetrics(await (await fetch(`${server.url}/metrics`, { headers: auth })).text());
    const a = await scrape();
    for (const family of [
      'packager_http_requests_total',
      'packager_http_response_bytes_total',
      'packager_segment_build_seconds',
      'packager_key_fetch_seconds',
      'packager_key_fetch_errors_total',
      'packager_index_cache_hits_total',
      'packager_udp_datagrams_total',
      'packager_udp_cc_errors_total',
      'packager_event_loop_lag_seconds',
    ]) {
      expect(a.types.has(family), family).toBe(true);
    }
    expect(a.types.get('packager_segment_build_seconds')).toBe('histogram');
    const seg = { route: 'segment', status: '200' };
    const enc = { output: 'dash', encryption: 'cenc' };
    for (let i = 1; i <= 3; i++) expect((await fetch(`${server.url}/drm/bframes.mp4/dash/v1/${i}.m4s`)).status).toBe(200);
    expect((await fetch(`${server.url}/vod/bframes.mp4/ts/v1/1.ts`)).status).toBe(200);
    expect((await fetch(`${server.url}/vod/nope.mp4/index.mpd`)).status).toBe(404);
    const b = await scrape();
    expect(value(b.samples, 'packager_http_requests_total', seg) - value(a.samples, 'packager_http_requests_total', seg)).toBe(4);
    expect(value(b.samples, 'packager_http_requests_total', { route: 'manifest', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(value(b.samples, 'packager_http_response_bytes_total', { route: 'segment' })).toBeGreaterThan(value(a.samples, 'packager_http_response_bytes_total', { route: 'segment' }) + 100_000);
    expect(value(b.samples, 'packager_segment_build_seconds_count', enc) - value(a.samples, 'packager_segment_build_seconds_count', enc)).toBe(3);
    expect(value(b.samples, 'packager_segment_build_seconds_count', { output: 'hls_ts', encryption: 'clear' })).toBeGreaterThanOrEqual(1);
    expect(value(b.samples, 'packager_key_fetch_seconds_count', { provider: 'local', location: 'drm' })).toBeGreaterThanOrEqual(1);
    // Buckets are cumulative and end at +Inf = _count.
    const buckets = b.samples.filter((s) => s.name === 'packager_segment_build_seconds_bucket' && s.labels['encryption'] === 'cenc');
    expect(buckets.at(-1)?.labels['le']).toBe('+Inf');
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)?.value).toBe(value(b.samples, 'packager_segment_build_seconds_count', enc));
    expect(value(b.samples, 'packager_index_cache_hits_total')).toBeGreaterThan(value(a.samples, 'packager_index_cache_hits_total'));
  });

  it('logs one JSON line per request, with no token, key, secret or admin token anywhere', async () => {
    const token = signToken({ sub: 'drm/bframes.mp4', exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);
    const from = server.logs.length;
    expect((await fetch(`${server.url}/drm/bframes.mp4/index.m3u8?token=${token}`)).status).toBe(200);
    expect((await fetch(`${server.url}/drm/bframes.mp4/index.m3u8`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    const media = await (await fetch(`${server.url}/drm/bframes.mp4/ts/v1.m3u8?token=${token}`)).text();
    const keyUri = /URI="([^"]+)"/.exec(media)![1]!;
    const key = Buffer.from(await (await fetch(`${server.url}${keyUri}`)).arrayBuffer());
    expect(key.length).toBe(16);
    const kids = await fetch(`${server.url}/license/clearkey?token=${token}`, { method: 'POST', body: '{"kids":["AAAAAAAAAAAAAAAAAAAAAA"]}' });
    expect([403, 404]).toContain(kids.status);
    await rawRequest(server.url, `/api/status?token=${token}`, 'GET', { Authorization: `Bearer ${ADMIN}` });
    await new Promise((r) => setTimeout(r, 50));
    const lines = server.logs.slice(from);
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'request');
    expect(requests.length).toBe(6);
    expect(requests[0]).toMatchObject({ method: 'GET', path: '/drm/bframes.mp4/index.m3u8', route: 'manifest', status: 200 });
    expect(typeof requests[0]!['bytes']).toBe('number');
    expect(typeof requests[0]!['ms']).toBe('number');
    expect(['hit', 'miss']).toContain(requests[0]!['cache']);
    const all = server.logs.join('');
    for (const secret of [token, token.split('.')[2]!, SECRET, ADMIN, key.toString('hex'), key.toString('base64'), key.toString('base64url')]) {
      expect(all).not.toContain(secret);
    }
  });
});

describe('operator surface without admin_token', () => {
  it('answers loopback clients, 404s the token route unless dev_tokens on, and honours access_log off', async () => {
    const server = await startTestServer(`access_log off;\nfile vod {\n  path ${FIXTURES};\n}\n`);
    try {
      const status = await fetch(`${server.url}/api/status`);
      expect(status.status).toBe(200);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
      expect((await fetch(`${server.url}/player/token?content=vod/bframes.mp4`)).status).toBe(404);
      expect((await fetch(`${server.url}/vod/bframes.mp4/index.mpd`)).status).toBe(200);
      expect(server.logs.filter((l) => (JSON.parse(l) as { msg: string }).msg === 'request')).toEqual([]);
      // A reload is reported by /api/status.
      expect(await server.reload()).toBe(true);
      const after = (await (await fetch(`${server.url}/api/status`)).json()) as { config: { lastReload: { ok: boolean } } };
      expect(after.config.lastReload).toMatchObject({ ok: true });
    } finally {
      await server.stop();
    }
  });
});
