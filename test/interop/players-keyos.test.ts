// Content keyed by the KeyOS stand-in plays in Chromium (Shaka, ClearKey CDM with the keys the test
// knows), frame for frame identical to the clear location: the key from the vendor is the key used. The
// location signals Widevine and PlayReady only (the vendor's pssh), so the packager never hands the key
// out: the player gets it from the test.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import { launchBrowser, newPage, play, compareFrames, segmentSeekPoints, type PlayOptions, type PlayResult, playInNewPage } from '../browser/harness.js';
import { startKeyosStandIn, type StandIn } from '../integration/drm-standins.js';

const SEGMENT = 4;
const FILE = 'bframes.mp4';
const DURATION = 12;
const KID = '5a5a5a5a6b6b4c7c8d8d9e9e9e9e9e9e';
const KEY = '3c1d5e7f9a2b4c6d8e0f1a2b3c4d5e6f';
const seekTo = segmentSeekPoints(DURATION, SEGMENT);

let server: TestServer;
let browser: Browser;
let keyos: StandIn;

beforeAll(async () => {
  [server, browser, keyos] = await Promise.all([startTestServer('http 8080;\n'), launchBrowser(), startKeyosStandIn({ [KID]: KEY })]);
  const lib = join(server.dir, 'lib');
  await mkdir(lib);
  await copyFile(join(FIXTURES, FILE), join(lib, FILE));
  await writeFile(join(lib, `${FILE}.keyos_id`), `${KID.slice(0, 8)}-${KID.slice(8, 12)}-${KID.slice(12, 16)}-${KID.slice(16, 20)}-${KID.slice(20)}\n`);
  await writeFile(
    server.configPath,
    [
      'http 8080;',
      `file vod { path ${lib}; segment_duration ${SEGMENT}; }`,
      `file keyos { path ${lib}; segment_duration ${SEGMENT}; drm keyos userkey=U-1 url=${keyos.url}/pck/ systems=widevine,playready; }`,
      '',
    ].join('\n'),
  );
  expect(await server.reload()).toBe(true);
}, 60_000);
afterAll(async () => {
  await Promise.allSettled([browser?.close(), server?.stop(), keyos?.close()]);
});

describe('KeyOS-keyed DASH plays with the vendor key', () => {
  it('frames identical to the clear location', { timeout: 60_000 }, async () => {
    const clear = await playInNewPage(browser, { manifestUrl: `${server.url}/vod/${FILE}/index.mpd`, player: 'shaka', playSeconds: 1, seekTo, videoOnly: true });
    expect(clear.errors).toEqual([]);
    const r = await playInNewPage(browser, { manifestUrl: `${server.url}/keyos/${FILE}/index.mpd`, player: 'shaka', playSeconds: 1, seekTo, videoOnly: true, clearKeys: { [KID]: KEY } });
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.frames).toHaveLength(clear.frames.length);
    r.frames.forEach((f, i) => {
      const cmp = compareFrames(f.png, clear.frames[i]!.png);
      expect(cmp.identical, `frame at ${f.at}s differs (PSNR ${cmp.psnr.toFixed(1)} dB)`).toBe(true);
    });
    expect(keyos.requests.length).toBeGreaterThanOrEqual(1);
  });
});
