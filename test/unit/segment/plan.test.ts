import { describe, it, expect } from 'vitest';
import { planSegments } from '../../../src/segment/plan.js';
import { videoTrack, audioTrack } from '../../helpers/synthetic.js';
import type { TrackCut } from '../../../src/segment/types.js';

const seconds = (c: TrackCut): number[] =>
  Array.from({ length: c.count }, (_, i) => (c.start[i + 1]! - c.start[i]!) / c.track.timescale);

describe('planSegments', () => {
  it('cuts 2 s GOPs into 4 s segments at sync samples, audio at the same instants', () => {
    const v = videoTrack({ fps: 24, seconds: 12, gop: 48, bframes: true });
    const a = audioTrack({ seconds: 12, priming: 1024 });
    const plan = planSegments({ tracks: [v, a], duration: 12 }, 4);
    expect(plan.count).toBe(3);
    const [cv, ca] = plan.cuts;
    expect(Array.from(cv!.first)).toEqual([0, 96, 192, 288]);
    expect(seconds(cv!)).toEqual([4, 4, 4]);
    for (let i = 0; i < cv!.count; i++) expect(v.samples.sync[cv!.first[i]!]).toBe(1);
    // Audio segment i starts with the first frame presented at or after 4*i s (within half a frame).
    for (let i = 1; i < ca!.count; i++) {
      const j = ca!.first[i]!;
      const t = (a.samples.dts[j]! - a.presentationOffset) / a.timescale;
      expect(Math.abs(t - 4 * i)).toBeLessThanOrEqual(1024 / 48000 / 2 + 1e-9);
    }
    expect(ca!.start[0]).toBe(0);
    expect(ca!.first[ca!.count]).toBe(a.samples.count);
    expect(Array.from(ca!.bytes).reduce((x, y) => x + y)).toBe(a.samples.count * 300);
  });

  it('picks the sync sample closest to the target, not the first one after it', () => {
    // GOPs of 3 s: targets 4 s -> 3 (closer than 6), then 3 + 4 = 7 -> 6.
    const v = videoTrack({ fps: 25, seconds: 12, gop: 75 });
    const plan = planSegments({ tracks: [v], duration: 12 }, 4);
    expect(seconds(plan.cuts[0]!)).toEqual([3, 3, 3, 3]);
  });

  it('folds a tail shorter than a quarter of the target into the last segment', () => {
    const v = videoTrack({ fps: 25, seconds: 8.5, gop: 25 });
    const plan = planSegments({ tracks: [v], duration: 8.5 }, 4);
    const d = seconds(plan.cuts[0]!);
    expect(d).toHaveLength(2);
    expect(d[1]).toBeCloseTo(4.52, 6);
  });

  it('cuts every video rendition of a multi-bitrate file at the same frames', () => {
    const hi = videoTrack({ id: 1, fps: 25, seconds: 10, gop: 50, size: 5000 });
    const lo = videoTrack({ id: 2, fps: 25, seconds: 10, gop: 50, size: 1000, timescale: 90000 });
    const plan = planSegments({ tracks: [hi, lo], duration: 10 }, 4);
    expect(Array.from(plan.cuts[0]!.first)).toEqual(Array.from(plan.cuts[1]!.first));
    expect(plan.cuts[0]!.bytes[0]).toBe(100 * 5000);
  });

  it('plans an audio-only title on audio frames', () => {
    const a = audioTrack({ seconds: 10 });
    const plan = planSegments({ tracks: [a], duration: 10 }, 4);
    expect(plan.count).toBe(3);
    const d = seconds(plan.cuts[0]!);
    expect(Math.abs(d[0]! - 4)).toBeLessThan(1024 / 48000);
  });

  it('gives a track that ends early fewer segments, never an empty one', () => {
    const v = videoTrack({ fps: 25, seconds: 12, gop: 50 });
    const a = audioTrack({ seconds: 5 });
    const plan = planSegments({ tracks: [v, a], duration: 12 }, 4);
    expect(plan.cuts[0]!.count).toBe(3);
    expect(plan.cuts[1]!.count).toBe(2);
    for (const c of plan.cuts) for (let i = 0; i < c.count; i++) expect(c.first[i + 1]!).toBeGreaterThan(c.first[i]!);
  });

  it('is deterministic: the same table gives the same plan', () => {
    const mk = () => planSegments({ tracks: [videoTrack({ fps: 30, seconds: 20, gop: 45 }), audioTrack({ seconds: 20 })], duration: 20 }, 6);
    const p1 = mk();
    const p2 = mk();
    expect(p1.cuts.map((c) => Array.from(c.first))).toEqual(p2.cuts.map((c) => Array.from(c.first)));
  });

  it('rejects a title with no samples', () => {
    const v = videoTrack({ fps: 25, seconds: 0, gop: 25 });
    expect(() => planSegments({ tracks: [v], duration: 0 }, 4)).toThrow(/no samples/);
  });
});
