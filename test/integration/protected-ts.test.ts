// HLS MPEG-TS of protected locations end to end, with ffmpeg as the independent decryptor: it fetches a
// tokenized master playlist, follows the token written into the media playlists and key URIs, fetches the
// key from our key endpoint and decodes. AES-128 (default) and SAMPLE-AES (ts=sample-aes): the decoded
// video and audio frames must equal the clear source's; with a wrong key (the key response rewritten by a
// tampering proxy) they must not.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import { frameHashes } from '../helpers/ffmpeg.js';
import { startTamperingProxy, type TamperingProxy } from '../browser/proxy.js';
import { parseKid } from '../../src/keys/kid.js';
import { inOneHour, library, mint } from './access-helpers.js';

const SECRET = 'ts-test-secret-0123456789abcdef-0123456789';
const KID_AES = 'c1c1c1c1-1111-4222-8333-444444444401';
const KID_SA = 'c2c2c2c2-1111-4222-8333-444444444401';
const SOURCE = join(FIXTURES, 'bframes.mp4');

let server: TestServer;
let proxy: TamperingProxy;
let tmp: string;
let srcVideo: string[];
let srcAudio: string[];

beforeAll(async () => {
  server = await startTestServer('http 8080;\n');
  tmp = await mkdtemp(join(tmpdir(), 'packager-ts-'));
  const aes = await library(join(server.dir, 'aes'), KID_AES);
  const sa = await library(join(server.dir, 'sa'), KID_SA);
  await writeFile(
    server.configPath,
    [
      'http 8080;',
      `secret_file ${join(server.dir, 'secret')};`,
      `token_secret ${SECRET};`,
      `file aes { path ${aes}; drm local; }`,
      `file sa { path ${sa}; drm local ts=sample-aes; }`,
      `file sahevc { path ${FIXTURES}; drm local ts=sample-aes; token_secret off; }`,
      '',
    ].join('\n'),
  );
  expect(await server.reload()).toBe(true);
  for (const kid of [KID_AES, KID_SA]) {
    for (let i = 0; i < 200 && !server.state.knownKids.has(parseKid(kid)); i++) await new Promise((r) => setTimeout(r, 10));
  }
  // Every key the proxy hands out is wrong: the right length, other bytes.
  proxy = await startTamperingProxy(server.url, (path, body) => (path.startsWith('/keys/') ? Buffer.from(body.map((b) => b ^ 0x5a)) : body));
  [srcVideo, srcAudio] = await Promise.all([frameHashes(SOURCE, '0:v:0'), frameHashes(SOURCE, '0:a:0')]);
  expect(srcVideo.length).toBe(288);
});
afterAll(async () => {
  await Promise.allSettled([server?.stop(), proxy?.stop(), tmp ? rm(tmp, { recursive: true, force: true }) : undefined]);
});

const token = (sub: string): string => mint(SECRET, { sub, exp: inOneHour() });

/** The source's audio frames but the first (the priming frame its edit list trims; TS carries it). */
function expectSameAudio(out: string[]): void {
  expect(out.length - srcAudio.length).toBeGreaterThanOrEqual(0);
  expect(out.length - srcAudio.length).toBeLessThanOrEqual(1);
  expect(out.slice(-(srcAudio.length - 1))).toEqual(srcAudio.slice(1));
}

async function hashesOrError(url: string, map: string, extra: string[] = []): Promise<string[] | string> {
  try {
    return await frameHashes(url, map, extra);
  } catch (e) {
    return (e as Error).message;
  }
}

describe('AES-128 (the default of a protected location)', () => {
  it('ffmpeg decodes the tokenized master playlist to the source video and audio frames', async () => {
    const url = `${server.url}/aes/bframes.mp4/index.m3u8?token=${token('aes/bframes.mp4')}`;
    expect(await frameHashes(url, '0:v:0')).toEqual(srcVideo);
    expectSameAudio(await frameHashes(url, '0:a:0'));
  });

  it('without the token the playlist is refused, and a wrong key does not decode to the source', async () => {
    expect((await fetch(`${server.url}/aes/bframes.mp4/index.m3u8`)).status).toBe(401);
    const wrong = await hashesOrError(`${proxy.url}/aes/bframes.mp4/index.m3u8?token=${token('aes/bframes.mp4')}`, '0:v:0');
    expect(proxy.requests.some((p) => p.startsWith(`/keys/${KID_AES}?token=`))).toBe(true);
    expect(wrong).not.toEqual(srcVideo);
    if (Array.isArray(wrong)) expect(wrong.filter((h, i) => h === srcVideo[i]).length).toBeLessThan(srcVideo.length / 2);
  });
});

describe('SAMPLE-AES (ts=sample-aes)', () => {
  /**
   * ffmpeg decrypts SAMPLE-AES per packet as its H.264 parser releases it, and releases the last access
   * unit of a playlist only after the last segment (not decrypted). The playlist given to ffmpeg is ours,
   * with absolute URIs, and its last segment once more at the end (a "flush"); only the first frames of
   * its output are compared. hls.js and AVPlayer need no such thing.
   */
  async function withFlush(base: string, media: string): Promise<string> {
    const url = `${base}${media}`;
    const text = await (await fetch(url)).text();
    const lines = text
      .trimEnd()
      .split('\n')
      .filter((l) => l !== '#EXT-X-ENDLIST')
      .map((l) => (l.startsWith('#EXT-X-KEY') ? l.replace(/URI="([^"]+)"/, (_m, u: string) => `URI="${new URL(u, url).href}"`) : l.startsWith('#') ? l : new URL(l, url).href));
    const lastUri = lines.at(-1)!;
    lines.push(lines.at(-2)!, `${lastUri}&flush`, '#EXT-X-ENDLIST');
    const file = join(tmp, `${Math.random().toString(36).slice(2)}.m3u8`);
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  }
  const FILE_IN = ['-protocol_whitelist', 'file,http,tcp,crypto', '-allowed_extensions', 'ALL'];

  it('ffmpeg decodes the tokenized video and audio playlists to the source frames', async () => {
    const t = token('sa/bframes.mp4');
    const master = await (await fetch(`${server.url}/sa/bframes.mp4/index.m3u8?token=${t}`)).text();
    expect(master).toContain(`ts/v1.m3u8?token=${t}`);
    const video = await frameHashes(await withFlush(server.url, `/sa/bframes.mp4/ts/v1.m3u8?token=${t}`), '0:v:0', FILE_IN);
    expect(video.slice(0, srcVideo.length)).toEqual(srcVideo);
    expectSameAudio((await frameHashes(`${server.url}/sa/bframes.mp4/ts/a2.m3u8?token=${t}`, '0:a:0')).slice(0, srcAudio.length + 1));
  });

  it('the segments are SAMPLE-AES (stream types 0xDB and 0xCF), and a wrong key does not decode to the source', async () => {
    const t = token('sa/bframes.mp4');
    const seg = Buffer.from(await (await fetch(`${server.url}/sa/bframes.mp4/ts/v1/1.ts`)).arrayBuffer());
    expect(seg[0]).toBe(0x47);
    const pmt = seg.subarray(188, 376);
    expect(pmt.includes(Buffer.from([0xdb]))).toBe(true);
    const audio = Buffer.from(await (await fetch(`${server.url}/sa/bframes.mp4/ts/a2/1.ts`)).arrayBuffer());
    expect(audio.subarray(188, 376).includes(Buffer.from([0xcf]))).toBe(true);
    const wrong = await hashesOrError(await withFlush(proxy.url, `/sa/bframes.mp4/ts/v1.m3u8?token=${t}`), '0:v:0', FILE_IN);
    expect(wrong).not.toEqual(srcVideo);
    if (Array.isArray(wrong)) expect(wrong.slice(0, srcVideo.length).filter((h, i) => h === srcVideo[i]).length).toBeLessThan(srcVideo.length / 2);
  });

  it('an HEVC title has no SAMPLE-AES TS output (415); its fMP4 output is served', async () => {
    expect((await fetch(`${server.url}/sahevc/hevc.mp4/index.m3u8`)).status).toBe(415);
    expect((await fetch(`${server.url}/sahevc/hevc.mp4/ts/v1/1.ts`)).status).toBe(415);
    expect((await fetch(`${server.url}/sahevc/hevc.mp4/index.fmp4.m3u8`)).status).toBe(200);
  });
});
