// Real players on a protected live stream: a synthetic MPEG-TS file (makeLiveTs: testsrc2 with the
// frame number burnt in, H.264 Constrained Baseline + AAC) paced in real time over UDP into a
// `stream` with `drm local systems=clearkey rotate_segments=2` (a new KeyID every 2 segments of 2 s),
// played in Debian's headless Chromium (test/browser/harness.ts) long enough to cross at least two
// key-rotation boundaries without a stall:
//   - Shaka Player: the dynamic DASH MPD (cenc; a Period per key period; licences from our
//     /license/clearkey through the MPD's Laurl) and the HLS fMP4 playlists (cbcs; a new EXT-X-KEY and
//     EXT-X-MAP per key period; identity keys from our /keys/{kid}).
//   - hls.js: the HLS MPEG-TS playlists (AES-128, decrypted by hls.js itself, keys from /keys/{kid}).
//     hls.js cannot play the fMP4 cbcs playlists: it uses EME only for the KEYFORMATs of a DRM system;
//     for METHOD=SAMPLE-AES with KEYFORMAT="identity" it fetches the key but never gives it to a CDM
//     (PLAYERS.md: "waits for a key forever"). A player limitation: Shaka is the fMP4 oracle here.
//
// Errors alone prove nothing here: with a wrong key, Chromium decodes this CAVLC stream into green
// garbage without any error event (observed, unlike the VOD fixtures). So the pictures are the oracle:
// screenshots taken while playing are matched against every frame of the source (ffmpeg-decoded,
// 80x45 grey thumbnails; a right decode matches its frame at ~37 dB, garbage ~9 dB), and the matched
// frame numbers must advance with currentTime. With that, steady play means: no player or <video>
// error, currentTime advancing at about real time without a pause over STILL_MAX_MS (sampled every
// ~100 ms), frames decoded all along, every shot a frame of the source, in step with the clock.
// Wrong keys (licence / key responses rewritten by a tampering proxy) must fail: every key wrong, and
// only the keys from the second rotation on wrong (then the first pictures are right and the later
// ones are not: the players do use each period's own key).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Browser } from 'playwright-core';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { makeLiveTs, TsPacer } from '../helpers/live-source.js';
import { UdpFanOut } from '../helpers/live-harness.js';
import { launchBrowser, playInNewPage, decodePng, type PlayOptions, type PlayResult, type PlayShot } from '../browser/harness.js';
import { startTamperingProxy, type TamperingProxy } from '../browser/proxy.js';
import { keyPeriodOf, periodKid } from '../../src/keys/rotation.js';
import { kidFromB64url, kidToHex, parseKid } from '../../src/keys/kid.js';

const execFileAsync = promisify(execFile);

const STREAM = 'live';
/** The same input and keys, HLS TS with SAMPLE-AES instead of AES-128. */
const STREAM_SAES = 'livesaes';
const SEGMENT = 2;
const ROTATE_SEGMENTS = 2;
/** Media seconds per key period. */
const KEY_PERIOD_S = SEGMENT * ROTATE_SEGMENTS;
const RESOURCE_ID = '6f1a2b3c-4d5e-4f60-8a7b-8c9d0e1f2a3b';
const FPS = 25;
/** Long enough that the pacer never loops (a loop is a discontinuity) during the file's tests. */
const SOURCE_SECONDS = 240;
/** Wall seconds of play per positive case: more than 2 key periods, with room for a slow start. */
const PLAY_S = 11;
/** Screenshots while playing: less than a key period apart, so every key period played is seen. */
const SHOTS = [0.5, 4, 7.5, 10.5];
/** More than 2 key periods of media: whatever the phase, at least two key boundaries lie inside. */
const MIN_SPAN_S = 2 * KEY_PERIOD_S + 0.5;
/** currentTime not moving for longer than this (in the page's samples) is a stall. */
const STILL_MAX_MS = 2000;
/** A shot is a frame of the source when its thumbnail matches one at least this well (right ≈ 37, garbage ≈ 9). */
const MATCH_DB = 30;
/** Matched frame numbers vs currentTime between two shots (the screenshot and the time read are not atomic). */
const STEP_TOLERANCE_S = 0.6;

let server: TestServer;
let browser: Browser;
let pacer: TsPacer;
let fan: UdpFanOut;
let proxy: TamperingProxy;
let reference: Thumbnails;
const base = parseKid(RESOURCE_ID);
/** KID hex → key period, for every period this file can meet. */
const periodOfKid = new Map<string, number>();
for (let p = 0; p < 1000; p++) periodOfKid.set(kidToHex(periodKid(base, p)), p);
/** The proxy rewrites the keys of the key periods >= this (null: none). */
let tamperFrom: number | null = null;

const wrong = (key: Buffer): Buffer => Buffer.from(key.map((b) => b ^ 0x5a));
const tampered = (kidHex: string): boolean => {
  const p = periodOfKid.get(kidHex);
  return tamperFrom !== null && p !== undefined && p >= tamperFrom;
};

// ---------------------------------------------------------------------------------------------------
// The pixel oracle: 80x45 grey thumbnails (16x16 boxes of the 1280x720 screenshot; 4x4 boxes of the
// 320x180 source), BT.709 luma, the weights that match what Chromium shows (BT.601 gives ~25 dB).

const TW = 80;
const TH = 45;
const TSIZE = TW * TH;

interface Thumbnails {
  frames: number;
  data: Buffer;
}

async function sourceThumbnails(file: string): Promise<Thumbnails> {
  const args = ['-v', 'error', '-i', file, '-an', '-vf', `scale=${TW}:${TH}:flags=area,format=gray`, '-f', 'rawvideo', '-'];
  const { stdout } = await execFileAsync('ffmpeg', args, { encoding: 'buffer', maxBuffer: 128 << 20 });
  return { frames: Math.floor(stdout.length / TSIZE), data: stdout };
}

function shotThumbnail(png: Buffer): Float64Array {
  const img = decodePng(png);
  const out = new Float64Array(TSIZE);
  const bx = img.width / TW;
  const by = img.height / TH;
  for (let y = 0; y < img.height; y++) {
    const row = Math.floor(y / by) * TW;
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * img.channels;
      const grey = img.channels >= 3 ? 0.2126 * img.data[i]! + 0.7152 * img.data[i + 1]! + 0.0722 * img.data[i + 2]! : img.data[i]!;
      out[row + Math.floor(x / bx)]! += grey;
    }
  }
  for (let i = 0; i < TSIZE; i++) out[i]! /= bx * by;
  return out;
}

/** The source frame a screenshot shows best, and how well (PSNR of the thumbnails, dB). */
function matchShot(png: Buffer): { frame: number; psnr: number } {
  const t = shotThumbnail(png);
  let best = { frame: -1, psnr: 0 };
  for (let f = 0; f < reference.frames; f++) {
    const o = f * TSIZE;
    let se = 0;
    for (let i = 0; i < TSIZE; i++) {
      const d = t[i]! - reference.data[o + i]!;
      se += d * d;
    }
    const psnr = 10 * Math.log10((255 * 255 * TSIZE) / Math.max(se, 1e-9));
    if (psnr > best.psnr) best = { frame: f, psnr };
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------
// The stream.

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface StreamInfo {
  window: { segments: number; first?: number; last?: number };
}

async function streamInfo(): Promise<StreamInfo> {
  const r = await fetch(`${server.url}/api/streams/${STREAM}`);
  if (r.status !== 200) throw new Error(`/api/streams/${STREAM}: ${r.status}`);
  return (await r.json()) as StreamInfo;
}

async function waitForSegments(n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await streamInfo().catch(() => undefined);
    if (info && info.window.segments >= n) return;
    if (Date.now() > deadline) throw new Error(`fewer than ${n} segments after ${timeoutMs} ms: ${JSON.stringify(info)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const periodOfSegment = (n: number): number => keyPeriodOf({ segments: ROTATE_SEGMENTS }, { number: n, start: 0 });

beforeAll(async () => {
  const port = await freeUdpPort();
  const portSaes = await freeUdpPort();
  const [file, b] = await Promise.all([makeLiveTs({ seconds: SOURCE_SECONDS }), launchBrowser()]);
  browser = b;
  server = await startTestServer(
    [
      'http 8080;',
      `stream ${STREAM} { input udp://127.0.0.1:${port}; segment_duration ${SEGMENT}; resource_id ${RESOURCE_ID}; drm local systems=clearkey rotate_segments=${ROTATE_SEGMENTS}; }`,
      `stream ${STREAM_SAES} { input udp://127.0.0.1:${portSaes}; segment_duration ${SEGMENT}; resource_id ${RESOURCE_ID}; drm local systems=clearkey rotate_segments=${ROTATE_SEGMENTS} ts=sample-aes; }`,
      '',
    ].join('\n'),
  );
  // Both streams ingest the same datagrams.
  fan = await new UdpFanOut([port, portSaes]).start();
  pacer = new TsPacer(await readFile(file), { port: fan.port }).start();
  proxy = await startTamperingProxy(server.url, (path, body) => {
    if (tamperFrom === null) return body;
    if (path.startsWith('/keys/')) return tampered(kidToHex(parseKid(path.slice('/keys/'.length).split('?')[0]!))) ? wrong(body) : body;
    if (path.startsWith('/license/clearkey')) {
      const licence = JSON.parse(body.toString('utf8')) as { keys: Array<{ kty: string; kid: string; k: string }>; type?: string };
      for (const key of licence.keys) {
        if (tampered(kidToHex(kidFromB64url(key.kid)))) key.k = wrong(Buffer.from(key.k, 'base64url')).toString('base64url');
      }
      return Buffer.from(JSON.stringify(licence));
    }
    return body;
  });
  // The source's thumbnails while the stream fills; players start a few segments back from the live
  // edge: 3 segments (≈ 10-15 s from cold: the first segment closes when the second key frame after
  // a clean start arrives).
  [reference] = await Promise.all([sourceThumbnails(file), waitForSegments(3, 60_000)]);
  expect(reference.frames).toBe(SOURCE_SECONDS * FPS);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([pacer?.stop(), browser?.close(), proxy?.stop()]);
  await fan?.stop();
  await server?.stop();
});

// ---------------------------------------------------------------------------------------------------
// Verdicts.

function describeRun(r: PlayResult, shots = r.playShots.map((s) => ({ ...s, ...matchShot(s.png) }))): string {
  const samples = r.progress.map((s) => `${s.ms}:${s.t.toFixed(2)}/${s.frames}`).join(' ');
  return [
    `errors: ${r.errors.join(' | ')}`,
    `shots: ${shots.map((s) => `+${s.after}s t=${s.currentTime.toFixed(2)} frame ${s.frame} @ ${s.psnr.toFixed(1)} dB`).join(', ')}`,
    `progress: ${samples}`,
    ...r.log.filter((l) => !/ key [0-9a-f]{32} (usable|status-pending)$/.test(l)),
  ].join('\n');
}

type MatchedShot = PlayShot & { frame: number; psnr: number };

/** The pictures: each shot a frame of the source, the frame numbers advancing with currentTime. */
function pictureProblems(shots: MatchedShot[]): string[] {
  const out: string[] = [];
  shots.forEach((s, i) => {
    if (s.psnr < MATCH_DB) out.push(`the picture ${s.after}s into the play does not match the source (best: frame ${s.frame} at ${s.psnr.toFixed(1)} dB)`);
    const prev = shots[i - 1];
    if (prev && prev.psnr >= MATCH_DB && s.psnr >= MATCH_DB) {
      const media = (s.frame - prev.frame) / FPS;
      const clock = s.currentTime - prev.currentTime;
      if (Math.abs(media - clock) > STEP_TOLERANCE_S) out.push(`from +${prev.after}s to +${s.after}s the picture moved ${media.toFixed(2)} s of source for ${clock.toFixed(2)} s of currentTime`);
    }
  });
  return out;
}

/** The longest time (page ms) currentTime stayed put during the play, and whether it ever went back. */
function stillness(r: PlayResult): { maxStillMs: number; backwards: boolean } {
  const first = r.progress[0];
  if (!first) return { maxStillMs: Infinity, backwards: false };
  let maxStillMs = 0;
  let backwards = false;
  let lastT = first.t;
  let lastMove = first.ms;
  for (const s of r.progress) {
    if (s.t < lastT) backwards = true;
    if (s.t !== lastT) {
      lastT = s.t;
      lastMove = s.ms;
    }
    maxStillMs = Math.max(maxStillMs, s.ms - lastMove);
  }
  return { maxStillMs, backwards };
}

/**
 * Steady, right play over at least two key boundaries: no error, time advancing at about real time
 * without a pause over STILL_MAX_MS, frames decoded all along, and the right pictures.
 */
function expectSteadyPlay(r: PlayResult): void {
  const shots = r.playShots.map((s) => ({ ...s, ...matchShot(s.png) }));
  const diag = describeRun(r, shots);
  expect(r.errors, diag).toEqual([]);
  expect(r.ok, diag).toBe(true);
  const span = r.timeAfterPlay - r.timeAtFirstFrame;
  expect(span, `media seconds played\n${diag}`).toBeGreaterThan(MIN_SPAN_S);
  const first = r.progress[0]!;
  const last = r.progress.at(-1)!;
  const wallS = (last.ms - first.ms) / 1000;
  expect(wallS, diag).toBeGreaterThan(PLAY_S - 1);
  // About real time: a player that keeps stopping to buffer, even briefly, falls behind.
  expect((last.t - first.t) / wallS, `playback speed\n${diag}`).toBeGreaterThan(0.8);
  const { maxStillMs, backwards } = stillness(r);
  expect(backwards, `currentTime went back\n${diag}`).toBe(false);
  expect(maxStillMs, `longest pause of currentTime (ms)\n${diag}`).toBeLessThanOrEqual(STILL_MAX_MS);
  // The frames decoded while playing follow the media time played (25 fps source).
  expect(r.decodedAfterPlay - r.decodedAtFirstFrame, `frames decoded while playing\n${diag}`).toBeGreaterThan(span * FPS * 0.7);
  expect(shots, diag).toHaveLength(SHOTS.length);
  expect(pictureProblems(shots), diag).toEqual([]);
}

const livePlay = (manifestUrl: string, player: PlayOptions['player'], extra: Partial<PlayOptions> = {}): Promise<PlayResult> =>
  playInNewPage(browser, {
    manifestUrl,
    player,
    playSeconds: PLAY_S,
    progress: true,
    shotsDuringPlay: SHOTS,
    // The page's samples judge stalls (STILL_MAX_MS); this only bounds a hopeless case.
    stallMs: 4000,
    // Live: the player may wait for licences and a segment or two before the first frame.
    firstFrameTimeoutMs: 15_000,
    ...extra,
  });

// ---------------------------------------------------------------------------------------------------

describe('the live stream rotates keys as configured (what the players are run against)', () => {
  it('HLS playlists change EXT-X-KEY every 2 segments of 2 s; the MPD has a Period with its own KID per key period', { timeout: 30_000 }, async () => {
    // A window of 3 key periods or more, so that two rotations show in one playlist.
    await waitForSegments(2 * ROTATE_SEGMENTS + 1, 20_000);
    for (const [variant, dir] of [
      ['fmp4.m3u8', 'hls'],
      ['m3u8', 'ts'],
    ] as const) {
      const master = await (await fetch(`${server.url}/${STREAM}/index.${variant}`)).text();
      const media = master.split('\n').find((l) => l.startsWith(`${dir}/v`));
      expect(media, master).toBeDefined();
      const text = await (await fetch(`${server.url}/${STREAM}/${media!}`)).text();
      const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1]);
      let kid = '';
      let n = seq;
      for (const l of text.split('\n')) {
        const uri = /^#EXT-X-KEY:.*URI="\/keys\/([0-9a-f-]{36})"/.exec(l)?.[1];
        if (uri) kid = uri;
        if (l.startsWith('#EXTINF:')) expect(Number(l.slice('#EXTINF:'.length).split(',')[0])).toBeCloseTo(SEGMENT, 1);
        if (l && !l.startsWith('#')) {
          expect(periodOfKid.get(kidToHex(parseKid(kid))), `segment ${n}'s key in\n${text}`).toBe(periodOfSegment(n));
          n++;
        }
      }
      expect(n - seq, text).toBeGreaterThanOrEqual(2 * ROTATE_SEGMENTS + 1);
    }
    const mpd = await (await fetch(`${server.url}/${STREAM}/index.mpd`)).text();
    const kids = [...mpd.matchAll(/<Period\b[\s\S]*?cenc:default_KID="([0-9a-f-]{36})"[\s\S]*?<\/Period>/g)].map((m) => m[1]!);
    expect(kids.length, mpd).toBeGreaterThanOrEqual(3);
    expect(new Set(kids).size, mpd).toBe(kids.length);
    for (const kid of kids) expect(periodOfKid.has(kidToHex(parseKid(kid))), mpd).toBe(true);
  });
});

describe('real players play the protected live stream across key rotations, steadily and with the right pictures', () => {
  it('Shaka: DASH dynamic MPD, cenc, licences from our /license/clearkey (the MPD Laurl)', { timeout: 60_000 }, async () => {
    tamperFrom = null;
    const r = await livePlay(`${server.url}/${STREAM}/index.mpd`, 'shaka');
    expectSteadyPlay(r);
    expect(r.licenseRequests.length, describeRun(r)).toBeGreaterThanOrEqual(3);
    for (const u of r.licenseRequests) expect(u).toBe(`${server.url}/license/clearkey`);
    // The media time played holds at least two Period (= key period) starts of the MPD.
    const mpd = await (await fetch(`${server.url}/${STREAM}/index.mpd`)).text();
    const starts = [...mpd.matchAll(/<Period [^>]*start="PT([\d.]+)S"/g)].map((m) => Number(m[1]));
    const crossed = starts.filter((s) => s > r.timeAtFirstFrame && s < r.timeAfterPlay);
    expect(crossed.length, `Period starts ${starts.join(', ')}; played ${r.timeAtFirstFrame}-${r.timeAfterPlay}`).toBeGreaterThanOrEqual(2);
  });

  it('Shaka: HLS fMP4, cbcs, identity keys from our /keys/{kid}, a new EXT-X-KEY + EXT-X-MAP per key period', { timeout: 60_000 }, async () => {
    tamperFrom = null;
    const r = await livePlay(`${server.url}/${STREAM}/index.fmp4.m3u8`, 'shaka');
    expectSteadyPlay(r);
    const kids = new Set(r.keyRequests.map((u) => new URL(u).pathname.slice('/keys/'.length)));
    expect(kids.size, describeRun(r)).toBeGreaterThanOrEqual(3);
    for (const kid of kids) expect(periodOfKid.has(kidToHex(parseKid(kid))), kid).toBe(true);
  });

  it.each([
    ['AES-128', STREAM],
    ['SAMPLE-AES', STREAM_SAES],
  ])('hls.js: HLS MPEG-TS, %s, keys from our /keys/{kid}', { timeout: 60_000 }, async (_method, stream) => {
    tamperFrom = null;
    const r = await livePlay(`${server.url}/${stream}/index.m3u8`, 'hlsjs');
    expectSteadyPlay(r);
    const kids = new Set(r.keyRequests.map((u) => new URL(u, server.url).pathname.slice('/keys/'.length)));
    expect(kids.size, describeRun(r)).toBeGreaterThanOrEqual(3);
    for (const kid of kids) expect(periodOfKid.has(kidToHex(parseKid(kid))), kid).toBe(true);
  });
});

describe('wrong keys fail (the oracles can fail)', () => {
  const EME_FAILURE = /does not match the source|PIPELINE_ERROR_DECODE|code=3016|mediasourcerecovered/;
  const HLSJS_FAILURE = /fragParsingError|fragDecryptError|PIPELINE_ERROR_DECODE/;

  /** Everything that makes a run wrong: errors, then the pictures. */
  function failures(r: PlayResult): string {
    return [...r.errors, ...pictureProblems(r.playShots.map((s) => ({ ...s, ...matchShot(s.png) })))].join('\n');
  }

  const allWrong = { playSeconds: 4, shotsDuringPlay: [1, 3], videoOnly: true, firstFrameTimeoutMs: 10_000 };

  // Observed: no error at all (Chromium conceals the garbage of this CAVLC stream): green pictures.
  it('Shaka DASH: every licence key wrong → garbage pictures (or a decode error)', { timeout: 45_000 }, async () => {
    tamperFrom = 0;
    const r = await livePlay(`${server.url}/${STREAM}/index.mpd`, 'shaka', { ...allWrong, licenseServer: `${proxy.url}/license/clearkey` });
    expect(r.licenseRequests.length).toBeGreaterThan(0);
    for (const u of r.licenseRequests) expect(u).toBe(`${proxy.url}/license/clearkey`);
    expect(failures(r), describeRun(r)).toMatch(EME_FAILURE);
  });

  it('Shaka HLS fMP4: every key wrong → garbage pictures (or a decode error)', { timeout: 45_000 }, async () => {
    tamperFrom = 0;
    const r = await livePlay(`${proxy.url}/${STREAM}/index.fmp4.m3u8`, 'shaka', allWrong);
    expect(r.keyRequests.every((u) => u.startsWith(`${proxy.url}/keys/`))).toBe(true);
    expect(failures(r), describeRun(r)).toMatch(EME_FAILURE);
  });

  it('hls.js TS: every key wrong → the decrypted fragments do not parse', { timeout: 45_000 }, async () => {
    tamperFrom = 0;
    const r = await livePlay(`${proxy.url}/${STREAM}/index.m3u8`, 'hlsjs', allWrong);
    expect(r.ok, describeRun(r)).toBe(false);
    expect(r.errors.join('\n'), describeRun(r)).toMatch(HLSJS_FAILURE);
  });

  // Right keys for the key period of the newest segment and the next, wrong from the one after: the
  // play starts right, then fails after a rotation.
  const rotatedPlay = { playSeconds: 18, shotsDuringPlay: [1, 5, 9, 13, 17], videoOnly: true, firstFrameTimeoutMs: 10_000 };
  async function wrongAfterRotation(manifestUrl: string, player: PlayOptions['player'], extra: Partial<PlayOptions>, fails: RegExp): Promise<void> {
    const newest = (await streamInfo()).window.last!;
    tamperFrom = periodOfSegment(newest) + 2;
    const r = await livePlay(manifestUrl, player, { ...rotatedPlay, ...extra });
    const shots = r.playShots.map((s) => ({ ...s, ...matchShot(s.png) }));
    const diag = `newest segment ${newest}, keys wrong from key period ${tamperFrom}\n${describeRun(r, shots)}`;
    expect(r.decodedAtFirstFrame, diag).toBeGreaterThan(0);
    expect(r.errors.join('\n'), diag).not.toMatch(/no first frame/);
    if (shots[0]) expect(shots[0].psnr, `the first picture (right key)\n${diag}`).toBeGreaterThanOrEqual(MATCH_DB);
    expect(failures(r), diag).toMatch(fails);
  }

  it('Shaka DASH: keys wrong from the second rotation on → right pictures, then garbage', { timeout: 60_000 }, async () => {
    await wrongAfterRotation(`${server.url}/${STREAM}/index.mpd`, 'shaka', { licenseServer: `${proxy.url}/license/clearkey` }, EME_FAILURE);
  });

  it('Shaka HLS fMP4: keys wrong from the second rotation on → right pictures, then garbage', { timeout: 60_000 }, async () => {
    await wrongAfterRotation(`${proxy.url}/${STREAM}/index.fmp4.m3u8`, 'shaka', {}, EME_FAILURE);
  });

  it('hls.js TS: keys wrong from the second rotation on → plays, then the fragments do not parse', { timeout: 60_000 }, async () => {
    await wrongAfterRotation(`${proxy.url}/${STREAM}/index.m3u8`, 'hlsjs', {}, HLSJS_FAILURE);
  });
});
