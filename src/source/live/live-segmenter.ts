/**
 * Turns the demuxer's events into completed live segments (types.ts). Pure: no timers, sockets or
 * files; the wall clock is injected.
 *
 * Cutting (deterministic across origins fed the same input):
 * - The primary track is the video PID (the first H.264 or H.265 stream of the program), or the first audio PID
 *   of an audio-only program. Segments start at its key frames.
 * - With T = segment duration in 90 kHz ticks, a key frame whose PTS falls in a later bucket
 *   floor(pts / T) than the previous key frame starts a segment numbered floor(pts / T) + 1. So the
 *   number and the first sample of a segment depend only on the media timestamps: two origins that
 *   joined at different times cut identically from the first boundary they both saw. The segment in
 *   progress when an origin joins is never emitted (it started before the join).
 *   When key frames come less often than once per T, numbers skip; see `stats.numberGaps`.
 * - A timeline break (timestamps going back, or jumping more than MAX_GAP_SECONDS, or a new program)
 *   ends the open segment where it is; the next key frame starts a segment at once, flagged as a
 *   discontinuity. If its number would not exceed the last one (the source restarted with smaller
 *   timestamps), every number from then on is offset so numbers keep increasing.
 * - A codec configuration change (new VPS/SPS/PPS or AudioSpecificConfig) starts a segment at the next key
 *   frame, flagged as a discontinuity (players need a new init segment and a decoder reset).
 * - Audio (and any other non-primary track) goes to the segment whose presentation interval
 *   [key frame PTS, next segment's key frame PTS) holds the frame's PTS. A segment is released once
 *   every audio track has delivered a frame at or past its end (audio is muxed late or early by a few
 *   hundred ms), or once the primary track is AUDIO_GRACE_SECONDS past it (audio missing).
 */
import { createHash } from 'node:crypto';
import { allocSampleTable, emptySampleTable, type SampleEntryType, type Track } from '../../media/track.js';
import { aacChannelCount } from '../../media/codec/aac.js';
import { parseAvcSps } from '../../media/codec/avc-parameter-sets.js';
import { avc1SampleEntry, hvc1SampleEntry, mp4aSampleEntry } from '../../media/codec/sample-entry.js';
import type { ConfigEvent, DemuxEvent, ProgramEvent } from './ts-demux.js';
import { LIVE_TIMESCALE, type LiveSegment, type LiveTrackData, type LiveTrackInfo } from './types.js';

/** A jump of the timestamps beyond this is a new timeline, not a gap in the media. */
const MAX_GAP_SECONDS = 5;
/** How long the primary track may run ahead of a late audio track before a segment is released without it. */
const AUDIO_GRACE_SECONDS = 3;
/** A segment still open after this long (no key frame) is closed; the stream then waits for a key frame. */
const MAX_SEGMENT_SECONDS = 60;
/** Duration given to a last sample whose successor is unknown (a break): one frame at 25 fps. */
const FALLBACK_VIDEO_DURATION = 3600;

export interface LiveSegmenterOptions {
  /** Target segment duration, seconds. */
  readonly segmentDuration: number;
  /** Numbers of emitted segments stay above this (the last number in the DVR archive). */
  readonly lastNumber?: number;
  /** Wall clock, ms since the epoch. */
  readonly now?: () => number;
  /** Called for each completed segment, in order. */
  readonly onSegment: (segment: LiveSegment) => void;
}

export interface LiveSegmenterStats {
  segments: number;
  /** Timeline breaks (timestamp jumps, source restarts, program changes). */
  discontinuities: number;
  /** Codec configuration changes. */
  configChanges: number;
  /** Primary-track units dropped while waiting for a key frame. */
  droppedUntilKey: number;
  /** Audio frames that fell outside every emitted segment. */
  droppedAudio: number;
  /** Segments released before their audio arrived. */
  audioTimeouts: number;
  /** Segment numbers skipped because key frames came less often than the segment duration. */
  numberGaps: number;
  /** Segments closed for want of a key frame within MAX_SEGMENT_SECONDS. */
  forcedCloses: number;
}

interface Unit {
  readonly pts: number;
  readonly dts: number;
  readonly key: boolean;
  readonly data: Uint8Array;
}

interface TrackState {
  readonly pid: number;
  readonly kind: 'video' | 'audio';
  /** The track as of its latest config event (samples empty); undefined until the first one. */
  template: Track | undefined;
}

interface OpenSegment {
  number: number;
  discontinuity: boolean;
  wallClock: number;
  units: Unit[];
  /** Templates in force when the segment opened. */
  templates: Map<number, Track>;
  configId: string;
}

/** A segment whose primary samples are complete, waiting for its audio. */
interface ClosingSegment {
  readonly open: OpenSegment;
  /** Presented end: the next key frame's PTS (or the last sample's end at a break). */
  readonly end: number;
  /** The primary's decode end (the last sample's duration). */
  readonly dtsEnd: number;
  /** A break closed it: release without waiting for audio. */
  readonly final: boolean;
}

export class LiveSegmenter {
  readonly stats: LiveSegmenterStats = {
    segments: 0,
    discontinuities: 0,
    configChanges: 0,
    droppedUntilKey: 0,
    droppedAudio: 0,
    audioTimeouts: 0,
    numberGaps: 0,
    forcedCloses: 0,
  };

  private readonly ticks: number;
  private readonly now: () => number;
  private readonly onSegment: (segment: LiveSegment) => void;
  private readonly tracks = new Map<number, TrackState>();
  private primaryPid: number | undefined;
  /** Audio frames per secondary PID, in arrival order, not yet given to a segment. */
  private readonly audio = new Map<number, Unit[]>();
  private open: OpenSegment | undefined;
  private readonly closing: ClosingSegment[] = [];
  private lastKeyBucket: number | undefined;
  private lastUnit: Unit | undefined;
  /** The next key frame starts a segment whatever its bucket (after a break or a config change). */
  private forceNext = false;
  private forcedIsDiscontinuity = false;
  private epochOffset = 0;
  private lastNumber: number;
  private lastEmitted: { number: number; start: number; end: number; wallClock: number } | undefined;
  /** Latest PTS seen per secondary PID. */
  private readonly audioReach = new Map<number, number>();
  private restarted: boolean;

  constructor(opts: LiveSegmenterOptions) {
    if (!(opts.segmentDuration > 0)) throw new RangeError('segmentDuration must be > 0');
    this.ticks = Math.round(opts.segmentDuration * LIVE_TIMESCALE);
    this.now = opts.now ?? Date.now;
    this.onSegment = opts.onSegment;
    this.lastNumber = opts.lastNumber ?? 0;
    // After a restart the archive's last segment came from another run: the first new one is a break.
    this.restarted = opts.lastNumber !== undefined;
  }

  push(events: readonly DemuxEvent[]): void {
    for (const e of events) {
      switch (e.kind) {
        case 'program':
          this.onProgram(e);
          break;
        case 'config':
          this.onConfig(e);
          break;
        case 'video':
          if (e.pid === this.primaryPid) this.onPrimary({ pts: e.pts, dts: e.dts, key: e.key, data: e.data });
          break;
        case 'audio':
          if (e.pid === this.primaryPid) this.onPrimary({ pts: e.pts, dts: e.pts, key: true, data: e.data });
          else this.onSecondary(e.pid, { pts: e.pts, dts: e.pts, key: true, data: e.data });
          break;
      }
    }
    this.release();
  }

  /** The input ended or stalled for good: close what can be closed (the open segment stays unfinished). */
  breakTimeline(): void {
    this.closeOpen(true);
    this.release();
  }

  // ---------------------------------------------------------------------------------------------

  private onProgram(e: ProgramEvent): void {
    const known = new Set<number>();
    let video: number | undefined;
    let firstAudio: number | undefined;
    for (const s of e.streams) {
      if (s.codec === null) continue;
      known.add(s.pid);
      const kind = s.codec === 'avc' || s.codec === 'hevc' ? 'video' : 'audio';
      if (kind === 'video' && video === undefined) video = s.pid;
      if (kind === 'audio' && firstAudio === undefined) firstAudio = s.pid;
      const had = this.tracks.get(s.pid);
      if (!had || had.kind !== kind) this.tracks.set(s.pid, { pid: s.pid, kind, template: undefined });
    }
    for (const pid of [...this.tracks.keys()]) if (!known.has(pid)) this.tracks.delete(pid);
    // Only one video track is packaged: a second video PID (rare) is left out.
    for (const [pid, t] of this.tracks) if (t.kind === 'video' && pid !== video) this.tracks.delete(pid);
    const primary = video ?? firstAudio;
    if (primary !== this.primaryPid) {
      if (this.primaryPid !== undefined) this.timelineBreak();
      this.primaryPid = primary;
    }
    for (const pid of [...this.audio.keys()]) if (!this.tracks.has(pid) || pid === primary) this.audio.delete(pid);
    for (const [pid, t] of this.tracks) if (t.kind === 'audio' && pid !== primary && !this.audio.has(pid)) this.audio.set(pid, []);
  }

  private onConfig(e: ConfigEvent): void {
    const t = this.tracks.get(e.pid);
    if (!t) return;
    const template = e.codec === 'aac' ? audioTemplate(e) : videoTemplate(e);
    if (!template) return;
    if (t.template && bytesEqual(t.template.sampleEntry, template.sampleEntry)) return;
    if (t.template) {
      this.stats.configChanges++;
      this.forceNext = true;
      this.forcedIsDiscontinuity = true;
    }
    t.template = template;
  }

  private onPrimary(u: Unit): void {
    const prev = this.lastUnit;
    if (prev && (u.dts <= prev.dts || u.dts - prev.dts > MAX_GAP_SECONDS * LIVE_TIMESCALE)) this.timelineBreak();
    this.lastUnit = u;
    const open = this.open;
    if (u.key && this.ready()) {
      const bucket = Math.floor(u.pts / this.ticks);
      const forced = this.forceNext;
      if (forced || (this.lastKeyBucket !== undefined && bucket > this.lastKeyBucket)) {
        this.lastKeyBucket = bucket;
        this.startSegment(u, bucket, forced);
        return;
      }
      this.lastKeyBucket = bucket;
    }
    if (open) {
      open.units.push(u);
      if (u.dts - open.units[0]!.dts > MAX_SEGMENT_SECONDS * LIVE_TIMESCALE) {
        this.stats.forcedCloses++;
        this.timelineBreak();
      }
    } else {
      this.stats.droppedUntilKey++;
    }
  }

  private onSecondary(pid: number, u: Unit): void {
    const q = this.audio.get(pid);
    if (!q) return;
    q.push(u);
    const reach = this.audioReach.get(pid);
    if (reach === undefined || u.pts > reach) this.audioReach.set(pid, u.pts);
  }

  /** Every packaged track has its codec configuration. */
  private ready(): boolean {
    for (const t of this.tracks.values()) if (!t.template) return false;
    return this.primaryPid !== undefined && this.tracks.size > 0;
  }

  private startSegment(key: Unit, bucket: number, forced: boolean): void {
    const ended = this.open;
    if (ended) this.closing.push({ open: ended, end: key.pts, dtsEnd: key.dts, final: false });
    let number = bucket + 1 + this.epochOffset;
    if (number <= this.lastNumber) {
      this.epochOffset += this.lastNumber + 1 - number;
      number = this.lastNumber + 1;
    } else if (ended && !forced && number > this.lastNumber + 1) {
      this.stats.numberGaps += number - this.lastNumber - 1;
    }
    this.lastNumber = number;
    const discontinuity = (forced && this.forcedIsDiscontinuity) || this.restarted;
    this.restarted = false;
    if (discontinuity) this.stats.discontinuities++;
    this.forceNext = false;
    this.forcedIsDiscontinuity = false;
    const templates = new Map<number, Track>();
    for (const [pid, t] of this.tracks) templates.set(pid, t.template!);
    this.open = {
      number,
      discontinuity,
      wallClock: this.wallClockFor(key.pts, discontinuity || !ended),
      units: [key],
      templates,
      configId: configIdOf(templates),
    };
  }

  /**
   * A continuing segment's wall clock follows the media clock from the previous one (so PDTs and
   * DASH period starts add up exactly); after a break or at the first segment it is the arrival time,
   * never earlier than the previous segment's end.
   */
  private wallClockFor(pts: number, restart: boolean): number {
    const last = this.pendingLast() ?? this.lastEmitted;
    const now = this.now();
    if (!last) return now;
    const follow = last.wallClock + ((pts - last.start) * 1000) / LIVE_TIMESCALE;
    if (!restart) return Math.round(follow);
    return Math.max(now, Math.round(last.wallClock + ((last.end - last.start) * 1000) / LIVE_TIMESCALE));
  }

  /** The newest segment closed but not yet released, as wall-clock anchor. */
  private pendingLast(): { start: number; end: number; wallClock: number } | undefined {
    const c = this.closing.at(-1);
    if (!c) return undefined;
    return { start: c.open.units[0]!.pts, end: c.end, wallClock: c.open.wallClock };
  }

  private timelineBreak(): void {
    this.closeOpen(true);
    this.lastUnit = undefined;
    this.lastKeyBucket = undefined;
    this.forceNext = true;
    this.forcedIsDiscontinuity = true;
  }

  /** Ends the open segment at its last sample (a break: there is no next key frame to end it). */
  private closeOpen(final: boolean): void {
    const open = this.open;
    this.open = undefined;
    if (!open) return;
    const last = open.units.at(-1)!;
    const dur = open.units.length >= 2 ? last.dts - open.units.at(-2)!.dts : FALLBACK_VIDEO_DURATION;
    const dtsEnd = last.dts + Math.max(1, dur);
    // Presented end: the latest presented sample's end.
    let end = 0;
    for (const u of open.units) end = Math.max(end, u.pts + Math.max(1, dur));
    this.closing.push({ open, end, dtsEnd, final });
  }

  /** Emits the closing segments whose audio is complete, in order. */
  private release(): void {
    while (this.closing.length > 0) {
      const c = this.closing[0]!;
      if (!c.final && !this.audioComplete(c)) {
        const reach = this.lastUnit?.pts ?? -Infinity;
        if (reach < c.end + AUDIO_GRACE_SECONDS * LIVE_TIMESCALE) return;
        this.stats.audioTimeouts++;
      }
      this.closing.shift();
      this.emit(c);
    }
  }

  private audioComplete(c: ClosingSegment): boolean {
    for (const pid of this.audio.keys()) {
      const reach = this.audioReach.get(pid);
      if (reach === undefined || reach < c.end) return false;
    }
    return true;
  }

  private emit(c: ClosingSegment): void {
    const { open } = c;
    const start = open.units[0]!.pts;
    const data: LiveTrackData[] = [];
    const infos: LiveTrackInfo[] = [];
    const primary = open.templates.get(this.primaryPid ?? -1) ?? [...open.templates.values()].find((t) => t.kind === 'video');
    if (primary) {
      const built = buildTrack(primary, open.units, c.dtsEnd, start, c.end);
      data.push(built.data);
      infos.push(built.info);
    }
    for (const [pid, q] of this.audio) {
      const template = open.templates.get(pid);
      // Frames before the segment belong to no emitted segment (before the join or a break).
      let i = 0;
      while (i < q.length && q[i]!.pts < start) i++;
      this.stats.droppedAudio += i;
      let j = i;
      while (j < q.length && q[j]!.pts < c.end) j++;
      const frames = q.slice(i, j);
      q.splice(0, j);
      if (!template || frames.length === 0) continue;
      const next = q[0]?.pts;
      const built = buildTrack(template, frames, next ?? frames.at(-1)!.pts + audioFrameTicks(template), frames[0]!.pts, next ?? c.end);
      data.push(built.data);
      infos.push(built.info);
    }
    const duration = c.end - start;
    if (duration <= 0 || data.length === 0) return;
    this.stats.segments++;
    this.lastEmitted = { number: open.number, start, end: c.end, wallClock: open.wallClock };
    this.onSegment({
      number: open.number,
      start,
      duration,
      discontinuity: open.discontinuity,
      wallClock: open.wallClock,
      configId: open.configId,
      tracks: infos,
      data,
    });
  }
}

/** A segment-local track: samples in decode order, offsets into one buffer. */
function buildTrack(template: Track, units: readonly Unit[], dtsEnd: number, start: number, end: number): { data: LiveTrackData; info: LiveTrackInfo } {
  const n = units.length;
  const samples = allocSampleTable(n);
  let bytes = 0;
  for (const u of units) bytes += u.data.length;
  const buf = new Uint8Array(bytes);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const u = units[i]!;
    const nextDts = i + 1 < n ? units[i + 1]!.dts : dtsEnd;
    samples.dts[i] = u.dts;
    samples.cto[i] = u.pts - u.dts;
    samples.duration[i] = Math.max(1, nextDts - u.dts);
    samples.size[i] = u.data.length;
    samples.offset[i] = at;
    samples.sync[i] = u.key ? 1 : 0;
    buf.set(u.data, at);
    at += u.data.length;
  }
  const track: Track = { ...template, samples };
  return {
    data: { track, data: buf },
    info: { id: template.id, kind: template.kind, start, duration: Math.max(1, end - start), bytes },
  };
}


/** The sample entry of a video config: `avc1` (size from the SPS) or `hvc1` (size given by the parser). */
function videoEntry(e: Extract<ConfigEvent, { codec: 'avc' | 'hevc' }>): { type: SampleEntryType; config: Uint8Array; width: number; height: number } | undefined {
  if (e.codec === 'hevc') return e.width > 0 && e.height > 0 ? { type: 'hvc1', config: e.hvcC, width: e.width, height: e.height } : undefined;
  const spsNal = e.config.sps[0];
  if (!spsNal) return undefined;
  try {
    const { width, height } = parseAvcSps(spsNal);
    return { type: 'avc1', config: e.avcC, width, height };
  } catch {
    return undefined;
  }
}

function videoTemplate(e: Extract<ConfigEvent, { codec: 'avc' | 'hevc' }>): Track | undefined {
  const entry = videoEntry(e);
  if (!entry) return undefined;
  const { type, config, width, height } = entry;
  return {
    id: e.pid,
    kind: 'video',
    sampleEntryType: type,
    codecString: e.codecString,
    timescale: LIVE_TIMESCALE,
    codecConfig: config,
    sampleEntry: type === 'hvc1' ? hvc1SampleEntry(config, width, height) : avc1SampleEntry(config, width, height),
    nalLengthSize: 4,
    language: 'und',
    name: '',
    width,
    height,
    sampleRate: 0,
    channels: 0,
    presentationOffset: 0,
    samples: emptySampleTable(),
  };
}

function audioTemplate(e: Extract<ConfigEvent, { codec: 'aac' }>): Track {
  const channels = aacChannelCount(e.config);
  return {
    id: e.pid,
    kind: 'audio',
    sampleEntryType: 'mp4a',
    codecString: e.codecString,
    timescale: LIVE_TIMESCALE,
    codecConfig: e.asc,
    sampleEntry: mp4aSampleEntry(e.asc, channels, e.config.sampleRate),
    nalLengthSize: 0,
    language: 'und',
    name: '',
    width: 0,
    height: 0,
    sampleRate: e.config.sampleRate,
    channels,
    presentationOffset: 0,
    samples: emptySampleTable(),
  };
}

function audioFrameTicks(t: Track): number {
  return t.sampleRate > 0 ? Math.round((1024 * LIVE_TIMESCALE) / t.sampleRate) : 1920;
}

function configIdOf(templates: ReadonlyMap<number, Track>): string {
  const h = createHash('sha256');
  for (const pid of [...templates.keys()].sort((a, b) => a - b)) h.update(`${pid}:`).update(templates.get(pid)!.sampleEntry);
  return h.digest('hex').slice(0, 12);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
