// Live streams end to end: a synthetic MPEG-TS pushed over UDP in real time (TsPacer) into the real
// server, its HLS (TS, fMP4) and DASH outputs fetched over HTTP, checked as live playlists/MPDs and
// decoded by ffmpeg to exactly the source's pictures; playlists advancing, stalling and resuming; and
// protected live (AES-128 TS, cenc DASH, key rotation) decoded by ffmpeg through the key URLs.
import { beforeAll, describe, expect, it } from 'vitest';
import { makeLiveTs, type TsPacer } from '../helpers/live-source.js';
import type { TestServer } from '../helpers/server.js';
import {
  AUDIO,
  VIDEO,
  audioFrameCount,
  checkMediaPlaylist,
  decodeErrors,
  drmDirectives,
  expectFrameCount,
  expectSourceFrames,
  freeUdpPort,
  getBytes,
  getText,
  listedSeconds,
  mediaPlaylist,
  parseM3u8,
  parseMpd,
  sleep,
  streamStatus,
  waitFor,
  sourceHashes,
  streamBlock,
  videoHashes,
  waitForSegments,
  UdpFanOut,
  testResources,
} from '../helpers/live-harness.js';
import { expectDashPeriodDecrypts, expectHlsKeyPeriodDecrypts, expectProtectedTsDecodes, keyPeriodOf2, type ProtectedLivePair } from '../helpers/live-protected.js';

const res = testResources();

describe('clear live stream', () => {
  const shared = testResources('all');
  let server: TestServer;
  let source: string;
  const base = (): string => `${server.url}/live`;

  beforeAll(async () => {
    source = await makeLiveTs({ seconds: 30 });
    const port = await freeUdpPort();
    server = await shared.server(streamBlock({ name: 'live', port }));
    await shared.pace(source, { port, speed: 2 });
    await waitForSegments(server.url, 'live', 4);
  });

  it('serves valid live HLS TS playlists whose segments decode to the source frames', async () => {
    const master = parseM3u8(await getText(`${base()}/index.m3u8`));
    expect(master.warnings).toEqual([]);
    expect(master.manifest.playlists?.map((p) => p.uri)).toEqual([`ts/${VIDEO}.m3u8`]);
    const video = await mediaPlaylist(`${base()}/ts/${VIDEO}.m3u8`);
    checkMediaPlaylist(video);
    const file = await res.scratch.concat('clear-v.ts', video.segments.map((s) => s.url));
    expect(await decodeErrors(file)).toBe('');
    const frames = await videoHashes(file);
    expectFrameCount(frames.length, listedSeconds(video.segments), video.segments.length);
    expectSourceFrames(frames, await sourceHashes(source));

    const audio = await mediaPlaylist(`${base()}/ts/${AUDIO}.m3u8`);
    checkMediaPlaylist(audio);
    const afile = await res.scratch.concat('clear-a.ts', audio.segments.map((s) => s.url));
    expect(await decodeErrors(afile)).toBe('');
    // AAC at 48 kHz: 1024 samples a frame.
    expect(Math.abs((await audioFrameCount(afile)) - (listedSeconds(audio.segments) * 48000) / 1024)).toBeLessThanOrEqual(audio.segments.length + 1);
  });

  it('serves HLS fMP4 whose init + segments decode to the source frames', async () => {
    const master = parseM3u8(await getText(`${base()}/index.fmp4.m3u8`));
    expect(master.warnings).toEqual([]);
    const video = await mediaPlaylist(`${base()}/hls/${VIDEO}.m3u8`);
    checkMediaPlaylist(video);
    const map = video.segments[0]!.mapUrl!;
    expect(map).toMatch(/\/hls\/v256\/init-[0-9a-f]{12}\.mp4$/);
    const file = await res.scratch.concat('clear-v.mp4', [map, ...video.segments.map((s) => s.url)]);
    expect(await decodeErrors(file)).toBe('');
    const frames = await videoHashes(file);
    expectFrameCount(frames.length, listedSeconds(video.segments), video.segments.length);
    expectSourceFrames(frames, await sourceHashes(source));
  });

  it('serves a growing EVENT playlist from ?from= unix seconds', async () => {
    const live = await mediaPlaylist(`${base()}/ts/${VIDEO}.m3u8`);
    const start = live.segments[1]!;
    const from = Math.ceil(start.programDateTime! / 1000);
    const master = parseM3u8(await getText(`${base()}/index.m3u8?from=${from}`));
    expect(master.manifest.playlists?.map((p) => p.uri)).toEqual([`ts/${VIDEO}.m3u8?from=${from}`]);
    const event = await mediaPlaylist(`${base()}/ts/${VIDEO}.m3u8?from=${from}`);
    checkMediaPlaylist(event);
    expect(event.manifest.playlistType).toBe('EVENT');
    expect(event.mediaSequence).toBe(start.number);
    expect(event.segments.every((s) => s.url.endsWith(`.ts?from=${from}`))).toBe(true);
  });

  it('serves a dynamic MPD with UTCTiming whose DASH segments decode to the source frames', async () => {
    const mpd = parseMpd(await getText(`${base()}/index.mpd`));
    expect(mpd.root.attrs['type']).toBe('dynamic');
    expect(mpd.root.children.some((c) => c.name === 'UTCTiming' && c.attrs['value'] === `${server.url}/time`)).toBe(true);
    expect(mpd.periods).toHaveLength(1);
    const period = mpd.periods[0]!;
    for (const id of [VIDEO, AUDIO]) {
      const numbers = period.numbers.get(id)!;
      expect(numbers.length).toBeGreaterThanOrEqual(3);
      const file = await res.scratch.concat(`dash-${id}.mp4`, [`${base()}/${period.inits.get(id)!}`, ...numbers.map((n) => `${base()}/dash/${id}/${n}.m4s`)]);
      expect(await decodeErrors(file)).toBe('');
      if (id === VIDEO) expectSourceFrames(await videoHashes(file), await sourceHashes(source));
    }
  });
});

describe('a live playlist over time', () => {
  it('advances while the source runs, stalls when it stops, and resumes after a discontinuity', async () => {
    const source = await makeLiveTs({ seconds: 76 });
    const port = await freeUdpPort();
    const server = await res.server(streamBlock({ name: 'adv', port }));
    const playlistUrl = `${server.url}/adv/ts/${VIDEO}.m3u8`;
    const send = (): Promise<TsPacer> => res.pace(source, { port, speed: 4 });
    const first = await send();
    await waitForSegments(server.url, 'adv', 3);
    const early = await mediaPlaylist(playlistUrl);
    checkMediaPlaylist(early);
    // The playlist keeps a minute: once more is archived, the media sequence moves on.
    let previous = early;
    const slid = await waitFor('the media sequence to grow', async () => {
      const pl = await mediaPlaylist(playlistUrl);
      checkMediaPlaylist(pl);
      expect(pl.mediaSequence).toBeGreaterThanOrEqual(previous.mediaSequence);
      expect(pl.segments.at(-1)!.number).toBeGreaterThanOrEqual(previous.segments.at(-1)!.number);
      previous = pl;
      return pl.mediaSequence > early.mediaSequence && pl;
    }, 50_000, 500);
    expect(slid.segments.at(-1)!.number).toBeGreaterThan(early.segments.at(-1)!.number);
    expect((await streamStatus(server.url, 'adv')).input.state).toBe('receiving');

    await first.done;
    const stoppedAt = Date.now();
    await waitFor('the input to be stalled', async () => (await streamStatus(server.url, 'adv')).input.state === 'stalled', 15_000);
    expect(Date.now() - stoppedAt).toBeLessThan(12_000);
    const atStall = await mediaPlaylist(playlistUrl);
    checkMediaPlaylist(atStall);
    // Still served, and no longer growing (a segment lasts 2 s: wait for two).
    await sleep(4000);
    const later = await mediaPlaylist(playlistUrl);
    expect(later.segments.map((s) => s.number)).toEqual(atStall.segments.map((s) => s.number));

    // The source restarts from its beginning: timestamps go back.
    await send();
    const resumed = await waitFor('a discontinuity and two segments after it', async () => {
      const pl = await mediaPlaylist(playlistUrl);
      const at = pl.segments.findIndex((s) => s.discontinuity);
      return at > 0 && pl.segments.length - at >= 2 && pl;
    }, 30_000);
    checkMediaPlaylist(resumed);
    expect(resumed.text).toContain('#EXT-X-DISCONTINUITY\n');
    expect(resumed.mediaSequence).toBeGreaterThanOrEqual(atStall.mediaSequence);
    const at = resumed.segments.findIndex((s) => s.discontinuity);
    expect(resumed.segments[at]!.number).toBeGreaterThan(atStall.segments.at(-1)!.number);
    expect((await streamStatus(server.url, 'adv')).input.state).toBe('receiving');
    // DASH: a new Period for the new timeline, after the old one.
    const mpd = parseMpd(await getText(`${server.url}/adv/index.mpd`));
    expect(mpd.periods.length).toBeGreaterThanOrEqual(2);
    const starts = mpd.periods.map((p) => Number(/^PT([0-9.]+)S$/.exec(p.start)![1]));
    for (let i = 1; i < starts.length; i++) expect(starts[i]).toBeGreaterThan(starts[i - 1]!);
    expect(new Set(mpd.periods.map((p) => p.id)).size).toBe(mpd.periods.length);
    expect(mpd.periods.at(-1)!.numbers.get(VIDEO)![0]).toBe(resumed.segments[at]!.number);
    // What follows the discontinuity is the source again from its start.
    const file = await res.scratch.concat('resumed.ts', resumed.segments.slice(at).map((s) => s.url));
    expect(await decodeErrors(file)).toBe('');
    expectSourceFrames(await videoHashes(file), await sourceHashes(source));
  }, 90_000);
});

describe('protected live stream (drm local, clearkey, a new key every 2 segments)', () => {
  const shared = testResources('all');
  let server: TestServer;
  let source: string;

  beforeAll(async () => {
    source = await makeLiveTs({ seconds: 30 });
    const ports = [await freeUdpPort(), await freeUdpPort()];
    server = await shared.server(streamBlock({ name: 'clear', port: ports[0]! }) + streamBlock({ name: 'drm', port: ports[1]!, extra: drmDirectives() }));
    // Both streams ingest the same datagrams.
    const fan = shared.track(await new UdpFanOut(ports).start());
    await shared.pace(source, { port: fan.port, speed: 2 });
    await waitForSegments(server.url, 'drm', 5);
    await waitForSegments(server.url, 'clear', 5);
  });

  const pair = (): ProtectedLivePair => ({ url: server.url, scratch: res.scratch, clear: 'clear', drm: 'drm', source });

  it('lists AES-128 keys whose KeyID changes every 2 segments, and serves each key', async () => {
    const pl = await mediaPlaylist(`${server.url}/drm/ts/${VIDEO}.m3u8`);
    checkMediaPlaylist(pl);
    expect(pl.text).toMatch(/^#EXT-X-KEY:METHOD=AES-128,URI="\/keys\/[0-9a-f-]{36}",IV=0x[0-9a-f]{32}$/m);
    const kids = pl.segments.map((s) => kidOfKeyUrl(s.keyUrl!));
    expect(pl.segments.every((s) => s.keyMethod === 'AES-128')).toBe(true);
    for (let i = 1; i < pl.segments.length; i++) {
      const same = keyPeriodOf2(pl.segments[i]!.number) === keyPeriodOf2(pl.segments[i - 1]!.number);
      expect(kids[i] === kids[i - 1], `segments ${pl.segments[i - 1]!.number} and ${pl.segments[i]!.number}`).toBe(same);
    }
    expect(new Set(kids).size).toBeGreaterThanOrEqual(2);
    for (const url of new Set(pl.segments.map((s) => s.keyUrl!))) expect((await getBytes(url)).length).toBe(16);
  });

  it('ffmpeg decodes the protected TS rendition through the key URLs to the clear stream\'s frames', async () => {
    await expectProtectedTsDecodes(pair());
  });

  it('signals a cenc default_KID per Period, a Period per key period, and decrypts with that key', async () => {
    const mpd = parseMpd(await getText(`${server.url}/drm/index.mpd`));
    expect(mpd.periods.length).toBeGreaterThanOrEqual(2);
    const hls = await mediaPlaylist(`${server.url}/drm/ts/${VIDEO}.m3u8`);
    const hlsKid = new Map(hls.segments.map((s) => [s.number, kidOfKeyUrl(s.keyUrl!)]));
    for (const p of mpd.periods) {
      const numbers = p.numbers.get(VIDEO)!;
      expect(new Set(numbers.map(keyPeriodOf2)).size, `Period ${p.id}: one key period`).toBe(1);
      expect(new Set(p.defaultKids.map((k) => k.toLowerCase())).size, `Period ${p.id}: one default_KID`).toBe(1);
      for (const n of numbers) if (hlsKid.has(n)) expect(p.defaultKids[0]!.toLowerCase()).toBe(hlsKid.get(n));
    }
    for (let i = 1; i < mpd.periods.length; i++) expect(mpd.periods[i]!.defaultKids[0]).not.toBe(mpd.periods[i - 1]!.defaultKids[0]);
    await expectDashPeriodDecrypts(pair());
  });

  it('ffmpeg decrypts a key period of the HLS fMP4 rendition (cbcs) to the clear stream\'s frames', async () => {
    await expectHlsKeyPeriodDecrypts(pair());
  });

  it('never serves clear media on the protected stream', async () => {
    const pl = await mediaPlaylist(`${server.url}/drm/ts/${VIDEO}.m3u8`);
    const n = pl.segments.at(-1)!.number;
    // AES-128 (whole segment) and cenc (AES-CTR over all sample data): none of the clear segment's last
    // 64 bytes (sample data) survive. HLS fMP4 is cbcs, whose pattern leaves 9 blocks in 10 clear.
    const paths: Array<[string, boolean]> = [
      [`ts/${VIDEO}/${n}.ts`, true],
      [`ts/${AUDIO}/${n}.ts`, true],
      [`dash/${VIDEO}/${n}.m4s`, true],
      [`dash/${AUDIO}/${n}.m4s`, true],
      [`hls/${VIDEO}/${n}.m4s`, false],
    ];
    for (const [path, whole] of paths) {
      const clear = await getBytes(`${server.url}/clear/${path}`);
      const prot = await getBytes(`${server.url}/drm/${path}`);
      expect(prot.equals(clear), path).toBe(false);
      if (whole) expect(prot.indexOf(clear.subarray(clear.length - 64)), path).toBe(-1);
    }
  });
});

describe('a continuous live stream longer than what is held of it', () => {
  /**
   * A dynamic MPD's Period must keep its id and start across updates (players match Periods by id and
   * place the timeline by Period@start), also once its first segment has left memory (120 s), the DVR
   * archive (its depth) or, under key rotation, a key period longer than both.
   */
  it.each([
    ['memory only', () => []],
    ['a DVR archive 30 s deep', () => [`dvr ${res.scratch.dir} 30`]],
    ['protected, a 200 s key period (rotate_segments=100)', () => drmDirectives('systems=clearkey rotate_segments=100')],
  ])('keeps the id and start of its DASH Period across MPD updates: %s', async (_what, extra) => {
    const port = await freeUdpPort();
    const server = await res.server(streamBlock({ name: 'long', port, extra: extra() }));
    await res.pace(await makeLiveTs({ seconds: 150 }), { port, speed: 12 });
    const periods = new Set<string>();
    const counts = new Set<number>();
    // Until a few segments have left the window (the segmenter made more than is listed).
    await waitFor('segments leaving the window', async () => {
      const st = await streamStatus(server.url, 'long');
      if (st.window.segments === 0) return false;
      const mpd = parseMpd(await getText(`${server.url}/long/index.mpd`));
      counts.add(mpd.periods.length);
      periods.add(`${mpd.periods[0]!.id}@${mpd.periods[0]!.start}`);
      return st.segmenter['segments']! - st.window.segments >= 3;
    }, 50_000, 300);
    expect([...counts]).toEqual([1]);
    expect([...periods]).toHaveLength(1);
  }, 60_000);
});

/** The KeyID (dashed UUID, lowercase) of a `/keys/{kid}` URL. */
function kidOfKeyUrl(url: string): string {
  const m = /\/keys\/([0-9a-f-]{36})(?:\?|$)/.exec(url);
  if (!m) throw new Error(`not a key URL: ${url}`);
  return m[1]!;
}
