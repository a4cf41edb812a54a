// hls.js in Debian's headless Chromium as the oracle for the HLS MPEG-TS output: the real server's
// clear TS must play without a single hls.js error, decode frames, and show a picture at a paused
// seek into every segment. (Protected TS cases use the same harness: see the comment at the top of
// test/browser/harness.ts.)
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import { launchBrowser, newPage, play, frameStats, compareFrames, segmentSeekPoints, type PlayOptions, type PlayResult, playInNewPage } from '../browser/harness.js';
import { startHlsTsOrigin, type HlsTsOrigin } from '../unit/protect/hls-ts-origin.js';

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

describe('hls.js: clear HLS MPEG-TS from the server', () => {
  const seekTo = segmentSeekPoints(12, SEGMENT);

  it('bframes.mp4 plays, decodes frames and shows a distinct picture in every segment', { timeout: 30_000 }, async () => {
    const r = await playInNewPage(browser, { manifestUrl: `${server.url}/vod/bframes.mp4/index.m3u8`, player: 'hlsjs', playSeconds: 1, seekTo });
    expect(r.errors, r.log.join('\n')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.variant?.height).toBe(360);
    expect(r.decodedAfterPlay).toBeGreaterThan(r.decodedAtFirstFrame);
    expect(r.timeAfterPlay).toBeGreaterThan(r.timeAtFirstFrame);
    expect(r.keyRequests).toEqual([]);
    expect(r.frames.map((f) => f.at)).toEqual(seekTo);
    for (const [i, f] of r.frames.entries()) {
      // hls.js's timeline starts at the first DTS, so with B-frames the first picture shows at 0.083 s.
      if (f.mediaTime !== null) expect(Math.abs(f.mediaTime - f.at)).toBeLessThan(0.1);
      expect(frameStats(f.png).stddev).toBeGreaterThan(20);
      if (i > 0) expect(compareFrames(r.frames[i - 1]!.png, f.png).identical).toBe(false);
    }
  });
});

// The TS muxer's own AES-128 and SAMPLE-AES output (src/protect/hls-aes128.ts, buildTsSegment's
// sampleAes), served by a test origin: hls.js fetches the key and decrypts in the page; the pictures
// must be bit-identical to the clear playback of the same segments.
describe('hls.js: AES-128 and SAMPLE-AES MPEG-TS from the TS muxer', () => {
  const seekTo = segmentSeekPoints(12, SEGMENT);
  let origin: HlsTsOrigin;
  let clear: PlayResult;
  beforeAll(async () => {
    origin = await startHlsTsOrigin();
    clear = await playInNewPage(browser, { manifestUrl: `${origin.url}/clear/index.m3u8`, player: 'hlsjs', playSeconds: 0, seekTo });
  });
  afterAll(async () => origin?.stop());

  // Per-segment IVs (the media sequence number), as an origin writes them; SAMPLE-AES with one fixed
  // IV is covered by test/unit/protect/hls-ts-ffmpeg.test.ts.
  it.each(['aes128', 'sample-aes+ivseq'])('%s: plays and shows the clear pictures', { timeout: 30_000 }, async (mode) => {
    expect(clear.errors, clear.log.join('\n')).toEqual([]);
    expect(clear.frames.length).toBe(seekTo.length);
    const r = await playInNewPage(browser, { manifestUrl: `${origin.url}/${mode}/index.m3u8`, player: 'hlsjs', playSeconds: 0.5, seekTo });
    expect(r.errors, r.log.join('\n')).toEqual([]);
    expect(r.ok).toBe(true);
    // hls.js fetched the key (video and audio playlists) and decrypted in the page.
    expect(r.keyRequests.length).toBeGreaterThan(0);
    expect(r.keyRequests.every((u) => u.endsWith('/key'))).toBe(true);
    expect(r.frames.length).toBe(seekTo.length);
    for (const [i, f] of r.frames.entries()) {
      expect(compareFrames(f.png, clear.frames[i]!.png), `frame at ${f.at}s`).toEqual({ identical: true, psnr: Infinity });
    }
  });

  it.each([
    // AES-128: the decrypted bytes are not TS: hls.js cannot probe a demuxer (fatal).
    ['aes128', false, /hls\.js error: type=mediaError details=fragParsingError/],
    // SAMPLE-AES: the slice data decodes to garbage: Chromium's decoder rejects it.
    ['sample-aes+ivseq', true, /video error event: code=3 .*PIPELINE_ERROR_DECODE/],
  ] as const)('%s with a wrong key (videoOnly: %s) fails fast', { timeout: 30_000 }, async (mode, videoOnly, error) => {
    const started = Date.now();
    const r = await playInNewPage(browser, { manifestUrl: `${origin.url}/${mode}+wrongkey/index.m3u8`, player: 'hlsjs', playSeconds: 1, seekTo, videoOnly, firstFrameTimeoutMs: 4000 });
    expect(r.ok).toBe(false);
    expect(r.errors.join('\n')).toMatch(error);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
