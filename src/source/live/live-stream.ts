/**
 * One live channel at run time: UDP input -> TS demuxer -> segmenter -> segment window (memory, and the
 * DVR archive on disk when configured). Knows nothing of HTTP; the HTTP layer asks it for the window
 * and for segments by number.
 */
import { join } from 'node:path';
import { TsDemuxer } from './ts-demux.js';
import { LiveSegmenter } from './live-segmenter.js';
import { DvrArchive } from './dvr.js';
import { UdpInput } from './udp-input.js';
import { parseUdpUrl, type UdpInputSpec } from './udp-url.js';
import { LIVE_TIMESCALE, type LiveSegment, type LiveSegmentInfo } from './types.js';
import { type KeyPeriodOf, PeriodHeads } from './periods.js';
import { emptySampleTable, type Track } from '../../media/track.js';


/** Without DVR, segments kept in memory cover at least this long (and at least 5 segments). */
export const MEMORY_WINDOW_SECONDS = 120;
/**
 * With DVR, the archive holds the window; memory keeps the live edge, where nearly every request is
 * (players stay 3 segment durations behind), so that it is served without a read. 120 s of a 5 Mbit/s
 * channel is 75 MB and, held that long, the buffers outlive V8's young generation and make the
 * collector's full runs grow with the channel count.
 */
export const MEMORY_WITH_DVR_SECONDS = 30;
/** Archive reads kept (decoded), for the players just behind the memory window that ask for the same segments. */
const RECENT_ARCHIVE_READS = 4;
/** No datagram for this long (or 2 segment durations, if longer): the input is stalled. */
const STALL_SECONDS = 5;
const STALL_CHECK_MS = 500;

export type InputState = 'starting' | 'waiting' | 'receiving' | 'stalled' | 'failed';

export interface LiveStreamLog {
  (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

export interface LiveStreamOptions {
  readonly name: string;
  /** Input URLs (udp://…); the first one is ingested. */
  readonly inputs: readonly string[];
  readonly segmentDuration: number;
  readonly dvr?: { readonly path: string; readonly depthSeconds: number };
  readonly log?: LiveStreamLog;
  readonly now?: () => number;
  /** Key rotation's period of a segment: DASH Periods split there too (periods.ts). */
  readonly keyPeriodOf?: KeyPeriodOf;
}

export interface LiveStreamStatus {
  readonly name: string;
  readonly input: {
    readonly url: string;
    readonly state: InputState;
    readonly error?: string;
    readonly bitrate: number;
    readonly lastPacketAt?: number;
    readonly datagrams: number;
    readonly bytes: number;
    readonly garbageDatagrams: number;
  };
  readonly demux: Readonly<Record<string, number>>;
  readonly segmenter: Readonly<Record<string, number>>;
  readonly window: {
    readonly segments: number;
    readonly first?: number;
    readonly last?: number;
    readonly seconds: number;
    /** Segments held in memory (the rest of the window is read from the archive). */
    readonly inMemory: number;
    readonly lastSegmentAt?: number;
  };
  readonly dvr?: { readonly path: string; readonly depthSeconds: number; readonly writeErrors: number };
}

export class LiveStream {
  readonly name: string;
  readonly segmentDuration: number;
  private readonly spec: UdpInputSpec;
  private readonly input: UdpInput;
  private readonly demuxer: TsDemuxer;
  private segmenter!: LiveSegmenter;
  private archive: DvrArchive | undefined;
  /** Newest segments with their bytes, oldest first. */
  private readonly memory: LiveSegment[] = [];
  /** Infos of the whole window (archive + memory), oldest first. */
  private infos: LiveSegmentInfo[] = [];
  private state: InputState = 'starting';
  private error: string | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private writeErrors = 0;
  /** Discontinuities of segments that have left the window: HLS discontinuity sequence numbers never go back. */
  private leftDiscontinuities = 0;
  private lastSegmentAt: number | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly log: LiveStreamLog;
  private readonly now: () => number;
  private readonly listeners = new Set<(s: LiveSegmentInfo) => void>();
  /** Track configurations (samples empty) per configId: what inits and manifests describe. */
  private readonly templates = new Map<string, readonly Track[]>();
  private readonly heads: PeriodHeads;
  /** The last few archive reads (or reads in flight), newest last. */
  private recentReads: Array<{ number: number; segment: Promise<LiveSegment | undefined> }> = [];

  private constructor(private readonly opts: LiveStreamOptions) {
    this.name = opts.name;
    this.segmentDuration = opts.segmentDuration;
    this.log = opts.log ?? (() => undefined);
    this.now = opts.now ?? Date.now;
    this.heads = new PeriodHeads(opts.keyPeriodOf);
    const url = opts.inputs[0];
    if (url === undefined) throw new Error(`stream ${opts.name}: no input`);
    this.spec = parseUdpUrl(url);
    this.demuxer = new TsDemuxer(this.spec.program === undefined ? {} : { program: this.spec.program });
    this.input = new UdpInput(this.spec, (bytes) => this.onBytes(bytes));
  }

  /** Opens the archive (if any) and starts listening; a bind failure leaves the stream defined, state `failed`. */
  static async start(opts: LiveStreamOptions): Promise<LiveStream> {
    const s = new LiveStream(opts);
    await s.open();
    return s;
  }

  private async open(): Promise<void> {
    const dvr = this.opts.dvr;
    if (dvr) {
      this.archive = await DvrArchive.open(join(dvr.path, this.name), {
        depthSeconds: dvr.depthSeconds,
        log: (level, msg, fields) => this.log(level, msg, { stream: this.name, ...fields }),
      });
      this.infos = [...this.archive.list()];
      this.heads.reset(this.opts.keyPeriodOf, this.infos);
      if (this.infos.length > 0) this.log('info', 'DVR archive opened', { stream: this.name, segments: this.infos.length, last: this.infos.at(-1)!.number });
    }
    const lastNumber = this.infos.at(-1)?.number;
    this.segmenter = new LiveSegmenter({
      segmentDuration: this.segmentDuration,
      ...(lastNumber !== undefined ? { lastNumber } : {}),
      now: this.now,
      onSegment: (seg) => this.onSegment(seg),
    });
    try {
      await this.input.start();
      this.state = 'waiting';
    } catch (e) {
      this.state = 'failed';
      this.error = e instanceof Error ? e.message : String(e);
      this.log('error', 'live input cannot start', { stream: this.name, input: this.spec.url, error: this.error });
    }
    this.stallTimer = setInterval(() => this.checkStall(), STALL_CHECK_MS);
    this.stallTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.stallTimer) clearInterval(this.stallTimer);
    await this.input.stop().catch(() => undefined);
    await this.writing;
    await this.archive?.close();
  }

  /** Called with each completed segment's info (after it is servable). */
  onSegmentReady(fn: (s: LiveSegmentInfo) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The segments that can be served, oldest first. */
  segments(): readonly LiveSegmentInfo[] {
    return this.infos;
  }

  /**
   * The discontinuity sequence number of segment `number` (EXT-X-DISCONTINUITY-SEQUENCE when it is the
   * first listed): the discontinuities of the stream up to and including its own flag, those of segments
   * that have left the window included.
   */
  discontinuitiesUpTo(number: number): number {
    let n = this.leftDiscontinuities;
    for (const s of this.infos) {
      if (s.number > number) break;
      if (s.discontinuity) n++;
    }
    return n;
  }

  /**
   * The first segment of the DASH Period that listed segment `number` belongs to, even after that
   * first segment has left the window (periods.ts); undefined if `number` was never listed.
   */
  periodHead(number: number): LiveSegmentInfo | undefined {
    return this.heads.headOf(number);
  }

  /** A config reload changed the key rotation: Periods split by the new rule from now on. */
  setKeyPeriods(keyPeriodOf: KeyPeriodOf): void {
    this.heads.reset(keyPeriodOf, this.infos);
  }

  /** A segment's bytes, from memory or the archive; undefined when it is not (or no longer) in the window. */
  async segment(number: number): Promise<LiveSegment | undefined> {
    for (let i = this.memory.length - 1; i >= 0; i--) {
      const m = this.memory[i]!;
      if (m.number === number) return m;
      if (m.number < number) break;
    }
    if (!this.archive) return undefined;
    const recent = this.recentReads.find((r) => r.number === number);
    if (recent) return recent.segment;
    const segment = this.archive.read(number);
    this.recentReads.push({ number, segment });
    if (this.recentReads.length > RECENT_ARCHIVE_READS) this.recentReads.shift();
    // A failed read is not remembered: the next request tries again.
    segment.then(
      (s) => {
        if (!s) this.forgetRead(number);
      },
      () => this.forgetRead(number),
    );
    return segment;
  }

  private forgetRead(number: number): void {
    this.recentReads = this.recentReads.filter((r) => r.number !== number);
  }

  /**
   * The tracks (codec configuration, no samples) of segments with this configId, from a segment in
   * memory or, after a restart, one read from the archive. Undefined when no listed segment has it.
   */
  async tracksOf(configId: string): Promise<readonly Track[] | undefined> {
    const known = this.templates.get(configId);
    if (known) return known;
    let info: LiveSegmentInfo | undefined;
    for (let i = this.infos.length - 1; i >= 0 && !info; i--) if (this.infos[i]!.configId === configId) info = this.infos[i];
    const seg = info ? await this.segment(info.number) : undefined;
    if (!seg) return undefined;
    this.remember(seg);
    return this.templates.get(configId);
  }

  private remember(seg: LiveSegment): void {
    if (this.templates.has(seg.configId)) return;
    this.templates.set(seg.configId, seg.data.map((d) => ({ ...d.track, samples: emptySampleTable() })));
    // Bounded: configs change rarely; keep the newest few.
    if (this.templates.size > 16) this.templates.delete(this.templates.keys().next().value!);
  }

  status(): LiveStreamStatus {
    const st = this.input.stats;
    const first = this.infos[0];
    const last = this.infos.at(-1);
    return {
      name: this.name,
      input: {
        url: this.spec.url,
        state: this.state,
        ...(this.error ? { error: this.error } : {}),
        bitrate: this.input.bitrate(),
        ...(st.lastPacketAt !== undefined ? { lastPacketAt: st.lastPacketAt } : {}),
        datagrams: st.datagrams,
        bytes: st.bytes,
        garbageDatagrams: st.garbageDatagrams,
      },
      demux: { ...this.demuxer.stats },
      segmenter: { ...this.segmenter.stats },
      window: {
        segments: this.infos.length,
        ...(first ? { first: first.number } : {}),
        ...(last ? { last: last.number } : {}),
        seconds: this.infos.reduce((sum, s) => sum + s.duration, 0) / LIVE_TIMESCALE,
        inMemory: this.memory.length,
        ...(this.lastSegmentAt !== undefined ? { lastSegmentAt: this.lastSegmentAt } : {}),
      },
      ...(this.opts.dvr ? { dvr: { path: this.opts.dvr.path, depthSeconds: this.opts.dvr.depthSeconds, writeErrors: this.writeErrors } } : {}),
    };
  }

  // ---------------------------------------------------------------------------------------------

  private onBytes(bytes: Uint8Array): void {
    if (this.state !== 'receiving') {
      if (this.state === 'stalled') this.log('info', 'live input resumed', { stream: this.name });
      this.state = 'receiving';
    }
    this.segmenter.push(this.demuxer.push(bytes));
  }

  private checkStall(): void {
    if (this.state !== 'receiving') return;
    const last = this.input.stats.lastPacketAt;
    const limit = Math.max(STALL_SECONDS, 2 * this.segmentDuration) * 1000;
    if (last !== undefined && this.now() - last > limit) {
      this.state = 'stalled';
      this.log('warn', 'live input stalled', { stream: this.name, silentMs: this.now() - last });
      // What was buffered is a complete picture of the past: close it; the return is a discontinuity.
      this.segmenter.push(this.demuxer.flush());
      this.segmenter.breakTimeline();
    }
  }

  private onSegment(seg: LiveSegment): void {
    this.lastSegmentAt = this.now();
    this.remember(seg);
    this.memory.push(seg);
    const info: LiveSegmentInfo = {
      number: seg.number,
      start: seg.start,
      duration: seg.duration,
      discontinuity: seg.discontinuity,
      wallClock: seg.wallClock,
      configId: seg.configId,
      tracks: seg.tracks,
    };
    if (this.archive) {
      // Listed once it is on disk (or in memory if the disk fails): never a segment that cannot be read.
      const archive = this.archive;
      this.writing = this.writing.then(async () => {
        try {
          await archive.append(seg);
        } catch (e) {
          this.writeErrors++;
          this.log('error', 'DVR write failed; segment kept in memory only', { stream: this.name, segment: seg.number, error: e instanceof Error ? e.message : String(e) });
        }
        this.publish(info);
      });
    } else {
      this.publish(info);
    }
  }

  private publish(info: LiveSegmentInfo): void {
    this.infos.push(info);
    this.heads.add(info);
    this.trim();
    for (const fn of this.listeners) fn(info);
  }

  /** Keeps the memory window bounded and, with an archive, the listing equal to the archive's. */
  private trim(): void {
    if (this.infos.length === 0) return;
    const depth = (this.archive ? Math.min(MEMORY_WITH_DVR_SECONDS, this.opts.dvr!.depthSeconds) : MEMORY_WINDOW_SECONDS) * LIVE_TIMESCALE;
    // Measured by durations, not by timestamps: they go back when the source restarts, and old segments
    // would then never leave memory.
    let after = this.memory.reduce((sum, m) => sum + m.duration, 0) - (this.memory[0]?.duration ?? 0);
    while (this.memory.length > 5 && after > depth) {
      this.memory.shift();
      after -= this.memory[0]!.duration;
    }
    const flagged = (list: readonly LiveSegmentInfo[]): number => list.reduce((n, s) => n + (s.discontinuity ? 1 : 0), 0);
    const before = flagged(this.infos);
    if (this.archive) {
      // The archive's listing (it prunes by depth), plus segments whose write failed while they are in memory.
      const onDisk = new Set(this.archive.list().map((l) => l.number));
      const inMemory = new Set(this.memory.map((m) => m.number));
      this.infos = this.infos.filter((s) => onDisk.has(s.number) || inMemory.has(s.number));
      if (this.recentReads.length > 0) this.recentReads = this.recentReads.filter((r) => onDisk.has(r.number));
    } else {
      const keep = new Set(this.memory.map((m) => m.number));
      this.infos = this.infos.filter((s) => keep.has(s.number));
    }
    this.leftDiscontinuities += before - flagged(this.infos);
    this.heads.forgetBefore(this.infos[0]?.number);
  }
}
