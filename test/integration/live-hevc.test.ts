// Live HEVC end to end, as live.test.ts does it for H.264: an H.265 (libx265, B-frames, open GOP) +
// AAC MPEG-TS pushed over UDP in real time into the real server; its HLS (TS, fMP4) and DASH outputs
// decoded by ffmpeg to exactly the source's pictures; and the protected outputs (AES-128 TS, cenc
// DASH, cbcs HLS fMP4) decrypted by ffmpeg to the clear stream's pictures.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseHvcC } from '../../src/media/codec/hevc.js';
import { makeLiveTs } from '../helpers/live-source.js';
import type { TestServer } from '../helpers/server.js';
import {
  VIDEO,
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
  sourceHashes,
  streamBlock,
  testResources,
  UdpFanOut,
  videoHashes,
  waitForSegments,
} from '../helpers/live-harness.js';
import { expectDashPeriodDecrypts, expectHlsKeyPeriodDecrypts, expectProtectedTsDecodes, type ProtectedLivePair } from '../helpers/live-protected.js';

const res = testResources();
const SOURCE = { seconds: 30, videoCodec: 'hevc', bframes: true } as const;

/** The payload of the first `hvcC` box in an init segment. */
function hvcCOf(init: Buffer): Uint8Array {
  const at = init.indexOf('hvcC');
  expect(at, 'an hvcC box').toBeGreaterThan(4);
  return init.subarray(at + 4, at - 4 + init.readUInt32BE(at - 4));
}

describe('clear live HEVC stream', () => {
  const shared = testResources('all');
  let server: TestServer;
  let source: string;
  const base = (): string => `${server.url}/live`;

  beforeAll(async () => {
    source = await makeLiveTs(SOURCE);
    const port = await freeUdpPort();
    server = await shared.server(streamBlock({ name: 'live', port }));
    await shared.pace(source, { port, speed: 2 });
    await waitForSegments(server.url, 'live', 4);
  });

  it('signals hvc1 and serves HLS TS segments that decode to the source frames', async () => {
    const master = parseM3u8(await getText(`${base()}/index.m3u8`));
    expect(master.warnings).toEqual([]);
    expect(master.manifest.playlists?.[0]?.attributes['CODECS']).toMatch(/^hvc1\.1\.6\.L\d+\.[0-9A-F]+,mp4a\.40\.2$/);
    const video = await mediaPlaylist(`${base()}/ts/${VIDEO}.m3u8`);
    checkMediaPlaylist(video);
    const file = await res.scratch.concat('clear-v.ts', video.segments.map((s) => s.url));
    expect(await decodeErrors(file)).toBe('');
    const frames = await videoHashes(file);
    expectFrameCount(frames.length, listedSeconds(video.segments), video.segments.length);
    expectSourceFrames(frames, await sourceHashes(source));
  });

  it('serves HLS fMP4 whose hvc1 init + segments decode to the source frames', async () => {
    const video = await mediaPlaylist(`${base()}/hls/${VIDEO}.m3u8`);
    checkMediaPlaylist(video);
    const map = video.segments[0]!.mapUrl!;
    const init = await getBytes(map);
    expect(init.includes('hvc1')).toBe(true);
    const cfg = parseHvcC(hvcCOf(init));
    expect([cfg.vps.length, cfg.sps.length, cfg.pps.length, cfg.nalLengthSize]).toEqual([1, 1, 1, 4]);
    const file = await res.scratch.concat('clear-v.mp4', [map, ...video.segments.map((s) => s.url)]);
    expect(await decodeErrors(file)).toBe('');
    const frames = await videoHashes(file);
    expectFrameCount(frames.length, listedSeconds(video.segments), video.segments.length);
    expectSourceFrames(frames, await sourceHashes(source));
  });

  it('serves a dynamic MPD whose DASH video segments decode to the source frames', async () => {
    const mpd = parseMpd(await getText(`${base()}/index.mpd`));
    expect(mpd.periods).toHaveLength(1);
    const period = mpd.periods[0]!;
    const numbers = period.numbers.get(VIDEO)!;
    expect(numbers.length).toBeGreaterThanOrEqual(3);
    const file = await res.scratch.concat('dash-v.mp4', [`${base()}/${period.inits.get(VIDEO)!}`, ...numbers.map((n) => `${base()}/dash/${VIDEO}/${n}.m4s`)]);
    expect(await decodeErrors(file)).toBe('');
    expectSourceFrames(await videoHashes(file), await sourceHashes(source));
  });
});

describe('protected live HEVC stream (drm local, clearkey, a new key every 2 segments)', () => {
  const shared = testResources('all');
  let server: TestServer;
  let source: string;

  beforeAll(async () => {
    source = await makeLiveTs(SOURCE);
    const ports = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
    server = await shared.server(
      streamBlock({ name: 'clear', port: ports[0]! }) +
        streamBlock({ name: 'drm', port: ports[1]!, extra: drmDirectives() }) +
        streamBlock({ name: 'saes', port: ports[2]!, extra: drmDirectives('systems=clearkey ts=sample-aes') }),
    );
    // All streams ingest the same datagrams.
    const fan = shared.track(await new UdpFanOut(ports).start());
    await shared.pace(source, { port: fan.port, speed: 2 });
    await waitForSegments(server.url, 'drm', 5);
    await waitForSegments(server.url, 'clear', 5);
    await waitForSegments(server.url, 'saes', 5);
  });

  const pair = (): ProtectedLivePair => ({ url: server.url, scratch: res.scratch, clear: 'clear', drm: 'drm', source });

  it('ffmpeg decodes the AES-128 TS rendition through the key URLs to the clear stream\'s frames', async () => {
    await expectProtectedTsDecodes(pair());
  });

  it('ffmpeg decrypts a cenc DASH Period with the key of its default_KID to the clear stream\'s frames', async () => {
    await expectDashPeriodDecrypts(pair());
  });

  it('ffmpeg decrypts a key period of the HLS fMP4 rendition (cbcs) to the clear stream\'s frames', async () => {
    await expectHlsKeyPeriodDecrypts(pair());
  });

  it('refuses SAMPLE-AES TS segments (defined for H.264 and AAC only) and serves the fMP4 rendition', async () => {
    const pl = await mediaPlaylist(`${server.url}/saes/hls/${VIDEO}.m3u8`);
    const n = pl.segments.at(-1)!.number;
    expect((await fetch(`${server.url}/saes/ts/${VIDEO}/${n}.ts`)).status).toBe(415);
    expect((await getBytes(`${server.url}/saes/hls/${VIDEO}/${n}.m4s`)).length).toBeGreaterThan(0);
  });
});

describe('live HEVC with a DVR archive', () => {
  it('archives hvc1 segments and serves them after a restart, decoding to the source frames', async () => {
    const source = await makeLiveTs(SOURCE);
    const port = await freeUdpPort();
    const config = streamBlock({ name: 'rec', port, extra: [`dvr ${res.scratch.dir}/dvr-hevc 1h`] });
    const first = await res.server(config);
    const pacer = await res.pace(source, { port, speed: 4 });
    await waitForSegments(first.url, 'rec', 5);
    await pacer.stop();
    await first.stop();
    // A new server: nothing in memory, every segment comes from the archive.
    const second = await res.server(config);
    const live = await mediaPlaylist(`${second.url}/rec/ts/${VIDEO}.m3u8`);
    expect(live.segments.length).toBeGreaterThanOrEqual(5);
    const numbers = live.segments.map((s) => s.number);
    for (const [variant, ext] of [['ts', 'ts'], ['hls', 'm4s']] as const) {
      const pl = await mediaPlaylist(`${second.url}/rec/${variant}/${VIDEO}.m3u8`);
      expect(pl.segments.map((s) => s.number)).toEqual(numbers);
      const urls = [...(pl.segments[0]!.mapUrl ? [pl.segments[0]!.mapUrl] : []), ...pl.segments.map((s) => s.url)];
      expect(urls.at(-1)).toMatch(new RegExp(`\\.${ext}$`));
      const file = await res.scratch.concat(`archived.${ext === 'ts' ? 'ts' : 'mp4'}`, urls);
      expect(await decodeErrors(file)).toBe('');
      expectSourceFrames(await videoHashes(file), await sourceHashes(source));
    }
  }, 90_000);
});
