import { describe, expect, it } from 'vitest';
import { PeriodHeads, startsPeriod } from '../../../../src/source/live/periods.js';
import { keyPeriodOf } from '../../../../src/keys/rotation.js';
import type { LiveSegmentInfo } from '../../../../src/source/live/types.js';

const T = 180_000; // 2 s at 90 kHz

function seg(number: number, o: Partial<LiveSegmentInfo> & { pids?: number[] } = {}): LiveSegmentInfo {
  const start = o.start ?? number * T;
  return {
    number,
    start,
    duration: T,
    discontinuity: o.discontinuity ?? false,
    wallClock: o.wallClock ?? 1_764_000_000_000 + (start / 90),
    configId: o.configId ?? 'aaaaaaaaaaaa',
    tracks: (o.pids ?? [256, 257]).map((id, i) => ({ id, kind: i === 0 ? 'video' : 'audio', start, duration: T, bytes: 1000 })),
  };
}

describe('startsPeriod', () => {
  it('splits at breaks, number gaps, codec and track changes, and key periods', () => {
    const every5 = (s: { number: number; start: number }) => keyPeriodOf({ segments: 5 }, s);
    expect(startsPeriod(undefined, seg(1), undefined)).toBe(true);
    expect(startsPeriod(seg(1), seg(2), undefined)).toBe(false);
    expect(startsPeriod(seg(1), seg(2, { discontinuity: true }), undefined)).toBe(true);
    expect(startsPeriod(seg(1), seg(3), undefined)).toBe(true);
    expect(startsPeriod(seg(1), seg(2, { configId: 'bbbbbbbbbbbb' }), undefined)).toBe(true);
    expect(startsPeriod(seg(1), seg(2, { pids: [256] }), undefined)).toBe(true);
    expect(startsPeriod(seg(1), seg(2, { pids: [256, 258] }), undefined)).toBe(true);
    expect(startsPeriod(seg(4), seg(5), every5)).toBe(false);
    expect(startsPeriod(seg(5), seg(6), every5)).toBe(true);
  });
});

describe('PeriodHeads', () => {
  it('remembers the head of a Period after it has left the window, and forgets it with the Period', () => {
    const heads = new PeriodHeads(undefined);
    for (let n = 1; n <= 10; n++) heads.add(seg(n));
    heads.forgetBefore(8);
    expect(heads.headOf(8)?.number).toBe(1);
    expect(heads.headOf(10)?.number).toBe(1);
    heads.add(seg(11, { discontinuity: true, start: 0 }));
    heads.add(seg(12, { start: T }));
    expect(heads.headOf(12)?.number).toBe(11);
    expect(heads.headOf(9)?.number).toBe(1);
    // Once the window starts in the new run, the old run's head is gone.
    heads.forgetBefore(11);
    expect(heads.headOf(9)).toBeUndefined();
    expect(heads.headOf(12)?.number).toBe(11);
  });

  it('keeps one head per key period', () => {
    const heads = new PeriodHeads((s) => keyPeriodOf({ seconds: 10 }, s));
    // 2 s segments: key period 0 = numbers 0..4 by start (start = number * 2 s)
    for (let n = 3; n <= 14; n++) heads.add(seg(n));
    heads.forgetBefore(7);
    expect(heads.headOf(7)?.number).toBe(5);
    expect(heads.headOf(9)?.number).toBe(5);
    expect(heads.headOf(10)?.number).toBe(10);
    expect(heads.headOf(14)?.number).toBe(10);
    expect(heads.headOf(4)).toBeUndefined();
  });

  it('finds the heads again in what is listed when the rotation rule changes', () => {
    const heads = new PeriodHeads(undefined);
    const listed = [6, 7, 8, 9, 10, 11].map((n) => seg(n));
    for (let n = 1; n <= 11; n++) heads.add(seg(n));
    heads.reset((s) => keyPeriodOf({ segments: 5 }, s), listed);
    expect(heads.headOf(7)?.number).toBe(6);
    expect(heads.headOf(11)?.number).toBe(11);
    heads.add(seg(12));
    expect(heads.headOf(12)?.number).toBe(11);
  });

  it('starts afresh when nothing is listed', () => {
    const heads = new PeriodHeads(undefined);
    heads.add(seg(1));
    heads.forgetBefore(undefined);
    heads.add(seg(2));
    expect(heads.headOf(2)?.number).toBe(2);
  });
});
