/**
 * Where a live stream's timeline splits into DASH Periods, and the first segment ("head") of each
 * Period while any of its segments is still listed.
 *
 * A Period's id, start and presentationTimeOffset come from its head; players match Periods across
 * MPD updates by id and place the whole timeline by Period@start, so these must not change while the
 * window slides through the Period. The head is remembered here, where segments are published, because
 * it leaves the window (memory, the DVR's depth) long before its Period does: a continuous stream is
 * one Period for hours, a `rotate=10m` key period outlives a 2-minute window.
 *
 * The split is the manifest's (live-mpd.ts startsLivePeriod with periodOf = configId + key period):
 * a discontinuity, a gap in the numbers, another codec configuration or track set, another key period.
 */
import type { LiveSegmentInfo } from './types.js';

/** The key period of a segment under rotation (keys/rotation.ts keyPeriodOf), or undefined: one key. */
export type KeyPeriodOf = ((s: { readonly number: number; readonly start: number }) => number) | undefined;

export function startsPeriod(prev: LiveSegmentInfo | undefined, seg: LiveSegmentInfo, keyPeriodOf: KeyPeriodOf): boolean {
  return (
    prev === undefined ||
    seg.discontinuity ||
    seg.number !== prev.number + 1 ||
    seg.configId !== prev.configId ||
    seg.tracks.length !== prev.tracks.length ||
    !seg.tracks.every((t) => prev.tracks.some((u) => u.id === t.id)) ||
    (keyPeriodOf !== undefined && keyPeriodOf(seg) !== keyPeriodOf(prev))
  );
}

export class PeriodHeads {
  /** Heads of the Periods with listed segments, oldest first (numbers increase). */
  private heads: LiveSegmentInfo[] = [];
  private last: LiveSegmentInfo | undefined;

  constructor(private keyPeriodOf: KeyPeriodOf) {}

  /** A segment published after all earlier ones. */
  add(seg: LiveSegmentInfo): void {
    if (startsPeriod(this.last, seg, this.keyPeriodOf)) this.heads.push(seg);
    this.last = seg;
  }

  /** Forgets the heads of Periods that no longer have a segment at or after `oldest` (the first listed). */
  forgetBefore(oldest: number | undefined): void {
    if (oldest === undefined) {
      // Nothing listed: the next segment continues nothing a player could still see.
      this.heads = [];
      this.last = undefined;
      return;
    }
    let drop = 0;
    while (drop + 1 < this.heads.length && this.heads[drop + 1]!.number <= oldest) drop++;
    if (drop > 0) this.heads = this.heads.slice(drop);
  }

  /** The head of the Period that segment `number` belongs to (itself if it starts one). */
  headOf(number: number): LiveSegmentInfo | undefined {
    for (let i = this.heads.length - 1; i >= 0; i--) if (this.heads[i]!.number <= number) return this.heads[i];
    return undefined;
  }

  /**
   * A new key-period rule (a config reload changed `rotate=`): the heads are found again in what is
   * listed; Periods whose head has left the window start at their oldest listed segment from now on.
   */
  reset(keyPeriodOf: KeyPeriodOf, listed: readonly LiveSegmentInfo[]): void {
    this.keyPeriodOf = keyPeriodOf;
    this.heads = [];
    this.last = undefined;
    for (const s of listed) this.add(s);
  }
}
