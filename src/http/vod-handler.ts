import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { FileLocation } from '../config/model.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import type { Track } from '../media/track.js';
import { resolveInside } from '../source/safe-path.js';
import { kidToUuid } from '../keys/kid.js';
import { dashMultiDrmProtection, fairplayUri, hlsMultiDrmLines, DASH_PROTECTION_NAMESPACES } from '../protect/signalling.js';
import { fmp4Segment, initSegment, tsSegment, type CencParams } from './build-segment.js';
import type { LocationProtection } from './protection.js';
import { authorizePlaylist, isOpen, TOKEN_PARAM, type AccessDeps } from './access.js';
import { encryptAes128Segment, hlsSegmentIv } from '../protect/hls-aes128.js';
import { buildMasterPlaylist } from '../manifest/hls/master.js';
import { buildMediaPlaylist, type MediaPlaylistOptions } from '../manifest/hls/media.js';
import { appendQuery } from '../manifest/paths.js';
import type { TrackCut } from '../segment/types.js';
import { buildMpd } from '../manifest/dash/mpd.js';
import { findRendition, type Presentation, type Rendition } from '../manifest/types.js';
import type { TitleCache, Title } from './title-cache.js';
import type { VodRequest } from './vod-request.js';
import { CONTENT_TYPES, SEGMENT_CACHE_CONTROL, publicOrigin, text } from './responses.js';
import { encryptionFor, playerLicenseUrls, sampleAesIv, signallingOf, tsKeyLine, tsSampleAesLines, type Encryption } from './output-protection.js';
import { FIRST_SEGMENT_NUMBER } from '../segment/types.js';


/** A VOD manifest only changes when its file is replaced: cache briefly so a replacement shows soon. */
const MANIFEST_CACHE_CONTROL = 'public, max-age=60';
/** A manifest behind an access check or carrying a token: the viewer's own, never in a shared cache. */
const PRIVATE_MANIFEST_CACHE_CONTROL = 'private, max-age=60';

/** Bumped when the bytes we write for the same source change, so ETags never lie across releases. */
const OUTPUT_VERSION = '1';

/** What the VOD handler needs besides the request: shared caches, the protected locations, access control. */
export interface VodDeps extends AccessDeps {
  readonly titles: TitleCache;
}


export async function serveVod(ctx: Context, location: FileLocation, req: VodRequest, deps: VodDeps): Promise<void> {
  const r = req.resource;
  const output = r.kind === 'dashMpd' || r.kind === 'dashInit' || r.kind === 'dashSegment' ? 'dash' : 'hls';
  if (!location.protocols.includes(output)) {
    throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, `${output} is not enabled on this location`);
  }
  const protection = deps.protections.get(location.name);
  const ts = (r.kind === 'hlsMaster' || r.kind === 'hlsMedia' || r.kind === 'hlsSegment') && r.variant === 'ts';
  const playlist = r.kind === 'hlsMaster' || r.kind === 'hlsMedia' || r.kind === 'dashMpd';
  let resolving: Promise<string> | undefined;
  const realPathOf = (): Promise<string> => (resolving ??= resolveInside(location.path, req.fileSegments));
  // Access checks come before the file is looked at, so a refused request learns nothing about it.
  const token = playlist
    ? await authorizePlaylist(ctx, deps, location, `${location.name}/${contentIdOf(req)}`, output, async () =>
        protection ? protection.kidOf(await realPathOf()) : undefined,
      )
    : undefined;
  const realPath = await realPathOf();
  const title = await deps.titles.get(realPath);
  const packaging = title.packaging(location.segmentDuration);
  // Keys are resolved before any media is built; a key that cannot be had fails the request (503).
  const enc = protection ? await resolveKey(protection, realPath, req, ts ? 'ts' : output, deps) : undefined;
  if (enc?.tsMethod === 'sample-aes') assertSampleAesCodecs(packaging.ts);

  // ETag: the output is a pure function of the source file identity, the request, the key identity, the
  // token written into a playlist, and our writer version.
  const keyTag = enc ? `-${enc.tag}-${Buffer.from(enc.kid).toString('hex').slice(0, 12)}` : '';
  const tokenTag = token === undefined ? '' : `-t${createHash('sha256').update(token).digest('base64url').slice(0, 12)}`;
  ctx.set('ETag', `"${OUTPUT_VERSION}-${title.index.size.toString(36)}-${Math.floor(title.index.mtimeMs).toString(36)}-${location.segmentDuration}${keyTag}${tokenTag}"`);
  ctx.set('Last-Modified', new Date(title.index.mtimeMs).toUTCString());
  // koa only evaluates freshness for a 2xx status, and the default is 404 until a body is set.
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  // A playlist carrying a viewer's token, or one an access check let through, is that viewer's only.
  const personal = token !== undefined || !isOpen(deps.policy.guardOf(location));
  const cacheControl = personal ? PRIVATE_MANIFEST_CACHE_CONTROL : MANIFEST_CACHE_CONTROL;
  // The token may come in a header: a cached playlist must not be reused for another one.
  if (playlist && personal) ctx.vary('Authorization');
  const query = token === undefined ? undefined : `${TOKEN_PARAM}=${encodeURIComponent(token)}`;
  const keyUri = (kid: Uint8Array): string => appendQuery(`/keys/${kidToUuid(kid)}`, query);
  const hlsLines = (e: Encryption, tag: '#EXT-X-KEY' | '#EXT-X-SESSION-KEY'): string[] =>
    hlsMultiDrmLines(signallingOf(e), tag, { identityUri: keyUri(e.kid), fairplayUri: fairplayUri(e.kid) });

  switch (r.kind) {
    case 'hlsMaster': {
      const p = r.variant === 'ts' ? packaging.ts : packaging.fmp4;
      // The TS output's keys change IV per segment: its key tags are in the media playlists only.
      const sessionKeys = enc && !enc.tsMethod ? hlsLines(enc, '#EXT-X-SESSION-KEY') : undefined;
      return text(ctx, buildMasterPlaylist(p, r.variant, { ...(sessionKeys ? { sessionKeys } : {}), ...(query ? { query } : {}) }), CONTENT_TYPES.m3u8, cacheControl);
    }
    case 'dashMpd': {
      const opts = enc
        ? {
            contentProtection: () => dashMultiDrmProtection(signallingOf(enc), playerLicenseUrls(publicOrigin(ctx), enc.kid, query)),
            extraNamespaces: DASH_PROTECTION_NAMESPACES,
          }
        : {};
      return text(ctx, buildMpd(packaging.fmp4, { ...opts, ...(query ? { query } : {}) }), CONTENT_TYPES.mpd, cacheControl);
    }
    case 'hlsMedia': {
      const p = r.variant === 'ts' ? packaging.ts : packaging.fmp4;
      const opts: MediaPlaylistOptions = {
        ...(query ? { query } : {}),
        ...(enc?.tsMethod === 'aes-128'
          ? { segmentKeyLine: (n: number) => tsKeyLine('aes-128', keyUri(enc.kid), hlsSegmentIv(n)) }
          : enc?.tsMethod === 'sample-aes'
            ? { keyLines: tsSampleAesLines(enc, keyUri(enc.kid)) }
            : enc
              ? { keyLines: hlsLines(enc, '#EXT-X-KEY') }
              : {}),
      };
      return text(ctx, buildMediaPlaylist(p, rendition(p, r.id), r.variant, opts), CONTENT_TYPES.m3u8, cacheControl);
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
      ctx.set('Cache-Control', SEGMENT_CACHE_CONTROL);
      ctx.type = ts ? CONTENT_TYPES.ts : CONTENT_TYPES.m4s;
      ctx.body = ts ? await protectedTsSegment(realPath, rend.cut, index, r.number, enc) : await fmp4Segment(realPath, rend.cut, index, r.number, enc, title.subsampleMaps);
      return;
    }
  }
}

/**
 * An MPEG-TS segment of a title: clear, or encrypted with the IV its playlist writes: AES-128 over the
 * whole segment with the segment number as IV, or SAMPLE-AES inside the PES payloads with the title's IV.
 */
async function protectedTsSegment(path: string, cut: TrackCut, index: number, segmentNumber: number, enc: Encryption | undefined): Promise<Buffer> {
  if (!enc?.tsMethod) return tsSegment(path, cut, index);
  if (enc.tsMethod === 'sample-aes') return tsSegment(path, cut, index, { key: enc.key, iv: sampleAesIv(enc.key, enc.contentId) });
  return encryptAes128Segment(await tsSegment(path, cut, index), enc.key, hlsSegmentIv(segmentNumber));
}



/** SAMPLE-AES in MPEG-TS is defined for H.264 and AAC: refuse the whole TS output of anything else up front. */
function assertSampleAesCodecs(p: Presentation): void {
  for (const v of p.video) {
    if (!v.cut.track.codecString.startsWith('avc')) {
      throw new PackagerError(ErrorCode.UNSUPPORTED_CODEC, 'SAMPLE-AES in MPEG-TS is defined for H.264 and AAC only; this title is served as fMP4 (index.fmp4.m3u8)');
    }
  }
}

/** The title's path below its location, decoded: its content id (IVs) and, after `location/`, its name in tokens. */
function contentIdOf(req: VodRequest): string {
  return req.fileSegments.map((s) => safeDecode(s)).join('/');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}


async function resolveKey(protection: LocationProtection, realPath: string, req: VodRequest, output: 'dash' | 'hls' | 'ts', deps: VodDeps): Promise<Encryption> {
  const contentId = contentIdOf(req);
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
  return encryptionFor(protection, kid, contentId, output, deps, { file: contentId }, realPath);
}






function rendition(p: Presentation, id: string): Rendition {
  const found = findRendition(p, id);
  if (!found) throw new PackagerError(ErrorCode.TRACK_NOT_FOUND, `no rendition ${id}`);
  return found;
}

const initCache = new WeakMap<Title, Map<string, Uint8Array>>();

/** Key and pssh boxes, digested: what else an init depends on. */
function initDigest(enc: CencParams): string {
  const h = createHash('sha256').update(enc.key);
  for (const p of enc.pssh ?? []) h.update(p.systemId).update(p.data).update(String(p.kids?.length ?? -1));
  return h.digest('hex').slice(0, 16);
}

function initFor(title: Title, id: string, track: Track, enc: CencParams | undefined): Uint8Array {
  let byId = initCache.get(title);
  if (!byId) initCache.set(title, (byId = new Map()));
  // The init depends on the key only through the cbcs constant IV; a digest keeps key bytes out of the
  // cache's strings while a re-keyed KID (config reload) still gets a fresh init.
  const cacheKey = enc ? `${id}/${enc.scheme}/${Buffer.from(enc.kid).toString('hex')}/${initDigest(enc)}` : id;
  let init = byId.get(cacheKey);
  if (!init) byId.set(cacheKey, (init = initSegment(track, enc)));
  return init;
}
