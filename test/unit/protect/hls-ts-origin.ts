/**
 * Test-only: a tiny HLS origin for encrypted MPEG-TS, independent of the real server. Segments of
 * fixtures/vod/bframes.mp4 (H.264 with B-frames + AAC) are cut by the real indexer, sample reader and
 * planner, muxed by buildTsSegment and encrypted by encryptAes128Segment or buildTsSegment's
 * sampleAes, then served with CORS (browser pages live on another origin) to ffmpeg or hls.js.
 *
 * Routes, under a mode `/<method>[+flag...]` with method clear | aes128 | sample-aes:
 *   /<mode>/index.m3u8            master: the video rendition + the audio rendition (EXT-X-MEDIA)
 *   /<mode>/v.m3u8, /<mode>/a.m3u8 media playlists (every segment);  v<N>.m3u8: segment N alone
 *   /<mode>/v/<n>.ts, /<mode>/a/<n>.ts
 *   /key, /wrongkey               16 raw bytes
 * Flags: wrongkey (EXT-X-KEY points at /wrongkey), ivseq (SAMPLE-AES IV = media sequence number
 * instead of one fixed IV), flush (the playlist ends with its last segment once more, same IV: see
 * hls-ts-ffmpeg.test.ts). AES-128 always uses the media sequence IV. Every EXT-X-KEY has IV=.
 */
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { Track } from '../../../src/media/track.js';
import { byteSize } from '../../../src/media/track.js';
import { buildTsSegment } from '../../../src/mux/ts/segment.js';
import { encryptAes128Segment, hlsSegmentIv } from '../../../src/protect/hls-aes128.js';
import { planSegments } from '../../../src/segment/plan.js';
import type { TrackCut } from '../../../src/segment/types.js';
import { indexMp4 } from '../../../src/source/mp4/index-file.js';
import { readSamples } from '../../../src/source/mp4/read-samples.js';

export const SOURCE = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'vod', 'bframes.mp4');
export const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
export const WRONG_KEY = Buffer.from('00112233445566778899aabbccddeefe', 'hex');
/** The IV of every SAMPLE-AES segment unless the mode has the ivseq flag. */
export const SAMPLE_AES_IV = Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex');

type Method = 'NONE' | 'AES-128' | 'SAMPLE-AES';
export type Kind = 'v' | 'a';

interface Mode {
  readonly method: Method;
  readonly wrongKey: boolean;
  readonly ivSeq: boolean;
  readonly flush: boolean;
}

export interface Title {
  readonly cuts: Record<Kind, TrackCut>;
  /** Clear sample bytes of every segment, per track. */
  readonly samples: Record<Kind, Uint8Array[]>;
}

export interface HlsTsOrigin {
  readonly url: string;
  readonly title: Title;
  /** Paths requested so far (tests may clear it). */
  readonly requests: string[];
  stop(): Promise<void>;
}

export async function loadTitle(path = SOURCE, segmentDuration = 4): Promise<Title> {
  const media = await indexMp4(path);
  const plan = planSegments(media, segmentDuration);
  const find = (k: Track['kind']): TrackCut => {
    const cut = plan.cuts.find((c) => c.track.kind === k);
    if (!cut) throw new Error(`no ${k} track in ${path}`);
    return cut;
  };
  const cuts = { v: find('video'), a: find('audio') };
  const samples: Record<Kind, Uint8Array[]> = { v: [], a: [] };
  const fd = await open(path, 'r');
  try {
    for (const kind of ['v', 'a'] as const) {
      const cut = cuts[kind];
      for (let i = 0; i < cut.count; i++) {
        const start = cut.first[i]!;
        const end = cut.first[i + 1]!;
        const into = new Uint8Array(byteSize(cut.track.samples, start, end));
        await readSamples(fd, cut.track, start, end, into, 0);
        samples[kind].push(into);
      }
    }
  } finally {
    await fd.close();
  }
  return { cuts, samples };
}

function parseMode(s: string): Mode | undefined {
  const [name, ...flags] = s.split('+');
  const method = ({ clear: 'NONE', aes128: 'AES-128', 'sample-aes': 'SAMPLE-AES' } as const)[name as 'clear' | 'aes128' | 'sample-aes'];
  if (!method || flags.some((f) => !['wrongkey', 'ivseq', 'flush'].includes(f))) return undefined;
  return { method, wrongKey: flags.includes('wrongkey'), ivSeq: flags.includes('ivseq'), flush: flags.includes('flush') };
}

function segmentIv(mode: Mode, index: number): Uint8Array {
  return mode.method === 'AES-128' || mode.ivSeq ? hlsSegmentIv(index) : SAMPLE_AES_IV;
}

function segment(title: Title, mode: Mode, kind: Kind, index: number): Uint8Array {
  const cut = title.cuts[kind];
  const iv = segmentIv(mode, index);
  const ts = buildTsSegment({
    track: cut.track,
    start: cut.first[index]!,
    end: cut.first[index + 1]!,
    sampleData: title.samples[kind][index]!,
    segmentIndex: index,
    ...(mode.method === 'SAMPLE-AES' ? { sampleAes: { key: KEY, iv } } : {}),
  });
  return mode.method === 'AES-128' ? encryptAes128Segment(ts, KEY, iv) : ts;
}

/** A VOD media playlist of segments [from, to), media sequence = segment index. */
function mediaPlaylist(title: Title, mode: Mode, kind: Kind, from: number, to: number): string {
  const cut = title.cuts[kind];
  const lines = ['#EXTM3U', '#EXT-X-VERSION:5', '#EXT-X-TARGETDURATION:5', `#EXT-X-MEDIA-SEQUENCE:${from}`, '#EXT-X-PLAYLIST-TYPE:VOD'];
  const keyUri = mode.wrongKey ? '/wrongkey' : '/key';
  const entry = (i: number, uri: string): void => {
    if (mode.method !== 'NONE') {
      const iv = Buffer.from(segmentIv(mode, i)).toString('hex');
      lines.push(`#EXT-X-KEY:METHOD=${mode.method},URI="${keyUri}",IV=0x${iv}`);
    }
    lines.push(`#EXTINF:${((cut.start[i + 1]! - cut.start[i]!) / cut.track.timescale).toFixed(6)},`);
    lines.push(uri);
  };
  for (let i = from; i < to; i++) entry(i, `${kind}/${i}.ts`);
  if (mode.flush) entry(to - 1, `${kind}/${to - 1}.ts?flush`);
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

function masterPlaylist(title: Title): string {
  const v = title.cuts.v.track;
  const a = title.cuts.a.track;
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:5',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,URI="a.m3u8"',
    `#EXT-X-STREAM-INF:BANDWIDTH=1000000,CODECS="${v.codecString},${a.codecString}",RESOLUTION=${v.width}x${v.height},AUDIO="aac"`,
    'v.m3u8',
    '',
  ].join('\n');
}

const M3U8 = 'application/vnd.apple.mpegurl';

function route(title: Title, path: string): { type: string; body: Uint8Array } | undefined {
  if (path === '/key') return { type: 'application/octet-stream', body: KEY };
  if (path === '/wrongkey') return { type: 'application/octet-stream', body: WRONG_KEY };
  const m = /^\/([a-z0-9+-]+)\/(?:(index)\.m3u8|(v|a)(\d*)\.m3u8|(v|a)\/(\d+)\.ts)$/.exec(path);
  const mode = m ? parseMode(m[1]!) : undefined;
  if (!m || !mode) return undefined;
  if (m[2]) return { type: M3U8, body: Buffer.from(masterPlaylist(title)) };
  if (m[3]) {
    const kind = m[3] as Kind;
    const count = title.cuts[kind].count;
    const [from, to] = m[4] ? [Number(m[4]), Number(m[4]) + 1] : [0, count];
    if (to > count) return undefined;
    return { type: M3U8, body: Buffer.from(mediaPlaylist(title, mode, kind, from, to)) };
  }
  const kind = m[5] as Kind;
  const index = Number(m[6]);
  if (index >= title.cuts[kind].count) return undefined;
  return { type: 'video/mp2t', body: segment(title, mode, kind, index) };
}

/** Starts the origin on 127.0.0.1:0. */
export async function startHlsTsOrigin(title?: Title): Promise<HlsTsOrigin> {
  const t = title ?? (await loadTitle());
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(path);
    const cors = { 'access-control-allow-origin': '*' };
    try {
      const r = route(t, path);
      if (!r) res.writeHead(404, cors).end();
      else res.writeHead(200, { ...cors, 'content-type': r.type, 'content-length': r.body.length }).end(r.body);
    } catch (e) {
      res.writeHead(500, cors).end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('HLS TS origin: no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    title: t,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
