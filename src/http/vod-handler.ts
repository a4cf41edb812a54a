import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { FileLocation } from '../config/model.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import type { Track } from '../media/track.js';
import { resolveInside } from '../source/safe-path.js';
import { kidToUuid } from '../keys/kid.js';
import { dashContentProtection, hlsKeyLine, hlsSessionKeyLine, DASH_PROTECTION_NAMESPACES } from '../protect/signalling.js';
import { fmp4Segment, initSegment, tsSegment, type CencParams } from './build-segment.js';
import type { LocationProtection } from './protection.js';
import type { KnownKids } from '../keys/known-kids.js';
import type { Logger } from './logger.js';
import { buildMasterPlaylist } from '../manifest/hls/master.js';
import { buildMediaPlaylist } from '../manifest/hls/media.js';
import { buildMpd } from '../manifest/dash/mpd.js';
import { findRendition, type Presentation, type Rendition } from '../manifest/types.js';
import type { TitleCache, Title } from './title-cache.js';
import type { VodRequest } from './vod-request.js';
import { FIRST_SEGMENT_NUMBER } from '../segment/types.js';

export const CONTENT_TYPES = {
  m3u8: 'application/vnd.apple.mpegurl',
  mpd: 'application/dash+xml',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
} as const;

/** Segments and inits never change for a given source file: let players and CDNs keep them. */
const SEGMENT_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** A VOD manifest only changes when its file is replaced: cache briefly so a replacement shows soon. */
const MANIFEST_CACHE_CONTROL = 'public, max-age=60';

/** Bumped when the bytes we write for the same source change, so ETags never lie across releases. */
const OUTPUT_VERSION = '1';

/** What the VOD handler needs besides the request: shared caches and the protected locations. */
export interface VodDeps {
  readonly titles: TitleCache;
  readonly protections: ReadonlyMap<string, LocationProtection>;
  readonly knownKids: KnownKids;
  readonly log: Logger;
}

export async function serveVod(ctx: Context, location: FileLocation, req: VodRequest, deps: VodDeps): Promise<void> {
  const r = req.resource;
  const output = r.kind === 'dashMpd' || r.kind === 'dashInit' || r.kind === 'dashSegment' ? 'dash' : 'hls';
  if (!location.protocols.includes(output)) {
    throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, `${output} is not enabled on this location`);
  }
  const protection = deps.protections.get(location.name);
  const ts = (r.kind === 'hlsMaster' || r.kind === 'hlsMedia' || r.kind === 'hlsSegment') && r.variant === 'ts';
  if (protection && ts) {
    // Never clear media from a protected location: its MPEG-TS output needs AES-128/SAMPLE-AES, which
    // this build does not write; the fMP4 HLS and DASH outputs are encrypted.
    throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'a protected location serves HLS as fMP4 (index.fmp4.m3u8) and DASH only');
  }
  const realPath = await resolveInside(location.path, req.fileSegments);
  const title = await deps.titles.get(realPath);
  const packaging = title.packaging(location.segmentDuration);
  // Keys are resolved before any media is built; a key that cannot be had fails the request (503).
  const enc = protection ? await resolveKey(protection, realPath, req, output, deps) : undefined;

  // ETag: the output is a pure function of the source file identity, the request, the key identity and
  // our writer version.
  const keyTag = enc ? `-${enc.scheme}-${Buffer.from(enc.kid).toString('hex').slice(0, 12)}` : '';
  ctx.set('ETag', `"${OUTPUT_VERSION}-${title.index.size.toString(36)}-${Math.floor(title.index.mtimeMs).toString(36)}-${location.segmentDuration}${keyTag}"`);
  ctx.set('Last-Modified', new Date(title.index.mtimeMs).toUTCString());
  // koa only evaluates freshness for a 2xx status, and the default is 404 until a body is set.
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }

  switch (r.kind) {
    case 'hlsMaster': {
      const p = r.variant === 'ts' ? packaging.ts : packaging.fmp4;
      const sessionKeys = enc ? [hlsSessionKeyLine(enc.scheme, keyUri(enc.kid))] : undefined;
      return text(ctx, buildMasterPlaylist(p, r.variant, sessionKeys ? { sessionKeys } : {}), CONTENT_TYPES.m3u8);
    }
    case 'dashMpd': {
      const opts = enc
        ? {
            contentProtection: () => dashContentProtection(enc.scheme, enc.kid, `${publicOrigin(ctx)}/license/clearkey`),
            extraNamespaces: DASH_PROTECTION_NAMESPACES,
          }
        : {};
      return text(ctx, buildMpd(packaging.fmp4, opts), CONTENT_TYPES.mpd);
    }
    case 'hlsMedia': {
      const p = r.variant === 'ts' ? packaging.ts : packaging.fmp4;
      const keyLines = enc ? [hlsKeyLine(enc.scheme, keyUri(enc.kid))] : undefined;
      return text(ctx, buildMediaPlaylist(p, rendition(p, r.id), r.variant, keyLines ? { keyLines } : {}), CONTENT_TYPES.m3u8);
    }
    case 'hlsInit':
    case 'dashInit': {
      const track = rendition(packaging.fmp4, r.id).cut.track;
      ctx.set('Cache-Control', SEGMENT_CACHE_CONTROL);
      ctx.type = track.kind === 'audio' ? 'audio/mp4' : CONTENT_TYPES.mp4;
      ctx.body = Buffer.from(initFor(title, r.id, track, enc));
      return;
    }
    case 'hlsSegment':
    case 'dashSegment': {
      const p = ts ? packaging.ts : packaging.fmp4;
      const rend = rendition(p, r.id);
      const index = r.number - FIRST_SEGMENT_NUMBER;
      if (index < 0 || index >= rend.cut.count) {
        throw new PackagerError(ErrorCode.SEGMENT_OUT_OF_RANGE, `segment ${r.number} is out of range (1..${rend.cut.count})`);
      }
      const body = ts ? await tsSegment(realPath, rend.cut, index) : await fmp4Segment(realPath, rend.cut, index, r.number, enc);
      ctx.set('Cache-Control', SEGMENT_CACHE_CONTROL);
      ctx.type = ts ? CONTENT_TYPES.ts : CONTENT_TYPES.m4s;
      ctx.body = body;
      return;
    }
  }
}

/**
 * The origin players reach this server at, for absolute URLs in manifests (licence servers are not
 * resolved against the MPD by every player). From the request's Host header.
 */
function publicOrigin(ctx: Context): string {
  return `${ctx.protocol}://${ctx.host}`;
}

/** The key URI written into HLS playlists (served by the key endpoint). */
function keyUri(kid: Uint8Array): string {
  return `/keys/${kidToUuid(kid)}`;
}

async function resolveKey(protection: LocationProtection, realPath: string, req: VodRequest, output: 'dash' | 'hls', deps: VodDeps): Promise<CencParams> {
  const contentId = req.fileSegments.map((s) => decodeURIComponent(s)).join('/');
  let kid: Uint8Array;
  try {
    kid = await protection.kidOf(realPath);
  } catch (e) {
    const detail = (e as { logDetail?: Record<string, string> }).logDetail;
    deps.log.error('protected file refused: no usable KeyID', { location: protection.location, file: contentId, error: e instanceof Error ? e.message : String(e), ...detail });
    throw e;
  }
  const previous = deps.knownKids.add(kid, protection.location, realPath);
  if (previous !== undefined && previous !== protection.location) {
    // One KID in two locations with different key sources would hand out the wrong key for one of them.
    deps.log.warn('a KeyID is used by two protected locations; licences follow the last one served', { kid: kidToUuid(kid), locations: [previous, protection.location] });
  }
  const { key } = await protection.provider.getKey(kid, { contentId });
  return { scheme: protection.scheme(output), kid, key, contentId };
}

function text(ctx: Context, body: string, type: string): void {
  ctx.set('Cache-Control', MANIFEST_CACHE_CONTROL);
  ctx.type = type;
  ctx.body = body;
}

function rendition(p: Presentation, id: string): Rendition {
  const found = findRendition(p, id);
  if (!found) throw new PackagerError(ErrorCode.TRACK_NOT_FOUND, `no rendition ${id}`);
  return found;
}

const initCache = new WeakMap<Title, Map<string, Uint8Array>>();

function initFor(title: Title, id: string, track: Track, enc: CencParams | undefined): Uint8Array {
  let byId = initCache.get(title);
  if (!byId) initCache.set(title, (byId = new Map()));
  // The init depends on the key only through the cbcs constant IV; a digest keeps key bytes out of the
  // cache's strings while a re-keyed KID (config reload) still gets a fresh init.
  const cacheKey = enc ? `${id}/${enc.scheme}/${Buffer.from(enc.kid).toString('hex')}/${createHash('sha256').update(enc.key).digest('hex').slice(0, 16)}` : id;
  let init = byId.get(cacheKey);
  if (!init) byId.set(cacheKey, (init = initSegment(track, enc)));
  return init;
}
