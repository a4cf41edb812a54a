import { describe, expect, it } from 'vitest';
import { PackagerError } from '../../../src/media/errors.js';
import {
  checkLiveWindow,
  liveDashInitPath,
  liveDashInitTemplate,
  liveDashMpdPath,
  liveDashSegmentPath,
  liveHlsInitPath,
  liveHlsMasterPath,
  liveHlsMediaPlaylistPath,
  liveHlsSegmentPath,
  liveRenditionBandwidth,
  liveRenditionId,
  parseLivePath,
  type LivePath,
} from '../../../src/manifest/live-paths.js';
import type { LiveSegmentInfo } from '../../../src/source/live/types.js';

const TS = { from: 1764000000, duration: 3600 };

describe('live names and routes', () => {
  it('routes every name the writers build back to what it names', () => {
    const cases: Array<[string, LivePath]> = [
      [liveHlsMasterPath('ts'), { kind: 'hlsMaster', variant: 'ts' }],
      [liveHlsMasterPath('fmp4'), { kind: 'hlsMaster', variant: 'fmp4' }],
      [liveDashMpdPath(), { kind: 'dashMpd' }],
      [liveHlsMasterPath('ts', TS), { kind: 'timeshiftHlsMaster', variant: 'ts', ...TS }],
      [liveHlsMasterPath('fmp4', TS), { kind: 'timeshiftHlsMaster', variant: 'fmp4', ...TS }],
      [liveDashMpdPath(TS), { kind: 'timeshiftDashMpd', ...TS }],
      [liveHlsMediaPlaylistPath('ts', 'v256'), { kind: 'hlsMedia', variant: 'ts', id: 'v256' }],
      [liveHlsMediaPlaylistPath('fmp4', 'a257'), { kind: 'hlsMedia', variant: 'fmp4', id: 'a257' }],
      [liveHlsMediaPlaylistPath('ts', 'v256', TS), { kind: 'timeshiftHlsMedia', variant: 'ts', id: 'v256', ...TS }],
      [liveHlsMediaPlaylistPath('fmp4', 'a257', TS), { kind: 'timeshiftHlsMedia', variant: 'fmp4', id: 'a257', ...TS }],
      [liveHlsSegmentPath('ts', 'v256', 882000001), { kind: 'hlsSegment', variant: 'ts', id: 'v256', number: 882000001 }],
      [liveHlsSegmentPath('fmp4', 'a257', 999999999999999), { kind: 'hlsSegment', variant: 'fmp4', id: 'a257', number: 999999999999999 }],
      [liveHlsInitPath('v256', 'c1a2_k7'), { kind: 'hlsInit', id: 'v256', period: 'c1a2_k7' }],
      [liveDashInitPath('a257', 'P'), { kind: 'dashInit', id: 'a257', period: 'P' }],
      [liveDashSegmentPath('v8191', 1), { kind: 'dashSegment', id: 'v8191', number: 1 }],
    ];
    for (const [path, expected] of cases) expect(parseLivePath(path), path).toEqual(expected);
  });

  it('keeps VOD folder layout and Flussonic timeshift names', () => {
    expect(liveHlsMasterPath('ts')).toBe('index.m3u8');
    expect(liveHlsMasterPath('fmp4')).toBe('index.fmp4.m3u8');
    expect(liveDashMpdPath()).toBe('index.mpd');
    expect(liveHlsMasterPath('ts', TS)).toBe('index-1764000000-3600.m3u8');
    expect(liveHlsMasterPath('fmp4', TS)).toBe('index-1764000000-3600.fmp4.m3u8');
    expect(liveDashMpdPath(TS)).toBe('index-1764000000-3600.mpd');
    expect(liveHlsMediaPlaylistPath('ts', 'v256', TS)).toBe('ts/v256-1764000000-3600.m3u8');
    expect(liveHlsMediaPlaylistPath('fmp4', 'v256', TS)).toBe('hls/v256-1764000000-3600.m3u8');
    expect(liveHlsSegmentPath('ts', 'v256', 12)).toBe('ts/v256/12.ts');
    expect(liveHlsSegmentPath('fmp4', 'v256', 12)).toBe('hls/v256/12.m4s');
    expect(liveHlsInitPath('v256', 'abc')).toBe('hls/v256/init-abc.mp4');
    expect(liveDashInitPath('v256', 'abc')).toBe('dash/v256/init-abc.mp4');
    expect(liveDashSegmentPath('v256', 12)).toBe('dash/v256/12.m4s');
    expect(liveDashInitTemplate('abc')).toBe('dash/$RepresentationID$/init-abc.mp4');
    expect(liveRenditionId('video', 256)).toBe('v256');
    expect(liveRenditionId('audio', 257)).toBe('a257');
  });

  it('rejects anything else', () => {
    const bad = [
      '',
      'index.m3u8/',
      '/index.m3u8',
      'index.m3u8?x=1',
      '../index.m3u8',
      'ts/../index.m3u8',
      'ts/v256/../../secret.ts',
      'ts/v256/%2e%2e.ts',
      'ts/v256/012.ts', // leading zero: one URL per segment
      'ts/v256/0.ts',
      'ts/v256/-1.ts',
      'ts/v256/1000000000000000.ts', // 16 digits
      'ts/v256/1.5.ts',
      'ts/v256/1.m4s',
      'hls/v256/1.ts',
      'dash/v256/1.ts',
      'ts/v0256.m3u8',
      'ts/x256.m3u8',
      'ts/v12345.m3u8',
      'ts/v.m3u8',
      'ts/V256.m3u8',
      'hls/v256/init.mp4',
      'hls/v256/init-.mp4',
      'hls/v256/init-a-b.mp4',
      'hls/v256/init-a.b.mp4',
      `hls/v256/init-${'a'.repeat(65)}.mp4`,
      'ts/v256/init-abc.mp4',
      'dash/v256/init-ab%20c.mp4',
      'index-0-3600.m3u8',
      'index-1764000000-0.m3u8',
      'index-01764000000-3600.m3u8',
      'index-1764000000-03600.mpd',
      'index-1764000000.m3u8',
      'index-1764000000-3600-1.m3u8',
      'index-12345678901-3600.m3u8', // FROM over 10 digits
      'index--1-3600.m3u8',
      'index-1764000000-3600.ts',
      'ts/v256-1764000000-0.m3u8',
      'dash/v256-1764000000-3600.m3u8',
      'dash/v256.m3u8',
      'index.fmp4.mpd',
    ];
    for (const path of bad) expect(parseLivePath(path), path).toBeUndefined();
  });

  it('refuses to build names the router would not accept', () => {
    expect(() => liveHlsInitPath('v256', 'a-b')).toThrow(PackagerError);
    expect(() => liveDashInitTemplate('')).toThrow(PackagerError);
    expect(() => liveDashInitPath('v256', 'x'.repeat(65))).toThrow(PackagerError);
    expect(() => liveHlsMasterPath('ts', { from: 0, duration: 60 })).toThrow(PackagerError);
    expect(() => liveDashMpdPath({ from: 1.5, duration: 60 })).toThrow(PackagerError);
    expect(() => liveHlsMediaPlaylistPath('ts', 'v256', { from: 1, duration: -5 })).toThrow(PackagerError);
  });
});

function seg(number: number, tracks: Array<[id: number, duration: number, bytes: number]>): LiveSegmentInfo {
  return {
    number,
    start: number * 180000,
    duration: tracks[0]?.[1] ?? 180000,
    discontinuity: false,
    wallClock: number * 2000,
    configId: 'c',
    tracks: tracks.map(([id, duration, bytes]) => ({ id, kind: id === 256 ? 'video' : 'audio', start: number * 180000, duration, bytes })),
  };
}

describe('liveRenditionBandwidth', () => {
  it('takes the peak over segments of at least 0.5 s and the average over all', () => {
    const segments = [
      seg(1, [[256, 180000, 250000], [257, 180000, 32000]]), // 2 s: 1 Mbit/s video
      seg(2, [[256, 180000, 500000], [257, 180000, 32000]]), // 2 Mbit/s
      seg(3, [[256, 27000, 100000]]), // 0.3 s at 2.67 Mbit/s: too short for the peak; no audio
    ];
    expect(liveRenditionBandwidth(segments, 256)).toEqual({
      bandwidth: 2_000_000,
      averageBandwidth: Math.ceil((850000 * 8) / (387000 / 90000)),
    });
    // audio missing from segment 3 does not count as silence
    expect(liveRenditionBandwidth(segments, 257)).toEqual({ bandwidth: 128000, averageBandwidth: 128000 });
    expect(liveRenditionBandwidth(segments, 257, 1.1)).toEqual({ bandwidth: 140800, averageBandwidth: 140800 });
  });

  it('falls back to short segments, never puts the peak under the average, and survives no data', () => {
    expect(liveRenditionBandwidth([seg(1, [[256, 9000, 1000]]), seg(2, [[256, 9000, 3000]])], 256)).toEqual({
      bandwidth: 240_000,
      averageBandwidth: 160_000,
    });
    // one long cheap segment and one short expensive one: average above the long segment's rate
    const r = liveRenditionBandwidth([seg(1, [[256, 45000, 1000]]), seg(2, [[256, 9000, 100000]])], 256);
    expect(r.bandwidth).toBe(r.averageBandwidth);
    expect(liveRenditionBandwidth([seg(1, [[256, 180000, 1000]])], 999)).toEqual({ bandwidth: 0, averageBandwidth: 0 });
    expect(() => liveRenditionBandwidth([], 256, 0)).toThrow(PackagerError);
  });
});

describe('checkLiveWindow', () => {
  it('wants a non-empty window of increasing whole numbers', () => {
    expect(() => checkLiveWindow([seg(1, [[256, 1, 1]]), seg(3, [[256, 1, 1]])])).not.toThrow();
    expect(() => checkLiveWindow([])).toThrow(PackagerError);
    expect(() => checkLiveWindow([seg(2, []), seg(2, [])])).toThrow(PackagerError);
    expect(() => checkLiveWindow([seg(3, []), seg(2, [])])).toThrow(PackagerError);
    expect(() => checkLiveWindow([seg(0, [])])).toThrow(PackagerError);
    expect(() => checkLiveWindow([seg(1.5, [])])).toThrow(PackagerError);
  });
});
