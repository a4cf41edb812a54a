// Every output of every fixture, fetched from the real server and decoded by ffmpeg (an independent
// decoder): decoded video frames must be bit-identical to the source's, audio frames too (but for the
// priming frame the source's edit list trims), and audio must stay in sync with video.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { Parser } from 'm3u8-parser';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import { frameHashes, probePackets, probeStreams } from '../helpers/ffmpeg.js';

interface SourceStream {
  index: number;
  kind: 'video' | 'audio';
  trackId: number;
  width?: number;
  height?: number;
}

const FILES = ['bframes.mp4', 'moov-at-end.mp4', 'hevc.mp4', 'two-audio.mp4', 'multi-bitrate.mp4', 'sub/avc3.mp4'];

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(`http 8080;\nfile vod { path ${FIXTURES}; protocols hls dash; segment_duration 4; }\n`);
});
afterAll(async () => server?.stop());

async function sourceStreams(file: string): Promise<SourceStream[]> {
  const streams = await probeStreams(join(FIXTURES, file));
  return streams.map((s) => ({
    index: Number(s['index']),
    kind: s['codec_type'] === 'video' ? 'video' : 'audio',
    trackId: Number.parseInt(String(s['id']), 16),
    ...(s['width'] ? { width: Number(s['width']), height: Number(s['height']) } : {}),
  }));
}

function parsePlaylist(text: string): { manifest: Parser['manifest']; warnings: string[] } {
  const parser = new Parser();
  const warnings: string[] = [];
  parser.on('warn', (w: { message: string }) => warnings.push(w.message));
  parser.push(text);
  parser.end();
  return { manifest: parser.manifest, warnings };
}

async function get(path: string): Promise<Response> {
  const res = await fetch(`${server.url}${path}`);
  return res;
}

/** The source's decoded audio frames, but for the first: the MP4 edit list trims the priming frame. */
function sameAudio(out: string[], src: string[]): void {
  expect(out.length - src.length).toBeGreaterThanOrEqual(0);
  expect(out.length - src.length).toBeLessThanOrEqual(1);
  expect(out.slice(-(src.length - 1))).toEqual(src.slice(1));
}

describe.each(FILES)('%s', (file) => {
  const base = `/vod/${file}`;
  let streams: SourceStream[];
  const src = join(FIXTURES, file);

  beforeAll(async () => {
    streams = await sourceStreams(file);
  });

  it('serves masters that parse cleanly and name every rendition', async () => {
    for (const [name, type] of [['index.m3u8', 'application/vnd.apple.mpegurl'], ['index.fmp4.m3u8', 'application/vnd.apple.mpegurl']] as const) {
      const res = await get(`${base}/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      const { manifest, warnings } = parsePlaylist(await res.text());
      expect(warnings).toEqual([]);
      const videos = streams.filter((s) => s.kind === 'video');
      const audios = streams.filter((s) => s.kind === 'audio');
      expect(manifest.playlists).toHaveLength(videos.length);
      for (const pl of manifest.playlists ?? []) {
        const a = pl.attributes as Record<string, unknown>;
        expect(Number(a['BANDWIDTH'])).toBeGreaterThan(0);
        expect(Number(a['AVERAGE-BANDWIDTH'])).toBeGreaterThan(0);
        expect(String(a['CODECS'])).toMatch(/^(avc[13]|hvc1|hev1)\./);
        expect(a['RESOLUTION']).toBeDefined();
        expect(Number(a['FRAME-RATE'])).toBeGreaterThan(0);
        if (audios.length) expect(String(a['CODECS'])).toContain('mp4a.40.2');
      }
      const groups = manifest.mediaGroups?.AUDIO ?? {};
      const renditions = Object.values(groups).flatMap((g) => Object.values(g));
      expect(renditions).toHaveLength(audios.length);
    }
  });

  it('HLS MPEG-TS: every video rendition decodes to the source frames', async () => {
    for (const v of streams.filter((s) => s.kind === 'video')) {
      const url = `${server.url}${base}/ts/v${v.trackId}.m3u8`;
      const [out, ref] = await Promise.all([frameHashes(url, '0:v:0'), frameHashes(src, `0:${v.index}`)]);
      expect(out.length).toBe(ref.length);
      expect(out).toEqual(ref);
    }
  });

  it('HLS fMP4: every video rendition decodes to the source frames', async () => {
    for (const v of streams.filter((s) => s.kind === 'video')) {
      const url = `${server.url}${base}/hls/v${v.trackId}.m3u8`;
      const [out, ref] = await Promise.all([frameHashes(url, '0:v:0'), frameHashes(src, `0:${v.index}`)]);
      expect(out).toEqual(ref);
    }
  });

  it('HLS (TS and fMP4): every audio rendition decodes to the source audio', async () => {
    for (const a of streams.filter((s) => s.kind === 'audio')) {
      const ref = await frameHashes(src, `0:${a.index}`);
      for (const dir of ['ts', 'hls']) {
        sameAudio(await frameHashes(`${server.url}${base}/${dir}/a${a.trackId}.m3u8`, '0:a:0'), ref);
      }
    }
  });

  it('DASH: the MPD decodes to the source frames, video and audio', async () => {
    const mpd = `${server.url}${base}/index.mpd`;
    const outStreams = await probeStreams(mpd);
    for (const v of streams.filter((s) => s.kind === 'video')) {
      const at = outStreams.findIndex((s) => s['codec_type'] === 'video' && s['width'] === v.width && s['height'] === v.height);
      expect(at).toBeGreaterThanOrEqual(0);
      const [out, ref] = await Promise.all([frameHashes(mpd, `0:${at}`), frameHashes(src, `0:${v.index}`)]);
      expect(out).toEqual(ref);
    }
    const audios = streams.filter((s) => s.kind === 'audio');
    const outAudio = outStreams.map((s, i) => ({ s, i })).filter(({ s }) => s['codec_type'] === 'audio');
    expect(outAudio).toHaveLength(audios.length);
    for (const [k, a] of audios.entries()) {
      sameAudio(await frameHashes(mpd, `0:${outAudio[k]!.i}`), await frameHashes(src, `0:${a.index}`));
    }
  });

  // Checked on MPEG-TS, whose timestamps are absolute. ffmpeg is no judge of sync in fragmented MP4: it
  // shifts each track by the largest negative composition offset it has seen, per track (the fMP4
  // timeline is checked by the mux unit tests with mp4box, and by real players in the browser tests).
  it('keeps audio in sync with video (within one audio frame) in MPEG-TS', async () => {
    const v = streams.find((s) => s.kind === 'video')!;
    const a = streams.find((s) => s.kind === 'audio');
    if (!a) return;
    const [sv, sa] = await Promise.all([probePackets(src, `${v.index}`), probePackets(src, `${a.index}`)]);
    const srcOffset = Math.min(...sa.map((p) => p.pts)) - Math.min(...sv.map((p) => p.pts));
    const frame = sa[1]!.pts - sa[0]!.pts;
    for (const dir of ['ts']) {
      const [ov, oa] = await Promise.all([
        probePackets(`${server.url}${base}/${dir}/v${v.trackId}.m3u8`, 'v:0'),
        probePackets(`${server.url}${base}/${dir}/a${a.trackId}.m3u8`, 'a:0'),
      ]);
      const outOffset = Math.min(...oa.map((p) => p.pts)) - Math.min(...ov.map((p) => p.pts));
      expect(Math.abs(outOffset - srcOffset)).toBeLessThanOrEqual(frame + 1e-6);
      // Durations: the last presented video frame ends where the source's does.
      const end = (ps: typeof ov) => Math.max(...ps.map((p) => p.pts + p.duration)) - Math.min(...ps.map((p) => p.pts));
      expect(Math.abs(end(ov) - end(sv))).toBeLessThan(1e-3);
    }
  });

  it('media playlists are VOD, parse cleanly, and list exactly the segments served', async () => {
    const master = parsePlaylist(await (await get(`${base}/index.fmp4.m3u8`)).text()).manifest;
    const uris = [
      ...(master.playlists ?? []).map((p) => p.uri),
      ...Object.values(master.mediaGroups?.AUDIO ?? {}).flatMap((g) => Object.values(g).map((r) => (r as { uri: string }).uri)),
    ];
    for (const dir of ['ts', 'hls']) {
      for (const uri of uris.map((u) => u.replace(/^hls\//, `${dir}/`))) {
        const text = await (await get(`${base}/${uri}`)).text();
        expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
        expect(text).toContain('#EXT-X-ENDLIST');
        const { manifest, warnings } = parsePlaylist(text);
        expect(warnings).toEqual([]);
        const segs = manifest.segments ?? [];
        expect(segs.length).toBeGreaterThan(0);
        const maxRounded = Math.max(...segs.map((s) => Math.round(s.duration)));
        expect(manifest.targetDuration).toBeGreaterThanOrEqual(maxRounded);
        const folder = uri.slice(0, uri.lastIndexOf('/') + 1);
        for (const s of segs) {
          const res = await get(`${base}/${folder}${s.uri}`);
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toBe(dir === 'ts' ? 'video/mp2t' : 'video/iso.segment');
          expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
        }
        // One past the last is out of range.
        const last = segs.at(-1)!.uri;
        const next = last.replace(/(\d+)(\.\w+)$/, (_, n: string, ext: string) => `${Number(n) + 1}${ext}`);
        expect((await get(`${base}/${folder}${next}`)).status).toBe(404);
        if (dir === 'hls') {
          expect(segs[0]!.map?.uri).toBeDefined();
          expect((await get(`${base}/${folder}${segs[0]!.map!.uri}`)).status).toBe(200);
        }
      }
    }
  });
});
