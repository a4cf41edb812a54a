import Koa from 'koa';
import type { Context, Next } from 'koa';
import { isPackagerError, ErrorCode } from '../media/errors.js';
import type { Config } from '../config/model.js';
import type { Logger } from './logger.js';
import { parseVodPath } from './vod-request.js';
import { serveVod } from './vod-handler.js';
import type { TitleCache } from './title-cache.js';
import type { LocationProtection } from './protection.js';
import type { KnownKids } from '../keys/known-kids.js';
import { serveClearKeyLicense, serveRawKey } from './license.js';
import { serveFairplayCertificate, serveLicenseProxy, type ProxiedSystem } from './license-proxy.js';
import { Refusal, REFUSAL_BODY, type AccessPolicy } from './access.js';
import type { AuthBackend } from './auth-backend.js';
import type { KeyRateLimiter } from './rate-limit.js';
import type { Operator } from './operator.js';
import type { LiveStreams } from './live-registry.js';
import { serveLive } from './live-handler.js';

/**
 * What a request needs. `config`, `protections`, `policy` and `limiter` are swapped together on reload; a
 * request keeps the ones it started with (see snapshot()).
 */
export interface AppState {
  config: Config;
  protections: ReadonlyMap<string, LocationProtection>;
  /** The access guards of `config`. */
  policy: AccessPolicy;
  /** Key and licence rate limits; undefined with `key_rate_limit off`. */
  limiter: KeyRateLimiter | undefined;
  readonly authBackend: AuthBackend;
  readonly titles: TitleCache;
  readonly knownKids: KnownKids;
  readonly log: Logger;
  /** The running live streams of `config`. */
  readonly live: LiveStreams;
}

/** The state as of now, fixed for one request even if a reload swaps the config meanwhile. */
function snapshot(state: AppState): AppState {
  return { ...state };
}

export function createApp(state: AppState, operator?: Operator): Koa {
  const app = new Koa();
  app.proxy = false;
  // The access log and the metrics see every request, refusals and errors included.
  if (operator) app.use(operator.observe);
  app.use(errors(state.log));
  app.use(cors);
  app.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/license/clearkey') return serveClearKeyLicense(ctx, snapshot(state));
    const proxied = /^\/license\/(widevine|playready|fairplay)$/.exec(ctx.path);
    if (proxied && ctx.method === 'POST') return serveLicenseProxy(ctx, proxied[1] as ProxiedSystem, snapshot(state));
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', ctx.path === '/license/clearkey' || proxied ? 'POST, OPTIONS' : 'GET, HEAD, OPTIONS');
      return;
    }
    await next();
  });
  // /player, /api/…, /metrics.
  if (operator) app.use(operator.routes);
  app.use(async (ctx) => {
    const now = snapshot(state);
    const key = /^\/keys\/([^/]+)$/.exec(ctx.path);
    if (key) return serveRawKey(ctx, key[1]!, now);
    if (ctx.path === '/license/fairplay/certificate') return serveFairplayCertificate(ctx, now);
    // The DASH UTCTiming source (urn:mpeg:dash:utc:http-iso:2014): players sync their clocks to ours.
    if (ctx.path === '/time') {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'text/plain';
      ctx.body = new Date().toISOString();
      return;
    }
    const live = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    if (live) {
      const stream = now.config.streams.find((s) => s.name === live[1]);
      if (stream) return serveLive(ctx, stream, live[2]!, now);
    }
    const vod = parseVodPath(ctx.path);
    if (vod) {
      const location = now.config.files.find((f) => f.name === vod.location);
      if (location) return serveVod(ctx, location, vod, now);
    }
    ctx.status = 404;
    ctx.type = 'text/plain';
    ctx.body = 'not found\n';
  });
  // Koa would print every error on its own; ours are logged by the error middleware.
  app.silent = true;
  return app;
}

function errors(log: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } catch (e) {
      if (e instanceof Refusal) return refuse(ctx, e, log);
      const known = isPackagerError(e);
      const status = known ? e.status : 500;
      ctx.status = status;
      ctx.type = 'text/plain';
      ctx.body = `${known && e.expose ? e.message : statusText(status)}\n`;
      // A failed request must not be cached by a CDN as if it were the resource.
      ctx.set('Cache-Control', 'no-store');
      ctx.remove('ETag');
      ctx.remove('Last-Modified');
      if (status >= 500 || (known && e.code === ErrorCode.SOURCE_INVALID)) {
        log.error('request failed', { path: ctx.path, status, error: e instanceof Error ? e.message : String(e) });
      }
    }
  };
}

/**
 * 401, 403, 429: a fixed body and the same headers whatever the reason, the KeyID or whether it exists.
 * The reason goes to the debug log only (never the token).
 */
function refuse(ctx: Context, e: Refusal, log: Logger): void {
  ctx.status = e.status;
  ctx.type = 'text/plain';
  ctx.body = REFUSAL_BODY[e.status];
  ctx.set('Cache-Control', 'no-store');
  ctx.remove('ETag');
  ctx.remove('Last-Modified');
  if (e.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="packager"');
  if (e.status === 429) ctx.set('Retry-After', String(e.retryAfter ?? 1));
  log.debug('request refused', { path: ctx.path, status: e.status, reason: e.reason });
}

function statusText(status: number): string {
  return status === 503 ? 'service unavailable' : status >= 500 ? 'internal error' : 'error';
}

async function cors(ctx: Context, next: Next): Promise<void> {
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Access-Control-Expose-Headers', 'Content-Length, Content-Type, ETag, Last-Modified, Retry-After, WWW-Authenticate');
  if (ctx.method === 'OPTIONS') {
    ctx.set('Access-Control-Allow-Methods', 'GET, HEAD, POST, OPTIONS');
    ctx.set('Access-Control-Allow-Headers', ctx.get('Access-Control-Request-Headers') || 'Authorization, Content-Type');
    ctx.set('Access-Control-Max-Age', '86400');
    ctx.status = 204;
    return;
  }
  await next();
}
