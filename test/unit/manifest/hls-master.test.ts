import { describe, expect, it } from 'vitest';
import { PackagerError } from '../../../src/media/errors.js';
import { buildMasterPlaylist } from '../../../src/manifest/hls/master.js';
import { buildPresentation } from '../../../src/manifest/types.js';
import { aac, constant, parseM3u8, plan, video24 } from './helpers.js';

// two video bitrates (360p, 720p) and two audio languages
function title(): ReturnType<typeof buildPresentation> {
  return buildPresentation(
    plan([
      video24(1),
      aac(2, 'eng', { sizes: constant(563, 400) }),
      aac(3, 'fra', { sizes: constant(563, 300), channels: 6 }),
      video24(4, { sizes: constant(288, 3000), width: 1280, height: 720, codecString: 'avc1.64001f' }),
    ]),
  );
}

function mediaTag(tags: ReturnType<typeof parseM3u8>['tags'], name: string): Record<string, unknown> {
  const t = tags.find((x) => x.tagType === 'media' && x.attributes?.NAME === name);
  if (!t?.attributes) throw new Error(`no EXT-X-MEDIA ${name}`);
  return t.attributes;
}

describe('buildMasterPlaylist', () => {
  it('writes variants with audio renditions that m3u8-parser reads without warnings (TS)', () => {
    const p = title();
    const text = buildMasterPlaylist(p, 'ts');
    const { manifest, warnings, tags } = parseM3u8(text);
    expect(warnings).toEqual([]);
    expect(manifest.version).toBe(3);
    expect(manifest.independentSegments).toBe(true);

    const audioPeak = Math.max(p.audio[0]!.bandwidth, p.audio[1]!.bandwidth);
    const audioAvg = Math.max(p.audio[0]!.averageBandwidth, p.audio[1]!.averageBandwidth);
    const playlists = manifest.playlists!;
    expect(playlists.map((v) => v.uri)).toEqual(['ts/v4.m3u8', 'ts/v1.m3u8']);
    const [hi, lo] = playlists;
    expect(hi!.attributes.BANDWIDTH).toBe(p.video[0]!.bandwidth + audioPeak);
    expect(hi!.attributes['AVERAGE-BANDWIDTH']).toBe(String(p.video[0]!.averageBandwidth + audioAvg));
    expect(hi!.attributes.CODECS).toBe('avc1.64001f,mp4a.40.2');
    expect(hi!.attributes.RESOLUTION).toEqual({ width: 1280, height: 720 });
    expect(hi!.attributes['FRAME-RATE']).toBe(24);
    expect(hi!.attributes.AUDIO).toBe('aac');
    expect(lo!.attributes.RESOLUTION).toEqual({ width: 640, height: 360 });
    expect(lo!.attributes.BANDWIDTH).toBe(192000 + audioPeak);
    expect(text).toContain('FRAME-RATE=24.000,');

    const group = manifest.mediaGroups!.AUDIO!.aac!;
    expect(Object.keys(group)).toEqual(['English', 'French']);
    expect(group.English).toMatchObject({ language: 'eng', default: true, autoselect: true, uri: 'ts/a2.m3u8' });
    expect(group.French).toMatchObject({ language: 'fra', default: false, autoselect: true, uri: 'ts/a3.m3u8' });
    // m3u8-parser drops CHANNELS: read it from the raw tag events
    expect(mediaTag(tags, 'English').CHANNELS).toBe('2');
    expect(mediaTag(tags, 'French').CHANNELS).toBe('6');
    expect(text).toContain(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="eng",NAME="English",AUTOSELECT=YES,DEFAULT=YES,CHANNELS="2",URI="ts/a2.m3u8"',
    );
  });

  it('writes the fMP4 master at version 6 pointing into hls/', () => {
    const { manifest, warnings } = parseM3u8(buildMasterPlaylist(title(), 'fmp4'));
    expect(warnings).toEqual([]);
    expect(manifest.version).toBe(6);
    expect(manifest.playlists!.map((v) => v.uri)).toEqual(['hls/v4.m3u8', 'hls/v1.m3u8']);
    expect(manifest.mediaGroups!.AUDIO!.aac!.English!.uri).toBe('hls/a2.m3u8');
  });

  it('appends the query to every URI', () => {
    for (const query of ['?token=abc', 'token=abc']) {
      const text = buildMasterPlaylist(title(), 'ts', { query });
      const { manifest, warnings } = parseM3u8(text);
      expect(warnings).toEqual([]);
      expect(manifest.playlists!.map((v) => v.uri)).toEqual(['ts/v4.m3u8?token=abc', 'ts/v1.m3u8?token=abc']);
      expect(manifest.mediaGroups!.AUDIO!.aac!.French!.uri).toBe('ts/a3.m3u8?token=abc');
      expect(text).not.toContain('??');
    }
  });

  it('names unknown languages Audio N without LANGUAGE and keeps names unique in a group', () => {
    const p = buildPresentation(plan([video24(1), aac(2, 'und'), aac(3, 'eng'), aac(4, 'eng')]));
    const text = buildMasterPlaylist(p, 'ts');
    const { manifest, warnings } = parseM3u8(text);
    expect(warnings).toEqual([]);
    const group = manifest.mediaGroups!.AUDIO!.aac!;
    expect(Object.keys(group)).toEqual(['Audio 1', 'English', 'English 2']);
    expect(text).toContain('GROUP-ID="aac",NAME="Audio 1",AUTOSELECT=YES,DEFAULT=YES');
    expect(group['Audio 1']!.language).toBeUndefined();
  });

  it('makes one group per audio codec and one variant per video x group', () => {
    const p = buildPresentation(
      plan([video24(1), aac(2, 'eng'), aac(3, 'eng', { codecString: 'mp4a.40.5', sizes: constant(563, 100) })]),
    );
    const { manifest, warnings } = parseM3u8(buildMasterPlaylist(p, 'fmp4'));
    expect(warnings).toEqual([]);
    expect(Object.keys(manifest.mediaGroups!.AUDIO!)).toEqual(['aac', 'aac-he']);
    expect(manifest.mediaGroups!.AUDIO!['aac-he']!.English!.default).toBe(true);
    const vs = manifest.playlists!;
    expect(vs.map((v) => [v.uri, v.attributes.AUDIO, v.attributes.CODECS])).toEqual([
      ['hls/v1.m3u8', 'aac', 'avc1.64001f,mp4a.40.2'],
      ['hls/v1.m3u8', 'aac-he', 'avc1.64001f,mp4a.40.5'],
    ]);
    expect(vs[1]!.attributes.BANDWIDTH).toBe(p.video[0]!.bandwidth + p.audio[1]!.bandwidth);
  });

  it('writes an audio-only title as one audio variant per rendition', () => {
    const p = buildPresentation(plan([aac(2, 'eng'), aac(3, 'fra')]));
    const text = buildMasterPlaylist(p, 'ts', { query: 't=1' });
    const { manifest, warnings } = parseM3u8(text);
    expect(warnings).toEqual([]);
    expect(text).not.toContain('#EXT-X-MEDIA');
    expect(manifest.playlists!.map((v) => [v.uri, v.attributes.CODECS, v.attributes.BANDWIDTH, v.attributes.AUDIO])).toEqual([
      ['ts/a2.m3u8?t=1', 'mp4a.40.2', p.audio[0]!.bandwidth, undefined],
      ['ts/a3.m3u8?t=1', 'mp4a.40.2', p.audio[1]!.bandwidth, undefined],
    ]);
  });

  it('writes a video-only title without an AUDIO attribute', () => {
    const p = buildPresentation(plan([video24(1)]));
    const text = buildMasterPlaylist(p, 'ts');
    const { manifest, warnings } = parseM3u8(text);
    expect(warnings).toEqual([]);
    expect(text).not.toContain('AUDIO');
    expect(manifest.playlists![0]!.attributes).toMatchObject({ BANDWIDTH: 192000, CODECS: 'avc1.64001f' });
  });

  it('writes session keys verbatim and raises the version they need', () => {
    const key =
      '#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://kid",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"';
    const text = buildMasterPlaylist(title(), 'ts', { sessionKeys: [key] });
    const { manifest, warnings } = parseM3u8(text);
    expect(warnings).toEqual([]);
    expect(manifest.version).toBe(5);
    expect(text.split('\n').slice(0, 4)).toEqual(['#EXTM3U', '#EXT-X-VERSION:5', '#EXT-X-INDEPENDENT-SEGMENTS', key]);
    expect(parseM3u8(buildMasterPlaylist(title(), 'fmp4', { sessionKeys: [key] })).manifest.version).toBe(6);
    expect(() => buildMasterPlaylist(title(), 'ts', { sessionKeys: [`${key}\n#EXT-X-ENDLIST`] })).toThrow(PackagerError);
    expect(() => buildMasterPlaylist(title(), 'ts', { sessionKeys: ['#EXT-X-KEY:METHOD=NONE'] })).toThrow(PackagerError);
  });
});
