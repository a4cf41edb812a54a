// Live ingest under damage and edge cases, end to end over real UDP: loss, duplicates, reordering and
// garbage from a fault-injecting relay; RTP-wrapped input; the 33-bit PTS wrap; a source that loops
// (timestamps going back every pass) for minutes of media.
import { describe, expect, it } from 'vitest';
import { makeLiveTs, PTS_WRAP_SECONDS } from '../helpers/live-source.js';
import { UdpRelay } from '../helpers/udp-relay.js';
import type { TestServer } from '../helpers/server.js';
import {
  AUDIO,
  VIDEO,
  audioFrameCount,
  checkMediaPlaylist,
  decodeErrors,
  expectFrameCount,
  expectSourceFrames,
  freeUdpPort,
  listedSeconds,
  getText,
  mediaPlaylist,
  parseMpd,
  sourceHashes,
  streamBlock,
  streamStatus,
  videoHashes,
  waitFor,
  waitForSegments,
  testResources,
} from '../helpers/live-harness.js';

const res = testResources();

/** A server with one stream `name` on a fresh UDP port. */
async function serverWithStream(name: string): Promise<{ server: TestServer; port: number }> {
  const port = await freeUdpPort();
  return { server: await res.server(streamBlock({ name, port })), port };
}

/** The concatenated segments of a rendition's live playlist (the last `count`, or all). */
async function renditionFile(base: string, path: string, name: string, count?: number): Promise<{ file: string; segments: number; seconds: number }> {
  const pl = await mediaPlaylist(`${base}/${path}`);
  checkMediaPlaylist(pl);
  const segs = count === undefined ? pl.segments : pl.segments.slice(-count);
  return { file: await res.scratch.concat(name, segs.map((s) => s.url)), segments: segs.length, seconds: listedSeconds(segs) };
}

describe('live ingest faults', () => {
  it('survives 1 % loss, duplication, reordering and garbage: counted, valid playlists, decodable segments', async () => {
    const source = await makeLiveTs({ seconds: 30 });
    const { server, port } = await serverWithStream('faulty');
    const relay = res.track(await new UdpRelay({ targetPort: port, seed: 7, faults: { drop: 0.01, duplicate: 0.01, reorder: 0.01, garbage: 0.01 } }).start());
    const pacer = await res.pace(source, { port: relay.port, speed: 2 });
    await waitForSegments(server.url, 'faulty', 5);
    await pacer.done;
    const c = relay.counters;
    expect(c.dropped * c.duplicated * c.reordered * c.garbage).toBeGreaterThan(0);

    const st = await streamStatus(server.url, 'faulty');
    expect(st.input.garbageDatagrams).toBeGreaterThan(0);
    expect(st.input.garbageDatagrams).toBeLessThanOrEqual(c.garbage);
    expect(st.demux['ccErrors']).toBeGreaterThan(0);
    expect(st.demux['duplicates']).toBeGreaterThan(0);
    expect(st.segmenter['segments']).toBeGreaterThanOrEqual(5);

    // Damaged pictures make ffmpeg complain, but it decodes to the end (exit 0) and most frames (a lost
    // key frame costs its whole GOP).
    const base = `${server.url}/faulty`;
    const video = await renditionFile(base, `ts/${VIDEO}.m3u8`, 'faulty-v.ts', 4);
    expect((await videoHashes(video.file)).length).toBeGreaterThan(video.seconds * 25 * 0.5);
    const audio = await renditionFile(base, `ts/${AUDIO}.m3u8`, 'faulty-a.ts', 4);
    expect(await audioFrameCount(audio.file)).toBeGreaterThan(((audio.seconds * 48000) / 1024) * 0.5);
    const fmp4 = await mediaPlaylist(`${base}/hls/${VIDEO}.m3u8`);
    checkMediaPlaylist(fmp4);
    const mpd = parseMpd(await getText(`${base}/index.mpd`));
    expect(mpd.root.attrs['type']).toBe('dynamic');
    expect(mpd.periods.length).toBeGreaterThan(0);
    // Still serving after all that.
    expect((await streamStatus(server.url, 'faulty')).window.segments).toBe(st.window.segments);
  }, 60_000);

  it('takes RTP-wrapped input like plain TS', async () => {
    const source = await makeLiveTs({ seconds: 20 });
    const { server, port } = await serverWithStream('rtp');
    await res.pace(source, { port, speed: 2, rtp: true });
    await waitForSegments(server.url, 'rtp', 4);
    const { file, segments, seconds } = await renditionFile(`${server.url}/rtp`, `ts/${VIDEO}.m3u8`, 'rtp-v.ts');
    expect(await decodeErrors(file)).toBe('');
    const frames = await videoHashes(file);
    expectFrameCount(frames.length, seconds, segments);
    expectSourceFrames(frames, await sourceHashes(source));
    expect((await streamStatus(server.url, 'rtp')).input.garbageDatagrams).toBe(0);
  }, 60_000);

  it('runs across the 2^33 PTS wrap: numbers go on, no discontinuity, segments across it decode', async () => {
    // From 8.6 s before the wrap (ffmpeg adds 1.4 s): the server joins at the second or third segment
    // boundary (it needs both codec configurations first), still two segments before the wrap.
    const source = await makeLiveTs({ seconds: 20, startPts: PTS_WRAP_SECONDS - 10 });
    const { server, port } = await serverWithStream('wrap');
    // Segment n starts at the first key frame of [2(n-1), 2n) s of the unwrapped timeline: 47722 holds
    // the wrap (95443.7 s), 47721 is all before it, 47723 all after.
    const atWrap = Math.floor(PTS_WRAP_SECONDS / 2) + 1;
    const pacer = await res.pace(source, { port, speed: 2 });
    await waitFor(`segment ${atWrap + 2}`, async () => ((await streamStatus(server.url, 'wrap')).window.last ?? 0) >= atWrap + 2);
    await pacer.done;
    const st = await streamStatus(server.url, 'wrap');
    expect(st.segmenter['discontinuities']).toBe(0);
    for (const variant of ['ts', 'hls'] as const) {
      const pl = await mediaPlaylist(`${server.url}/wrap/${variant}/${VIDEO}.m3u8`);
      checkMediaPlaylist(pl);
      const numbers = pl.segments.map((s) => s.number);
      expect(numbers).toContain(atWrap - 1);
      expect(numbers).toContain(atWrap + 1);
      expect(pl.text).not.toContain('#EXT-X-DISCONTINUITY');
      const urls = pl.segments.map((s) => s.url);
      const file = await res.scratch.concat(`wrap-${variant}`, variant === 'hls' ? [pl.segments[0]!.mapUrl!, ...urls] : urls);
      expect(await decodeErrors(file)).toBe('');
      const frames = await videoHashes(file);
      expectFrameCount(frames.length, listedSeconds(pl.segments), pl.segments.length);
      expectSourceFrames(frames, await sourceHashes(source));
    }
  }, 60_000);

  it('keeps two minutes in memory, one in the playlist and its sequence numbers going forward while a looping source sends timestamps back every pass', async () => {
    const source = await makeLiveTs({ seconds: 10 });
    const { server, port } = await serverWithStream('loop');
    await res.pace(source, { port, speed: 10, loop: true });
    // ~6 segments a pass (10 s): 120 segments are over 3 minutes of media. Meanwhile, reloads never see
    // the media or discontinuity sequence go back (RFC 8216 6.2.2), though segments with discontinuities
    // keep leaving the playlist and memory.
    const seen: Array<{ media: number; discontinuity: number }> = [];
    const st = await waitFor('120 segments', async () => {
      const pl = await mediaPlaylist(`${server.url}/loop/ts/${VIDEO}.m3u8`);
      seen.push({ media: pl.mediaSequence, discontinuity: pl.manifest.discontinuitySequence ?? 0 });
      const s = await streamStatus(server.url, 'loop');
      return s.segmenter['segments']! >= 120 && s;
    }, 50_000, 250);
    const backwards = seen.filter((x, i) => i > 0 && (x.media < seen[i - 1]!.media || x.discontinuity < seen[i - 1]!.discontinuity));
    expect(backwards, JSON.stringify(seen)).toEqual([]);
    expect(seen.at(-1)!.discontinuity).toBeGreaterThan(0);
    expect(st.segmenter['discontinuities']).toBeGreaterThan(10);
    expect(st.window.seconds).toBeGreaterThan(100);
    expect(st.window.seconds).toBeLessThan(125);
    expect(st.window.segments).toBeLessThan(st.segmenter['segments']! - 30);
    const pl = await mediaPlaylist(`${server.url}/loop/ts/${VIDEO}.m3u8`);
    checkMediaPlaylist(pl);
    expect(listedSeconds(pl.segments)).toBeLessThan(62);
    expect(pl.text).toContain('#EXT-X-DISCONTINUITY');
  }, 60_000);
});
