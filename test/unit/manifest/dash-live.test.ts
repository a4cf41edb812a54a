import { describe, expect, it } from 'vitest';
import { PackagerError } from '../../../src/media/errors.js';
import {
  buildLiveMpd,
  findLivePeriodAnchor,
  frameRateFraction,
  startsLivePeriod,
  type DynamicLiveMpdOptions,
  type StaticLiveMpdOptions,
} from '../../../src/manifest/dash/live-mpd.js';
import type { LiveRendition } from '../../../src/manifest/live-paths.js';
import type { LiveSegmentInfo } from '../../../src/source/live/types.js';
import { AUDIO, AUDIO_DELAY, liveWindow, T0, VIDEO, type LiveSegSpec } from './live-window.js';
import { child, expandTimeline, findAll, makeTrack, parseMpdXml, templateOf, type XmlElement } from './helpers.js';

const window = (specs: LiveSegSpec[]): LiveSegmentInfo[] => liveWindow(specs, 'c1');

function renditions(): LiveRendition[] {
  return [
    {
      id: 'v256',
      track: makeTrack({ id: VIDEO, kind: 'video', timescale: 90_000, durations: [], width: 1280, height: 720 }),
      bandwidth: 1_000_000,
      averageBandwidth: 900_000,
      frameRate: 29.97,
    },
    {
      id: 'a257',
      track: makeTrack({ id: AUDIO, kind: 'audio', timescale: 90_000, durations: [], sampleRate: 48_000, language: 'eng' }),
      bandwidth: 128_000,
      averageBandwidth: 128_000,
    },
  ];
}

function dynamic(segments: LiveSegmentInfo[], opts: Partial<DynamicLiveMpdOptions> = {}): string {
  return buildLiveMpd({
    type: 'dynamic',
    renditions: renditions(),
    segments,
    periodOf: (s) => s.configId,
    now: T0 + 12_345,
    timeShiftBufferDepth: 60,
    minimumUpdatePeriod: 2,
    suggestedPresentationDelay: 6,
    minBufferTime: 4,
    utcTimingUrl: 'https://origin.example/time?x=1&y=2',
    ...opts,
  });
}

function staticMpd(segments: LiveSegmentInfo[], opts: Partial<StaticLiveMpdOptions> = {}): string {
  return buildLiveMpd({ type: 'static', renditions: renditions(), segments, periodOf: (s) => s.configId, minBufferTime: 4, ...opts });
}

const parse = parseMpdXml;

/** Per Period: id, start, and per representation its template attributes and expanded timeline. */
interface RepView {
  attrs: Record<string, string>;
  timeline: Array<{ t: number; d: number }>;
}

function periods(mpd: XmlElement): Array<{ id?: string; start?: string; reps: Record<string, RepView> }> {
  return findAll(mpd, 'Period').map((p) => {
    const reps: Record<string, RepView> = {};
    for (const set of findAll(p, 'AdaptationSet')) {
      for (const rep of findAll(set, 'Representation')) {
        const tpl = templateOf(set, rep);
        reps[rep.attrs.id!] = { attrs: tpl.attrs, timeline: expandTimeline(tpl) };
      }
    }
    return { id: p.attrs.id, start: p.attrs.start, reps };
  });
}

describe('buildLiveMpd (dynamic)', () => {
  it('writes a well-formed dynamic MPD with one Period over a continuous window', () => {
    const xml = dynamic(window([{}, {}, {}, {}, {}]));
    const mpd = parse(xml, true);
    expect(mpd.attrs).toEqual({
      xmlns: 'urn:mpeg:dash:schema:mpd:2011',
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'xmlns:cenc': 'urn:mpeg:cenc:2013',
      'xsi:schemaLocation': 'urn:mpeg:dash:schema:mpd:2011 DASH-MPD.xsd',
      profiles: 'urn:mpeg:dash:profile:isoff-live:2011',
      type: 'dynamic',
      availabilityStartTime: '1970-01-01T00:00:00Z',
      publishTime: '2025-11-24T16:00:12.345Z',
      minimumUpdatePeriod: 'PT2.000S',
      timeShiftBufferDepth: 'PT60.000S',
      suggestedPresentationDelay: 'PT6.000S',
      minBufferTime: 'PT4.000S',
    });
    // UTCTiming after the Periods (schema order)
    expect(mpd.children.map((c) => c.name)).toEqual(['Period', 'UTCTiming']);
    expect(child(mpd, 'UTCTiming')!.attrs).toEqual({ schemeIdUri: 'urn:mpeg:dash:utc:http-iso:2014', value: 'https://origin.example/time?x=1&y=2' });

    const [p] = periods(mpd);
    expect([p!.id, p!.start]).toEqual(['p1000', 'PT1764000000.000S']);
    expect(p!.reps.v256!.attrs).toEqual({
      timescale: '90000',
      presentationTimeOffset: '900000',
      startNumber: '1000',
      initialization: 'dash/$RepresentationID$/init-c1.mp4',
      media: 'dash/$RepresentationID$/$Number$.m4s',
    });
    expect(p!.reps.a257!.attrs.presentationTimeOffset).toBe('900000');
    expect(p!.reps.a257!.timeline[0]).toEqual({ t: 900_000 + AUDIO_DELAY, d: 180_000 });
    // equal contiguous durations fold into r
    const sets = findAll(mpd, 'AdaptationSet');
    expect(findAll(sets[0]!, 'S').map((s) => s.attrs)).toEqual([{ t: '900000', d: '180000', r: '4' }]);
    expect(findAll(sets[1]!, 'S').map((s) => s.attrs)).toEqual([{ t: '900900', d: '180000', r: '4' }]);
  });

  it('describes the representations as VOD does', () => {
    const mpd = parse(dynamic(window([{}])));
    const [video, audio] = findAll(mpd, 'AdaptationSet') as [XmlElement, XmlElement];
    expect(video.attrs).toMatchObject({ contentType: 'video', mimeType: 'video/mp4', maxWidth: '1280', maxHeight: '720', maxFrameRate: '30000/1001' });
    expect(child(video, 'Representation')!.attrs).toEqual({
      id: 'v256',
      bandwidth: '1000000',
      codecs: 'avc1.64001f',
      width: '1280',
      height: '720',
      frameRate: '30000/1001',
      sar: '1:1',
    });
    expect(audio.attrs).toMatchObject({ contentType: 'audio', lang: 'eng', mimeType: 'audio/mp4' });
    expect(child(audio, 'Role')!.attrs.value).toBe('main');
    expect(child(audio, 'Representation')!.attrs).toEqual({ id: 'a257', bandwidth: '128000', codecs: 'mp4a.40.2', audioSamplingRate: '48000' });
  });

  it('writes t again where a track timeline is not contiguous, and r only for equal runs', () => {
    const segments = window([{}, { audioDuration: 179_999 }, {}, { duration: 200_000 }, { duration: 200_000 }]);
    const mpd = parse(dynamic(segments));
    const [, audio] = findAll(mpd, 'AdaptationSet') as [XmlElement, XmlElement];
    expect(findAll(audio, 'S').map((s) => s.attrs)).toEqual([
      { t: '900900', d: '180000' },
      { d: '179999' },
      // the next segment's audio starts where the segment does: one tick later than the last ended
      { t: '1260900', d: '180000' },
      { d: '200000', r: '1' },
    ]);
    const [p] = periods(mpd);
    expect(p!.reps.a257!.timeline.map((e) => e.t)).toEqual(segments.map((s) => s.tracks[1]!.start));
  });

  it('starts a Period at a period change, a discontinuity, a number gap and a track set change', () => {
    const segments = window([
      {},
      {},
      { period: 'c2' }, // key rotation: new init
      {},
      { discontinuity: true, start: 50_000_000, wallClock: T0 + 100_000 },
      {},
      { number: 2000 }, // long GOP or jump
      {},
      { audio: false }, // audio lost
      { audio: false },
    ]);
    const mpd = parse(dynamic(segments), true);
    const ps = periods(mpd);
    expect(ps.map((p) => [p.id, p.start, Object.keys(p.reps)])).toEqual([
      ['p1000', 'PT1764000000.000S', ['v256', 'a257']],
      ['p1002', 'PT1764000004.000S', ['v256', 'a257']],
      ['p1004', 'PT1764000100.000S', ['v256', 'a257']],
      ['p2000', 'PT1764000104.000S', ['v256', 'a257']],
      ['p2002', 'PT1764000108.000S', ['v256']],
    ]);
    expect(ps.map((p) => [p.reps.v256!.attrs.startNumber, p.reps.v256!.attrs.presentationTimeOffset, p.reps.v256!.attrs.initialization])).toEqual([
      ['1000', '900000', 'dash/$RepresentationID$/init-c1.mp4'],
      ['1002', '1260000', 'dash/$RepresentationID$/init-c2.mp4'],
      ['1004', '50000000', 'dash/$RepresentationID$/init-c2.mp4'],
      ['2000', '50360000', 'dash/$RepresentationID$/init-c2.mp4'],
      ['2002', '50720000', 'dash/$RepresentationID$/init-c2.mp4'],
    ]);
    // every segment is in exactly one Period, numbered consecutively inside it
    const numbers = ps.flatMap((p) => p.reps.v256!.timeline.map((_, i) => Number(p.reps.v256!.attrs.startNumber) + i));
    expect(numbers).toEqual(segments.map((s) => s.number));
    // the exported rule is the one used
    expect(segments.map((s, i) => startsLivePeriod(segments[i - 1], s, (x) => x.configId))).toEqual([
      true, false, true, false, true, false, true, false, true, false,
    ]);
  });

  it('clamps a Period that would start before the previous one ends (clock jitter)', () => {
    // the restart's wall clock is 500 ms before the end of segment 1001 (T0 + 4000)
    const segments = window([{}, {}, { discontinuity: true, start: 9_000_000, wallClock: T0 + 3500 }, {}]);
    const ps = periods(parse(dynamic(segments)));
    expect(ps.map((p) => p.start)).toEqual(['PT1764000000.000S', 'PT1764000004.000S']);
    // a later start is kept as is (a gap players skip)
    const later = window([{}, { discontinuity: true, wallClock: T0 + 2001 }]);
    expect(periods(parse(dynamic(later))).map((p) => p.start)).toEqual(['PT1764000000.000S', 'PT1764000002.001S']);
    // a fractional end is rounded up: never starts inside the previous content
    const ntsc = window([{ duration: 177_177 }, { discontinuity: true, wallClock: T0 }]);
    expect(periods(parse(dynamic(ntsc))).map((p) => p.start)).toEqual(['PT1764000000.000S', 'PT1764000001.969S']);
  });

  it('keeps wall clocks to the millisecond at epoch scale', () => {
    const segments = window([{ wallClock: 1_764_000_000_123 }]);
    expect(periods(parse(dynamic(segments)))[0]!.start).toBe('PT1764000000.123S');
    expect(periods(parse(dynamic(window([{ wallClock: 9_999_999_999_999.6 }]))))[0]!.start).toBe('PT10000000000.000S');
  });

  it('keeps the first Period stable while the window slides through it (periodAnchor)', () => {
    const all = window([{}, {}, {}, {}, {}, {}, {}, {}]);
    const periodOf = (s: LiveSegmentInfo): string => s.configId;
    const early = periods(parse(dynamic(all.slice(0, 5))))[0]!;
    const anchor = findLivePeriodAnchor(all, 3, periodOf);
    expect(anchor.number).toBe(1000);
    const late = periods(parse(dynamic(all.slice(3), { periodAnchor: anchor })))[0]!;
    expect([late.id, late.start]).toEqual([early.id, early.start]);
    expect(late.reps.v256!.attrs).toEqual({ ...early.reps.v256!.attrs, startNumber: '1003' });
    // segment 1003 sits at the same presentation time in both
    expect(late.reps.v256!.timeline[0]).toEqual(early.reps.v256!.timeline[3]);
    // without the anchor the Period follows the window (fine for a one-off MPD, not for updates)
    expect(periods(parse(dynamic(all.slice(3))))[0]!.id).toBe('p1003');

    // the anchor search stops at Period boundaries
    const split = window([{}, {}, { period: 'c2' }, {}, {}]);
    expect(findLivePeriodAnchor(split, 4, periodOf).number).toBe(1002);
    expect(findLivePeriodAnchor(split, 1, periodOf).number).toBe(1000);
    expect(() => dynamic(split.slice(3), { periodAnchor: split[0] })).toThrow(PackagerError);
    expect(() => dynamic(split.slice(0, 2), { periodAnchor: split[3] })).toThrow(PackagerError);
  });

  it('puts each period’s ContentProtection in its AdaptationSets, with namespaces and the query', () => {
    const segments = window([{ period: 'k1' }, { period: 'k2' }]);
    const xml = dynamic(segments, {
      contentProtection: (period, first) =>
        `<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="${period}-${first.id}"/>\n` +
        '<ContentProtection schemeIdUri="urn:uuid:9a04f079-9840-4286-ab92-e65be0885f95"><mspr:pro>AAAA</mspr:pro></ContentProtection>',
      extraNamespaces: { mspr: 'urn:microsoft:playready' },
      query: '?token=a$b c',
    });
    const mpd = parse(xml, true);
    expect(mpd.attrs['xmlns:mspr']).toBe('urn:microsoft:playready');
    const kids = findAll(mpd, 'Period').map((p) =>
      findAll(p, 'AdaptationSet').map((s) => child(s, 'ContentProtection')!.attrs['cenc:default_KID']),
    );
    expect(kids).toEqual([
      ['k1-v256', 'k1-a257'],
      ['k2-v256', 'k2-a257'],
    ]);
    // ContentProtection first in the set, as the schema wants
    expect(findAll(mpd, 'AdaptationSet')[0]!.children[0]!.name).toBe('ContentProtection');
    const tpl = findAll(mpd, 'SegmentTemplate')[0]!;
    expect(tpl.attrs.initialization).toBe('dash/$RepresentationID$/init-k1.mp4?token=a$$b%20c');
    expect(tpl.attrs.media).toBe('dash/$RepresentationID$/$Number$.m4s?token=a$$b%20c');
  });

  it('rejects what cannot be written', () => {
    expect(() => dynamic([])).toThrow(PackagerError);
    expect(() => dynamic(window([{}]), { periodOf: () => 'a/b' })).toThrow(PackagerError);
    expect(() => dynamic(window([{}]), { timeShiftBufferDepth: Number.NaN })).toThrow(PackagerError);
    expect(() => dynamic(window([{}]), { minBufferTime: -1 })).toThrow(PackagerError);
    expect(() => dynamic(window([{}]), { now: Number.POSITIVE_INFINITY })).toThrow(PackagerError);
    expect(() => dynamic(window([{}]), { extraNamespaces: { 'bad prefix': 'x' } })).toThrow(PackagerError);
  });
});

describe('buildLiveMpd (static timeshift)', () => {
  it('lays Periods back to back from 0 and sums their durations', () => {
    const segments = window([{}, {}, { duration: 177_177 }, { discontinuity: true, start: 9_000_000, wallClock: T0 + 600_000 }, {}]);
    const mpd = parse(staticMpd(segments), true);
    expect(mpd.attrs.type).toBe('static');
    for (const name of ['availabilityStartTime', 'publishTime', 'minimumUpdatePeriod', 'timeShiftBufferDepth', 'suggestedPresentationDelay']) {
      expect(mpd.attrs[name], name).toBeUndefined();
    }
    expect(findAll(mpd, 'UTCTiming')).toEqual([]);
    // 2 + 2 + 1.968633 s, then 2 + 2 s; the first Period's end is rounded up to the millisecond
    expect(periods(mpd).map((p) => [p.id, p.start, p.reps.v256!.attrs.presentationTimeOffset])).toEqual([
      ['p1000', 'PT0.000S', '900000'],
      ['p1003', 'PT5.969S', '9000000'],
    ]);
    expect(mpd.attrs.mediaPresentationDuration).toBe('PT9.969S');
    expect(mpd.attrs.minBufferTime).toBe('PT4.000S');
  });
});

describe('frameRateFraction', () => {
  it('gives DASH fractions for decimal rates', () => {
    expect([25, 29.97, 23.976, 59.94, 12.5, 30, 14.985].map((f) => frameRateFraction(f)?.text)).toEqual([
      '25',
      '30000/1001',
      '24000/1001',
      '60000/1001',
      '25/2',
      '30',
      '15000/1001',
    ]);
    expect(frameRateFraction(undefined)).toBeUndefined();
    expect(frameRateFraction(0)).toBeUndefined();
  });
});
