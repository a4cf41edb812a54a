/** Response helpers shared by the VOD and live handlers. */
import type { Context } from 'koa';

export const CONTENT_TYPES = {
  m3u8: 'application/vnd.apple.mpegurl',
  mpd: 'application/dash+xml',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
} as const;

/** Segments and inits never change for a given source file: let players and CDNs keep them. */
export const SEGMENT_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/**
 * The origin players reach this server at, for absolute URLs in manifests (licence servers are not
 * resolved against the MPD by every player). From the request's Host header.
 */
export function publicOrigin(ctx: Context): string {
  return `${ctx.protocol}://${ctx.host}`;
}

/** A text body (manifest) with its type and caching. */
export function text(ctx: Context, body: string, type: string, cacheControl: string): void {
  ctx.set('Cache-Control', cacheControl);
  ctx.type = type;
  ctx.body = body;
}
