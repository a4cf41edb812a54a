import { describe, expect, it } from 'vitest';
import { LiveTrackWindow, type LiveSegment } from '../../../../src/source/live/live-window.js';
import type { AudioUnit, VideoUnit } from '../../../../src/source/live/ts-demux.js';

const FRAME = 3600; // 25 fps at 90 kHz

function vu(i: number, opts: { key?: boolean; disc?: boolean; dts?: number; gop?: number } = {}): VideoUnit {
  const dts = opts.dts ?? 1_000_000 + i * FRAME;
  const gop = opts.gop ?? 25;
  return { kind: 'video', pid: 256, dts, pts: dts + 2 * FRAME, key: opts.key ?? i % gop === 0, data: new Uint8Array([0, 0, 0, 1, i & 0xff]), discontinuity: opts.disc ?? false };
}
function au(pts: number, disc = false, b = 0): AudioUnit {
  return { kind: 'audio', pid: 257, pts, data: new Uint8Array([b, b]), discontinuity: disc };
}
const strip = (s: readonly LiveSegment[]) => s.map((x) => ({ number: x.number, startDts: x.startDts, endDts: x.endDts, discontinuity: x.discontinuity }));

describe('LiveTrackWindow: storage', () => {
  it('keeps the newest video sample pending and derives durations from DTS differences', () => {
    const w = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 100 });
    w.add(vu(0));
    expect(w.samples.count).toBe(0);
    expect(w.stored).toBe(1);
    w.add(vu(1));
    w.add(vu(2, { dts: 1_000_000 + 2 * FRAME + 10 }));
    const s = w.samples;
    expect(s.count).toBe(2);
    expect([...s.duration]).toEqual([FRAME, FRAME + 10]);
    expect([...s.cto]).toEqual([2 * FRAME, 2 * FRAME]);
    expect([...s.sync]).toEqual([1, 0]);
    expect([...s.size]).toEqual([5, 5]);
    expect([...s.offset]).toEqual([0, 5]);
    expect([...w.bytes(1)]).toEqual([0, 0, 0, 1, 1]);
    expect(() => w.bytes(2)).toThrow(RangeError);
  });

  it('drops non-key frames before the first key frame', () => {
    const w = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 100 });
    for (let i = 20; i < 27; i++) w.add(vu(i));
    expect(w.stored).toBe(2); // key 25 + pending 26
    expect(w.samples.dts[0]).toBe(1_000_000 + 25 * FRAME);
  });

  it('stays bounded by maxSamples with amortised growth and eviction by DTS', () => {
    const w = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 50 });
    for (let i = 0; i < 10_000; i++) w.add(vu(i));
    expect(w.stored).toBe(50);
    expect(w.samples.count).toBe(49);
    expect(w.capacity).toBeLessThanOrEqual(128);
    expect(w.firstIndex).toBe(9950);
    expect(w.samples.dts[0]).toBe(1_000_000 + 9950 * FRAME);
    for (let i = 0; i < 49; i++) expect(w.bytes(i)[4]).toBe((9950 + i) & 0xff);
    expect(w.evictBefore(1_000_000 + 9960 * FRAME)).toBe(10);
    expect(w.samples.count).toBe(39);
    expect(w.firstIndex).toBe(9960);
    expect(w.evictBefore(Infinity)).toBe(39); // never the pending sample
    expect(w.stored).toBe(1);
    // Bookkeeping: 30 bytes of columns + one data reference per sample.
    const s = w.samples;
    const perSample = [s.dts, s.cto, s.duration, s.size, s.offset, s.sync].reduce((n, a) => n + a.BYTES_PER_ELEMENT, 0) + 1 + 8;
    expect(perSample).toBeLessThanOrEqual(40);
  });

  it('rejects units of the other kind', () => {
    const w = new LiveTrackWindow({ kind: 'audio', timescale: 48000, maxSamples: 10 });
    expect(() => w.add(vu(0))).toThrow(TypeError);
  });
});

describe('LiveTrackWindow: audio timeline', () => {
  it('converts 90 kHz PTS to sample-rate DTS exactly, anchored on the first frame', () => {
    const w = new LiveTrackWindow({ kind: 'audio', timescale: 44100, maxSamples: 1000 });
    const p0 = 900_000; // 10 s
    for (let k = 0; k < 500; k++) w.add(au(p0 + Math.round((k * 1024 * 90000) / 44100)));
    const s = w.samples;
    expect(s.count).toBe(500);
    for (let k = 0; k < 500; k++) {
      expect(s.dts[k]).toBe(441_000 + k * 1024);
      expect(s.duration[k]).toBe(1024);
      expect(s.sync[k]).toBe(1);
      expect(w.discontinuityAt(k)).toBe(false);
    }
  });

  it('tolerates jitter under half a frame and re-anchors beyond it, flagging a discontinuity', () => {
    const w = new LiveTrackWindow({ kind: 'audio', timescale: 48000, maxSamples: 100 });
    const f90 = 1920; // 1024 samples at 48 kHz in 90 kHz ticks
    w.add(au(90000));
    w.add(au(90000 + f90 + 900)); // +0.47 frame: kept on the grid
    w.add(au(90000 + 2 * f90 + 1000)); // +0.52 frame: re-anchor
    w.add(au(90000 + 3 * f90 + 1000));
    w.add(au(90000 + 4 * f90 + 1000, true)); // demuxer discontinuity: re-anchor
    const s = w.samples;
    expect([...s.dts]).toEqual([48000, 49024, 48000 + 2048 + Math.round((1000 * 48000) / 90000), 48000 + 3072 + 533, 48000 + 4096 + 533]);
    expect([0, 1, 2, 3, 4].map((i) => w.discontinuityAt(i))).toEqual([false, false, true, false, true]);
  });

  it('cuts audio segments on the sample-rate timeline', () => {
    const w = new LiveTrackWindow({ kind: 'audio', timescale: 48000, maxSamples: 1000 });
    for (let k = 0; k < 300; k++) w.add(au(k * 1920));
    const segs = w.completedSegments(2);
    // Boundaries: first frame at or after each 96000 multiple.
    expect(segs.map((x) => x.number)).toEqual([2, 3]);
    expect(segs[0]!.startDts).toBe(Math.ceil(96000 / 1024) * 1024);
    expect(segs[0]!.endDts).toBe(segs[1]!.startDts);
  });
});

describe('LiveTrackWindow: segments', () => {
  it('cuts at the first key frame at or after each target multiple', () => {
    const w = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 10_000 });
    // origin 0, 1 s GOP, target 2 s; key frames at 0,1,2,...; first boundary needs a previous key frame.
    for (let i = 0; i < 25 * 9 + 1; i++) w.add(vu(i, { dts: i * FRAME }));
    const segs = w.completedSegments(2);
    expect(strip(segs)).toEqual([
      { number: 2, startDts: 180000, endDts: 360000, discontinuity: false },
      { number: 3, startDts: 360000, endDts: 540000, discontinuity: false },
      { number: 4, startDts: 540000, endDts: 720000, discontinuity: false },
    ]);
    expect(segs[0]!.first).toBe(50);
    expect(segs[0]!.end).toBe(100);
    expect(w.samples.sync[segs[1]!.first]).toBe(1);
  });

  it('places cuts near the target with GOPs that do not divide it', () => {
    const w = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 10_000 });
    // 1.6 s GOP (40 frames), target 2 s: key frames at 0,1.6,3.2,4.8,6.4,8.0,9.6,...
    for (let i = 0; i < 400; i++) w.add(vu(i, { dts: i * FRAME, gop: 40 }));
    const segs = w.completedSegments(2);
    expect(segs.map((s) => [s.number, s.startDts / 90000])).toEqual([
      [2, 3.2],
      [3, 4.8],
      [4, 6.4],
      [5, 8],
      [6, 11.2],
      [7, 12.8],
    ]);
    for (const s of segs) expect(s.startDts / 90000 - (s.number - 1) * 2).toBeLessThan(1.6);
  });

  it('numbers segments identically in a window that joined mid-stream at a key frame', () => {
    const a = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 100_000 });
    const b = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 100_000 });
    const units = Array.from({ length: 1500 }, (_, i) => vu(i, { gop: 30 })); // irregular vs the 6 s target
    let joinedA: LiveSegment[] = [];
    for (const u of units) {
      a.add(u);
      joinedA = a.completedSegments(6);
    }
    const joinAt = 630; // a key frame, mid-segment
    expect(units[joinAt]!.key).toBe(true);
    for (const u of units.slice(joinAt)) b.add(u);
    const fromB = strip(b.completedSegments(6));
    expect(fromB.length).toBeGreaterThanOrEqual(4);
    const fromA = strip(joinedA);
    const common = fromA.filter((s) => fromB.some((x) => x.number === s.number));
    expect(common).toEqual(fromB);
    // consecutive numbers
    for (let i = 1; i < fromA.length; i++) expect(fromA[i]!.number).toBe(fromA[i - 1]!.number + 1);
  });

  it('keeps reporting segments as the window evicts', () => {
    const w = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 200 });
    const seen = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      w.add(vu(i, { dts: i * FRAME }));
      for (const s of w.completedSegments(2)) {
        expect(s.first).toBeGreaterThanOrEqual(0);
        expect(s.end).toBeLessThanOrEqual(w.samples.count);
        expect(w.samples.dts[s.first]).toBe(s.startDts);
        const prev = seen.get(s.number);
        if (prev !== undefined) expect(prev).toBe(s.startDts);
        seen.set(s.number, s.startDts);
      }
    }
    expect([...seen.keys()]).toEqual(Array.from({ length: 38 }, (_, i) => i + 2));
  });

  it('ends the segment at a discontinuity and flags the next one', () => {
    const w = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 10_000 });
    for (let i = 0; i < 130; i++) w.add(vu(i, { dts: i * FRAME })); // keys every second
    // loss: frames 130..139 missing; 140 arrives flagged, non-key -> dropped until key 150 (6 s)
    for (let i = 140; i < 150; i++) w.add(vu(i, { dts: i * FRAME, disc: i === 140 }));
    for (let i = 150; i < 300; i++) w.add(vu(i, { dts: i * FRAME }));
    const segs = strip(w.completedSegments(2));
    expect(segs).toEqual([
      { number: 2, startDts: 180000, endDts: 360000, discontinuity: false },
      // ends at the last frame before the loss; its duration is the previous one
      { number: 3, startDts: 360000, endDts: 130 * FRAME, discontinuity: false },
      // 150 * FRAME = 6 s is bucket 3: number 4, forced to start at the discontinuity
      { number: 4, startDts: 150 * FRAME, endDts: 200 * FRAME, discontinuity: true },
      { number: 5, startDts: 200 * FRAME, endDts: 250 * FRAME, discontinuity: false },
    ]);
    const i = w.samples.dts.indexOf(150 * FRAME);
    expect(w.discontinuityAt(i)).toBe(true);
    expect(w.samples.duration[i - 1]).toBe(FRAME);
  });

  it('renumbers after a timebase that goes backwards instead of reusing numbers', () => {
    const w = new LiveTrackWindow({ kind: 'video', timescale: 90000, maxSamples: 10_000 });
    for (let i = 0; i < 150; i++) w.add(vu(i, { dts: i * FRAME }));
    // DTS jumps back to 0 without a flag: treated as a discontinuity
    for (let i = 0; i < 200; i++) w.add(vu(i, { dts: i * FRAME }));
    const segs = strip(w.completedSegments(2));
    expect(segs.map((s) => s.number)).toEqual([2, 3, 4, 5, 6]);
    expect(segs.map((s) => s.discontinuity)).toEqual([false, false, true, false, false]);
    expect(segs[1]!.endDts).toBe(150 * FRAME);
    expect(segs[2]!.startDts).toBe(0);
    expect(segs[3]!.startDts).toBe(180000);
  });
});
