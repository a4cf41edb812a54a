// The built-in player page (/player) in Chromium: browse to a clear and a protected title, play them the
// way the page does for an operator (Shaka for DASH with the MPD's ClearKey licence URL, hls.js for HLS TS
// with AES-128 keys from /keys/… and a token from the development token route), and require frames to be
// decoded. Saves a screenshot in test-results/player.png; with UPDATE_SCREENSHOT=1 it replaces the
// README's (docs/player.png).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newPage } from '../browser/harness.js';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';

const SCREENSHOT = process.env['UPDATE_SCREENSHOT'] === '1'
  ? join(import.meta.dirname, '..', '..', 'docs', 'player.png')
  : join(import.meta.dirname, '..', '..', 'test-results', 'player.png');
const SECRET = 'player-page-token-secret-0123456789abcdef';

interface PlayerState {
  url: string;
  frames: number;
  currentTime: number;
  errors: string[];
  width: number;
  bitrate: number;
  keyRequests: number;
  licenseRequests: number;
}

const state = (page: Page): Promise<PlayerState> => page.evaluate(() => (window as unknown as { P: { state(): PlayerState } }).P.state());

/** Clicks through the page as an operator would and waits until playback has decoded frames for a while. */
async function playThroughPage(page: Page, location: string, file: string, mode: 'clear' | 'protected', format: 'dash' | 'fmp4' | 'ts'): Promise<PlayerState> {
  await page.click(`#locations .item[data-location="${location}"]`);
  await page.click(`#files .item[data-file="${file}"]`);
  await page.click(`#prot button[data-mode="${mode}"]`);
  await page.click(`#fmt button[data-fmt="${format}"]`);
  await page.click('#play');
  const deadline = Date.now() + 15_000;
  let s = await state(page);
  while (Date.now() < deadline && s.errors.length === 0 && !(s.frames > 30 && s.currentTime > 1.5)) {
    await page.waitForTimeout(200);
    s = await state(page);
  }
  return s;
}

describe('the /player page', () => {
  let browser: Browser;
  let server: TestServer;

  beforeAll(async () => {
    [browser, server] = await Promise.all([
      launchBrowser(),
      startTestServer(`dev_tokens on;\nfile vod {\n  path ${FIXTURES};\n}\nfile drm {\n  path ${FIXTURES};\n  drm local;\n  token_secret ${SECRET};\n}\n`),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('lists locations, files and (no) live streams, and plays clear DASH, protected DASH and protected HLS TS', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(`${server.url}/player`);
      await page.waitForSelector('#locations .item[data-location="drm"]');
      expect(await page.textContent('#streams')).toContain('no live streams');
      await page.click('#locations .item[data-location="vod"]');
      await page.waitForSelector('#files .item[data-folder="sub"]');

      const clear = await playThroughPage(page, 'vod', 'bframes.mp4', 'clear', 'dash');
      expect(clear.errors).toEqual([]);
      expect(clear.frames).toBeGreaterThan(30);
      expect(clear.url).toMatch(/\/vod\/bframes\.mp4\/index\.mpd$/);

      const ts = await playThroughPage(page, 'drm', 'bframes.mp4', 'protected', 'ts');
      expect(ts.errors).toEqual([]);
      expect(ts.frames).toBeGreaterThan(30);
      expect(ts.url).toMatch(/\/drm\/bframes\.mp4\/index\.m3u8\?token=/);
      expect(ts.keyRequests).toBeGreaterThan(0);

      const dash = await playThroughPage(page, 'drm', 'bframes.mp4', 'protected', 'dash');
      expect(dash.errors).toEqual([]);
      expect(dash.frames).toBeGreaterThan(30);
      expect(dash.licenseRequests).toBeGreaterThan(0);
      expect(dash.width).toBeGreaterThan(0);
      await page.waitForTimeout(600); // the stats panel refreshes every 500 ms
      await page.screenshot({ path: SCREENSHOT });
    } finally {
      await page.close();
    }
  });
});
