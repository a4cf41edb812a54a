/**
 * Live streams over HTTP: `/{stream}/index.m3u8`, `index.fmp4.m3u8`, `index.mpd`, their media
 * playlists, inits and segments, and the archive as timeshift (`index-FROM-DURATION.*`, `?from=`).
 * Segments are built per request from the stream's clear segments (memory or DVR), with the same
 * writers and ciphers as VOD; protected streams use the resource_id as KeyID, or a KeyID per key period
 * under rotation.
 */
import type { Context } from 'koa';
import type { StreamConfig } from '../config/model.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import type { Track } from '../media/track.js';
import type { LiveStream } from '../source/live/live-stream.js';
import { LIVE_TIMESCALE, type LiveSegment, type LiveSegmentInfo } from '../source/live/types.js';
import { kidToUuid } from '../keys/kid.js';
import { keyPeriodOf, periodKid } from '../keys/rotation.js';
import { fairplayUri, hlsMultiDrmLines, dashMultiDrmProtection, DASH_PROTECTION_NAMESPACES } from '../protect/signalling.js';
import { encryptAes128Segment, hlsSegmentIv } from '../protect/hls-aes128.js';
import { appendQuery } from '../manifest/paths.js';
import { liveRenditionBandwidth, liveRenditionId, parseLivePath, type LivePath, type LiveRendition, type Timeshift } from '../manifest/live-paths.js';
import { buildLiveMasterPlaylist, buildLiveMediaPlaylist } from '../manifest/hls/live.js';
import { buildLiveMpd, canAnchorLivePeriod, findLivePeriodAnchor } from '../manifest/dash/live-mpd.js';
import { fmp4Fragment, initSegment, memorySamples, tsChunk } from './build-segment.js';
import { authorizePlaylist, isOpen, TOKEN_PARAM, type AccessDeps } from './access.js';
import type { LocationProtection } from './protection.js';
import { CONTENT_TYPES, SEGMENT_CACHE_CONTROL, publicOrigin, text } from './responses.js';
import {
  encryptionFor,
  playerLicenseUrls,
  sampleAesIv,
  signallingOf,
  tsKeyLine,
  tsSampleAesLines,
  type Encryption,
} from './output-protection.js';
import type { LiveStreams } from './live-registry.js';

/** What a live playlist lists: about a minute (players start 3 target durations from the end). */
export const LIVE_PLAYLIST_SECONDS = 60;
/** MPEG-TS adds ~5-10 % to the payload: advertised TS bandwidths include it. */
const TS_OVERHEAD = 1.1;

export interface LiveDeps extends AccessDeps {
  readonly live: LiveStreams;
}

type Output = 'hls' | 'dash';

export async function serveLive(ctx: Context, cfg: StreamConfig, rest: string, deps: LiveDeps): Promise<void> {
  const r = parseLivePath(rest);
  if (!r) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'not found');
  const output: Output = r.kind === 'dashMpd' || r.kind === 'dashInit' || r.kind === 'dashSegment' || r.kind === 'timeshiftDashMpd' ? 'dash' : 'hls';
  if (!cfg.protocols.includes(output)) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, `${output} is not enabled on this stream`);
  const stream = deps.live.get(cfg.name);
  if (!stream) throw new PackagerError(ErrorCode.KEY_UNAVAILABLE, 'live stream not running', { status: 503 });
  const protection = deps.protections.get(cfg.name);
  const playlist = r.kind === 'hlsMaster' || r.kind === 'hlsMedia' || r.kind === 'dashMpd' || r.kind.startsWith('timeshift');
  const token = playlist
    ? await authorizePlaylist(ctx, deps, cfg, cfg.name, output, async () => protection?.fixedKid)
    : undefined;
  const query = token === undefined ? undefined : `${TOKEN_PARAM}=${encodeURIComponent(token)}`;
  const keys = protection ? new StreamKeys(cfg.name, protection, deps) : undefined;

  if (r.kind === 'hlsInit' || r.kind === 'dashInit') return serveInit(ctx, stream, r, keys, output);
  if (r.kind === 'hlsSegment' || r.kind === 'dashSegment') return serveSegment(ctx, stream, r, keys, output);

  const personal = token !== undefined || !isOpen(deps.policy.guardOf(cfg));
  if (personal) ctx.vary('Authorization');
  const timeshift = 'from' in r ? { from: r.from, duration: r.duration } : undefined;
  const fromParam = typeof ctx.query['from'] === 'string' ? Number(ctx.query['from']) : undefined;
  const window = selectWindow(stream.segments(), timeshift, fromParam);
  const finished = timeshift !== undefined;
  const cacheControl = `${personal ? 'private' : 'public'}, max-age=${finished ? 60 : Math.max(1, Math.floor(stream.segmentDuration / 2))}`;
  const renditions = await renditionsOf(stream, window, r.kind === 'hlsMaster' && r.variant === 'ts' ? TS_OVERHEAD : 1);
  const fromQuery = fromParam !== undefined && !timeshift ? `from=${fromParam}` : undefined;
  const uriQuery = [query, fromQuery].filter((q) => q !== undefined).join('&') || undefined;

  switch (r.kind) {
    case 'hlsMaster':
    case 'timeshiftHlsMaster': {
      return text(ctx, buildLiveMasterPlaylist({ variant: r.variant, renditions, ...(timeshift ? { timeshift } : {}), ...(uriQuery ? { query: uriQuery } : {}) }), CONTENT_TYPES.m3u8, cacheControl);
    }
    case 'hlsMedia':
    case 'timeshiftHlsMedia': {
      const rendition = renditions.find((x) => x.id === r.id);
      if (!rendition) throw new PackagerError(ErrorCode.TRACK_NOT_FOUND, `no rendition ${r.id}`);
      const periodOf = periodFn(keys);
      const ts = r.variant === 'ts';
      const encs = keys ? await keys.forWindow(window, ts ? 'ts' : 'hls') : undefined;
      const keyUri = (kid: Uint8Array): string => appendQuery(`/keys/${kidToUuid(kid)}`, query);
      const encOf = (periodId: string): Encryption => encs!.get(periodId)!;
      const body = buildLiveMediaPlaylist({
        variant: r.variant,
        id: r.id,
        trackId: rendition.track.id,
        segments: window,
        periodOf,
        discontinuitySequence: stream.discontinuitiesUpTo(window[0]!.number),
        targetDuration: stream.segmentDuration,
        ended: finished,
        ...(fromParam !== undefined && !finished ? { playlistType: 'EVENT' as const } : {}),
        ...(uriQuery ? { query: uriQuery } : {}),
        ...(encs && ts && encs.values().next().value?.tsMethod === 'aes-128'
          ? { segmentKeyLine: (n: number, p: string) => tsKeyLine('aes-128', keyUri(encOf(p).kid), hlsSegmentIv(n)) }
          : encs && ts
            ? { keyLinesFor: (p: string) => tsSampleAesLines(encOf(p), keyUri(encOf(p).kid)) }
            : encs
              ? { keyLinesFor: (p: string) => hlsMultiDrmLines(signallingOf(encOf(p)), '#EXT-X-KEY', { identityUri: keyUri(encOf(p).kid), fairplayUri: fairplayUri(encOf(p).kid) }) }
              : {}),
      });
      return text(ctx, body, CONTENT_TYPES.m3u8, cacheControl);
    }
    case 'dashMpd':
    case 'timeshiftDashMpd': {
      const encs = keys ? await keys.forWindow(window, 'dash') : undefined;
      const origin = publicOrigin(ctx);
      const periodOf = periodFn(keys);
      const common = {
        renditions,
        segments: window,
        periodOf,
        minBufferTime: stream.segmentDuration,
        ...(uriQuery ? { query: uriQuery } : {}),
        ...(encs
          ? {
              contentProtection: (p: string) => dashMultiDrmProtection(signallingOf(encs.get(p)!), playerLicenseUrls(origin, encs.get(p)!.kid, query)),
              extraNamespaces: DASH_PROTECTION_NAMESPACES,
            }
          : {}),
      };
      const all = stream.segments();
      const first = window[0]!;
      const head = stream.periodHead(first.number);
      const body = finished
        ? buildLiveMpd({ ...common, type: 'static' })
        : buildLiveMpd({
            ...common,
            type: 'dynamic',
            now: Date.now(),
            timeShiftBufferDepth: Math.max(stream.segmentDuration * 3, windowSeconds(window)),
            minimumUpdatePeriod: stream.segmentDuration,
            suggestedPresentationDelay: Math.min(3 * stream.segmentDuration, Math.max(stream.segmentDuration, windowSeconds(window) / 2)),
            utcTimingUrl: `${origin}/time`,
            // The Period of the oldest listed segment keeps its id and start while the window slides, also
            // once its first segment has left memory or the archive. The search in what is held covers
            // a reload that changed the rotation rule since the stream remembered its heads.
            periodAnchor: head && canAnchorLivePeriod(head, first, periodOf) ? head : findLivePeriodAnchor(all, all.indexOf(first), periodOf),
          });
      return text(ctx, body, CONTENT_TYPES.mpd, cacheControl);
    }
  }
}

/**
 * The segments a manifest lists: the last LIVE_PLAYLIST_SECONDS (live), those from `?from=` unix
 * seconds on (a growing EVENT playlist), or those overlapping FROM..FROM+DURATION (timeshift).
 */
function selectWindow(all: readonly LiveSegmentInfo[], timeshift: Timeshift | undefined, from: number | undefined): LiveSegmentInfo[] {
  let out: LiveSegmentInfo[];
  if (timeshift) {
    const a = timeshift.from * 1000;
    const b = (timeshift.from + timeshift.duration) * 1000;
    out = all.filter((s) => s.wallClock + (s.duration * 1000) / LIVE_TIMESCALE > a && s.wallClock < b);
    if (out.length === 0) throw new PackagerError(ErrorCode.SEGMENT_OUT_OF_RANGE, 'nothing archived in that range');
    return out;
  }
  if (from !== undefined) {
    if (!Number.isFinite(from) || from <= 0) throw new PackagerError(ErrorCode.BAD_REQUEST, 'from= must be unix seconds');
    out = all.filter((s) => s.wallClock + (s.duration * 1000) / LIVE_TIMESCALE > from * 1000);
  } else {
    // The newest segments overlapping the last minute of media, by their durations: timestamps go back
    // when a source restarts, so comparing starts across a discontinuity would list older segments
    // again (the media sequence would go back).
    let i = all.length;
    let after = 0;
    while (i > 0 && after < LIVE_PLAYLIST_SECONDS * LIVE_TIMESCALE) after += all[--i]!.duration;
    out = all.slice(i);
  }
  if (out.length === 0) {
    // Before the first segment (or after a long outage with nothing kept): come back in a moment.
    throw new PackagerError(ErrorCode.SEGMENT_OUT_OF_RANGE, 'the stream has no segments yet', { status: 503 });
  }
  return out;
}

/** Media seconds listed (summed: timestamps may go back at a discontinuity). */
function windowSeconds(w: readonly LiveSegmentInfo[]): number {
  return w.reduce((sum, s) => sum + s.duration, 0) / LIVE_TIMESCALE;
}

/** The renditions of the newest track set in the window, with bitrates measured over the window. */
async function renditionsOf(stream: LiveStream, window: readonly LiveSegmentInfo[], overhead: number): Promise<LiveRendition[]> {
  const newest = window.at(-1)!;
  const tracks = await stream.tracksOf(newest.configId);
  if (!tracks) throw new PackagerError(ErrorCode.SEGMENT_OUT_OF_RANGE, 'the stream has no segments yet', { status: 503 });
  const same = window.filter((s) => s.configId === newest.configId);
  return tracks.map((t) => ({ id: liveRenditionId(t.kind, t.id), track: t, ...liveRenditionBandwidth(same, t.id, overhead) }));
}

/** Period ids: the codec configuration, plus the key period under rotation (`{configId}k{period}`). */
function periodFn(keys: StreamKeys | undefined): (s: LiveSegmentInfo) => string {
  return (s) => (keys?.rotation ? `${s.configId}k${keys.periodOf(s)}` : s.configId);
}

function parsePeriod(id: string): { configId: string; keyPeriod?: number } {
  const m = /^([0-9a-f]{12})(?:k([0-9]{1,15}))?$/.exec(id);
  if (!m) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'no such period');
  return m[2] === undefined ? { configId: m[1]! } : { configId: m[1]!, keyPeriod: Number(m[2]) };
}

async function serveInit(ctx: Context, stream: LiveStream, r: Extract<LivePath, { kind: 'hlsInit' | 'dashInit' }>, keys: StreamKeys | undefined, output: Output): Promise<void> {
  const { configId, keyPeriod } = parsePeriod(r.period);
  if ((keyPeriod !== undefined) !== (keys?.rotation !== undefined)) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'no such period');
  const tracks = await stream.tracksOf(configId);
  const track = tracks?.find((t) => liveRenditionId(t.kind, t.id) === r.id);
  if (!track) throw new PackagerError(ErrorCode.TRACK_NOT_FOUND, `no rendition ${r.id} in period ${r.period}`);
  const enc = keys ? await keys.forPeriod(keyPeriod ?? 0, output) : undefined;
  ctx.set('Cache-Control', SEGMENT_CACHE_CONTROL);
  ctx.type = track.kind === 'audio' ? 'audio/mp4' : CONTENT_TYPES.mp4;
  ctx.body = Buffer.from(initSegment(track, enc));
}

async function serveSegment(ctx: Context, stream: LiveStream, r: Extract<LivePath, { kind: 'hlsSegment' | 'dashSegment' }>, keys: StreamKeys | undefined, output: Output): Promise<void> {
  const seg = await stream.segment(r.number);
  if (!seg) throw new PackagerError(ErrorCode.SEGMENT_OUT_OF_RANGE, `segment ${r.number} is not in the window`);
  const part = seg.data.find((d) => liveRenditionId(d.track.kind, d.track.id) === r.id);
  if (!part) throw new PackagerError(ErrorCode.TRACK_NOT_FOUND, `no rendition ${r.id} in segment ${r.number}`);
  const ts = r.kind === 'hlsSegment' && r.variant === 'ts';
  const enc = keys ? await keys.forPeriod(keys.periodOf(seg), ts ? 'ts' : output) : undefined;
  const { track } = part;
  const read = memorySamples(part.data);
  ctx.set('Cache-Control', SEGMENT_CACHE_CONTROL);
  ctx.type = ts ? CONTENT_TYPES.ts : CONTENT_TYPES.m4s;
  ctx.body = ts ? await tsLive(read, track, seg, enc) : await fmp4Fragment(read, track, 0, track.samples.count, seg.number, enc && { ...enc, contentId: `${enc.contentId}/${seg.number}` });
}

async function tsLive(read: ReturnType<typeof memorySamples>, track: Track, seg: LiveSegment, enc: Encryption | undefined): Promise<Buffer> {
  // The segment number keeps PAT/PMT continuity counters running from one segment to the next.
  const index = seg.number;
  const n = track.samples.count;
  if (!enc?.tsMethod) return tsChunk(read, track, 0, n, index);
  if (enc.tsMethod === 'sample-aes') return tsChunk(read, track, 0, n, index, { key: enc.key, iv: sampleAesIv(enc.key, enc.contentId) });
  return encryptAes128Segment(await tsChunk(read, track, 0, n, index), enc.key, hlsSegmentIv(seg.number));
}

/** The keys of one protected stream: per key period under rotation, else the resource_id's. */
class StreamKeys {
  readonly rotation: LocationProtection['rotation'];

  constructor(
    private readonly name: string,
    private readonly protection: LocationProtection,
    private readonly deps: AccessDeps,
  ) {
    this.rotation = protection.rotation;
  }

  periodOf(s: { number: number; start: number }): number {
    return this.rotation ? keyPeriodOf(this.rotation, s) : 0;
  }

  kidOf(period: number): Uint8Array {
    const base = this.protection.fixedKid;
    if (!base) throw new PackagerError(ErrorCode.KID_UNAVAILABLE, 'protected stream without a KeyID');
    return this.rotation ? periodKid(base, period) : base;
  }

  async forPeriod(period: number, output: 'dash' | 'hls' | 'ts'): Promise<Encryption> {
    const kid = this.kidOf(period);
    this.deps.knownKids.add(kid, this.protection.location);
    return encryptionFor(this.protection, kid, this.name, output, this.deps, { stream: this.name });
  }

  /** The encryption of every key period in a window, by period id (resolved before anything is written). */
  async forWindow(window: readonly LiveSegmentInfo[], output: 'dash' | 'hls' | 'ts'): Promise<Map<string, Encryption>> {
    const periodId = periodFn(this);
    const out = new Map<string, Encryption>();
    const byPeriod = new Map<number, Promise<Encryption>>();
    for (const s of window) {
      const id = periodId(s);
      if (out.has(id)) continue;
      const p = this.periodOf(s);
      let e = byPeriod.get(p);
      if (!e) byPeriod.set(p, (e = this.forPeriod(p, output)));
      out.set(id, await e);
    }
    // Ask for the next period's key ahead of time, so the switch does not wait on the key server.
    const last = window.at(-1);
    if (this.rotation && last) {
      const next = this.periodOf({ number: last.number + 2, start: last.start + 2 * last.duration });
      if (!byPeriod.has(next)) void this.forPeriod(next, output).catch(() => undefined);
    }
    return out;
  }
}
