/**
 * Checks shared by the protected live tests of each codec (live.test.ts: H.264, live-hevc.test.ts:
 * H.265): a server with a clear stream and a protected one (`drm local`, `rotate_segments=2`) fed the
 * same datagrams, whose decrypted outputs must be the clear stream's pictures. ffmpeg decrypts.
 */
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import {
  VIDEO,
  checkMediaPlaylist,
  clearKeyLicence,
  decryptedVideoHashes,
  expectSourceFrames,
  getBytes,
  getText,
  mediaPlaylist,
  parseMpd,
  rangeOf,
  sourceHashes,
  videoHashes,
  type Scratch,
} from './live-harness.js';

export interface ProtectedLivePair {
  /** The server's base URL. */
  readonly url: string;
  readonly scratch: Scratch;
  /** Stream names: clear and protected, same input. */
  readonly clear: string;
  readonly drm: string;
  /** The source TS file. */
  readonly source: string;
}

/** Key periods of `rotate_segments=2`, as the server computes them (keys/rotation.ts). */
export const keyPeriodOf2 = (n: number): number => Math.floor((n - 1) / 2);

/** The video frames of the clear stream's TS segments `numbers` (at least `min`). */
export async function clearFrames(t: ProtectedLivePair, numbers: readonly number[], min: number): Promise<string[]> {
  const file = await t.scratch.concat(`clear-${numbers.join('-')}.ts`, numbers.map((n) => `${t.url}/${t.clear}/ts/${VIDEO}/${n}.ts`));
  const frames = await videoHashes(file);
  expect(frames.length).toBeGreaterThanOrEqual(min);
  return frames;
}

/** A timeshift piece of the protected TS rendition over two key periods or more decodes (ffmpeg, through the key URLs) to the clear frames. */
export async function expectProtectedTsDecodes(t: ProtectedLivePair): Promise<void> {
  const live = await mediaPlaylist(`${t.url}/${t.drm}/ts/${VIDEO}.m3u8`);
  const { from, duration } = rangeOf(live.segments);
  const url = `${t.url}/${t.drm}/ts/${VIDEO}-${from}-${duration}.m3u8`;
  const piece = await mediaPlaylist(url);
  checkMediaPlaylist(piece, true);
  expect(new Set(piece.segments.map((s) => s.keyUrl)).size).toBeGreaterThanOrEqual(2);
  const protectedFrames = await videoHashes(url);
  expect(protectedFrames).toEqual(await clearFrames(t, piece.segments.map((s) => s.number), 50));
  expectSourceFrames(protectedFrames, await sourceHashes(t.source));
}

/**
 * The last complete Period of the protected MPD, decrypted by ffmpeg with the key of its default_KID
 * from the ClearKey licence endpoint (and /keys/ agrees): the clear stream's frames.
 */
export async function expectDashPeriodDecrypts(t: ProtectedLivePair): Promise<void> {
  const mpd = parseMpd(await getText(`${t.url}/${t.drm}/index.mpd`));
  expect(mpd.periods.length).toBeGreaterThanOrEqual(2);
  const p = mpd.periods.slice(0, -1).at(-1)!;
  const kid = p.defaultKids[0]!.toLowerCase();
  const key = await clearKeyLicence(t.url, kid);
  expect((await getBytes(`${t.url}/keys/${kid}`)).toString('hex')).toBe(key);
  const numbers = p.numbers.get(VIDEO)!;
  const enc = await t.scratch.concat(`${t.drm}-dash.mp4`, [`${t.url}/${t.drm}/${p.inits.get(VIDEO)!}`, ...numbers.map((n) => `${t.url}/${t.drm}/dash/${VIDEO}/${n}.m4s`)]);
  expect((await readFile(enc)).includes('encv')).toBe(true);
  expect(await decryptedVideoHashes(await readFile(enc), key)).toEqual(await clearFrames(t, numbers, 25));
}

/** The segments of the newest complete key period of the HLS fMP4 rendition (cbcs), with their EXT-X-MAP and key, decrypted by ffmpeg: the clear frames. */
export async function expectHlsKeyPeriodDecrypts(t: ProtectedLivePair): Promise<void> {
  const pl = await mediaPlaylist(`${t.url}/${t.drm}/hls/${VIDEO}.m3u8`);
  checkMediaPlaylist(pl);
  expect(pl.text).toMatch(/^#EXT-X-KEY:METHOD=SAMPLE-AES,URI="\/keys\/[0-9a-f-]{36}"/m);
  const periods = [...new Set(pl.segments.map((s) => keyPeriodOf2(s.number)))];
  const chosen = pl.segments.filter((s) => keyPeriodOf2(s.number) === periods.at(-2));
  expect(chosen.length).toBe(2);
  expect(new Set(chosen.map((s) => s.mapUrl)).size).toBe(1);
  expect(new Set(chosen.map((s) => s.keyUrl)).size).toBe(1);
  const key = (await getBytes(chosen[0]!.keyUrl!)).toString('hex');
  const enc = await t.scratch.concat(`${t.drm}-hls.mp4`, [chosen[0]!.mapUrl!, ...chosen.map((s) => s.url)]);
  expect(await decryptedVideoHashes(await readFile(enc), key)).toEqual(await clearFrames(t, chosen.map((s) => s.number), 50));
}
