/**
 * The operator surface: one access-log line per request, Prometheus metrics (/metrics), the JSON status
 * API (/api/…), the built-in player page (/player) and its development-only token route.
 *
 * Access to /api, /metrics, the player's listing (it is /api) and /player/token: with `admin_token` set,
 * `Authorization: Bearer <admin_token>` from anywhere; without it, clients on the loopback interface
 * only. The player page itself and the player libraries are static and public.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { FileLocation } from '../config/model.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { resolveInside } from '../source/safe-path.js';
import type { AppState } from './app.js';
import { isOpen, Refusal } from './access.js';
import { signToken } from './token.js';
import { parseVodPath } from './vod-request.js';
import { parseLivePath } from '../manifest/live-paths.js';
import type { LocationProtection } from './protection.js';
import { requestFacts, type RequestFacts } from './request-context.js';
import { Counter, Gauge, Histogram, Registry, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
import { PLAYER_HTML } from './player-page.js';
import type { LiveStreamStatus } from '../source/live/live-stream.js';

const require = createRequire(import.meta.url);
const VERSION = (JSON.parse(readFileSync(require.resolve('../../package.json'), 'utf8')) as { version: string }).version;

/** Player libraries, from npm (dependencies), served by the server itself: no CDN. */
const PLAYER_ASSETS: Record<string, string> = {
  '/player/shaka-player.compiled.js': 'shaka-player/dist/shaka-player.compiled.js',
  '/player/hls.min.js': 'hls.js/dist/hls.min.js',
};

/** Lifetime of a token minted by /player/token. */
const DEV_TOKEN_TTL_S = 3600;

export type RouteType = 'player' | 'api' | 'metrics' | 'key' | 'license' | 'manifest' | 'init' | 'segment' | 'other';

export function routeTypeOf(path: string): RouteType {
  if (path === '/player' || path.startsWith('/player/')) return 'player';
  if (path === '/api' || path.startsWith('/api/')) return 'api';
  if (path === '/metrics') return 'metrics';
  if (path.startsWith('/keys/')) return 'key';
  if (path === '/license/clearkey') return 'license';
  let vod;
  try {
    vod = parseVodPath(path);
  } catch {
    return 'other';
  }
  const live = vod ? undefined : /^\/[^/]+\/(.+)$/.exec(path);
  const k = vod ? vod.resource.kind : live ? parseLivePath(live[1]!)?.kind : undefined;
  if (k === undefined) return 'other';
  if (k === 'hlsMaster' || k === 'hlsMedia' || k === 'dashMpd' || k.startsWith('timeshift')) return 'manifest';
  if (k === 'hlsInit' || k === 'dashInit') return 'init';
  return 'segment';
}

/** The output and encryption of a segment URL, for the build-time histogram. */
function segmentLabels(path: string, state: AppState): { output: string; encryption: string } | undefined {
  let vod;
  try {
    vod = parseVodPath(path);
  } catch {
    return undefined;
  }
  if (!vod || (vod.resource.kind !== 'hlsSegment' && vod.resource.kind !== 'dashSegment')) return undefined;
  const r = vod.resource;
  const ts = r.kind === 'hlsSegment' && r.variant === 'ts';
  const output = r.kind === 'dashSegment' ? 'dash' : ts ? 'hls_ts' : 'hls_fmp4';
  const p = state.protections.get(vod.location);
  const encryption = !p ? 'clear' : ts ? p.tsMethod() : p.scheme(output === 'dash' ? 'dash' : 'hls');
  return { output, encryption };
}

/** Query parameters that may carry credentials, redacted wherever a URL is logged. */
const SECRET_QUERY = /([?&](?:token|access_token|key|secret)=)[^&#\s"]*/gi;

/** A path for the log: never the query string (tokens ride there). */
export function loggablePath(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

interface ReloadResult {
  ok: boolean;
  at: string;
  error?: string;
}

interface KeyStatsLike {
  kind: string;
  size: number;
  hits: number;
  misses: number;
  failures: number;
  lastSuccessAt?: number;
  lastFailureAt?: number;
}

function keyStats(p: LocationProtection): KeyStatsLike | undefined {
  const provider = p.provider as unknown as { stats?: () => KeyStatsLike };
  return typeof provider.stats === 'function' ? provider.stats() : undefined;
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Operator {
  readonly startedAt = Date.now();
  lastReload: ReloadResult | undefined;
  /** Set when shutdown begins: responses ask their connection to close. */
  closing = false;
  readonly registry = new Registry();
  readonly requests: Counter;
  readonly bytesOut: Counter;
  readonly duration: Histogram;
  readonly segmentBuild: Histogram;
  readonly keyFetch: Histogram;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private readonly instrumented = new WeakSet<object>();

  constructor(private readonly state: AppState) {
    this.loopDelay.enable();
    const r = this.registry;
    this.requests = r.add(new Counter('packager_http_requests_total', 'HTTP requests by route type and status.'));
    this.bytesOut = r.add(new Counter('packager_http_response_bytes_total', 'Response body bytes sent, by route type.'));
    this.duration = r.add(new Histogram('packager_http_request_duration_seconds', 'Time to the last byte of a response, by route type.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]));
    this.segmentBuild = r.add(
      new Histogram('packager_segment_build_seconds', 'Time to build a media segment, by output (dash, hls_fmp4, hls_ts) and encryption (clear or the scheme).', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]),
    );
    this.keyFetch = r.add(new Histogram('packager_key_fetch_seconds', 'Content key fetches from a key source (cache misses), by provider and location.', [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]));
    const keys = (pick: (s: KeyStatsLike) => number) => () =>
      [...this.state.protections.values()].flatMap((p) => {
        const s = keyStats(p);
        return s ? [{ labels: { location: p.location, provider: s.kind }, value: pick(s) }] : [];
      });
    r.add(new Gauge('packager_key_fetch_errors_total', 'Failed content key fetches, by provider and location.', keys((s) => s.failures), true));
    r.add(new Gauge('packager_key_cache_hits_total', 'Content keys answered from the key cache.', keys((s) => s.hits), true));
    r.add(new Gauge('packager_key_cache_misses_total', 'Content keys fetched from their source.', keys((s) => s.misses), true));
    r.add(new Gauge('packager_key_cache_entries', 'Content keys held in memory.', keys((s) => s.size)));
    const titles = this.state.titles;
    r.add(new Gauge('packager_index_cache_hits_total', 'MP4 index (title) cache hits.', () => [{ value: titles.hits }], true));
    r.add(new Gauge('packager_index_cache_misses_total', 'MP4 index (title) cache misses (parses).', () => [{ value: titles.misses }], true));
    r.add(new Gauge('packager_index_cache_entries', 'MP4 indexes held in memory.', () => [{ value: titles.size }]));
    r.add(new Gauge('packager_index_cache_bytes', 'Approximate bytes of the MP4 indexes held in memory.', () => [{ value: titles.calculatedBytes }]));
    const live = (pick: (st: LiveStreamStatus) => number) => () =>
      this.state.live.all().map((l) => {
        const st = l.status();
        return { labels: { stream: st.name, input: st.input.url }, value: pick(st) };
      });
    r.add(new Gauge('packager_udp_datagrams_total', 'UDP datagrams received, by stream and input.', live((st) => st.input.datagrams), true));
    r.add(new Gauge('packager_udp_bytes_total', 'UDP bytes received, by stream and input.', live((st) => st.input.bytes), true));
    r.add(new Gauge('packager_udp_garbage_datagrams_total', 'UDP datagrams dropped as not MPEG-TS, by stream and input.', live((st) => st.input.garbageDatagrams), true));
    r.add(new Gauge('packager_udp_cc_errors_total', 'MPEG-TS continuity counter errors, by stream and input.', live((st) => st.demux['ccErrors'] ?? 0), true));
    r.add(new Gauge('packager_live_input_bitrate_bits', 'Input bitrate over the last seconds, by stream and input.', live((st) => st.input.bitrate)));
    r.add(new Gauge('packager_live_input_up', '1 while the input receives, 0 when waiting, stalled or failed.', live((st) => (st.input.state === 'receiving' ? 1 : 0))));
    r.add(new Gauge('packager_live_segments_total', 'Live segments completed, by stream.', live((st) => st.segmenter['segments'] ?? 0), true));
    r.add(new Gauge('packager_live_discontinuities_total', 'Live timeline breaks (loss, restarts), by stream.', live((st) => st.segmenter['discontinuities'] ?? 0), true));
    r.add(new Gauge('packager_live_window_seconds', 'Seconds of media listed (memory or DVR), by stream.', live((st) => st.window.seconds)));
    r.add(new Gauge('packager_dvr_write_errors_total', 'DVR segment writes that failed, by stream.', live((st) => st.dvr?.writeErrors ?? 0), true));
    r.add(
      new Gauge('packager_event_loop_lag_seconds', 'Event loop delay since the previous scrape (quantile 0.5, 0.99, and max).', () => {
        const h = this.loopDelay;
        const out = [
          { labels: { quantile: '0.5' }, value: h.count ? h.percentile(50) / 1e9 : 0 },
          { labels: { quantile: '0.99' }, value: h.count ? h.percentile(99) / 1e9 : 0 },
          { labels: { quantile: 'max' }, value: h.count ? h.max / 1e9 : 0 },
        ];
        h.reset();
        return out;
      }),
    );
    r.add(new Gauge('packager_uptime_seconds', 'Seconds since this process started serving.', () => [{ value: (Date.now() - this.startedAt) / 1000 }]));
    r.add(new Gauge('packager_resident_memory_bytes', 'Resident set size of this process.', () => [{ value: process.memoryUsage.rss() }]));
  }

  /** Times key fetches of the protections of a (re)loaded config. */
  instrument(protections: ReadonlyMap<string, LocationProtection>): void {
    for (const p of protections.values()) {
      const provider = p.provider;
      if (this.instrumented.has(provider)) continue;
      this.instrumented.add(provider);
      const getKey = provider.getKey.bind(provider);
      provider.getKey = async (kid, ctx) => {
        // One snapshot: stats() builds an object, and this runs on every segment request of a protected title.
        const s0 = keyStats(p);
        const before = s0?.misses ?? 0;
        const failedBefore = s0?.failures ?? 0;
        const t0 = performance.now();
        try {
          return await getKey(kid, ctx);
        } catch (e) {
          // A key-source event: the message names the KID and the provider kind only (cache.ts).
          if ((keyStats(p)?.failures ?? 0) > failedBefore) this.state.log.warn('key source failure', { location: p.location, provider: p.provider.kind, error: e instanceof Error ? e.message : String(e) });
          throw e;
        } finally {
          // Only calls that went to the key source (a miss) are fetches; cache hits are not timed.
          const s = keyStats(p);
          if (s && s.misses > before) this.keyFetch.observe({ provider: s.kind, location: p.location }, (performance.now() - t0) / 1000);
        }
      };
    }
  }

  reloaded(ok: boolean, error?: string): void {
    this.lastReload = { ok, at: new Date().toISOString(), ...(error === undefined ? {} : { error }) };
  }

  stop(): void {
    this.loopDelay.disable();
  }

  /** Outermost middleware: the access-log line and the request metrics, after the response is sent. */
  readonly observe = async (ctx: Context, next: Next): Promise<void> => {
    const t0 = performance.now();
    const facts: RequestFacts = {};
    if (cluster.isWorker) ctx.set('X-Packager-Worker', String(process.pid));
    if (this.closing) ctx.set('Connection', 'close');
    const route = routeTypeOf(ctx.path);
    let built = 0;
    try {
      await requestFacts.run(facts, next);
    } finally {
      built = performance.now() - t0;
    }
    const labels = route === 'segment' && ctx.status === 200 ? segmentLabels(ctx.path, this.state) : undefined;
    const finish = (): void => {
      const ms = performance.now() - t0;
      const bytes = ctx.method === 'HEAD' || ctx.status === 304 || ctx.status === 204 ? 0 : (ctx.response.length ?? 0);
      const status = String(ctx.status);
      this.requests.inc({ route, status });
      this.bytesOut.inc({ route }, bytes);
      this.duration.observe({ route }, ms / 1000);
      if (labels) this.segmentBuild.observe(labels, built / 1000);
      if (this.state.config.accessLog !== false) {
        this.state.log.info('request', {
          method: ctx.method,
          path: loggablePath(ctx.originalUrl),
          route,
          status: ctx.status,
          bytes,
          ms: Math.round(ms * 10) / 10,
          ...(facts.titleCache ? { cache: facts.titleCache } : {}),
        });
      }
    };
    if (ctx.res.writableFinished) finish();
    else ctx.res.once('close', finish);
  };

  /** /player, /api/…, /metrics. Anything else goes on. */
  readonly routes = async (ctx: Context, next: Next): Promise<void> => {
    const path = ctx.path;
    if (path === '/player' || path === '/player/') return this.page(ctx);
    const asset = PLAYER_ASSETS[path];
    if (asset) return this.asset(ctx, asset);
    if (path === '/player/token') return this.devToken(ctx);
    if (path === '/metrics') {
      this.admin(ctx);
      ctx.set('Cache-Control', 'no-store');
      ctx.type = PROMETHEUS_CONTENT_TYPE;
      ctx.body = this.registry.render();
      return;
    }
    if (path === '/api' || path.startsWith('/api/')) {
      this.admin(ctx);
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(await this.api(ctx, path), null, 2);
      return;
    }
    await next();
  };

  /** Throws a Refusal unless the request may see the operator data (see the top of this file). */
  private admin(ctx: Context): void {
    const token = this.state.config.adminToken;
    if (token !== undefined) {
      const bearer = /^Bearer[ \t]+(\S+)\s*$/i.exec(ctx.get('Authorization'));
      if (!bearer) throw new Refusal(401, 'admin: no bearer token');
      if (!sameSecret(bearer[1]!, token)) throw new Refusal(403, 'admin: wrong token');
      return;
    }
    if (!isLoopback(ctx.req.socket.remoteAddress)) throw new Refusal(403, 'admin: not loopback and no admin_token configured');
  }

  private page(ctx: Context): void {
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = PLAYER_HTML;
  }

  private asset(ctx: Context, module: string): void {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.body = readFileSync(require.resolve(module));
  }

  /** GET /player/token?content=LOCATION/path/file.mp4: a short-lived token, when `dev_tokens on`. */
  private devToken(ctx: Context): void {
    const config = this.state.config;
    if (config.devTokens !== true) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'not found');
    this.admin(ctx);
    const content = typeof ctx.query['content'] === 'string' ? ctx.query['content'] : '';
    const name = content.split('/')[0] ?? '';
    const file = config.files.find((f) => f.name === name);
    // A live stream's token names the stream alone (it opens every key of the stream).
    const stream = content === name ? config.streams.find((st) => st.name === name) : undefined;
    const loc = file && content.length > name.length + 1 ? file : stream;
    if (!loc) throw new PackagerError(ErrorCode.BAD_REQUEST, 'content=LOCATION/path/file.mp4 or content=STREAM expected', { expose: true });
    const secret = this.state.policy.signingSecret(loc);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/json';
    if (secret === undefined) {
      ctx.body = JSON.stringify({ token: null, reason: 'this location needs no token' });
      return;
    }
    const exp = Math.floor(Date.now() / 1000) + DEV_TOKEN_TTL_S;
    this.state.log.info('development token issued', { location: loc.name, content });
    ctx.body = JSON.stringify({ token: signToken({ sub: content, exp }, secret), exp });
  }

  private async api(ctx: Context, path: string): Promise<unknown> {
    const s = this.state;
    if (path === '/api' || path === '/api/' || path === '/api/status') {
      return {
        version: VERSION,
        pid: process.pid,
        worker: cluster.isWorker ? (cluster.worker?.id ?? null) : null,
        startedAt: new Date(this.startedAt).toISOString(),
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 100) / 10,
        config: { file: s.config.file, lastReload: this.lastReload ?? null },
        locations: s.config.files.map((f) => this.describe(f)),
        streams: s.config.streams.map((st) => {
          const guard = s.policy.guardOf(st);
          return {
            name: st.name,
            input: st.inputs[0],
            state: s.live.get(st.name)?.status().input.state ?? 'stopped',
            protocols: st.protocols,
            drm: st.drm ? { kind: st.drm.kind, schemes: st.drm.schemes } : null,
            guarded: !isOpen(guard),
            tokens: guard.secrets.length > 0,
          };
        }),
      };
    }
    if (path === '/api/streams') return { streams: s.config.streams.map((st) => this.streamStatus(st.name)) };
    const stream = /^\/api\/streams\/([^/]+)$/.exec(path);
    if (stream) {
      const name = decodeURIComponent(stream[1]!);
      if (!s.config.streams.some((st) => st.name === name)) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'no such stream', { expose: true });
      return this.streamStatus(name);
    }
    if (path === '/api/caches') {
      const t = s.titles;
      return {
        indexes: { entries: t.size, bytes: t.calculatedBytes, hits: t.hits, misses: t.misses, hitRate: rate(t.hits, t.misses) },
        keys: [...s.protections.values()].flatMap((p) => {
          const k = keyStats(p);
          return k ? [{ location: p.location, provider: k.kind, entries: k.size, hits: k.hits, misses: k.misses, hitRate: rate(k.hits, k.misses) }] : [];
        }),
      };
    }
    if (path === '/api/keys') {
      return {
        providers: [...s.protections.values()].map((p) => {
          const k = keyStats(p);
          const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());
          return {
            location: p.location,
            provider: k?.kind ?? p.drm.kind,
            lastSuccessAt: iso(k?.lastSuccessAt),
            lastFailureAt: iso(k?.lastFailureAt),
            failures: k?.failures ?? 0,
            healthy: k?.lastFailureAt === undefined || (k.lastSuccessAt ?? 0) > k.lastFailureAt,
          };
        }),
      };
    }
    const files = /^\/api\/locations\/([^/]+)\/files$/.exec(path);
    if (files) {
      const loc = s.config.files.find((f) => f.name === decodeURIComponent(files[1]!));
      if (!loc) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'no such location', { expose: true });
      const dir = typeof ctx.query['dir'] === 'string' ? ctx.query['dir'] : '';
      return listFolder(loc, dir);
    }
    throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'no such API route');
  }

  /** A live stream's input state, demux and segmenter counters and window (never a key). */
  private streamStatus(name: string): Record<string, unknown> {
    const cfg = this.state.config.streams.find((st) => st.name === name)!;
    const live = this.state.live.get(name);
    const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());
    if (!live) return { name, input: { url: cfg.inputs[0], state: 'stopped' } };
    const st = live.status();
    const segments = live.segments();
    return {
      name,
      protocols: cfg.protocols,
      segmentDuration: cfg.segmentDuration,
      drm: cfg.drm ? { kind: cfg.drm.kind, schemes: cfg.drm.schemes, rotation: this.state.protections.get(name)?.rotation ?? null } : null,
      input: { ...st.input, lastPacketAt: iso(st.input.lastPacketAt) },
      demux: st.demux,
      segmenter: st.segmenter,
      window: { ...st.window, lastSegmentAt: iso(st.window.lastSegmentAt), newest: segments.slice(-3).map((x) => ({ number: x.number, duration: x.duration / 90000, discontinuity: x.discontinuity, at: iso(x.wallClock) })) },
      dvr: st.dvr ?? null,
    };
  }

  private describe(f: FileLocation): Record<string, unknown> {
    const guard = this.state.policy.guardOf(f);
    return {
      name: f.name,
      path: f.path,
      protocols: f.protocols,
      segmentDuration: f.segmentDuration,
      drm: f.drm ? { kind: f.drm.kind, schemes: f.drm.schemes } : null,
      guarded: !isOpen(guard),
      tokens: guard.secrets.length > 0,
      authBackend: guard.auth !== undefined,
    };
  }
}

function rate(hits: number, misses: number): number | null {
  return hits + misses === 0 ? null : Math.round((hits / (hits + misses)) * 1000) / 1000;
}

/** The .mp4 files and subfolders of a folder below a location: never outside it (safe-path rules). */
async function listFolder(loc: FileLocation, dir: string): Promise<unknown> {
  const parts = dir.split('/').filter((p) => p !== '');
  const root = await realpath(loc.path).catch(() => {
    throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'the location folder does not exist', { expose: true });
  });
  // resolveInside takes URL-encoded segments and refuses '..', separators, NUL and symlinks leaving root.
  const real = parts.length === 0 ? root : await resolveInside(root, parts.map((p) => encodeURIComponent(p)));
  if (!(await stat(real)).isDirectory()) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'not a folder', { expose: true });
  const entries = await readdir(real, { withFileTypes: true });
  const folders: string[] = [];
  const mp4: Array<{ name: string; path: string; size: number }> = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue;
    const full = join(real, e.name);
    const st = await stat(full).catch(() => undefined);
    if (!st) continue;
    // A symlink leaving the location is not listed (and would not be served).
    const target = await realpath(full).catch(() => '');
    if (!target.startsWith(root + sep)) continue;
    if (st.isDirectory()) folders.push(e.name);
    else if (st.isFile() && /\.mp4$/i.test(e.name)) mp4.push({ name: e.name, path: [...parts, e.name].join('/'), size: st.size });
  }
  return { location: loc.name, dir: parts.join('/'), folders, files: mp4 };
}
