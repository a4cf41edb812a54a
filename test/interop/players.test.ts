// Shaka Player in Debian's headless Chromium as the oracle for the clear VOD outputs: DASH and HLS
// fMP4 must play without a single error, decode every frame, and show the same picture after a
// paused seek into every segment through both manifests. Negative cases prove the harness can fail.
// (Encrypted cases build on the same harness: see the comment at the top of test/browser/harness.ts.)
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import {
  launchBrowser,
  newPage,
  play,
  compareFrames,
  frameStats,
  segmentSeekPoints,
  type PlayOptions,
  type PlayResult, playInNewPage } from '../browser/harness.js';
import { startTamperingProxy, corruptMdat, type Tamper, type ProxyOptions } from '../browser/proxy.js';

const SEGMENT = 4;

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer(`http 8080;\nfile vod { path ${FIXTURES}; protocols hls dash; segment_duration ${SEGMENT}; }\n`),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await Promise.allSettled([browser?.close(), server?.stop()]);
});

/** Source facts: duration (s), frame count, and the rendition heights highest first. */
const CASES = [
  { file: 'bframes.mp4', duration: 12, frames: 288, variant: 'highest', height: 360 },
  { file: 'multi-bitrate.mp4', duration: 10, frames: 250, variant: 'highest', height: 360 },
  { file: 'multi-bitrate.mp4', duration: 10, frames: 250, variant: 'lowest', height: 180 },
] as const;

describe.each(CASES)('Shaka: $file ($variant rendition)', ({ file, duration, frames, variant, height }) => {
  const seekTo = segmentSeekPoints(duration, SEGMENT);

  it('DASH and HLS fMP4 play cleanly, decode every frame, and agree pixel for pixel at every segment', { timeout: 40_000 }, async () => {
    const results: Record<string, PlayResult> = {};
    for (const manifest of ['index.mpd', 'index.fmp4.m3u8']) {
      const r = await playInNewPage(browser, {
        manifestUrl: `${server.url}/vod/${file}/${manifest}`,
        player: 'shaka',
        playSeconds: 2,
        seekTo,
        scanRate: 16,
        variant,
      });
      results[manifest] = r;
      expect(r.errors, `${manifest}: ${r.log.join('\n')}`).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.variant?.height).toBe(height);
      // Playing: decoding goes on and time advances.
      expect(r.decodedAfterPlay).toBeGreaterThan(r.decodedAtFirstFrame + 24);
      expect(r.timeAfterPlay - r.timeAtFirstFrame).toBeGreaterThan(1);
      // The full scan (16x, every frame decoded) reaches the end.
      expect(r.scan?.ended).toBe(true);
      expect(r.scan?.frames).toBeGreaterThanOrEqual(frames);
      // A picture at every seek point, each a different one.
      expect(r.frames.map((f) => f.at)).toEqual(seekTo);
      for (const [i, f] of r.frames.entries()) {
        if (f.mediaTime !== null) expect(Math.abs(f.mediaTime - f.at)).toBeLessThan(0.05);
        expect(frameStats(f.png).stddev).toBeGreaterThan(20);
        if (i > 0) expect(compareFrames(r.frames[i - 1]!.png, f.png).identical).toBe(false);
      }
    }
    const dash = results['index.mpd']!;
    const hls = results['index.fmp4.m3u8']!;
    for (const [i, f] of dash.frames.entries()) {
      const cmp = compareFrames(f.png, hls.frames[i]!.png);
      expect(cmp, `frame at ${f.at}s: DASH vs HLS fMP4`).toEqual({ identical: true, psnr: Infinity });
    }
  });
});

describe('the harness fails when the media is broken', () => {
  const seekTo = segmentSeekPoints(12, SEGMENT);
  const mediaSegment = (path: string) => /\/\d+\.m4s$/.test(path);

  async function playThrough(tamper: Tamper, opts: Partial<PlayOptions> = {}, proxyOpts: ProxyOptions = {}) {
    const proxy = await startTamperingProxy(server.url, tamper, proxyOpts);
    try {
      const started = Date.now();
      const r = await playInNewPage(browser, { manifestUrl: `${proxy.url}/vod/bframes.mp4/index.mpd`, player: 'shaka', playSeconds: 2, seekTo, firstFrameTimeoutMs: 4000, ...opts });
      return { r, ms: Date.now() - started, requests: proxy.requests };
    } finally {
      await proxy.stop();
    }
  }

  it.each([
    ['4 KiB inverted in the middle of every media segment\'s mdat', (p: string, b: Buffer) => (mediaSegment(p) ? corruptMdat(b, 4096) : b)],
    ['segment 2 truncated to half', (p: string, b: Buffer) => (/\/2\.m4s$/.test(p) ? b.subarray(0, b.length >> 1) : b)],
  ])('%s: a decode/append error on the <video> element, fast', { timeout: 20_000 }, async (_name, tamper) => {
    for (const videoOnly of [false, true]) {
      const { r, ms } = await playThrough(tamper, { videoOnly });
      expect(r.ok).toBe(false);
      expect(r.errors.join('\n')).toMatch(/video error event: code=3 /);
      expect(ms).toBeLessThan(5000);
    }
  });

  it('a segment that never arrives: the seek into it is reported as a stall', { timeout: 20_000 }, async () => {
    const started = Date.now();
    const { r } = await playThrough((_p, b) => b, { playSeconds: 1, seekTimeoutMs: 2000, videoOnly: true }, { hold: (p) => /\/v1\/2\.m4s$/.test(p) });
    expect(r.ok).toBe(false);
    expect(r.errors.join('\n')).toMatch(/seek to 4\.02: no seeked within 2000ms/);
    expect(r.frames.map((f) => f.at)).toEqual([0.02]);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('64 bytes inverted in mid segment 2 decode as garbage without any error: only the pixel comparison catches it', { timeout: 20_000 }, async () => {
    const points = [4.52, 5.52, 6.52, 7.52];
    const clean = await playInNewPage(browser, { manifestUrl: `${server.url}/vod/bframes.mp4/index.mpd`, player: 'shaka', playSeconds: 0, seekTo: points, videoOnly: true });
    const { r: bad } = await playThrough((p, b) => (/\/v1\/2\.m4s$/.test(p) ? corruptMdat(b, 64) : b), { playSeconds: 0, seekTo: points, videoOnly: true, scanRate: 16 });
    expect(clean.ok).toBe(true);
    // No error, no stall, the whole asset decodes: the error checks alone are blind to this fault…
    expect(bad.errors).toEqual([]);
    expect(bad.scan?.ended).toBe(true);
    // …but some frame in segment 2 differs from the clean one.
    const psnr = bad.frames.map((f, i) => compareFrames(clean.frames[i]!.png, f.png).psnr);
    expect(Math.min(...psnr)).toBeLessThan(30);
  });
});
