/**
 * A bounded in-memory window over ONE live elementary stream, fed by TsDemuxer `video`/`audio` units.
 * Pure: no timers, sockets or files.
 *
 * Storage: a ring of struct-of-arrays columns (the SampleTable fields plus a discontinuity flag) that
 * grows by doubling and compacts (copyWithin) when the live part sits in the back half, so `add` is
 * amortised O(1). Per sample: dts 8 + cto 4 + duration 4 + size 4 + offset 8 + sync 1 + disc 1 = 30
 * bytes of columns plus one reference (≤ 8 bytes) to the sample's data: ≤ 38 bytes of bookkeeping.
 * `offset` is the sample's position in the stream's byte sequence (sum of earlier sample sizes).
 *
 * Timestamps stay on the source timeline (video: 90 kHz DTS as unwrapped by the demuxer; audio: the
 * sample-rate timeline anchored on the first frame). Nothing is rebased: audio and video windows of one
 * program stay comparable.
 *
 * Video: a sample's duration is the DTS difference to the next sample, so the newest sample is PENDING:
 * it is stored (and counts towards maxSamples) but NOT exposed in `samples` until the next unit arrives.
 * Before the first key frame, and after a discontinuity until the next key frame, non-key units are
 * dropped (they could not start a decodable segment). When a discontinuity arrives (the demuxer's flag,
 * or a DTS that does not increase), the pending sample gets the previous sample's duration (3000 = 1/30 s
 * when there is none) instead of the DTS gap.
 *
 * Audio: AAC frames are 1024 samples. DTS(k) = anchor + 1024·k in sample-rate units, where the anchor is
 * round(pts90 · rate / 90000) of the first frame. When a frame's 90 kHz PTS drifts more than half a frame
 * from anchorPts90 + k·1024·90000/rate, or the demuxer flags a discontinuity, the timeline is re-anchored
 * on that frame and the sample is flagged discontinuous. Every audio sample is exposed and sync.
 */
import type { SampleTable } from '../../media/track.js';
import type { AudioUnit, VideoUnit } from './ts-demux.js';

export interface LiveTrackWindowOptions {
  readonly kind: 'video' | 'audio';
  /** 90000 for video; the AAC sample rate for audio. */
  readonly timescale: number;
  /** Samples kept (the pending video sample included); the oldest are dropped beyond this. ≥ 2. */
  readonly maxSamples: number;
}

export interface LiveSegment {
  /** Derived from media timestamps (see `completedSegments`). */
  readonly number: number;
  /** DTS of the first sample and DTS + duration of the last, track timescale. */
  readonly startDts: number;
  readonly endDts: number;
  /** Sample range [first, end) in the CURRENT `samples` view (valid until the next add/evict). */
  readonly first: number;
  readonly end: number;
  /** The segment follows a discontinuity (loss or timebase change) that ended the previous one. */
  readonly discontinuity: boolean;
}

export const AAC_FRAME_SAMPLES = 1024;
const DEFAULT_VIDEO_DURATION = 3000;

interface SegRecord {
  number: number;
  startDts: number;
  endDts: number;
  firstAbs: number;
  endAbs: number;
  discontinuity: boolean;
}

interface Segmenter {
  readonly target: number;
  readonly ticks: number;
  /** Absolute index of the next sample to scan. */
  scanned: number;
  /** Bucket of the previous sync sample (undefined: none seen since reset). */
  lastKeyBucket: number | undefined;
  open: { firstAbs: number; number: number; discontinuity: boolean } | undefined;
  epochOffset: number;
  lastNumber: number;
  done: SegRecord[];
}

export class LiveTrackWindow {
  readonly kind: 'video' | 'audio';
  readonly timescale: number;
  readonly maxSamples: number;

  private cap = 16;
  private dts = new Float64Array(this.cap);
  private cto = new Int32Array(this.cap);
  private dur = new Uint32Array(this.cap);
  private size = new Uint32Array(this.cap);
  private off = new Float64Array(this.cap);
  private sync = new Uint8Array(this.cap);
  private disc = new Uint8Array(this.cap);
  private data: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(this.cap);
  /** Ring slots [head, tail) hold samples; slot head is absolute sample number `base`. */
  private head = 0;
  private tail = 0;
  private base = 0;
  private bytePos = 0;
  private view: SampleTable | undefined;
  private waitKey = true;
  private pendingDisc = false;
  // audio timeline
  private anchorPts90 = 0;
  private anchorDts = 0;
  private frameIndex = -1;
  private seg: Segmenter | undefined;

  constructor(opts: LiveTrackWindowOptions) {
    if (!(opts.maxSamples >= 2)) throw new RangeError('maxSamples must be >= 2');
    if (!(opts.timescale > 0)) throw new RangeError('timescale must be > 0');
    this.kind = opts.kind;
    this.timescale = opts.timescale;
    this.maxSamples = Math.floor(opts.maxSamples);
  }

  /** Samples stored, the pending video sample included. */
  get stored(): number {
    return this.tail - this.head;
  }

  /** Absolute (since the window was created) number of samples[0]. */
  get firstIndex(): number {
    return this.base;
  }

  /** Exposed samples (durations known). Typed arrays are views; re-read after add/evict. */
  get samples(): SampleTable {
    if (this.view) return this.view;
    const end = this.tail - (this.kind === 'video' && this.tail > this.head ? 1 : 0);
    const h = this.head;
    this.view = {
      count: end - h,
      dts: this.dts.subarray(h, end),
      cto: this.cto.subarray(h, end),
      duration: this.dur.subarray(h, end),
      size: this.size.subarray(h, end),
      offset: this.off.subarray(h, end),
      sync: this.sync.subarray(h, end),
    };
    return this.view;
  }

  /** Whether sample i of `samples` follows a discontinuity. */
  discontinuityAt(i: number): boolean {
    return this.disc[this.slot(i)] === 1;
  }

  /** The data of sample i of `samples` (video: 4-byte length-prefixed NALs; audio: raw AAC). */
  bytes(i: number): Uint8Array {
    return this.data[this.slot(i)]!;
  }

  add(unit: VideoUnit | AudioUnit): void {
    if (unit.kind !== this.kind) throw new TypeError(`a ${this.kind} window cannot take a ${unit.kind} unit`);
    if (unit.kind === 'video') this.addVideo(unit);
    else this.addAudio(unit);
  }

  /**
   * Drops samples from the oldest while their DTS < dts (never the pending video sample). Returns how
   * many were dropped.
   */
  evictBefore(dts: number): number {
    const keep = this.kind === 'video' ? 1 : 0;
    let n = 0;
    while (this.tail - this.head > keep && this.dts[this.head]! < dts) {
      this.dropOldest();
      n++;
    }
    if (n > 0) this.view = undefined;
    return n;
  }

  /**
   * Completed segments fully inside the window, oldest first.
   *
   * Cutting and numbering rule (deterministic from media timestamps, so two origins fed the same units
   * agree even if one joined later at a key frame): with T = targetSeconds · timescale and
   * bucket(d) = floor(d / T), a sync sample k starts a segment iff bucket(dts_k) > bucket of the
   * previous sync sample — i.e. cuts fall on the first key frame at or after each multiple of T. Its
   * number is bucket(dts_k) + 1 (+ an epoch offset, below). A window only starts its first segment at
   * such a provable boundary (it needs to have seen the previous key frame), so samples before it belong
   * to no segment: a late joiner and an origin that saw everything agree on every segment they both have.
   * Numbers are consecutive when key frames come at least once per T; a longer GOP skips numbers.
   *
   * A discontinuity ends the open segment; the next segment starts at the discontinuous (key) sample
   * and has `discontinuity: true`. If its timestamp-derived number would not exceed the last one (e.g.
   * the timebase went backwards), an epoch offset is added to it and all later numbers; late joiners agree
   * only for segments after their own join if such a renumbering happened before it.
   *
   * A segment is complete when the next one has started. Changing targetSeconds restarts the cutting on
   * the current window (the first segment again waits for a provable boundary).
   */
  completedSegments(targetSeconds: number): LiveSegment[] {
    if (!(targetSeconds > 0)) throw new RangeError('targetSeconds must be > 0');
    let s = this.seg;
    if (!s || s.target !== targetSeconds) {
      s = {
        target: targetSeconds,
        ticks: targetSeconds * this.timescale,
        scanned: this.base,
        lastKeyBucket: undefined,
        open: undefined,
        epochOffset: 0,
        lastNumber: -Infinity,
        done: [],
      };
      this.seg = s;
    }
    this.scan(s);
    while (s.done.length > 0 && s.done[0]!.firstAbs < this.base) s.done.shift();
    return s.done.map((r) => ({
      number: r.number,
      startDts: r.startDts,
      endDts: r.endDts,
      first: r.firstAbs - this.base,
      end: r.endAbs - this.base,
      discontinuity: r.discontinuity,
    }));
  }

  // ---------------------------------------------------------------------------------------------

  private slot(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.samples.count) throw new RangeError(`sample ${i} not in window`);
    return this.head + i;
  }

  private scan(s: Segmenter): void {
    const endAbs = this.base + (this.tail - this.head);
    if (s.scanned < this.base) s.scanned = this.base;
    for (let a = s.scanned; a < endAbs; a++) {
      const j = a - this.base + this.head;
      if (this.sync[j] !== 1) continue;
      const d = this.dts[j]!;
      const b = Math.floor(d / s.ticks);
      const forced = this.disc[j] === 1 && a > this.base;
      if (forced || (s.lastKeyBucket !== undefined && b > s.lastKeyBucket)) {
        if (s.open && s.open.firstAbs >= this.base) {
          const last = j - 1;
          s.done.push({
            number: s.open.number,
            startDts: this.dts[s.open.firstAbs - this.base + this.head]!,
            endDts: this.dts[last]! + this.dur[last]!,
            firstAbs: s.open.firstAbs,
            endAbs: a,
            discontinuity: s.open.discontinuity,
          });
        }
        let n = b + 1 + s.epochOffset;
        if (n <= s.lastNumber) {
          s.epochOffset += s.lastNumber + 1 - n;
          n = s.lastNumber + 1;
        }
        s.lastNumber = n;
        s.open = { firstAbs: a, number: n, discontinuity: forced };
      }
      s.lastKeyBucket = b;
    }
    s.scanned = endAbs;
  }

  private addVideo(u: VideoUnit): void {
    const count = this.tail - this.head;
    let discontinuity = u.discontinuity || this.pendingDisc;
    if (count > 0 && !discontinuity && u.dts <= this.dts[this.tail - 1]!) discontinuity = true;
    if (discontinuity && count > 0) this.waitKey = true;
    if (this.waitKey && !u.key) {
      // Undecodable until the next key frame: drop, remember that the timeline broke.
      if (count > 0 && discontinuity) this.closePending();
      if (count > 0) this.pendingDisc = true;
      return;
    }
    this.waitKey = false;
    if (count > 0) {
      if (discontinuity) this.closePending();
      else this.dur[this.tail - 1] = u.dts - this.dts[this.tail - 1]!;
    }
    this.pendingDisc = false;
    this.push(u.dts, u.pts - u.dts, 0, u.key ? 1 : 0, discontinuity && count > 0 ? 1 : 0, u.data);
  }

  /** The pending sample's duration when the next DTS cannot tell it. */
  private closePending(): void {
    const t = this.tail - 1;
    if (this.dur[t] !== 0) return;
    this.dur[t] = this.tail - this.head >= 2 ? this.dur[t - 1]! : DEFAULT_VIDEO_DURATION;
  }

  private addAudio(u: AudioUnit): void {
    const rate = this.timescale;
    let reanchor = this.frameIndex < 0 || u.discontinuity;
    if (!reanchor) {
      const k = this.frameIndex + 1;
      const expected = this.anchorPts90 + (k * AAC_FRAME_SAMPLES * 90000) / rate;
      if (Math.abs(u.pts - expected) > (AAC_FRAME_SAMPLES * 90000) / rate / 2) reanchor = true;
    }
    const first = this.frameIndex < 0;
    if (reanchor) {
      this.anchorPts90 = u.pts;
      this.anchorDts = Math.round((u.pts * rate) / 90000);
      this.frameIndex = 0;
    } else {
      this.frameIndex++;
    }
    const dts = this.anchorDts + this.frameIndex * AAC_FRAME_SAMPLES;
    this.push(dts, 0, AAC_FRAME_SAMPLES, 1, reanchor && !first && this.tail > this.head ? 1 : 0, u.data);
  }

  private push(dts: number, cto: number, duration: number, sync: number, disc: number, data: Uint8Array): void {
    while (this.tail - this.head >= this.maxSamples) this.dropOldest();
    if (this.tail === this.cap) this.makeRoom();
    const t = this.tail++;
    this.dts[t] = dts;
    this.cto[t] = cto;
    this.dur[t] = duration;
    this.size[t] = data.length;
    this.off[t] = this.bytePos;
    this.sync[t] = sync;
    this.disc[t] = disc;
    this.data[t] = data;
    this.bytePos += data.length;
    this.view = undefined;
  }

  private dropOldest(): void {
    this.data[this.head] = undefined;
    this.head++;
    this.base++;
    this.view = undefined;
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  private makeRoom(): void {
    const n = this.tail - this.head;
    if (this.head >= this.cap / 2) {
      // Live part fits in the front half: compact in place.
      const h = this.head;
      this.dts.copyWithin(0, h, this.tail);
      this.cto.copyWithin(0, h, this.tail);
      this.dur.copyWithin(0, h, this.tail);
      this.size.copyWithin(0, h, this.tail);
      this.off.copyWithin(0, h, this.tail);
      this.sync.copyWithin(0, h, this.tail);
      this.disc.copyWithin(0, h, this.tail);
      this.data.copyWithin(0, h, this.tail);
      this.data.fill(undefined, n, this.tail);
    } else {
      const cap = this.cap * 2;
      const grow = <T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(cap);
        b.set(a.subarray(this.head, this.tail));
        return b;
      };
      this.dts = grow(this.dts, (c) => new Float64Array(c));
      this.cto = grow(this.cto, (c) => new Int32Array(c));
      this.dur = grow(this.dur, (c) => new Uint32Array(c));
      this.size = grow(this.size, (c) => new Uint32Array(c));
      this.off = grow(this.off, (c) => new Float64Array(c));
      this.sync = grow(this.sync, (c) => new Uint8Array(c));
      this.disc = grow(this.disc, (c) => new Uint8Array(c));
      const data = new Array<Uint8Array | undefined>(cap);
      for (let i = 0; i < n; i++) data[i] = this.data[this.head + i];
      this.data = data;
      this.cap = cap;
    }
    this.head = 0;
    this.tail = n;
    this.view = undefined;
  }

  /** Ring capacity (for tests of the memory bound). */
  get capacity(): number {
    return this.cap;
  }
}
