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

/**
 * What a request needs. `config` and `protections` are swapped together on reload; a request keeps the
 * ones it started with.
 */
export interface AppState {
  config: Config;
  protections: ReadonlyMap<string, LocationProtection>;
  readonly titles: TitleCache;
  readonly knownKids: KnownKids;
  readonly log: Logger;
}

export function createApp(state: AppState): Koa {
  const app = new Koa();
  app.proxy = false;
  app.use(errors(state.log));
  app.use(cors);
  app.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/license/clearkey') return serveClearKeyLicense(ctx, state);
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', ctx.path === '/license/clearkey' ? 'POST, OPTIONS' : 'GET, HEAD, OPTIONS');
      return;
    }
    await next();
  });
  app.use(async (ctx) => {
    const { config, protections } = state;
    const key = /^\/keys\/([^/]+)$/.exec(ctx.path);
    if (key) return serveRawKey(ctx, key[1]!, state);
    const vod = parseVodPath(ctx.path);
    if (vod) {
      const location = config.files.find((f) => f.name === vod.location);
      if (location) return serveVod(ctx, location, vod, { titles: state.titles, protections, knownKids: state.knownKids, log: state.log });
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

function statusText(status: number): string {
  return status === 503 ? 'service unavailable' : status >= 500 ? 'internal error' : 'error';
}

async function cors(ctx: Context, next: Next): Promise<void> {
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.set('Access-Control-Expose-Headers', 'Content-Length, Content-Type, ETag, Last-Modified');
  if (ctx.method === 'OPTIONS') {
    ctx.set('Access-Control-Allow-Methods', 'GET, HEAD, POST, OPTIONS');
    ctx.set('Access-Control-Allow-Headers', ctx.get('Access-Control-Request-Headers') || 'Authorization, Content-Type');
    ctx.set('Access-Control-Max-Age', '86400');
    ctx.status = 204;
    return;
  }
  await next();
}
