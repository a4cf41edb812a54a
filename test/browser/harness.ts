// Real players in a real browser as test oracles (see /work/shared/reference/PLAYERS.md).
//
// Debian's headless Chromium (/usr/bin/chromium) driven by playwright-core, Shaka Player 5.2 and
// hls.js 1.7 from node_modules, a test page served by a tiny static server on 127.0.0.1 (a secure
// context, so EME works without TLS; a different port from the packager's, so CORS is exercised as
// in real life).
//
// Usage (one browser per test file, one page per case):
//
//   let browser: Browser;
//   beforeAll(async () => { browser = await launchBrowser(); });
//   afterAll(async () => { await browser?.close(); });          // also stops the page server
//   it('plays', async () => {
//     const page = await newPage(browser);
//     try {
//       const r = await play(page, { manifestUrl: `${server.url}/vod/bframes.mp4/index.mpd`, player: 'shaka',
//                                    playSeconds: 2, seekTo: segmentSeekPoints(12, 4) });
//       expect(r.errors).toEqual([]); expect(r.ok).toBe(true);
//     } finally { await page.close(); }
//   });
//
// What counts as a failure (result.ok === false, a message in result.errors): every 'error' event of
// the <video> element (code + message, e.g. "code=3 PIPELINE_ERROR_DECODE"), every Shaka 'error'
// event (code, category, data), Shaka's 'mediasourcerecovered' (Shaka 5 hides a decode/append error
// by resetting MediaSource: that alone is a failure), Shaka's 'stalldetected', key statuses other
// than usable/status-pending, no first frame within firstFrameTimeoutMs, currentTime not advancing
// for stallMs while playing, a seek whose 'seeked' does not come within seekTimeoutMs, an uncaught
// exception in the page.
//
// Encrypted (ClearKey) cases — all of this was tried against the packager's `drm local` (DASH cenc,
// HLS fMP4 cbcs), `dash=cbcs`, `hls=cenc` (SAMPLE-AES-CTR) and `drm static key= kid=` locations of
// bframes.mp4: every seek frame was bit-identical to the clear location's.
//   - Nothing given (what a real client does): Shaka takes the MPD's ClearKey <dashif:Laurl> (or
//     clearkey:Laurl with Lic_type="EME-1.0") and POSTs {"kids":[…]} there; result.licenseRequests
//     lists the URLs it used. For HLS fMP4 (#EXT-X-KEY:METHOD=SAMPLE-AES → cbcs, SAMPLE-AES-CTR → cenc,
//     KEYFORMAT="identity") Shaka's HLS parser GETs the key URI itself (16 raw bytes; listed in
//     result.keyRequests), takes the KID from the init's tenc and builds the licence locally: no
//     licence request at all.
//       play(page, { manifestUrl: `${server.url}/drm/bframes.mp4/index.mpd`, player: 'shaka', seekTo })
//   - licenseServer: every licence request goes to that URL (a request filter rewrites it, because
//     for ClearKey Shaka keeps an MPD Laurl over drm.servers). No effect on HLS identity keys, which
//     never make a licence request: assert on keyRequests there.
//       play(page, { manifestUrl, player: 'shaka', licenseServer: `${server.url}/license/clearkey` })
//   - clearKeys: the player gets the keys directly (tests the media, not the licence/key path); it
//     replaces whatever the manifest says, HLS identity keys included. 32 hex digits each, the KID as
//     in tenc / cenc:default_KID without dashes:
//       play(page, { manifestUrl, player: 'shaka', clearKeys: { abcdefabcdef4bcd8fabcdefabcdefab: '0011…eeff' } })
//   - The decisive check is pixels: seek into every segment (segmentSeekPoints) on the encrypted and
//     on the clear location and require compareFrames(enc.frames[i].png, clear.frames[i].png)
//     .identical (it is, bit for bit). canvas.drawImage would be black for EME video; page
//     screenshots are not. Errors alone miss faults that decode as garbage (see the 64-byte case in
//     test/interop/players.test.ts): compare frames, and add seek points inside segments if needed.
//   - Negatives (observed): a wrong key (right KID, other bytes — via clearKeys, or a licence/key
//     response rewritten by startTamperingProxy from ./proxy.ts) → ok === false within ~0.15–0.5 s
//     with /video error event: code=3 message=PipelineStatus::PIPELINE_ERROR_DECODE/ and Shaka error
//     3016 (audio fails first unless videoOnly: true — test both). A wrong KID given in clearKeys →
//     Shaka error code=4012 (RESTRICTIONS_CANNOT_BE_MET, missingKeys) within ~0.7 s. A KID that
//     Shaka cannot see coming (e.g. tenc differs from the manifest) shows as waitingforkey and a
//     stall: "no first frame within …" / "stall" / "seek to …: no seeked" with the
//     "[video is waitingforkey …]" hint, bounded by firstFrameTimeoutMs / stallMs / seekTimeoutMs.
//     A licence URL answering 4xx → Shaka error code=6007 (data: code 1001 + status) within ~0.7 s.
//   - Encrypted MPEG-TS cannot be played by Shaka's MSE path (HLS_MSE_ENCRYPTED_MP2T_NOT_SUPPORTED):
//     use hls.js for it (below).
//
// Live streams (test/interop/players-live.test.ts): the same play() with progress: true (currentTime
// and decoded frames sampled every ~100 ms of the play: result.progress) and shotsDuringPlay (seconds
// into the play at which the playing video is screenshotted: result.playShots), no seekTo. Players
// start near the live edge; currentTime is the MPD's presentation time (Shaka DASH: seconds since
// availabilityStartTime) or the playlist's (HLS, observed with both players: 0 at the start of the
// first segment of the first playlist loaded). Errors alone prove nothing there: with a wrong key,
// Chromium decodes makeLiveTs's Constrained Baseline (CAVLC) video into green garbage without any
// error event (observed), so that test matches its shots against the source's frames.
//
// hls.js (player: 'hlsjs'): the same options and PlayResult. The library (/hls.js, from
// node_modules/hls.js/dist/hls.js) is loaded into the page on the first hlsjs load. Failures: every
// hls.js ERROR event, fatal or not (message "hls.js error: type=… details=… fatal=… [reason=…]
// [error=…] [status=…] [frag=sn [start-end] url]": hls.js skips or retries some faults, which would
// hide them), plus everything listed above for the <video> element (error events, no first frame,
// stalls, seeks). One exception, logged and not failed: hls.js puts its zero at the first DTS, so a
// B-frame stream starts with a hole (0.083 s for bframes.mp4) that hls.js 1.7 reports non-fatally
// as bufferAppendNoProgress on the first fragment and bufferSeekOverHole from 0 (page.html
// startGap()). For the same reason the first picture's mediaTime is 0.083, not 0.
// The rendition is pinned with hls.loadLevel (ABR off); videoOnly makes the page fetch the master and
// hand hls.js the pinned rendition's media playlist (hls.js cannot drop audio otherwise).
// clearKeys / licenseServer are Shaka-only (the harness throws for hlsjs).
//   - Clear HLS TS (test/interop/players-hlsjs.test.ts), ≈1.5–4 s a case:
//       play(page, { manifestUrl: `${server.url}/vod/bframes.mp4/index.m3u8`, player: 'hlsjs', playSeconds: 1, seekTo })
//   - Encrypted HLS TS (#EXT-X-KEY METHOD=AES-128, or METHOD=SAMPLE-AES with an explicit IV=): hls.js
//     GETs the key URI itself (16 raw bytes; CORS needed, the page is another origin) and decrypts
//     in the page (WebCrypto / its JS AES): no EME, KEYFORMAT identity only, no licence.
//     result.keyRequests lists the key URIs it loaded (hls.js KEY_LOADING). Tried with the TS
//     muxer's own output (test/unit/protect/hls-ts-origin.ts): AES-128 and SAMPLE-AES with
//     per-segment IVs play with every seek frame bit-identical to the clear TS.
//     To add a protected case for the server: play the protected location's index.m3u8 with
//     player: 'hlsjs' and the same seekTo as the clear location's index.m3u8, require r.ok,
//     r.keyRequests.length > 0, and compareFrames(enc.frames[i].png, clear.frames[i].png)
//     .identical for every i (errors alone miss faults that decode as garbage; pixels do not).
//     Negatives (observed, ~1.2–1.5 s each): a wrong key (serve
//     other key bytes, e.g. through startTamperingProxy from ./proxy.ts rewriting the key response)
//     → AES-128: "hls.js error: type=mediaError details=fragParsingError fatal=true reason=Failed to
//     find demuxer by probing fragment data"; SAMPLE-AES: "video error event: code=3
//     message=PipelineStatus::PIPELINE_ERROR_DECODE…" (videoOnly too: audio can fail first).
//     hls.js 1.7 treats a METHOD=SAMPLE-AES key without IV= as clear (garbage, not an error): always
//     write IV=.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

export { compareFrames, decodePng, frameStats } from './png.js';

export const CHROMIUM = '/usr/bin/chromium';
export const VIEWPORT = { width: 1280, height: 720 } as const;

/** Launch flags that hold on this machine (PLAYERS.md); playwright adds --headless itself. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-quic',
];

export type PlayerName = 'shaka' | 'hlsjs';

export interface PlayOptions {
  manifestUrl: string;
  player: PlayerName;
  /** ClearKey keys given to the player: KID hex → key hex (32 hex digits each). Shaka only. */
  clearKeys?: Record<string, string>;
  /**
   * ClearKey licence server URL, e.g. `${server.url}/license/clearkey`: every licence request goes
   * there, even when the MPD names another Laurl (Shaka alone would keep the MPD's for ClearKey).
   * Shaka only.
   */
  licenseServer?: string;
  /** Seek (paused) to each of these times after playing, and screenshot the frame shown. */
  seekTo?: number[];
  /** Seconds of wall-clock play after the first frame (default 2; 0 to go straight to the seeks). */
  playSeconds?: number;
  /**
   * Drop audio (Shaka manifest.disableAudio; hls.js gets the video media playlist instead of the
   * master): a bad audio track fails first otherwise.
   */
  videoOnly?: boolean;
  /** No first frame within this is a failure (default 8000). */
  firstFrameTimeoutMs?: number;
  /** currentTime not advancing for this long while playing is a failure (default 2500). */
  stallMs?: number;
  /** No 'seeked' within this after a seek is a failure (default 5000). */
  seekTimeoutMs?: number;
  /**
   * After the seeks, play the whole asset from 0 to the end at this rate (16 works: ~0.8 s for 12 s
   * of 360p, every frame still decoded): a fault anywhere that errors or stalls shows, not only at
   * the seek points. Garbage that decodes silently does not: only compareFrames sees that. Off by
   * default.
   */
  scanRate?: number;
  /** Bound on the whole scan (default 30000). */
  scanTimeoutMs?: number;
  /** Which rendition to pin (ABR is off so that two manifests show the same pixels; default 'highest'). */
  variant?: 'highest' | 'lowest';
  /** Shallow-merged into the Shaka (or hls.js) configuration last (top-level keys replace the harness's). */
  extraConfig?: Record<string, unknown>;
  /**
   * Live mode: record currentTime and decoded frames every ~100 ms of the playSeconds play
   * (result.progress), so that a test can require steady progress, not just a later time.
   */
  progress?: boolean;
  /**
   * Live mode: screenshot the playing video (1280x720 at 0,0) this many seconds into the play
   * (result.playShots). The play is cut into pieces there; stall checks go on in every piece.
   */
  shotsDuringPlay?: number[];
}

export interface ProgressSample {
  /** Page clock, ms. */
  ms: number;
  /** video.currentTime. */
  t: number;
  /** totalVideoFrames. */
  frames: number;
  readyState: number;
}

export interface PlayShot {
  /** Seconds into the play. */
  after: number;
  png: Buffer;
  /** video.currentTime when the screenshot was taken. */
  currentTime: number;
}

export interface PlayFrame {
  /** The time seeked to. */
  at: number;
  /** 1280x720 PNG screenshot of the <video> element. */
  png: Buffer;
  /** The presented frame's media time (requestVideoFrameCallback), when known. */
  mediaTime: number | null;
}

export interface PlayResult {
  ok: boolean;
  errors: string[];
  /** video.getVideoPlaybackQuality().totalVideoFrames at the end. */
  decodedFrames: number;
  currentTime: number;
  frames: PlayFrame[];
  /** decodedFrames at the first frame and after playSeconds (growth shows decoding went on). */
  decodedAtFirstFrame: number;
  decodedAfterPlay: number;
  /** currentTime at the first frame and after playSeconds. */
  timeAtFirstFrame: number;
  timeAfterPlay: number;
  /**
   * URLs of the licence requests Shaka sent over the network, in order (licences Shaka builds itself
   * from drm.clearKeys or from an HLS identity key are not requests and are not listed). Always
   * empty for hls.js.
   */
  licenseRequests: string[];
  /** URLs of the HLS key requests (EXT-X-KEY URI, identity) the player made. */
  keyRequests: string[];
  /** The full scan (scanRate): frames decoded during it, whether it reached the end, wall time. */
  scan?: { frames: number; ended: boolean; ms: number };
  /** The pinned rendition. */
  variant: { width: number; height: number; bandwidth: number; videoCodec: string; audioCodec: string } | null;
  /** Timestamped page-side events (loadeddata, seeking, seeked, waitingforkey, …) for diagnostics. */
  log: string[];
  elapsedMs: number;
  /** With opts.progress: samples taken during the play (empty otherwise). */
  progress: ProgressSample[];
  /** With opts.shotsDuringPlay: the screenshots taken while playing. */
  playShots: PlayShot[];
}

// ---------------------------------------------------------------------------------------------------
// The static server for the test page and the player library.

const PAGE = join(import.meta.dirname, 'page.html');
const require = createRequire(import.meta.url);
const SHAKA = require.resolve('shaka-player/dist/shaka-player.compiled.js');
const HLSJS = require.resolve('hls.js/dist/hls.js');

const ROUTES: Record<string, { file: string; type: string }> = {
  '/': { file: PAGE, type: 'text/html; charset=utf-8' },
  '/page.html': { file: PAGE, type: 'text/html; charset=utf-8' },
  '/shaka-player.compiled.js': { file: SHAKA, type: 'text/javascript; charset=utf-8' },
  '/hls.js': { file: HLSJS, type: 'text/javascript; charset=utf-8' },
};

let pageServer: { server: Server; url: string } | null = null;
let pageServerStarting: Promise<string> | null = null;

/** Starts (once per process) the static server of the test page; resolves with its origin. */
export function pageServerUrl(): Promise<string> {
  if (pageServer) return Promise.resolve(pageServer.url);
  pageServerStarting ??= new Promise<string>((resolve, reject) => {
    const server = createServer((req, res) => {
      const route = ROUTES[(req.url ?? '/').split('?')[0] ?? '/'];
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      readFile(route.file).then(
        (body) => res.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store' }).end(body),
        (err: Error) => res.writeHead(500).end(String(err)),
      );
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (!addr || typeof addr === 'string') return reject(new Error('page server: no address'));
      server.unref();
      pageServer = { server, url: `http://127.0.0.1:${addr.port}` };
      resolve(pageServer.url);
    });
  }).finally(() => {
    pageServerStarting = null;
  });
  return pageServerStarting;
}

/** Stops the page server (done automatically when the browser from launchBrowser() closes). */
export async function stopPageServer(): Promise<void> {
  const s = pageServer;
  pageServer = null;
  if (!s) return;
  s.server.closeAllConnections();
  await new Promise<void>((resolve) => s.server.close(() => resolve()));
}

// ---------------------------------------------------------------------------------------------------
// The browser.

/**
 * Launches Debian's Chromium headless with a fresh (temporary) profile. Close it in afterAll (even
 * when tests fail): that also stops the page server. Pages should come from newPage() (1280x720).
 */
export async function launchBrowser(): Promise<Browser> {
  const [browser] = await Promise.all([
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS }),
    pageServerUrl(),
  ]);
  browser.on('disconnected', () => void stopPageServer());
  return browser;
}

/** A page in its own context (no shared cache or EME state between cases), 1280x720, scale 1. */
export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { ...VIEWPORT }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('close', () => void context.close().catch(() => undefined));
  return page;
}

/** Plays in a page of its own (closed afterwards, even on failure): one page per case. */
/**
 * A screenshot of a paused picture once the compositor shows it: two in a row alike (at most 5 tries,
 * 100 ms apart). On a loaded machine the page's two requestAnimationFrames after the presented frame
 * were not always enough: a full run once captured the picture from before the seek.
 */
async function settledScreenshot(page: Page): Promise<Buffer> {
  const shoot = (): Promise<Buffer> => page.screenshot({ clip: { x: 0, y: 0, ...VIEWPORT }, type: 'png' });
  let last = await shoot();
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const next = await shoot();
    if (next.equals(last)) return next;
    last = next;
  }
  return last;
}

export async function playInNewPage(browser: Browser, opts: PlayOptions): Promise<PlayResult> {
  const page = await newPage(browser);
  try {
    return await play(page, opts);
  } finally {
    await page.close();
  }
}

/** Seek points ≈0.02 s into every segment of a `duration`-second asset cut into `segment`-second segments. */
export function segmentSeekPoints(duration: number, segment: number, offset = 0.02): number[] {
  const out: number[] = [];
  for (let t = 0; t < duration - offset; t += segment) out.push(Math.round((t + offset) * 1000) / 1000);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Playing.

interface PageState {
  errors: string[];
  events: string[];
  decodedFrames: number;
  currentTime: number;
  readyState: number;
  variant: PlayResult['variant'];
  licenseRequests: string[];
  keyRequests: string[];
  progress: ProgressSample[];
}

interface PageApi {
  ready?: boolean;
  load(opts: unknown): Promise<void>;
  waitFirstFrame(timeoutMs: number): Promise<boolean>;
  playFor(seconds: number, stallMs: number, record?: boolean): Promise<boolean>;
  seekPaused(t: number, timeoutMs: number): Promise<{ ok: boolean; mediaTime: number | null }>;
  scan(from: number, rate: number, stallMs: number, timeoutMs: number): Promise<{ frames: number; ended: boolean; ms: number }>;
  state(): PageState;
  destroy(): Promise<void>;
}

// Functions passed to page.evaluate() run in the page: they reach page.html's API as
// `(globalThis as unknown as W).H` (the cast is erased; no Node-side closure may be used there).
type W = { H: PageApi };

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms}ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Loads `manifestUrl` in Shaka or hls.js on a fresh copy of the test page, waits for the first frame,
 * plays for playSeconds, then seeks (paused) to every seekTo time and screenshots the <video>
 * (1280x720 at 0,0). Never throws for playback problems: they are reported in `errors` and make `ok`
 * false.
 */
export async function play(page: Page, opts: PlayOptions): Promise<PlayResult> {
  if (opts.player !== 'shaka' && opts.player !== 'hlsjs') throw new Error(`player ${String(opts.player)} not supported`);
  if (opts.player === 'hlsjs' && (opts.clearKeys || opts.licenseServer)) {
    throw new Error('clearKeys and licenseServer are Shaka options; hls.js fetches EXT-X-KEY URIs itself');
  }
  const started = Date.now();
  const firstFrameTimeoutMs = opts.firstFrameTimeoutMs ?? 8000;
  const playSeconds = opts.playSeconds ?? 2;
  const stallMs = opts.stallMs ?? 2500;
  const seekTimeoutMs = opts.seekTimeoutMs ?? 5000;

  const hostErrors: string[] = [];
  const onPageError = (e: Error) => hostErrors.push(`page exception: ${e.message}`);
  const onCrash = () => hostErrors.push('page crashed');
  page.on('pageerror', onPageError);
  page.on('crash', onCrash);

  const result: PlayResult = {
    ok: false,
    errors: [],
    decodedFrames: 0,
    currentTime: 0,
    frames: [],
    decodedAtFirstFrame: 0,
    decodedAfterPlay: 0,
    timeAtFirstFrame: 0,
    timeAfterPlay: 0,
    variant: null,
    licenseRequests: [],
    keyRequests: [],
    log: [],
    elapsedMs: 0,
    progress: [],
    playShots: [],
  };
  const pageErrors = async () => (await page.evaluate(() => (globalThis as unknown as W).H.state().errors.length)) + hostErrors.length;
  let seeksOk = true;
  try {
    if (page.viewportSize()?.width !== VIEWPORT.width || page.viewportSize()?.height !== VIEWPORT.height) {
      await page.setViewportSize({ ...VIEWPORT });
    }
    await page.goto(`${await pageServerUrl()}/page.html`, { waitUntil: 'load' });
    await page.waitForFunction(() => (globalThis as unknown as Partial<W>).H?.ready === true, undefined, { timeout: 10_000 });

    const pageOpts = {
      player: opts.player,
      manifestUrl: opts.manifestUrl,
      clearKeys: opts.clearKeys,
      licenseServer: opts.licenseServer,
      videoOnly: opts.videoOnly ?? false,
      variant: opts.variant ?? 'highest',
      extraConfig: opts.extraConfig,
    };
    await withTimeout(page.evaluate((o) => (globalThis as unknown as W).H.load(o), pageOpts), firstFrameTimeoutMs + 15_000, 'player.load');

    if ((await pageErrors()) === 0) {
      await withTimeout(page.evaluate((ms) => (globalThis as unknown as W).H.waitFirstFrame(ms), firstFrameTimeoutMs), firstFrameTimeoutMs + 5000, 'first frame');
      const s1 = await page.evaluate(() => (globalThis as unknown as W).H.state());
      result.decodedAtFirstFrame = s1.decodedFrames;
      result.timeAtFirstFrame = s1.currentTime;
      if (s1.errors.length === 0 && playSeconds > 0) {
        // Without shotsDuringPlay: one piece of playSeconds.
        const cuts = [...new Set((opts.shotsDuringPlay ?? []).filter((x) => x > 0 && x < playSeconds))].sort((a, b) => a - b);
        let played = 0;
        for (const cut of [...cuts, playSeconds]) {
          const sec = cut - played;
          const record = opts.progress ?? false;
          await withTimeout(page.evaluate(([s, ms, rec]) => (globalThis as unknown as W).H.playFor(s, ms, rec), [sec, stallMs, record] as const), sec * 1000 + 10_000, 'play');
          played = cut;
          if (cut === playSeconds || (await pageErrors()) > 0) break;
          const png = await page.screenshot({ clip: { x: 0, y: 0, ...VIEWPORT }, type: 'png' });
          const currentTime = await page.evaluate(() => (globalThis as unknown as W).H.state().currentTime);
          result.playShots.push({ after: cut, png, currentTime });
        }
        const s2 = await page.evaluate(() => (globalThis as unknown as W).H.state());
        result.decodedAfterPlay = s2.decodedFrames;
        result.timeAfterPlay = s2.currentTime;
        if (s2.errors.length === 0 && !(s2.currentTime > s1.currentTime)) {
          hostErrors.push(`time did not advance: ${s1.currentTime} → ${s2.currentTime} in ${playSeconds}s of play`);
        }
      }
      for (const at of opts.seekTo ?? []) {
        if ((await pageErrors()) > 0) {
          seeksOk = false;
          break;
        }
        const r = await withTimeout(page.evaluate(([t, ms]) => (globalThis as unknown as W).H.seekPaused(t, ms), [at, seekTimeoutMs] as const), seekTimeoutMs + 5000, `seek to ${at}`);
        if (!r.ok) {
          seeksOk = false;
          break;
        }
        const png = await settledScreenshot(page);
        result.frames.push({ at, png, mediaTime: r.mediaTime });
      }
      if (opts.scanRate && seeksOk && (await pageErrors()) === 0) {
        const rate = opts.scanRate;
        const timeoutMs = opts.scanTimeoutMs ?? 30_000;
        const sc = await withTimeout(
          page.evaluate(([r, st, to]) => (globalThis as unknown as W).H.scan(0, r, st, to), [rate, stallMs, timeoutMs] as const),
          timeoutMs + 5000,
          'scan',
        );
        result.scan = sc;
        if (!sc.ended && (await pageErrors()) === 0) hostErrors.push(`scan at ${rate}x did not reach the end`);
      }
    }
  } catch (e) {
    hostErrors.push(`harness: ${(e as Error).message}`);
  } finally {
    page.off('pageerror', onPageError);
    page.off('crash', onCrash);
  }

  try {
    const s = await page.evaluate(() => (globalThis as unknown as W).H.state());
    result.errors = [...s.errors, ...hostErrors];
    result.decodedFrames = s.decodedFrames;
    result.currentTime = s.currentTime;
    result.variant = s.variant;
    result.licenseRequests = s.licenseRequests;
    result.keyRequests = s.keyRequests;
    result.progress = s.progress;
    result.log = s.events;
    await withTimeout(page.evaluate(() => (globalThis as unknown as W).H.destroy()), 5000, 'player.destroy').catch(() => undefined);
  } catch (e) {
    result.errors = [...hostErrors, `harness: cannot read the page state: ${(e as Error).message}`];
  }
  if (result.decodedFrames === 0 && result.errors.length === 0) result.errors.push('no video frame decoded');
  if (opts.seekTo && result.frames.length !== opts.seekTo.length && result.errors.length === 0) {
    result.errors.push(`only ${result.frames.length} of ${opts.seekTo.length} seeks produced a frame`);
  }
  result.ok = result.errors.length === 0 && seeksOk && result.decodedFrames > 0;
  result.elapsedMs = Date.now() - started;
  return result;
}
