import { describe, expect, it } from 'vitest';
import { PackagerError } from '../../../src/media/errors.js';
import { buildMpd, segmentTimeline } from '../../../src/manifest/dash/mpd.js';
import { buildPresentation, type Presentation, type Rendition } from '../../../src/manifest/types.js';
import {
  aac,
  child,
  constant,
  cutAt,
  cutFromDurations,
  expandTimeline,
  findAll,
  makeTrack,
  parseMpdXml,
  parseXml,
  plan,
  templateOf,
  video24,
  type XmlElement,
} from './helpers.js';

function title(): Presentation {
  return buildPresentation(
    plan([
      video24(1),
      aac(2, 'eng'),
      aac(3, 'fra', { channels: 6 }),
      video24(4, { sizes: constant(288, 3000), width: 1280, height: 720 }),
    ]),
  );
}

const parse = parseMpdXml;

function expected(r: Rendition): Array<{ t: number; d: number }> {
  const out: Array<{ t: number; d: number }> = [];
  for (let i = 0; i < r.cut.count; i++) out.push({ t: r.cut.start[i]!, d: r.cut.start[i + 1]! - r.cut.start[i]! });
  return out;
}

describe('the test XML reader', () => {
  it('rejects what is not well-formed', () => {
    for (const bad of ['<a><b></a>', '<a x=1/>', '<a x="1" x="2"/>', '<a>&nbsp;</a>', '<a>&</a>', '<a/><b/>', '<a x="<"/>', '<a']) {
      expect(() => parseXml(bad), bad).toThrow();
    }
    expect(parseXml('<?xml version="1.0"?>\n<a x="&amp;"><b/>t</a>\n')).toMatchObject({ name: 'a', attrs: { x: '&' }, text: 't' });
  });
});

describe('buildMpd', () => {
  it('writes a well-formed static MPD', () => {
    const xml = buildMpd(title());
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<MPD ')).toBe(true);
    const mpd = parse(xml, true);
    expect(mpd.name).toBe('MPD');
    expect(mpd.attrs).toMatchObject({
      xmlns: 'urn:mpeg:dash:schema:mpd:2011',
      'xmlns:cenc': 'urn:mpeg:cenc:2013',
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      profiles: 'urn:mpeg:dash:profile:isoff-live:2011',
      type: 'static',
      // audio ends at 563 * 1024 / 48000 = 12.0106667 s, rounded up to the millisecond
      mediaPresentationDuration: 'PT12.011S',
      minBufferTime: 'PT4.011S',
    });
    expect(findAll(mpd, 'Period')).toHaveLength(1);
  });

  it('splits AdaptationSets by type and language and describes each Representation', () => {
    const p = title();
    const mpd = parse(buildMpd(p));
    const sets = findAll(mpd, 'AdaptationSet');
    expect(sets.map((s) => [s.attrs.contentType, s.attrs.lang, s.attrs.mimeType])).toEqual([
      ['video', undefined, 'video/mp4'],
      ['audio', 'eng', 'audio/mp4'],
      ['audio', 'fra', 'audio/mp4'],
    ]);
    expect(new Set(sets.map((s) => s.attrs.id)).size).toBe(3);
    for (const s of sets) expect(s.attrs).toMatchObject({ segmentAlignment: 'true', startWithSAP: '1' });
    const [video, eng, fra] = sets as [XmlElement, XmlElement, XmlElement];
    expect(video.attrs).toMatchObject({ maxWidth: '1280', maxHeight: '720', maxFrameRate: '24' });
    expect(findAll(video, 'Representation').map((r) => r.attrs)).toEqual([
      { id: 'v4', bandwidth: String(p.video[0]!.bandwidth), codecs: 'avc1.64001f', width: '1280', height: '720', frameRate: '24', sar: '1:1' },
      { id: 'v1', bandwidth: '192000', codecs: 'avc1.64001f', width: '640', height: '360', frameRate: '24', sar: '1:1' },
    ]);
    expect(findAll(eng, 'Representation')[0]!.attrs).toEqual({
      id: 'a2',
      bandwidth: String(p.audio[0]!.bandwidth),
      codecs: 'mp4a.40.2',
      audioSamplingRate: '48000',
    });
    const channels = (s: XmlElement): string | undefined => findAll(s, 'AudioChannelConfiguration')[0]?.attrs.value;
    expect(channels(eng)).toBe('2');
    expect(channels(fra)).toBe('6');
    expect(findAll(eng, 'AudioChannelConfiguration')[0]!.attrs.schemeIdUri).toBe(
      'urn:mpeg:dash:23003:3:audio_channel_configuration:2011',
    );
    // the first audio set is the main one; only it carries the Role
    expect(findAll(eng, 'Role').map((r) => r.attrs)).toEqual([{ schemeIdUri: 'urn:mpeg:dash:role:2011', value: 'main' }]);
    expect(findAll(fra, 'Role')).toEqual([]);
    expect(findAll(video, 'Role')).toEqual([]);
  });

  it('gives every Representation the exact per-segment timeline of the plan', () => {
    const p = title();
    const mpd = parse(buildMpd(p));
    for (const set of findAll(mpd, 'AdaptationSet')) {
      for (const rep of findAll(set, 'Representation')) {
        const r = [...p.video, ...p.audio].find((x) => x.id === rep.attrs.id)!;
        const tpl = templateOf(set, rep);
        expect(tpl.attrs).toEqual({
          timescale: String(r.cut.track.timescale),
          initialization: 'dash/$RepresentationID$/init.mp4',
          media: 'dash/$RepresentationID$/$Number$.m4s',
          startNumber: '1',
        });
        const tl = expandTimeline(tpl);
        expect(tl).toHaveLength(p.plan.count);
        expect(tl).toEqual(expected(r));
      }
    }
    // both video renditions share one timeline, so one template at AdaptationSet level, compressed
    const video = findAll(mpd, 'AdaptationSet')[0]!;
    const tpl = child(video, 'SegmentTemplate')!;
    expect(child(tpl, 'SegmentTimeline')!.children.map((s) => s.attrs)).toEqual([{ t: '0', d: '96000', r: '2' }]);
  });

  it('puts the SegmentTemplate in each Representation when timelines differ', () => {
    const p = buildPresentation(
      plan([video24(1), aac(2, 'eng'), aac(3, 'eng', { timescale: 44100, sampleRate: 44100, codecString: 'mp4a.40.2' })]),
    );
    const mpd = parse(buildMpd(p));
    const audio = findAll(mpd, 'AdaptationSet').filter((s) => s.attrs.contentType === 'audio');
    expect(audio).toHaveLength(1);
    const set = audio[0]!;
    expect(child(set, 'SegmentTemplate')).toBeUndefined();
    const reps = findAll(set, 'Representation');
    expect(reps.map((r) => child(r, 'SegmentTemplate')!.attrs.timescale)).toEqual(['48000', '44100']);
    for (const rep of reps) {
      const r = p.audio.find((x) => x.id === rep.attrs.id)!;
      expect(expandTimeline(templateOf(set, rep))).toEqual(expected(r));
    }
  });

  it('handles a short last segment and an irregular timeline', () => {
    const cut = cutFromDurations({ id: 1, kind: 'video', timescale: 90000 }, [360000, 360000, 270000, 360000, 45000], [1, 1, 1, 1, 1]);
    const p = buildPresentation(plan([cut]));
    const mpd = parse(buildMpd(p));
    const tpl = findAll(mpd, 'SegmentTemplate')[0]!;
    expect(child(tpl, 'SegmentTimeline')!.children.map((s) => s.attrs)).toEqual([
      { t: '0', d: '360000', r: '1' },
      { d: '270000' },
      { d: '360000' },
      { d: '45000' },
    ]);
    expect(expandTimeline(tpl)).toEqual(expected(p.video[0]!));
    expect(mpd.attrs.mediaPresentationDuration).toBe('PT15.500S');
  });

  it('folds equal consecutive durations into r and writes t only on the first S', () => {
    const start = Float64Array.from([0, 100, 200, 350, 450]);
    const entries = segmentTimeline(start, 4);
    expect(entries.map((s) => [s.t, s.d, s.r, s.writeT])).toEqual([
      [0, 100, 1, true],
      [200, 150, 0, false],
      [350, 100, 0, false],
    ]);
  });

  it('writes NTSC frame rates as fractions', () => {
    const t = makeTrack({ id: 1, kind: 'video', timescale: 90000, durations: constant(300, 3003) });
    const p = buildPresentation(plan([cutAt(t, [0, 120, 240])]));
    const mpd = parse(buildMpd(p));
    expect(findAll(mpd, 'Representation')[0]!.attrs.frameRate).toBe('30000/1001');
    expect(findAll(mpd, 'AdaptationSet')[0]!.attrs.maxFrameRate).toBe('30000/1001');
  });

  it('appends the query to both templates, escaped for XML and for $ identifiers', () => {
    const xml = buildMpd(title(), { query: '?token=a&b=$x' });
    expect(xml).toContain('media="dash/$RepresentationID$/$Number$.m4s?token=a&amp;b=$$x"');
    const mpd = parse(xml, true);
    for (const tpl of findAll(mpd, 'SegmentTemplate')) {
      expect(tpl.attrs.initialization).toBe('dash/$RepresentationID$/init.mp4?token=a&b=$$x');
      expect(tpl.attrs.media).toBe('dash/$RepresentationID$/$Number$.m4s?token=a&b=$$x');
    }
    expect(xml).not.toContain('??');
  });

  it('inserts ContentProtection first in each AdaptationSet and declares extra namespaces', () => {
    const seen: string[] = [];
    const xml = buildMpd(title(), {
      contentProtection: (r) => {
        seen.push(r.id);
        return [
          '<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="00112233-4455-6677-8899-aabbccddeeff"/>',
          '<ContentProtection schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e" value="ClearKey1.0">',
          '  <dashif:Laurl>https://lic.example/clearkey?a=1&amp;b=2</dashif:Laurl>',
          '</ContentProtection>',
        ].join('\n');
      },
      extraNamespaces: { dashif: 'https://dashif.org/CPS', mspr: 'urn:microsoft:playready' },
    });
    const mpd = parse(xml, true);
    expect(mpd.attrs['xmlns:dashif']).toBe('https://dashif.org/CPS');
    expect(mpd.attrs['xmlns:mspr']).toBe('urn:microsoft:playready');
    expect(seen).toEqual(['v4', 'a2', 'a3']);
    for (const set of findAll(mpd, 'AdaptationSet')) {
      expect(set.children.slice(0, 2).map((c) => c.name)).toEqual(['ContentProtection', 'ContentProtection']);
      expect(findAll(set, 'dashif:Laurl')[0]!.text).toBe('https://lic.example/clearkey?a=1&b=2');
    }
    expect(() => buildMpd(title(), { extraNamespaces: { 'bad prefix': 'x' } })).toThrow(PackagerError);
    expect(() => buildMpd(title(), { extraNamespaces: { xmlns: 'x' } })).toThrow(PackagerError);
  });

  it('escapes attribute values', () => {
    const t = makeTrack({ id: 1, kind: 'video', timescale: 1000, durations: [1000], codecString: 'avc1.64001f"&<' });
    const xml = buildMpd(buildPresentation(plan([cutAt(t, [0])])));
    expect(xml).toContain('codecs="avc1.64001f&quot;&amp;&lt;"');
    expect(findAll(parse(xml), 'Representation')[0]!.attrs.codecs).toBe('avc1.64001f"&<');
  });

  it('ends the timeline of a track that ends early at its own last segment', () => {
    // audio stops after 8 s: two segments where the video has three
    const audio = cutAt(makeTrack({ id: 2, kind: 'audio', timescale: 48000, durations: constant(375, 1024), language: 'eng' }), [0, 188]);
    const p = buildPresentation(plan([video24(1), audio]));
    expect(p.plan.count).toBe(3);
    const mpd = parse(buildMpd(p));
    const [videoSet, audioSet] = findAll(mpd, 'AdaptationSet') as [XmlElement, XmlElement];
    expect(expandTimeline(child(videoSet, 'SegmentTemplate')!)).toHaveLength(3);
    expect(expandTimeline(child(audioSet, 'SegmentTemplate')!)).toEqual(expected(p.audio[0]!));
    expect(expected(p.audio[0]!)).toHaveLength(2);
    expect(mpd.attrs.mediaPresentationDuration).toBe('PT12.000S');
  });

  it('writes an audio-only title', () => {
    const p = buildPresentation(plan([aac(2, 'eng'), aac(3, 'und')]));
    const mpd = parse(buildMpd(p));
    const sets = findAll(mpd, 'AdaptationSet');
    expect(sets.map((s) => [s.attrs.contentType, s.attrs.lang])).toEqual([
      ['audio', 'eng'],
      ['audio', undefined],
    ]);
    expect(findAll(sets[0]!, 'Role')).toHaveLength(1);
  });
});
