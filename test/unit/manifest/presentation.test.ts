import { describe, expect, it } from 'vitest';
import { PackagerError } from '../../../src/media/errors.js';
import { buildPresentation, findRendition } from '../../../src/manifest/types.js';
import { aac, constant, cutAt, cutFromDurations, makeTrack, plan, video24 } from './helpers.js';

describe('buildPresentation', () => {
  it('names renditions after their tracks and sorts video by bandwidth, highest first', () => {
    const low = video24(1);
    const high = video24(3, { sizes: constant(288, 3000), width: 1280, height: 720 });
    const p = buildPresentation(plan([low, aac(2, 'eng'), high, aac(4, 'fra')]));
    expect(p.video.map((r) => r.id)).toEqual(['v3', 'v1']);
    expect(p.audio.map((r) => r.id)).toEqual(['a2', 'a4']);
    expect(findRendition(p, 'a4')?.cut.track.language).toBe('fra');
    expect(findRendition(p, 'v9')).toBeUndefined();
    // 96 frames of 1000 bytes per 4 s = 192 kbit/s, every segment alike
    expect(p.video[1]!.bandwidth).toBe(192000);
    expect(p.video[1]!.averageBandwidth).toBe(192000);
    expect(p.video[0]!.bandwidth).toBe(576000);
  });

  it('takes the peak over segments, leaves out segments under 0.5 s and applies the overhead', () => {
    const cut = cutFromDurations({ id: 1, kind: 'video', timescale: 1000 }, [4000, 4000, 200], [400000, 500000, 100000]);
    const p = buildPresentation(plan([cut]));
    expect(p.video[0]!.bandwidth).toBe(1000000); // 500000 B in 4 s; the 0.2 s tail (4 Mbit/s) is ignored
    expect(p.video[0]!.averageBandwidth).toBe(975610); // 8 Mbit / 8.2 s = 975609.76, rounded up
    const ts = buildPresentation(plan([cut]), { overhead: 1.1 });
    expect(ts.video[0]!.bandwidth).toBe(1100000); // not 1100001 from 1000000 * 1.1 float noise
    expect(ts.video[0]!.averageBandwidth).toBe(1073171);
  });

  it('uses every segment when all are short, and never reports a peak below the average', () => {
    const short = cutFromDurations({ id: 1, kind: 'audio', timescale: 1000 }, [300, 200], [3000, 4000]);
    expect(buildPresentation(plan([short])).audio[0]!.bandwidth).toBe(160000);
    const bigTail = cutFromDurations({ id: 1, kind: 'audio', timescale: 1000 }, [1000, 400], [1000, 100000]);
    const r = buildPresentation(plan([bigTail])).audio[0]!;
    expect(r.averageBandwidth).toBe(577143);
    expect(r.bandwidth).toBe(r.averageBandwidth);
  });

  it('measures the frame rate from the most common sample duration', () => {
    const ntsc = makeTrack({ id: 1, kind: 'video', timescale: 24000, durations: [...constant(100, 1001), 500, 2002] });
    const p = buildPresentation(plan([cutAt(ntsc, [0, 50])]));
    expect(p.video[0]!.frameRate).toBe(23.976);
    expect(p.video[0]!.frameDuration).toBe(1001);
    expect(buildPresentation(plan([video24()])).video[0]!.frameRate).toBe(24);
    expect(buildPresentation(plan([aac(2, 'eng')])).audio[0]!.frameRate).toBeUndefined();
  });

  it('gives the duration of the longest track in seconds', () => {
    const p = buildPresentation(plan([video24(), aac(2, 'eng')]));
    expect(p.duration).toBeCloseTo((563 * 1024) / 48000, 9);
  });

  it('refuses a cut that does not match the plan', () => {
    const cut = video24();
    expect(() => buildPresentation({ count: 2, targetDuration: 4, cuts: [cut] })).toThrow(PackagerError);
    expect(() => buildPresentation(plan([{ ...cut, count: 2 }]))).toThrow(PackagerError);
    expect(() => buildPresentation(plan([cut]), { overhead: 0 })).toThrow(PackagerError);
  });
});
