// Independent decryption of the protected outputs: Shaka Player in Debian's Chromium (its built-in
// ClearKey CDM) plays DASH cenc, DASH cbcs and HLS fMP4 cbcs, getting the keys the way a real client
// does — the MPD's ClearKey Laurl (our licence endpoint) and the HLS identity key URI (our key
// endpoint) — and after a paused seek into every segment shows a frame bit-identical to the clear
// location's. A wrong key must fail: that keeps the test honest.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import { launchBrowser, newPage, play, compareFrames, segmentSeekPoints, type PlayOptions, type PlayResult, playInNewPage } from '../browser/harness.js';

const SEGMENT = 4;
const FILE = 'bframes.mp4';
const DURATION = 12;
const KID = '0b1c3e6a5d2f4c8e9b1a7f3e2d1c0b01';

let server: TestServer;
let browser: Browser;
let clearFrames: PlayResult['frames'];
const seekTo = segmentSeekPoints(DURATION, SEGMENT);

beforeAll(async () => {
  const config = [
    'http 8080;',
    `file vod { path ${FIXTURES}; segment_duration ${SEGMENT}; }`,
    `file drm { path ${FIXTURES}; segment_duration ${SEGMENT}; drm local; }`,
    `file cbcs { path ${FIXTURES}; segment_duration ${SEGMENT}; drm local dash=cbcs; }`,
    '',
  ].join('\n');
  [server, browser] = await Promise.all([startTestServer(config), launchBrowser()]);
  // drm local's secret is created next to the temp config (secret_file's default).
  const clear = await playInNewPage(browser, { manifestUrl: `${server.url}/vod/${FILE}/index.mpd`, player: 'shaka', playSeconds: 1, seekTo, videoOnly: true });
  expect(clear.errors).toEqual([]);
  clearFrames = clear.frames;
  expect(clearFrames).toHaveLength(seekTo.length);
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([browser?.close(), server?.stop()]);
});

function expectSameFrames(r: PlayResult): void {
  expect(r.frames).toHaveLength(clearFrames.length);
  r.frames.forEach((f, i) => {
    const cmp = compareFrames(f.png, clearFrames[i]!.png);
    expect(cmp.identical, `frame at ${f.at}s differs from the clear one (PSNR ${cmp.psnr.toFixed(1)} dB)`).toBe(true);
  });
}

describe('Shaka + ClearKey plays the protected outputs bit-identically to the clear ones', () => {
  const cases: Array<[string, string, 'licence' | 'key']> = [
    ['DASH cenc', `/drm/${FILE}/index.mpd`, 'licence'],
    ['DASH cbcs', `/cbcs/${FILE}/index.mpd`, 'licence'],
    ['HLS fMP4 cbcs', `/drm/${FILE}/index.fmp4.m3u8`, 'key'],
  ];
  for (const [name, path, via] of cases) {
    it(`${name}: keys from our ${via} endpoint, audio and video play, every segment's frame matches`, { timeout: 40_000 }, async () => {
      const r = await playInNewPage(browser, { manifestUrl: `${server.url}${path}`, player: 'shaka', playSeconds: 1.5, seekTo });
      expect(r.errors).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.decodedAfterPlay).toBeGreaterThan(r.decodedAtFirstFrame);
      expect(r.timeAfterPlay).toBeGreaterThan(r.timeAtFirstFrame);
      if (via === 'licence') expect(r.licenseRequests.some((u) => u.endsWith('/license/clearkey'))).toBe(true);
      else expect(r.keyRequests.some((u) => u.includes(`/keys/`))).toBe(true);
      expectSameFrames(r);
    });
  }
});

describe('a wrong key fails (the oracle can fail)', () => {
  for (const [name, path] of [
    ['DASH cenc', `/drm/${FILE}/index.mpd`],
    ['DASH cbcs', `/cbcs/${FILE}/index.mpd`],
  ] as const) {
    it(`${name}: the right KID with other key bytes is a decode error`, { timeout: 20_000 }, async () => {
      const r = await playInNewPage(browser, {
        manifestUrl: `${server.url}${path}`,
        player: 'shaka',
        playSeconds: 1,
        videoOnly: true,
        clearKeys: { [KID]: 'ffeeddccbbaa99887766554433221100' },
      });
      expect(r.ok).toBe(false);
      expect(r.errors.join('\n')).toMatch(/PIPELINE_ERROR_DECODE|3016|mediasourcerecovered/);
    });
  }
});
