import { describe, expect, it } from 'vitest';
import { PackagerError } from '../../../src/media/errors.js';
import { buildMediaPlaylist } from '../../../src/manifest/hls/media.js';
import { buildPresentation } from '../../../src/manifest/types.js';
import { aac, constant, cutAt, cutFromDurations, makeTrack, parseM3u8, plan, video24 } from './helpers.js';

function mediaOf(durations: number[], timescale = 1000): string {
  const p = buildPresentation(plan([cutFromDurations({ id: 1, kind: 'video', timescale }, durations, durations.map(() => 1000))]));
  return buildMediaPlaylist(p, p.video[0]!, 'ts');
}

describe('buildMediaPlaylist', () => {
  it('lists every segment of a TS rendition', () => {
    const p = buildPresentation(plan([video24(1), aac(2, 'eng')]));
    const text = buildMediaPlaylist(p, p.video[0]!, 'ts');
    const { manifest, warnings } = parseM3u8(text);
    expect(warnings).toEqual([]);
    expect(manifest.version).toBe(3);
    expect(manifest.targetDuration).toBe(4);
    expect(manifest.mediaSequence).toBe(1);
    expect(manifest.playlistType).toBe('VOD');
    expect(manifest.independentSegments).toBe(true);
    expect(manifest.endList).toBe(true);
    expect(manifest.segments.map((s) => [s.uri, s.duration, s.map])).toEqual([
      ['v1/1.ts', 4, undefined],
      ['v1/2.ts', 4, undefined],
      ['v1/3.ts', 4, undefined],
    ]);
    expect(text).toContain('#EXTINF:4.000000,\nv1/1.ts\n');
  });

  it('writes fMP4 with EXT-X-MAP and .m4s segments at version 6', () => {
    const p = buildPresentation(plan([video24(1), aac(2, 'eng')]));
    const { manifest, warnings } = parseM3u8(buildMediaPlaylist(p, p.audio[0]!, 'fmp4'));
    expect(warnings).toEqual([]);
    expect(manifest.version).toBe(6);
    // audio cut at AAC frames 188 and 375: 192512, 191488 and 192512 samples at 48 kHz
    expect(manifest.segments.map((s) => [s.uri, s.duration, s.map?.uri])).toEqual([
      ['a2/1.m4s', 4.010667, 'a2/init.mp4'],
      ['a2/2.m4s', 3.989333, 'a2/init.mp4'],
      ['a2/3.m4s', 4.010667, 'a2/init.mp4'],
    ]);
    expect(manifest.targetDuration).toBe(4);
  });

  it('lists only the segments of a track that ends early', () => {
    const audio = cutAt(makeTrack({ id: 2, kind: 'audio', timescale: 48000, durations: constant(375, 1024), language: 'eng' }), [0, 188]);
    const p = buildPresentation(plan([video24(1), audio]));
    const { manifest, warnings } = parseM3u8(buildMediaPlaylist(p, p.audio[0]!, 'ts'));
    expect(warnings).toEqual([]);
    expect(manifest.segments.map((s) => [s.uri, s.duration])).toEqual([
      ['a2/1.ts', 4.010667],
      ['a2/2.ts', 3.989333],
    ]);
  });

  it('handles a short last segment', () => {
    const { manifest, warnings } = parseM3u8(mediaOf([4000, 4000, 1234]));
    expect(warnings).toEqual([]);
    expect(manifest.segments.map((s) => s.duration)).toEqual([4, 4, 1.234]);
    expect(manifest.targetDuration).toBe(4);
  });

  it('sets TARGETDURATION from the EXTINF values as rounded in the playlist', () => {
    expect(parseM3u8(mediaOf([4000, 4500, 3000])).manifest.targetDuration).toBe(5);
    expect(parseM3u8(mediaOf([4000, 4490, 3000])).manifest.targetDuration).toBe(4);
    // 4.4999996 s prints as 4.500000, which rounds to 5
    const text = mediaOf([44999996, 40000000], 10000000);
    expect(text).toContain('#EXTINF:4.500000,');
    expect(parseM3u8(text).manifest.targetDuration).toBe(5);
    // never 0, even for a title shorter than half a second
    expect(parseM3u8(mediaOf([300])).manifest.targetDuration).toBe(1);
  });

  it('prints 6 decimals exactly for NTSC frame durations', () => {
    const t = makeTrack({ id: 1, kind: 'video', timescale: 30000, durations: constant(300, 1001) });
    const p = buildPresentation(plan([cutAt(t, [0, 120, 240])]));
    const text = buildMediaPlaylist(p, p.video[0]!, 'fmp4');
    expect(text).toContain('#EXTINF:4.004000,\nv1/1.m4s');
    expect(text).toContain('#EXTINF:2.002000,\nv1/3.m4s');
    expect(parseM3u8(text).warnings).toEqual([]);
  });

  it('appends the query to the map and every segment', () => {
    const p = buildPresentation(plan([video24(1)]));
    const text = buildMediaPlaylist(p, p.video[0]!, 'fmp4', { query: '?token=abc' });
    const { manifest, warnings } = parseM3u8(text);
    expect(warnings).toEqual([]);
    expect(manifest.segments.map((s) => s.uri)).toEqual(['v1/1.m4s?token=abc', 'v1/2.m4s?token=abc', 'v1/3.m4s?token=abc']);
    expect(manifest.segments[0]!.map!.uri).toBe('v1/init.mp4?token=abc');
    // a hostile token cannot add playlist lines or break a quoted attribute
    const evil = buildMediaPlaylist(p, p.video[0]!, 'fmp4', { query: 'a="b"\n#EXT-X-ENDLIST' });
    expect(evil).toContain('#EXT-X-MAP:URI="v1/init.mp4?a=%22b%22%0A%23EXT-X-ENDLIST"');
    expect(evil.split('\n').filter((l) => l === '#EXT-X-ENDLIST')).toHaveLength(1);
  });

  it('writes key lines before EXT-X-MAP and raises the version they need', () => {
    const p = buildPresentation(plan([video24(1)]));
    const key = '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="https://k.example/k",KEYFORMAT="identity"';
    const ts = buildMediaPlaylist(p, p.video[0]!, 'ts', { keyLines: [key] });
    const parsed = parseM3u8(ts);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.manifest.version).toBe(5);
    expect(parsed.manifest.segments[0]!.key).toMatchObject({ method: 'SAMPLE-AES', uri: 'https://k.example/k' });
    const fmp4 = buildMediaPlaylist(p, p.video[0]!, 'fmp4', { keyLines: [key] });
    expect(fmp4.indexOf(key)).toBeLessThan(fmp4.indexOf('#EXT-X-MAP'));
    expect(parseM3u8(fmp4).manifest.version).toBe(6);
    const aes = buildMediaPlaylist(p, p.video[0]!, 'ts', { keyLines: ['#EXT-X-KEY:METHOD=AES-128,URI="k"'] });
    expect(parseM3u8(aes).manifest.version).toBe(3);
    expect(() => buildMediaPlaylist(p, p.video[0]!, 'ts', { keyLines: ['#EXT-X-KEY:METHOD=NONE\nx.ts'] })).toThrow(
      PackagerError,
    );
  });

  it('writes a key line before every segment with segmentKeyLine, given the segment number', () => {
    const p = buildPresentation(plan([video24(1)]));
    const iv = (n: number): string => `0x${n.toString(16).padStart(32, '0')}`;
    const text = buildMediaPlaylist(p, p.video[0]!, 'ts', {
      query: 'token=t',
      segmentKeyLine: (n) => `#EXT-X-KEY:METHOD=AES-128,URI="/keys/k?token=t",IV=${iv(n)}`,
    });
    const { manifest, warnings } = parseM3u8(text);
    expect(warnings).toEqual([]);
    expect(manifest.version).toBe(3);
    expect(manifest.segments.map((s) => [s.uri, s.key?.method, s.key?.uri, Array.from(s.key!.iv!, (w) => w.toString(16).padStart(8, '0')).join('')])).toEqual([
      ['v1/1.ts?token=t', 'AES-128', '/keys/k?token=t', '00000000000000000000000000000001'],
      ['v1/2.ts?token=t', 'AES-128', '/keys/k?token=t', '00000000000000000000000000000002'],
      ['v1/3.ts?token=t', 'AES-128', '/keys/k?token=t', '00000000000000000000000000000003'],
    ]);
    // Each key line directly precedes its segment's EXTINF.
    expect(text).toContain(`#EXT-X-KEY:METHOD=AES-128,URI="/keys/k?token=t",IV=${iv(2)}\n#EXTINF:4.000000,\nv1/2.ts?token=t\n`);
    // SAMPLE-AES lines raise the version to 5; a line that is not one tag is refused.
    const sa = buildMediaPlaylist(p, p.video[0]!, 'ts', { segmentKeyLine: () => '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k",IV=0x00000000000000000000000000000001' });
    expect(parseM3u8(sa).manifest.version).toBe(5);
    expect(() => buildMediaPlaylist(p, p.video[0]!, 'ts', { segmentKeyLine: () => '#EXT-X-KEY:METHOD=NONE\nx.ts' })).toThrow(PackagerError);
  });
});
