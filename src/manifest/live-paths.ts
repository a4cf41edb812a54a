/**
 * The vocabulary shared by the live manifest writers (hls/live.ts, dash/live-mpd.ts) and the router:
 * the URL names below a stream's base `/{stream}/`, their parser, and the renditions the writers list.
 *
 * The folder layout is VOD's (paths.ts): masters at the base, `ts/` and `hls/` media playlists with
 * their segments one folder down, `dash/` segments. Two live differences:
 * - init segments are per period (`init-{period}.mp4`): a live stream changes codec configuration and
 *   keys over time, and a URL must always name the same bytes (CDN caches);
 * - timeshift names `index-{FROM}-{DURATION}…` (Flussonic style: FROM in unix seconds, DURATION in
 *   seconds) serve a piece of the archive as a finished presentation. Their segments are the live ones.
 * These URLs are public: once released, keep them stable.
 */

import type { Track } from '../media/track.js';
import { ErrorCode, PackagerError } from '../media/errors.js';
import type { LiveSegmentInfo } from '../source/live/types.js';
import { LIVE_TIMESCALE } from '../source/live/types.js';
import { ceilBitrate } from './format.js';
import { DASH_DIR, DASH_MPD, HLS_DIR, HLS_MASTER, type HlsVariant } from './paths.js';

/** A rendition of a live stream, as the master playlist and the MPD list it. */
export interface LiveRendition {
  /** 'v' or 'a' + the elementary stream's PID ('v256', 'a257'): used in every URL of the rendition. */
  readonly id: string;
  /** Codec string, width, height, sampleRate, channels, language, kind. */
  readonly track: Track;
  /** Peak bits/s (see liveRenditionBandwidth). */
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  /** Video: frames per second (e.g. 29.97). */
  readonly frameRate?: number;
}

/** A piece of the archive: FROM unix seconds, DURATION seconds (both positive integers). */
export interface Timeshift {
  readonly from: number;
  readonly duration: number;
}

export function liveRenditionId(kind: 'video' | 'audio', pid: number): string {
  return `${kind === 'video' ? 'v' : 'a'}${pid}`;
}

/** Segments shorter than this are left out of the peak, as for VOD (presentation.ts). */
const MIN_PEAK_SEGMENT_TICKS = 0.5 * LIVE_TIMESCALE;

/**
 * Bitrates of one track over a list of segments: the peak over segments of at least 0.5 s (over all
 * when none is that long), the average over all; both times `overhead` (~1.1 for MPEG-TS), rounded up,
 * the peak never below the average. Segments without the track are ignored; none at all gives zeros.
 */
export function liveRenditionBandwidth(
  segments: readonly LiveSegmentInfo[],
  trackId: number,
  overhead = 1,
): { bandwidth: number; averageBandwidth: number } {
  if (!Number.isFinite(overhead) || overhead <= 0) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad bitrate overhead ${overhead}`);
  }
  let peak = 0;
  let peakAll = 0;
  let totalBytes = 0;
  let totalTicks = 0;
  for (const seg of segments) {
    const t = seg.tracks.find((x) => x.id === trackId);
    if (!t || !(t.duration > 0)) continue;
    const rate = (t.bytes * 8 * LIVE_TIMESCALE) / t.duration;
    totalBytes += t.bytes;
    totalTicks += t.duration;
    peakAll = Math.max(peakAll, rate);
    if (t.duration >= MIN_PEAK_SEGMENT_TICKS) peak = Math.max(peak, rate);
  }
  if (peak === 0) peak = peakAll;
  const averageBandwidth = totalTicks > 0 ? ceilBitrate(((totalBytes * 8 * LIVE_TIMESCALE) / totalTicks) * overhead) : 0;
  return { bandwidth: Math.max(ceilBitrate(peak * overhead), averageBandwidth), averageBandwidth };
}

/** A window must be non-empty with increasing whole segment numbers: both writers rely on it. */
export function checkLiveWindow(segments: readonly LiveSegmentInfo[]): void {
  if (segments.length === 0) throw new PackagerError(ErrorCode.SEGMENT_OUT_OF_RANGE, 'manifest: empty live window');
  let prev = 0;
  for (const s of segments) {
    if (!Number.isSafeInteger(s.number) || s.number <= prev) {
      throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: live segment number ${s.number} after ${prev}`);
    }
    prev = s.number;
  }
}

// ---- names ----

/** What a period id may be: it becomes part of init segment names. */
const PERIOD_ID = /^[A-Za-z0-9_]{1,64}$/;

export function isLivePeriodId(s: string): boolean {
  return PERIOD_ID.test(s);
}

function checkPeriod(period: string): string {
  // an id outside the routed form would give a URL that 404s: fail where it is made instead
  if (!isLivePeriodId(period)) throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad live period id '${period}'`);
  return period;
}

function timeshiftSuffix(ts: Timeshift): string {
  for (const v of [ts.from, ts.duration]) {
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad timeshift ${ts.from}-${ts.duration}`);
    }
  }
  return `-${ts.from}-${ts.duration}`;
}

/** index.m3u8 / index.fmp4.m3u8, or index-{FROM}-{DURATION}.m3u8 / .fmp4.m3u8 for a timeshift. */
export function liveHlsMasterPath(variant: HlsVariant, timeshift?: Timeshift): string {
  if (!timeshift) return HLS_MASTER[variant];
  return `index${timeshiftSuffix(timeshift)}${variant === 'ts' ? '.m3u8' : '.fmp4.m3u8'}`;
}

/** index.mpd, or index-{FROM}-{DURATION}.mpd for a timeshift. */
export function liveDashMpdPath(timeshift?: Timeshift): string {
  return timeshift ? `index${timeshiftSuffix(timeshift)}.mpd` : DASH_MPD;
}

/** ts/{id}.m3u8, hls/{id}.m3u8, or ts/{id}-{FROM}-{DURATION}.m3u8 …: relative to the base (and master). */
export function liveHlsMediaPlaylistPath(variant: HlsVariant, id: string, timeshift?: Timeshift): string {
  return `${HLS_DIR[variant]}/${id}${timeshift ? timeshiftSuffix(timeshift) : ''}.m3u8`;
}

/**
 * Segments are named as for VOD (paths.ts hlsSegmentName / hlsSegmentPath / dashSegmentPath,
 * `{id}/{n}.ts|m4s`): live and timeshift playlists sit in the same folder, so both write the same
 * relative name and a segment has one URL whichever playlist listed it.
 */
export {
  hlsSegmentName as liveHlsSegmentName,
  hlsSegmentPath as liveHlsSegmentPath,
  dashSegmentPath as liveDashSegmentPath,
} from './paths.js';

/** fMP4 init segment of a period, relative to the media playlist's folder. */
export function liveHlsInitName(id: string, period: string): string {
  return `${id}/init-${checkPeriod(period)}.mp4`;
}

export function liveHlsInitPath(id: string, period: string): string {
  return `${HLS_DIR.fmp4}/${liveHlsInitName(id, period)}`;
}

export function liveDashInitPath(id: string, period: string): string {
  return `${DASH_DIR}/${id}/init-${checkPeriod(period)}.mp4`;
}

/** The per-Period initialization pattern of a live SegmentTemplate ($RepresentationID$). */
export function liveDashInitTemplate(period: string): string {
  return `${DASH_DIR}/$RepresentationID$/init-${checkPeriod(period)}.mp4`;
}

export { DASH_MEDIA_TEMPLATE as LIVE_DASH_MEDIA_TEMPLATE } from './paths.js';

// ---- routes ----

export type LivePath =
  | { kind: 'hlsMaster'; variant: HlsVariant }
  | { kind: 'hlsMedia'; variant: HlsVariant; id: string }
  | { kind: 'hlsInit'; id: string; period: string }
  | { kind: 'hlsSegment'; variant: HlsVariant; id: string; number: number }
  | { kind: 'dashMpd' }
  | { kind: 'dashInit'; id: string; period: string }
  | { kind: 'dashSegment'; id: string; number: number }
  | { kind: 'timeshiftHlsMaster'; variant: HlsVariant; from: number; duration: number }
  | { kind: 'timeshiftHlsMedia'; variant: HlsVariant; id: string; from: number; duration: number }
  | { kind: 'timeshiftDashMpd'; from: number; duration: number };

// Rendition ids are v/a + a PID (at most 8191). Numbers never have leading zeros, so that each resource
// has exactly one URL (one CDN cache entry); segment numbers come from 90 kHz timestamps divided by the
// segment duration, 15 digits are plenty and stay exact doubles. FROM (unix seconds) and DURATION have
// at most 10 digits.
const ID = '([va][1-9][0-9]{0,3})';
const NUM = '([1-9][0-9]{0,14})';
const TS = '-([1-9][0-9]{0,9})-([1-9][0-9]{0,9})';
const PERIOD = '([A-Za-z0-9_]{1,64})';

const ROUTES: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => LivePath]> = [
  [/^index\.m3u8$/, () => ({ kind: 'hlsMaster', variant: 'ts' })],
  [/^index\.fmp4\.m3u8$/, () => ({ kind: 'hlsMaster', variant: 'fmp4' })],
  [/^index\.mpd$/, () => ({ kind: 'dashMpd' })],
  [new RegExp(`^index${TS}\\.m3u8$`), (m) => ({ kind: 'timeshiftHlsMaster', variant: 'ts', ...span(m, 1) })],
  [new RegExp(`^index${TS}\\.fmp4\\.m3u8$`), (m) => ({ kind: 'timeshiftHlsMaster', variant: 'fmp4', ...span(m, 1) })],
  [new RegExp(`^index${TS}\\.mpd$`), (m) => ({ kind: 'timeshiftDashMpd', ...span(m, 1) })],
  [new RegExp(`^ts/${ID}\\.m3u8$`), (m) => ({ kind: 'hlsMedia', variant: 'ts', id: m[1]! })],
  [new RegExp(`^hls/${ID}\\.m3u8$`), (m) => ({ kind: 'hlsMedia', variant: 'fmp4', id: m[1]! })],
  [new RegExp(`^ts/${ID}${TS}\\.m3u8$`), (m) => ({ kind: 'timeshiftHlsMedia', variant: 'ts', id: m[1]!, ...span(m, 2) })],
  [new RegExp(`^hls/${ID}${TS}\\.m3u8$`), (m) => ({ kind: 'timeshiftHlsMedia', variant: 'fmp4', id: m[1]!, ...span(m, 2) })],
  [new RegExp(`^ts/${ID}/${NUM}\\.ts$`), (m) => ({ kind: 'hlsSegment', variant: 'ts', id: m[1]!, number: Number(m[2]) })],
  [new RegExp(`^hls/${ID}/init-${PERIOD}\\.mp4$`), (m) => ({ kind: 'hlsInit', id: m[1]!, period: m[2]! })],
  [new RegExp(`^hls/${ID}/${NUM}\\.m4s$`), (m) => ({ kind: 'hlsSegment', variant: 'fmp4', id: m[1]!, number: Number(m[2]) })],
  [new RegExp(`^dash/${ID}/init-${PERIOD}\\.mp4$`), (m) => ({ kind: 'dashInit', id: m[1]!, period: m[2]! })],
  [new RegExp(`^dash/${ID}/${NUM}\\.m4s$`), (m) => ({ kind: 'dashSegment', id: m[1]!, number: Number(m[2]) })],
];

function span(m: RegExpExecArray, at: number): Timeshift {
  return { from: Number(m[at]), duration: Number(m[at + 1]) };
}

/**
 * Recognise a path below a live stream's base (no leading slash, no query), or undefined. Only the form
 * is checked: whether the segment, period or archive range exists is the stream's business.
 */
export function parseLivePath(rest: string): LivePath | undefined {
  for (const [re, make] of ROUTES) {
    const m = re.exec(rest);
    if (m) return make(m);
  }
  return undefined;
}
