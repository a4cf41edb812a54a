import { describe, expect, it } from 'vitest';
import { PackagerError } from '../../../src/media/errors.js';
import { buildLiveMasterPlaylist, buildLiveMediaPlaylist, type LiveMediaPlaylistOptions } from '../../../src/manifest/hls/live.js';
import type { LiveRendition } from '../../../src/manifest/live-paths.js';
import type { LiveSegmentInfo } from '../../../src/source/live/types.js';
import { AUDIO, liveWindow, T0, VIDEO, type LiveSegSpec } from './live-window.js';
import { makeTrack, parseM3u8 } from './helpers.js';

const window = (specs: LiveSegSpec[]): LiveSegmentInfo[] => liveWindow(specs, 'p1');

function media(segments: LiveSegmentInfo[], opts: Partial<LiveMediaPlaylistOptions> = {}): string {
  return buildLiveMediaPlaylist({
    variant: 'ts',
    id: 'v256',
    trackId: VIDEO,
    segments,
    periodOf: (s) => s.configId,
    discontinuitySequence: 0,
    targetDuration: 2,
    ended: false,
    ...opts,
  });
}

function parsed(text: string): ReturnType<typeof parseM3u8>['manifest'] {
  const { manifest, warnings } = parseM3u8(text);
  expect(warnings).toEqual([]);
  return manifest;
}

const five = (): LiveSegmentInfo[] => window([{}, {}, {}, {}, {}]);

describe('buildLiveMediaPlaylist', () => {
  it('writes a sliding TS window: sequence = first number, PDT on every segment, no end', () => {
    const text = media(five());
    const m = parsed(text);
    expect(m.version).toBe(3);
    expect(m.targetDuration).toBe(2);
    expect(m.mediaSequence).toBe(1000);
    expect(text).not.toContain('#EXT-X-DISCONTINUITY-SEQUENCE');
    expect(m.playlistType).toBeUndefined();
    expect(m.endList).toBeUndefined();
    expect(m.independentSegments).toBe(true);
    expect(m.segments.map((s) => [s.uri, s.duration, s.dateTimeString])).toEqual([
      ['v256/1000.ts', 2, '2025-11-24T16:00:00.000Z'],
      ['v256/1001.ts', 2, '2025-11-24T16:00:02.000Z'],
      ['v256/1002.ts', 2, '2025-11-24T16:00:04.000Z'],
      ['v256/1003.ts', 2, '2025-11-24T16:00:06.000Z'],
      ['v256/1004.ts', 2, '2025-11-24T16:00:08.000Z'],
    ]);
    expect(text).not.toContain('#EXT-X-DISCONTINUITY');
    expect(text).toContain('#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:00:00.000Z\n#EXTINF:2.000000,\nv256/1000.ts\n');
  });

  it("lists a track's own durations and wall clock, and skips segments without it", () => {
    const segments = window([{}, { duration: 181_800 }, {}]);
    const text = media(segments, { id: 'a257', trackId: AUDIO, variant: 'fmp4' });
    const m = parsed(text);
    expect(m.segments.map((s) => [s.uri, s.duration, s.dateTimeString])).toEqual([
      ['a257/1000.m4s', 2, '2025-11-24T16:00:00.010Z'],
      ['a257/1001.m4s', 2.02, '2025-11-24T16:00:02.010Z'],
      ['a257/1002.m4s', 2, '2025-11-24T16:00:04.030Z'],
    ]);
    // EXTINF sum = the track's duration
    const total = m.segments.reduce((a, s) => a + s.duration, 0);
    expect(total).toBeCloseTo(segments.reduce((a, s) => a + s.tracks[1]!.duration, 0) / 90_000, 6);
    // the newest segment lacks audio: the audio playlist ends before it
    const noAudioAtEnd = window([{}, {}, {}, { audio: false }]);
    expect(parsed(media(noAudioAtEnd, { trackId: AUDIO, id: 'a257' })).segments.map((s) => s.uri)).toEqual([
      'a257/1000.ts',
      'a257/1001.ts',
      'a257/1002.ts',
    ]);
    expect(() => media(window([{ audio: false }]), { trackId: AUDIO })).toThrow(PackagerError);
  });

  it('prints 6 decimals and keeps TARGETDURATION >= every EXTINF as rounded, never below the configured one', () => {
    // 3003-tick frames: 60 frames = 2.002 s
    const text = media(window([{ duration: 180_180 }, { duration: 177_177 }]));
    expect(text).toContain('#EXTINF:2.002000,');
    expect(text).toContain('#EXTINF:1.968633,');
    expect(parsed(text).targetDuration).toBe(2);
    expect(parsed(media(five(), { targetDuration: 6 })).targetDuration).toBe(6);
    expect(parsed(media(five(), { targetDuration: 1.5 })).targetDuration).toBe(2);
    expect(parsed(media(five(), { targetDuration: 2.0000000001 })).targetDuration).toBe(2);
    // a late key frame: 2.6 s rounds to 3
    expect(parsed(media(window([{}, { duration: 234_000 }, {}]))).targetDuration).toBe(3);
    expect(parsed(media(window([{}, { duration: 224_000 }, {}]))).targetDuration).toBe(2);
    expect(() => media(five(), { targetDuration: 0 })).toThrow(PackagerError);
  });

  it('ends as VOD, or stays EVENT', () => {
    const vod = parsed(media(five(), { ended: true }));
    expect([vod.playlistType, vod.endList]).toEqual(['VOD', true]);
    const event = parsed(media(five(), { playlistType: 'EVENT' }));
    expect([event.playlistType, event.endList]).toEqual(['EVENT', undefined]);
    const endedEvent = parsed(media(five(), { playlistType: 'EVENT', ended: true }));
    expect([endedEvent.playlistType, endedEvent.endList]).toEqual(['EVENT', true]);
  });

  it('marks discontinuities after the first segment and counts the rest in DISCONTINUITY-SEQUENCE', () => {
    const segments = window([{ discontinuity: true }, {}, { discontinuity: true, wallClock: T0 + 60_000 }, {}]);
    const text = media(segments, { discontinuitySequence: 7 });
    const m = parsed(text);
    expect(m.discontinuitySequence).toBe(7);
    expect(m.segments.map((s) => s.discontinuity ?? false)).toEqual([false, false, true, false]);
    expect(m.segments.map((s) => s.timeline)).toEqual([7, 7, 8, 8]);
    expect(m.segments[2]!.dateTimeString).toBe('2025-11-24T16:01:00.000Z');
    // written once, just before the segment (and its PDT)
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    expect(text).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2025-11-24T16:01:00.000Z\n');
    // 0 is not written
    expect(media(segments)).not.toContain('DISCONTINUITY-SEQUENCE');
    expect(() => media(segments, { discontinuitySequence: -1 })).toThrow(PackagerError);
  });

  it('writes EXT-X-MAP and key lines at the first segment and at every period change, without a discontinuity', () => {
    const segments = window([{ period: 'k1' }, { period: 'k1' }, { period: 'k2' }, { period: 'k2' }, { period: 'k3', discontinuity: true }]);
    const keys: Record<string, string[]> = {
      k1: ['#EXT-X-KEY:METHOD=SAMPLE-AES,URI="https://k/k1"'],
      k2: ['#EXT-X-KEY:METHOD=SAMPLE-AES,URI="https://k/k2"'],
      k3: [],
    };
    const text = media(segments, { variant: 'fmp4', keyLinesFor: (p) => keys[p]!, query: '?token=a b' });
    const m = parsed(text);
    expect(m.version).toBe(6);
    expect(m.segments.map((s) => [s.uri, s.map?.uri, s.key?.uri ?? s.key?.method, s.discontinuity ?? false])).toEqual([
      ['v256/1000.m4s?token=a%20b', 'v256/init-k1.mp4?token=a%20b', 'https://k/k1', false],
      ['v256/1001.m4s?token=a%20b', 'v256/init-k1.mp4?token=a%20b', 'https://k/k1', false],
      ['v256/1002.m4s?token=a%20b', 'v256/init-k2.mp4?token=a%20b', 'https://k/k2', false],
      ['v256/1003.m4s?token=a%20b', 'v256/init-k2.mp4?token=a%20b', 'https://k/k2', false],
      ['v256/1004.m4s?token=a%20b', 'v256/init-k3.mp4?token=a%20b', undefined, true],
    ]);
    expect(text.match(/#EXT-X-MAP/g)).toHaveLength(3);
    expect(text.match(/#EXT-X-KEY/g)).toHaveLength(3);
    // a clear period after an encrypted one switches the key off explicitly
    expect(text).toContain('#EXT-X-DISCONTINUITY\n#EXT-X-KEY:METHOD=NONE\n#EXT-X-MAP:URI="v256/init-k3.mp4?token=a%20b"\n');
    // key before the init it applies to
    expect(text).toContain(`${keys.k2![0]}\n#EXT-X-MAP:URI="v256/init-k2.mp4?token=a%20b"\n#EXT-X-PROGRAM-DATE-TIME`);
    expect(text).not.toContain('??');
  });

  it('repeats EXT-X-MAP after a discontinuity within one period, and TS never writes it', () => {
    const segments = window([{}, { discontinuity: true }]);
    expect(media(segments, { variant: 'fmp4' }).match(/#EXT-X-MAP:URI="v256\/init-p1.mp4"/g)).toHaveLength(2);
    expect(media(segments)).not.toContain('#EXT-X-MAP');
  });

  it('writes a per-segment key line with its number and period, raising the version for IV', () => {
    const lines: Array<[number, string]> = [];
    const text = media(window([{}, {}, { period: 'p2' }]), {
      segmentKeyLine: (n, p) => {
        lines.push([n, p]);
        return `#EXT-X-KEY:METHOD=AES-128,URI="https://k/${p}",IV=0x${n.toString(16).padStart(32, '0')}`;
      },
    });
    expect(lines).toEqual([
      [1000, 'p1'],
      [1001, 'p1'],
      [1002, 'p2'],
    ]);
    const m = parsed(text);
    expect(m.version).toBe(3);
    expect(m.segments.map((s) => s.key?.uri)).toEqual(['https://k/p1', 'https://k/p1', 'https://k/p2']);
    expect(text).toContain('#EXT-X-KEY:METHOD=AES-128,URI="https://k/p1",IV=0x000000000000000000000000000003e8\n#EXT-X-PROGRAM-DATE-TIME');
    const fairplay = '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://k",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"';
    expect(parsed(media(window([{}]), { keyLinesFor: () => [fairplay] })).version).toBe(5);
    expect(parsed(media(window([{}]), { variant: 'fmp4', keyLinesFor: () => [fairplay] })).version).toBe(6);
    expect(() => media(window([{}]), { segmentKeyLine: () => '#EXT-X-KEY:METHOD=NONE\n#EXT-X-ENDLIST' })).toThrow(PackagerError);
    expect(() => media(window([{}]), { keyLinesFor: () => ['#EXT-X-MAP:URI="x"'] })).toThrow(PackagerError);
  });

  it('lists only the run after the newest number gap, so sequence numbers stay the segment numbers', () => {
    // 1002 skipped (a long GOP), then a restart jumping to 5000
    const segments = window([{}, {}, { number: 1003 }, {}, {}, {}, { number: 5000, discontinuity: true }, {}, {}, {}]);
    const m = parsed(media(segments, { discontinuitySequence: 2 }));
    expect(m.mediaSequence).toBe(5000);
    expect(m.segments.map((s) => s.uri)).toEqual(['v256/5000.ts', 'v256/5001.ts', 'v256/5002.ts', 'v256/5003.ts']);
    // the first listed segment's discontinuity is counted, not tagged
    expect(m.discontinuitySequence).toBe(3);
    expect(m.segments.some((s) => s.discontinuity)).toBe(false);

    // fewer than three after the gap: still only those (a short playlist is valid, wrong numbers are not)
    const short = parsed(media(window([{}, {}, {}, {}, { number: 1010 }])));
    expect([short.mediaSequence, short.segments.map((s) => s.uri)]).toEqual([1010, ['v256/1010.ts']]);

    // a segment missing this track is a gap for this rendition only
    const holed = window([{}, {}, { audio: false }, {}, {}]);
    expect(parsed(media(holed, { trackId: AUDIO, id: 'a257' })).mediaSequence).toBe(1003);
    expect(parsed(media(holed)).mediaSequence).toBe(1000);
  });

  it('rejects bad windows and period ids', () => {
    expect(() => media([])).toThrow(PackagerError);
    const [a, b] = five();
    expect(() => media([b!, a!])).toThrow(PackagerError);
    expect(() => media(five(), { periodOf: () => 'a-b' })).toThrow(PackagerError);
  });
});

function rendition(
  id: string,
  kind: 'video' | 'audio',
  bandwidth: number,
  extra: Partial<Parameters<typeof makeTrack>[0]> = {},
  frameRate?: number,
): LiveRendition {
  const track = makeTrack({ id: Number(id.slice(1)), kind, timescale: 90_000, durations: [], ...extra });
  return { id, track, bandwidth, averageBandwidth: Math.round(bandwidth * 0.8), ...(frameRate === undefined ? {} : { frameRate }) };
}

describe('buildLiveMasterPlaylist', () => {
  const renditions = (): LiveRendition[] => [
    rendition('v256', 'video', 1_000_000, { width: 1280, height: 720 }, 29.97),
    rendition('a257', 'audio', 128_000, { language: 'eng', channels: 2 }),
    rendition('v258', 'video', 3_000_000, { width: 1920, height: 1080, codecString: 'avc1.640028' }, 29.97),
    rendition('a259', 'audio', 96_000, { language: 'spa' }),
  ];

  it('lists video variants by bandwidth with an audio group', () => {
    const text = buildLiveMasterPlaylist({ variant: 'ts', renditions: renditions() });
    const m = parsed(text);
    expect(m.version).toBe(3);
    const a = (v: NonNullable<typeof m.playlists>[number]): unknown[] => [v.uri, v.attributes.BANDWIDTH, v.attributes['AVERAGE-BANDWIDTH'], v.attributes.CODECS];
    expect(m.playlists!.map((v) => [...a(v), v.attributes.AUDIO])).toEqual([
      ['ts/v258.m3u8', 3_128_000, '2502400', 'avc1.640028,mp4a.40.2', 'aac'],
      ['ts/v256.m3u8', 1_128_000, '902400', 'avc1.64001f,mp4a.40.2', 'aac'],
    ]);
    expect(text).toContain('RESOLUTION=1920x1080,FRAME-RATE=29.970');
    const group = m.mediaGroups!.AUDIO!.aac!;
    expect(Object.entries(group).map(([name, r]) => [name, r.uri, r.default, r.language])).toEqual([
      ['English', 'ts/a257.m3u8', true, 'eng'],
      ['Spanish', 'ts/a259.m3u8', false, 'spa'],
    ]);
  });

  it('writes audio-only streams as audio variants', () => {
    const m = parsed(buildLiveMasterPlaylist({ variant: 'fmp4', renditions: renditions().filter((r) => r.track.kind === 'audio') }));
    expect(m.version).toBe(6);
    expect(m.playlists!.map((v) => [v.uri, v.attributes.CODECS, v.attributes.BANDWIDTH])).toEqual([
      ['hls/a257.m3u8', 'mp4a.40.2', 128_000],
      ['hls/a259.m3u8', 'mp4a.40.2', 96_000],
    ]);
    expect(m.mediaGroups!.AUDIO).toEqual({});
  });

  it('points at timeshift playlists, with the query and session keys', () => {
    const sessionKey = '#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://k",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"';
    const text = buildLiveMasterPlaylist({
      variant: 'fmp4',
      renditions: renditions(),
      timeshift: { from: 1764000000, duration: 600 },
      query: 'token=x',
      sessionKeys: [sessionKey],
    });
    const m = parsed(text);
    expect(m.playlists!.map((v) => v.uri)).toEqual(['hls/v258-1764000000-600.m3u8?token=x', 'hls/v256-1764000000-600.m3u8?token=x']);
    expect(m.mediaGroups!.AUDIO!.aac!.Spanish!.uri).toBe('hls/a259-1764000000-600.m3u8?token=x');
    expect(text).toContain(`#EXT-X-INDEPENDENT-SEGMENTS\n${sessionKey}\n`);
  });
});
