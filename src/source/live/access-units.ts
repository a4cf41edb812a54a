/**
 * What the H.264 and H.265 elementary-stream parsers share once NAL units are split out and classified:
 * gathering NAL units into access units (timestamps from the PES that begins one, or carried over from
 * the previous unit), outputting a unit with the codec configuration in force before it when that
 * changed, the MP4 sample form (4-byte lengths), loss handling, and the copy that lets the demuxer reuse
 * its PES buffer. The codec parsers decide where units begin and what a NAL unit is.
 */

export interface VideoAccessUnit {
  readonly pts: number;
  readonly dts: number;
  readonly key: boolean;
  /** Length-prefixed (4 bytes) NAL units. */
  readonly data: Uint8Array;
  readonly discontinuity: boolean;
}

export interface VideoPes {
  readonly pts?: number;
  readonly dts?: number;
  readonly data: Uint8Array;
  readonly discontinuity: boolean;
  /**
   * Known end (ts-demux.ts): 'unit' = the next PES begins an access unit, so the one in progress is
   * complete; 'pes' = this PES is complete by its length (the next one unseen).
   */
  readonly end?: 'unit' | 'pes';
}

export type VideoEsOutput<C> = { type: 'config'; value: C } | { type: 'unit'; value: VideoAccessUnit };

interface PendingUnit {
  pts: number;
  dts: number;
  nals: Uint8Array[];
  hasVcl: boolean;
  key: boolean;
  discontinuity: boolean;
}

export abstract class AccessUnitAssembler<C> {
  protected current: PendingUnit | null = null;
  protected pendingDiscontinuity = false;
  private lastPts: number | undefined;
  private lastDts: number | undefined;
  /** Parameter sets or slices that could not be read (and, H.264, continuations of a unit output too early). */
  errors = 0;

  /** The codec configuration, when it changed since it was last output and is complete; else undefined. */
  protected abstract takeConfig(): C | undefined;

  /**
   * Data was lost after the last PES pushed: the unit built from whole PES packets so far is output
   * (it was only waiting for the next unit to start), and the next unit is marked as a discontinuity.
   */
  discard(out: Array<VideoEsOutput<C>>): void {
    this.emit(out);
    this.current = null;
    this.pendingDiscontinuity = true;
  }

  /** The next PES is known to begin an access unit (ts-demux.ts, pesStartsAccessUnit): the one in progress is complete. */
  endUnit(out: Array<VideoEsOutput<C>>): void {
    this.emit(out);
  }

  /** Copies what the unit in progress still holds of the PES last pushed, so that its buffer may be reused. */
  detach(): void {
    const u = this.current;
    if (u) for (let i = 0; i < u.nals.length; i++) u.nals[i] = u.nals[i]!.slice();
  }

  flush(out: Array<VideoEsOutput<C>>): void {
    this.emit(out);
    this.current = null;
  }

  /** Bytes at the head of a PES before its first start code: the end of the unit's last NAL unit. */
  protected continueLastNal(lead: Uint8Array): void {
    const u = this.current;
    if (lead.length === 0 || !u || u.nals.length === 0) return;
    const last = u.nals.pop()!;
    const joined = new Uint8Array(last.length + lead.length);
    joined.set(last);
    joined.set(lead, last.length);
    u.nals.push(joined);
  }

  /** Outputs the unit in progress and begins one, timed by `pes` when it begins with this unit. */
  protected startUnit(pes: VideoPes | undefined, out: Array<VideoEsOutput<C>>): PendingUnit {
    // A unit without a slice (only SEI before a lost slice, say) is dropped by emit().
    this.emit(out);
    const pts = pes?.pts ?? this.lastPts ?? 0;
    const dts = pes?.pts !== undefined ? (pes.dts ?? pes.pts) : (this.lastDts ?? pts);
    this.current = { pts, dts, nals: [], hasVcl: false, key: false, discontinuity: this.pendingDiscontinuity };
    this.pendingDiscontinuity = false;
    return this.current;
  }

  protected emit(out: Array<VideoEsOutput<C>>): void {
    const u = this.current;
    if (!u || !u.hasVcl) return;
    const config = this.takeConfig();
    if (config !== undefined) out.push({ type: 'config', value: config });
    this.lastPts = u.pts;
    this.lastDts = u.dts;
    this.current = null;
    out.push({ type: 'unit', value: { pts: u.pts, dts: u.dts, key: u.key, data: lengthPrefixed(u.nals), discontinuity: u.discontinuity } });
  }
}

/** NAL units as one sample, each after a 4-byte big-endian length (the avcC/hvcC lengthSizeMinusOne 3). */
export function lengthPrefixed(nals: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const n of nals) size += 4 + n.length;
  const data = new Uint8Array(size);
  let p = 0;
  for (const n of nals) {
    data[p] = n.length >>> 24;
    data[p + 1] = (n.length >> 16) & 0xff;
    data[p + 2] = (n.length >> 8) & 0xff;
    data[p + 3] = n.length & 0xff;
    data.set(n, p + 4);
    p += 4 + n.length;
  }
  return data;
}

/** Whether a parameter set repeats the one kept (the usual case: they come with every key frame). */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
