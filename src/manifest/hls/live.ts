/**
 * HLS playlists of a live stream: the media playlist of one rendition over a window of segments (a
 * sliding live window, a growing EVENT playlist or a finished timeshift piece), and the master.
 * Pure: the caller picks the window and gives every clock-derived value.
 */

import { ErrorCode, PackagerError } from '../../media/errors.js';
import type { LiveSegmentInfo, LiveTrackInfo } from '../../source/live/types.js';
import { LIVE_TIMESCALE } from '../../source/live/types.js';
import { formatScaled } from '../format.js';
import {
  checkLiveWindow,
  liveHlsInitName,
  liveHlsMediaPlaylistPath,
  liveHlsSegmentName,
  isLivePeriodId,
  type LiveRendition,
  type Timeshift,
} from '../live-paths.js';
import { appendQuery, type HlsVariant } from '../paths.js';
import { BASE_VERSION, checkTagLines, versionForKeyLines } from './common.js';
import { writeMasterPlaylist, type MasterPlaylistOptions } from './master.js';

export interface LiveMediaPlaylistOptions {
  readonly variant: HlsVariant;
  /** Rendition id ('v256'): names the segments. */
  readonly id: string;
  /** The PID whose entry in each segment's `tracks` this playlist lists. */
  readonly trackId: number;
  /** The window to list, oldest first, numbers increasing; non-empty. */
  readonly segments: readonly LiveSegmentInfo[];
  /** Period id of a segment: segments of one period share an init segment and keys. */
  readonly periodOf: (seg: LiveSegmentInfo) => string;
  /**
   * Discontinuity sequence number of segments[0]: the discontinuities of the stream up to and including
   * segments[0]'s own flag. Must agree between reloads and between renditions.
   */
  readonly discontinuitySequence: number;
  /** Configured segment duration, seconds. */
  readonly targetDuration: number;
  /** true: finished (EXT-X-ENDLIST; PLAYLIST-TYPE VOD unless playlistType says otherwise). */
  readonly ended: boolean;
  /** 'EVENT' for a playlist that only grows (?from=): kept when it ends, as RFC 8216 §6.2.1 wants. */
  readonly playlistType?: 'EVENT';
  /** Appended to every URI (e.g. '?token=abc'). */
  readonly query?: string;
  /** Full #EXT-X-KEY lines of a period, written before its first listed segment (and its EXT-X-MAP). */
  readonly keyLinesFor?: (periodId: string) => readonly string[];
  /** A full #EXT-X-KEY line before each segment (AES-128 / SAMPLE-AES TS with an explicit IV). */
  readonly segmentKeyLine?: (n: number, periodId: string) => string;
}

const MICROS = 1_000_000;
/** What switches encryption off when a period without keys follows one with keys (RFC 8216 §4.3.2.4). */
const KEY_NONE = '#EXT-X-KEY:METHOD=NONE';

interface Listed {
  readonly seg: LiveSegmentInfo;
  readonly track: LiveTrackInfo;
  /** Index in opts.segments. */
  readonly index: number;
}

/*
 * Numbers and media sequence numbers. A playlist gives only the first segment's media sequence number;
 * the others follow by position. Segment numbers come from timestamps and can skip (a GOP longer than
 * the segment duration, a timestamp jump, a segment this track is missing from), yet a segment's media
 * sequence number must equal its number: players match segments across reloads and renditions by it,
 * the DVR addresses segments by it, and AES-128 without an IV attribute uses it as the IV.
 * So a playlist lists only the run of consecutive numbers that ends with the newest segment: on a gap
 * the older segments leave the playlist at once, even if fewer than three remain (a short playlist is
 * valid; wrong sequence numbers are not). This applies to finished and EVENT playlists as well; the
 * alternative, renumbering, would break the same guarantees.
 */
export function buildLiveMediaPlaylist(opts: LiveMediaPlaylistOptions): string {
  checkLiveWindow(opts.segments);
  if (!(opts.targetDuration > 0) || !Number.isFinite(opts.targetDuration)) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad target duration ${opts.targetDuration}`);
  }
  if (!Number.isSafeInteger(opts.discontinuitySequence) || opts.discontinuitySequence < 0) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad discontinuity sequence ${opts.discontinuitySequence}`);
  }

  // A segment without this track (the audio PID fell silent for a while) has nothing to list here.
  const withTrack: Listed[] = [];
  opts.segments.forEach((seg, index) => {
    const track = seg.tracks.find((t) => t.id === opts.trackId);
    if (track) withTrack.push({ seg, track, index });
  });
  if (withTrack.length === 0) {
    throw new PackagerError(ErrorCode.TRACK_NOT_FOUND, `manifest: no segment of the window has track ${opts.trackId}`);
  }
  let firstListed = 0;
  for (let i = 1; i < withTrack.length; i++) {
    if (withTrack[i]!.seg.number !== withTrack[i - 1]!.seg.number + 1) firstListed = i;
  }
  const listed = withTrack.slice(firstListed);

  // The discontinuities passed over (flags of dropped segments, and of the new first one, whose tag is
  // not written) move into EXT-X-DISCONTINUITY-SEQUENCE.
  let discontinuitySequence = opts.discontinuitySequence;
  for (let i = 1; i <= listed[0]!.index; i++) if (opts.segments[i]!.discontinuity) discontinuitySequence++;

  const micros = listed.map((l) => Math.round((l.track.duration * MICROS) / LIVE_TIMESCALE));
  // RFC 8216 §4.3.3.1: every EXTINF as written, rounded to the nearest integer, <= the target. The
  // configured duration keeps it steady between reloads (§6.2.1 forbids changing it); a longer segment
  // (a late key frame) still raises it.
  let target = Math.max(1, Math.ceil(opts.targetDuration - 1e-9));
  for (const us of micros) target = Math.max(target, Math.floor((us + MICROS / 2) / MICROS));

  const body: string[] = [];
  const keyLinesWritten: string[] = [];
  let prevPeriod: string | undefined;
  let prevKeys: readonly string[] = [];
  listed.forEach((l, i) => {
    const { seg, track } = l;
    const period = opts.periodOf(seg);
    if (!isLivePeriodId(period)) throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad live period id '${period}'`);
    // A period change alone (key rotation) needs a new init and keys, not a decoder reset: the caller
    // flags codec changes as discontinuities.
    const discontinuity = i > 0 && seg.discontinuity;
    const newPeriod = period !== prevPeriod;
    if (discontinuity) body.push('#EXT-X-DISCONTINUITY');
    if (newPeriod) {
      const keys = opts.keyLinesFor?.(period) ?? [];
      checkTagLines(keys, '#EXT-X-KEY');
      // a key tag holds until the next one: a clear period after an encrypted one must say so
      const lines = keys.length === 0 && prevKeys.length > 0 ? [KEY_NONE] : keys;
      body.push(...lines);
      keyLinesWritten.push(...lines);
      prevKeys = keys;
    }
    // EXT-X-MAP again after a discontinuity too, as RFC 8216 §4.3.2.5 advises and players expect
    if (opts.variant === 'fmp4' && (newPeriod || discontinuity)) {
      body.push(`#EXT-X-MAP:URI="${appendQuery(liveHlsInitName(opts.id, period), opts.query)}"`);
    }
    if (opts.segmentKeyLine) {
      const line = opts.segmentKeyLine(seg.number, period);
      checkTagLines([line], '#EXT-X-KEY');
      body.push(line);
      keyLinesWritten.push(line);
    }
    body.push(
      `#EXT-X-PROGRAM-DATE-TIME:${programDateTime(seg, track)}`,
      `#EXTINF:${formatScaled(micros[i]!, 6)},`,
      appendQuery(liveHlsSegmentName(opts.variant, opts.id, seg.number), opts.query),
    );
    prevPeriod = period;
  });

  const type = opts.playlistType ?? (opts.ended ? 'VOD' : undefined);
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${Math.max(BASE_VERSION[opts.variant], versionForKeyLines(keyLinesWritten))}`,
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${listed[0]!.seg.number}`,
    ...(discontinuitySequence > 0 ? [`#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`] : []),
    ...(type ? [`#EXT-X-PLAYLIST-TYPE:${type}`] : []),
    '#EXT-X-INDEPENDENT-SEGMENTS',
    ...body,
    ...(opts.ended ? ['#EXT-X-ENDLIST'] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** Wall clock of the track's first sample (audio may start a little after the key frame). */
function programDateTime(seg: LiveSegmentInfo, track: LiveTrackInfo): string {
  const ms = Math.round(seg.wallClock + ((track.start - seg.start) * 1000) / LIVE_TIMESCALE);
  if (!Number.isFinite(ms)) throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad wall clock of segment ${seg.number}`);
  return new Date(ms).toISOString();
}

export interface LiveMasterPlaylistOptions extends MasterPlaylistOptions {
  readonly variant: HlsVariant;
  /** Video renditions in any order (listed by bandwidth, highest first); audio in order, the first is the default. */
  readonly renditions: readonly LiveRendition[];
  /** Point at the timeshift media playlists of this piece of the archive instead of the live ones. */
  readonly timeshift?: Timeshift;
}

/** The master playlist: VOD's (master.ts) over live renditions and live names. */
export function buildLiveMasterPlaylist(opts: LiveMasterPlaylistOptions): string {
  // sort is stable: equal bandwidths keep the caller's order
  const video = opts.renditions.filter((r) => r.track.kind === 'video').sort((a, b) => b.bandwidth - a.bandwidth);
  const audio = opts.renditions.filter((r) => r.track.kind === 'audio');
  const pathOf = (id: string): string => liveHlsMediaPlaylistPath(opts.variant, id, opts.timeshift);
  return writeMasterPlaylist(video, audio, pathOf, opts.variant, opts);
}
