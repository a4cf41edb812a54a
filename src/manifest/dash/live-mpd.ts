/**
 * DASH MPD of a live stream: `dynamic` over the live window, or `static` for a timeshift piece of the
 * archive. Pure: the caller gives the window and the time (`now`).
 *
 * Timeline model (dynamic): availabilityStartTime is the epoch, so a Period@start is simply the wall
 * clock of its anchor segment. A new Period starts at the first listed segment and wherever the
 * timeline cannot go on in one SegmentTimeline with consecutive $Number$s (startsLivePeriod). In each
 * Period every representation has presentationTimeOffset = the anchor's start (90 kHz, common to all
 * tracks, so audio and video stay in sync) and the exact per-track timeline of its segments.
 */

import { ErrorCode, PackagerError } from '../../media/errors.js';
import type { LiveSegmentInfo, LiveTrackInfo } from '../../source/live/types.js';
import { LIVE_TIMESCALE } from '../../source/live/types.js';
import { formatInteger, formatScaled, gcd, isoDuration } from '../format.js';
import {
  checkLiveWindow,
  isLivePeriodId,
  LIVE_DASH_MEDIA_TEMPLATE,
  liveDashInitTemplate,
  type LiveRendition,
} from '../live-paths.js';
import {
  adaptationSetLines,
  type FrameRate,
  groupAdaptationSets,
  mpdRootAttrs,
  type RepresentationSource,
  segmentTemplateLines,
  templateUri,
  timelineEntries,
  xmlAttrs,
} from './mpd.js';

interface LiveMpdCommon {
  readonly renditions: readonly LiveRendition[];
  /** The window to describe, oldest first, numbers increasing; non-empty. */
  readonly segments: readonly LiveSegmentInfo[];
  /** Period id of a segment (codec configuration and key period): names the init segments. */
  readonly periodOf: (seg: LiveSegmentInfo) => string;
  /** Seconds. */
  readonly minBufferTime: number;
  /**
   * ContentProtection element(s) for the AdaptationSets of a period, given the period id and the set's
   * first rendition; inserted verbatim (must be well-formed), namespaces from extraNamespaces.
   */
  readonly contentProtection?: (periodId: string, first: LiveRendition) => string;
  /** prefix -> namespace URI declared on MPD (e.g. { mspr: 'urn:microsoft:playready' }). */
  readonly extraNamespaces?: Readonly<Record<string, string>>;
  /** Appended to the init and media URL templates (e.g. '?token=abc'). */
  readonly query?: string;
}

export interface DynamicLiveMpdOptions extends LiveMpdCommon {
  readonly type: 'dynamic';
  /** Wall clock, ms since the epoch: publishTime. */
  readonly now: number;
  /** Seconds. */
  readonly timeShiftBufferDepth: number;
  readonly minimumUpdatePeriod: number;
  readonly suggestedPresentationDelay: number;
  /** Absolute URL answering the time (urn:mpeg:dash:utc:http-iso:2014). */
  readonly utcTimingUrl: string;
  /**
   * The first segment of the Period that segments[0] belongs to, when that segment has already left the
   * window (the stream remembers it: source/live/periods.ts). The Period keeps its id, start and presentationTimeOffset
   * while the window slides through it; players match Periods across updates by id, and a moving
   * Period@start would shift the whole timeline. Without it, segments[0] is the anchor.
   */
  readonly periodAnchor?: LiveSegmentInfo;
}

/** A finished piece of the archive (timeshift): Periods back to back from 0, mediaPresentationDuration. */
export interface StaticLiveMpdOptions extends LiveMpdCommon {
  readonly type: 'static';
}

export type LiveMpdOptions = DynamicLiveMpdOptions | StaticLiveMpdOptions;

const UTC_TIMING_SCHEME = 'urn:mpeg:dash:utc:http-iso:2014';
const EPOCH = '1970-01-01T00:00:00Z';

/** Whether `seg` cannot continue the Period of `prev` (its predecessor in the stream). */
export function startsLivePeriod(
  prev: LiveSegmentInfo | undefined,
  seg: LiveSegmentInfo,
  periodOf: (seg: LiveSegmentInfo) => string,
): boolean {
  return (
    prev === undefined ||
    // new init segment or keys
    periodOf(seg) !== periodOf(prev) ||
    // the media timeline restarts (its timestamps need a new presentationTimeOffset)
    seg.discontinuity ||
    // $Number$ counts S entries: numbers must be consecutive within a Period
    seg.number !== prev.number + 1 ||
    // every representation of a Period has every segment
    !sameTrackIds(prev, seg)
  );
}

/** The first segment of the Period that segments[index] belongs to (the oldest held if it goes back further). */
export function findLivePeriodAnchor(
  segments: readonly LiveSegmentInfo[],
  index: number,
  periodOf: (seg: LiveSegmentInfo) => string,
): LiveSegmentInfo {
  let i = index;
  while (i > 0 && !startsLivePeriod(segments[i - 1], segments[i]!, periodOf)) i--;
  const anchor = segments[i];
  if (!anchor) throw new PackagerError(ErrorCode.SEGMENT_OUT_OF_RANGE, `manifest: no live segment at ${index}`);
  return anchor;
}

interface PeriodPlan {
  readonly segments: LiveSegmentInfo[];
  readonly anchor: LiveSegmentInfo;
}

export function buildLiveMpd(opts: LiveMpdOptions): string {
  checkLiveWindow(opts.segments);
  const dynamic = opts.type === 'dynamic';
  const periods = splitPeriods(opts.segments, opts.periodOf);
  if (opts.type === 'dynamic' && opts.periodAnchor) {
    periods[0] = { ...periods[0]!, anchor: checkAnchor(opts.periodAnchor, periods[0]!, opts.periodOf) };
  }

  const out: string[] = [];
  // Period starts in whole milliseconds: dynamic on the epoch, static from 0.
  let prevEnd: number | undefined;
  for (const p of periods) {
    const pto = p.anchor.start;
    let startMs = dynamic ? Math.round(p.anchor.wallClock) : (prevEnd ?? 0);
    // Each Period ends where the next starts. Wall clocks of two runs can disagree with their media
    // durations (a clock jumped back, jitter at a restart): never let a Period start before the content
    // of the previous one has ended, so Period starts strictly increase and no segment is cut short.
    // (Once that previous Period has left the window the clamp is gone; it is at most the jitter.)
    if (prevEnd !== undefined && startMs < prevEnd) startMs = prevEnd;
    const last = p.segments[p.segments.length - 1]!;
    prevEnd = startMs + Math.ceil(((last.start + last.duration - pto) * 1000) / LIVE_TIMESCALE - 1e-6);
    out.push(...periodLines(p, startMs, opts));
  }

  const rootAttrs = mpdRootAttrs(opts.extraNamespaces);
  if (opts.type === 'dynamic') {
    rootAttrs.push(
      ['type', 'dynamic'],
      ['availabilityStartTime', EPOCH],
      ['publishTime', isoDateTime(opts.now)],
      ['minimumUpdatePeriod', seconds(opts.minimumUpdatePeriod, 'minimumUpdatePeriod')],
      ['timeShiftBufferDepth', seconds(opts.timeShiftBufferDepth, 'timeShiftBufferDepth')],
      ['suggestedPresentationDelay', seconds(opts.suggestedPresentationDelay, 'suggestedPresentationDelay')],
      ['minBufferTime', seconds(opts.minBufferTime, 'minBufferTime')],
    );
  } else {
    // No availabilityStartTime: for a static MPD it would only restrict when segments may be fetched.
    rootAttrs.push(
      ['type', 'static'],
      ['mediaPresentationDuration', `PT${formatScaled(prevEnd!, 3)}S`],
      ['minBufferTime', seconds(opts.minBufferTime, 'minBufferTime')],
    );
  }
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<MPD${xmlAttrs(rootAttrs)}>`, ...out];
  // UTCTiming comes after the Periods in the MPD schema's sequence.
  if (opts.type === 'dynamic') {
    lines.push(`  <UTCTiming${xmlAttrs([['schemeIdUri', UTC_TIMING_SCHEME], ['value', opts.utcTimingUrl]])}/>`);
  }
  lines.push('</MPD>');
  return `${lines.join('\n')}\n`;
}

function splitPeriods(segments: readonly LiveSegmentInfo[], periodOf: (seg: LiveSegmentInfo) => string): PeriodPlan[] {
  const periods: PeriodPlan[] = [];
  segments.forEach((seg, i) => {
    if (i === 0 || startsLivePeriod(segments[i - 1], seg, periodOf)) periods.push({ segments: [seg], anchor: seg });
    else periods[periods.length - 1]!.segments.push(seg);
  });
  return periods;
}

/**
 * Whether `anchor` can be the first segment of the Period whose oldest listed segment is `head`: a
 * segment of the same run and key period, at or before it. (What lies between them is no longer listed
 * and cannot be checked.)
 */
export function canAnchorLivePeriod(anchor: LiveSegmentInfo, head: LiveSegmentInfo, periodOf: (seg: LiveSegmentInfo) => string): boolean {
  return (
    anchor.number <= head.number &&
    anchor.start <= head.start &&
    periodOf(anchor) === periodOf(head) &&
    (anchor.number === head.number || !head.discontinuity) &&
    sameTrackIds(anchor, head)
  );
}

function checkAnchor(anchor: LiveSegmentInfo, first: PeriodPlan, periodOf: (seg: LiveSegmentInfo) => string): LiveSegmentInfo {
  const head = first.segments[0]!;
  if (!canAnchorLivePeriod(anchor, head, periodOf)) {
    throw new PackagerError(
      ErrorCode.MUX_FAILURE,
      `manifest: segment ${anchor.number} cannot anchor the period of segment ${head.number}`,
    );
  }
  return anchor;
}

function periodLines(p: PeriodPlan, startMs: number, opts: LiveMpdOptions): string[] {
  const head = p.segments[0]!;
  const periodId = opts.periodOf(head);
  if (!isLivePeriodId(periodId)) throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad live period id '${periodId}'`);
  const present = opts.renditions.filter((r) => head.tracks.some((t) => t.id === r.track.id));
  // sort is stable: equal bandwidths keep the caller's order
  const video = present.filter((r) => r.track.kind === 'video').sort((a, b) => b.bandwidth - a.bandwidth);
  const audio = present.filter((r) => r.track.kind === 'audio');

  const templateAttrs: Array<readonly [string, string]> = [
    ['timescale', String(LIVE_TIMESCALE)],
    ['presentationTimeOffset', formatInteger(p.anchor.start)],
    ['startNumber', formatInteger(head.number)],
    ['initialization', templateUri(liveDashInitTemplate(periodId), opts.query)],
    ['media', templateUri(LIVE_DASH_MEDIA_TEMPLATE, opts.query)],
  ];
  const representation = (r: LiveRendition): RepresentationSource => ({
    id: r.id,
    track: r.track,
    bandwidth: r.bandwidth,
    frameRate: r.track.kind === 'video' ? frameRateFraction(r.frameRate) : undefined,
    segmentTemplate: segmentTemplateLines(
      templateAttrs,
      timelineEntries(
        p.segments.map((s) => {
          const t = trackOf(s, r.track.id);
          return { t: t.start, d: t.duration };
        }),
      ),
    ),
  });

  // Period ids are stable across updates: the anchor's number, unique since numbers only grow.
  const periodAttrs: Array<readonly [string, string]> = [
    ['id', `p${formatInteger(p.anchor.number)}`],
    ['start', `PT${formatScaled(startMs, 3)}S`],
  ];
  const lines = [`  <Period${xmlAttrs(periodAttrs)}>`];
  let firstAudio = true;
  groupAdaptationSets(video, audio, (r) => r.track).forEach((set, index) => {
    lines.push(
      ...adaptationSetLines(set.kind, set.language, set.renditions.map(representation), {
        id: index,
        protection: opts.contentProtection?.(periodId, set.renditions[0]!) ?? '',
        mainAudio: set.kind === 'audio' && firstAudio,
      }),
    );
    if (set.kind === 'audio') firstAudio = false;
  });
  lines.push('  </Period>');
  return lines;
}

function trackOf(seg: LiveSegmentInfo, id: number): LiveTrackInfo {
  const t = seg.tracks.find((x) => x.id === id);
  // cannot happen: a Period only holds segments with the same track set (startsLivePeriod)
  if (!t) throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: segment ${seg.number} lacks track ${id}`);
  return t;
}

function sameTrackIds(a: LiveSegmentInfo, b: LiveSegmentInfo): boolean {
  return a.tracks.length === b.tracks.length && a.tracks.every((t) => b.tracks.some((u) => u.id === t.id));
}

/**
 * DASH wants the exact rate as a fraction; live renditions carry frames per second with 3 decimals.
 * NTSC rates (n·1000/1001) are recognised; other rates are taken to the millisecond.
 */
export function frameRateFraction(fps: number | undefined): FrameRate | undefined {
  if (fps === undefined || !(fps > 0) || !Number.isFinite(fps)) return undefined;
  const whole = Math.round(fps);
  if (Math.abs(fps - whole) < 0.0005) return { num: whole, den: 1, text: String(whole) };
  const ntsc = Math.round(fps * 1.001);
  if (Math.abs(fps - (ntsc * 1000) / 1001) < 0.0005) return { num: ntsc * 1000, den: 1001, text: `${ntsc * 1000}/1001` };
  const milli = Math.round(fps * 1000);
  const g = gcd(milli, 1000);
  return { num: milli / g, den: 1000 / g, text: `${milli / g}/${1000 / g}` };
}

function seconds(value: number, name: string): string {
  if (!(value >= 0) || !Number.isFinite(value)) throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad ${name} ${value}`);
  return isoDuration(value);
}

function isoDateTime(ms: number): string {
  if (!Number.isFinite(ms)) throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad time ${ms}`);
  return new Date(Math.round(ms)).toISOString();
}
