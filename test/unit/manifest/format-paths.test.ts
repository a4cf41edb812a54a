import { describe, expect, it } from 'vitest';
import { ceilBitrate, escapeXml, formatFixed, formatInteger, isoDuration } from '../../../src/manifest/format.js';
import { languageName, normalizeLanguage } from '../../../src/manifest/language.js';
import {
  appendQuery,
  dashInitPath,
  dashSegmentPath,
  hlsInitPath,
  hlsMediaPlaylistPath,
  hlsSegmentPath,
  normalizeQuery,
  parseTitlePath,
} from '../../../src/manifest/paths.js';

describe('number formatting', () => {
  it('prints fixed decimals without float noise or exponents', () => {
    expect(formatFixed(4, 6)).toBe('4.000000');
    expect(formatFixed(0.1 + 0.2, 3)).toBe('0.300');
    expect(formatFixed(1e-7, 6)).toBe('0.000000');
    expect(formatFixed(23.9760239, 3)).toBe('23.976');
    expect(formatFixed(-1.5, 1)).toBe('-1.5');
    expect(formatInteger(1e21)).toBe('1000000000000000000000');
    expect(isoDuration(7200.0004)).toBe('PT7200.000S');
    expect(ceilBitrate(500000 * 1.1)).toBe(550000);
    expect(ceilBitrate(550000.2)).toBe(550001);
  });

  it('escapes XML attribute text', () => {
    expect(escapeXml(`a&b<c>"d"'e'\u0001`)).toBe('a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;');
  });

  it('names languages', () => {
    expect(languageName('eng')).toBe('English');
    expect(languageName('fre')).toBe('French');
    expect(languageName('xyz')).toBeUndefined();
    expect(normalizeLanguage('ENG')).toBe('eng');
    expect(normalizeLanguage('e"n')).toBe('und');
    expect(normalizeLanguage('')).toBe('und');
  });
});

describe('paths', () => {
  it('keeps the URL layout', () => {
    expect(hlsMediaPlaylistPath('ts', 'v1')).toBe('ts/v1.m3u8');
    expect(hlsSegmentPath('ts', 'v1', 3)).toBe('ts/v1/3.ts');
    expect(hlsMediaPlaylistPath('fmp4', 'a2')).toBe('hls/a2.m3u8');
    expect(hlsSegmentPath('fmp4', 'a2', 1)).toBe('hls/a2/1.m4s');
    expect(hlsInitPath('a2')).toBe('hls/a2/init.mp4');
    expect(dashInitPath('v1')).toBe('dash/v1/init.mp4');
    expect(dashSegmentPath('v1', 12)).toBe('dash/v1/12.m4s');
  });

  it('parses what it writes and nothing else', () => {
    expect(parseTitlePath('index.m3u8')).toEqual({ kind: 'hlsMaster', variant: 'ts' });
    expect(parseTitlePath('index.fmp4.m3u8')).toEqual({ kind: 'hlsMaster', variant: 'fmp4' });
    expect(parseTitlePath('index.mpd')).toEqual({ kind: 'dashMpd' });
    expect(parseTitlePath('ts/v1.m3u8')).toEqual({ kind: 'hlsMedia', variant: 'ts', id: 'v1' });
    expect(parseTitlePath('hls/a2.m3u8')).toEqual({ kind: 'hlsMedia', variant: 'fmp4', id: 'a2' });
    expect(parseTitlePath('ts/v1/7.ts')).toEqual({ kind: 'hlsSegment', variant: 'ts', id: 'v1', number: 7 });
    expect(parseTitlePath('hls/v1/7.m4s')).toEqual({ kind: 'hlsSegment', variant: 'fmp4', id: 'v1', number: 7 });
    expect(parseTitlePath('hls/v1/init.mp4')).toEqual({ kind: 'hlsInit', id: 'v1' });
    expect(parseTitlePath('dash/a2/init.mp4')).toEqual({ kind: 'dashInit', id: 'a2' });
    expect(parseTitlePath('dash/a2/10.m4s')).toEqual({ kind: 'dashSegment', id: 'a2', number: 10 });
    for (const bad of ['ts/v1/0.ts', 'ts/v1/01.ts', 'ts/v1/1.m4s', 'hls/v1/1.ts', 'dash/x1/1.m4s', 'ts/v1.m3u8x', '../index.mpd', 'ts/v01.m3u8']) {
      expect(parseTitlePath(bad), bad).toBeUndefined();
    }
  });

  it('appends queries with exactly one ? and makes them safe', () => {
    expect(appendQuery('ts/v1.m3u8', '?token=abc')).toBe('ts/v1.m3u8?token=abc');
    expect(appendQuery('ts/v1.m3u8', 'token=abc')).toBe('ts/v1.m3u8?token=abc');
    expect(appendQuery('ts/v1.m3u8?a=1', '?token=abc')).toBe('ts/v1.m3u8?a=1&token=abc');
    expect(appendQuery('ts/v1.m3u8', '')).toBe('ts/v1.m3u8');
    expect(appendQuery('ts/v1.m3u8', '?')).toBe('ts/v1.m3u8');
    expect(appendQuery('ts/v1.m3u8', undefined)).toBe('ts/v1.m3u8');
    expect(normalizeQuery('t="x"\n#EXT-X-ENDLIST é')).toBe('t=%22x%22%0A%23EXT-X-ENDLIST%20%C3%A9');
    expect(normalizeQuery('a=%2F&b=c/d:e@f')).toBe('a=%2F&b=c/d:e@f');
  });
});
