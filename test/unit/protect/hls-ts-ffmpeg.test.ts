/**
 * HLS AES-128 and SAMPLE-AES MPEG-TS against ffmpeg as the independent decryptor: ffmpeg's HLS
 * demuxer fetches the EXT-X-KEY URI itself and decrypts (AES-128 in its crypto: protocol, SAMPLE-AES
 * in libavformat/hls_sample_encryption.c, written from Apple's spec, not from this code). Segments of
 * fixtures/vod/bframes.mp4 (H.264 with B-frames + AAC) come from the real indexer, reader, planner
 * and TS muxer through a tiny HTTP origin (hls-ts-origin.ts), video and audio as separate playlists,
 * and must decode to exactly the source's frames.
 *
 * ffmpeg decrypts SAMPLE-AES per demuxed packet with the key and IV of the segment that is current
 * when the packet leaves its H.264 parser. The parser holds each access unit until it sees the next
 * one, so the last access unit of a segment comes out while the NEXT segment is current (decrypted
 * with that segment's IV), and the last one of the playlist after the last segment (not decrypted at
 * all: one wrong frame at the end, seen with this very output). Hence, for ffmpeg only: SAMPLE-AES
 * playlists end with a "flush" segment (the last one again, same IV; only the first frames of the
 * output are compared), and per-segment IVs are checked one segment at a time. hls.js decrypts per
 * fragment and needs none of this (test/interop/players-hlsjs.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameHashes, tool } from '../../helpers/ffmpeg.js';
import { SOURCE, startHlsTsOrigin } from './hls-ts-origin.js';
import type { HlsTsOrigin, Kind } from './hls-ts-origin.js';

let origin: HlsTsOrigin;
let srcVideo: string[];
let srcAudio: string[];

beforeAll(async () => {
  [origin, srcVideo, srcAudio] = await Promise.all([startHlsTsOrigin(), frameHashes(SOURCE, '0:v'), frameHashes(SOURCE, '0:a')]);
});
afterAll(async () => origin?.stop());

const HLS_IN = ['-allowed_extensions', 'ALL'];

const hls = (mode: string, playlist: string): Promise<string[]> => frameHashes(`${origin.url}/${mode}/${playlist}`, playlist.startsWith('v') ? '0:v' : '0:a', HLS_IN);

/** AAC frames of the source track: TS delivers them all, the priming frame included. */
function audioFrames(): number {
  return origin.title.cuts.a.track.samples.count;
}

/** The source's decoded audio frames but for the first (the priming frame its edit list trims). */
function expectSameAudio(out: string[], src: string[]): void {
  expect(src.length).toBeGreaterThan(100);
  expect(out.length - src.length).toBeGreaterThanOrEqual(0);
  expect(out.length - src.length).toBeLessThanOrEqual(1);
  expect(out.slice(-(src.length - 1))).toEqual(src.slice(1));
}

/** ffmpeg's output for a broken stream: its frame hashes, or the error it failed with. */
async function hashesOrError(mode: string, playlist: string): Promise<string[] | string> {
  try {
    return await hls(mode, playlist);
  } catch (e) {
    return String((e as Error).message);
  }
}

describe.each([
  ['AES-128', 'aes128'],
  ['SAMPLE-AES', 'sample-aes+flush'],
] as const)('%s MPEG-TS decrypted by ffmpeg', (_method, mode) => {
  it('video decodes to the source frames', async () => {
    expect(origin.title.cuts.v.count).toBeGreaterThanOrEqual(3);
    origin.requests.length = 0;
    const out = await hls(mode, 'v.m3u8');
    expect(srcVideo.length).toBe(288);
    expect(out.length).toBeGreaterThanOrEqual(srcVideo.length);
    expect(out.slice(0, srcVideo.length)).toEqual(srcVideo);
    // ffmpeg fetched the key from the playlist's URI.
    expect(origin.requests).toContain('/key');
  });

  it('audio decodes to the source frames (from the 2nd on)', async () => {
    expectSameAudio((await hls(mode, 'a.m3u8')).slice(0, audioFrames()), srcAudio);
  });

  it('a wrong key does not decode to the source', async () => {
    // AES-128: ffmpeg fails on the first segment (bad padding, no sync byte). SAMPLE-AES: every frame
    // decodes to garbage (the clear slice headers keep the decoder going).
    const video = await hashesOrError(`${mode}+wrongkey`, 'v.m3u8');
    if (typeof video === 'string') expect(video).toMatch(/Invalid data|error/i);
    else expect(video.slice(0, srcVideo.length).filter((h, i) => h === srcVideo[i]).length).toBeLessThan(srcVideo.length / 10);
    const audio = await hashesOrError(`${mode}+wrongkey`, 'a.m3u8');
    if (typeof audio === 'string') expect(audio).toMatch(/Invalid data|error/i);
    else expect(audio.slice(1, srcAudio.length).filter((h, i) => h === srcAudio[i + 1]).length).toBeLessThan(srcAudio.length / 10);
  });
});

describe('SAMPLE-AES with a per-segment (media sequence) IV', () => {
  it('every segment decrypts with its own IV', async () => {
    const cut = origin.title.cuts.v;
    for (let i = 0; i < cut.count; i++) {
      // Segments start with the IDR frame of a closed GOP: decode order and presentation order cover
      // the same frames.
      const out = await hls('sample-aes+ivseq+flush', `v${i}.m3u8`);
      expect(out.slice(0, cut.first[i + 1]! - cut.first[i]!), `segment ${i}`).toEqual(srcVideo.slice(cut.first[i], cut.first[i + 1]));
    }
    expectSameAudio((await hls('sample-aes+ivseq+flush', 'a.m3u8')).slice(0, audioFrames()), srcAudio);
  });
});

describe('ffmpeg sees the SAMPLE-AES signalling', () => {
  it('probes 0xDB as H.264 and 0xCF as AAC', async () => {
    const probe = async (kind: Kind): Promise<string[]> => {
      const { stdout } = await tool('ffprobe', ['-v', 'error', ...HLS_IN, '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', `${origin.url}/sample-aes/${kind}.m3u8`]);
      return [...new Set(stdout.split('\n').filter(Boolean))];
    };
    expect(await probe('v')).toEqual(['h264']);
    expect(await probe('a')).toEqual(['aac']);
  });
});
