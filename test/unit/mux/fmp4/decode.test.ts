/**
 * Independent decoding: real tracks (read with mp4box, not the project's indexer) are cut into
 * fragments, written as init + fragments, and decoded by ffmpeg. The decoded frames must equal the
 * source's. Encrypted output is encrypted here with a test-only CENC implementation and decrypted by
 * ffmpeg (-decryption_key), which reads tenc, senc/saiz/saio and the subsample maps.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Track } from '../../../../src/media/track.js';
import { buildFragment, type FragmentProtection } from '../../../../src/mux/fmp4/fragment.js';
import { buildInit, type InitProtection } from '../../../../src/mux/fmp4/init.js';
import { cutAtSync, cutEvery, packageTrack, readMp4Track, sourceSampleData, type SourceTrack } from './helpers.js';

const BFRAMES = 'fixtures/vod/bframes.mp4';
const HEVC = 'fixtures/vod/hevc.mp4';
const dir = mkdtempSync(join(tmpdir(), 'fmp4-decode-'));
// KEEP=1 leaves the written files for inspection with ffprobe/mp4dump.
afterAll(() => {
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
});

function save(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function run(cmd: string, args: string[], input?: Uint8Array): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

interface HashOptions {
  stream?: 'v' | 'a';
  /** Options before -i (e.g. the decryption key). */
  pre?: string[];
  /** Hash packets as stored (-c copy) instead of decoded frames. */
  copy?: boolean;
  /** Feed the file through a pipe: a non-seekable input is read strictly moof by moof. */
  stdin?: Uint8Array;
}

/** framemd5 hashes of the decoded frames (or of the packets, with copy), in output order. */
function frameHashes(path: string, opts: HashOptions = {}): string[] {
  const out = run(
    'ffmpeg',
    [
      '-v', 'error', ...(opts.pre ?? []), '-i', opts.stdin ? 'pipe:0' : path,
      ...(opts.stream ? ['-map', `0:${opts.stream}`] : []), ...(opts.copy ? ['-c', 'copy'] : []), '-f', 'framemd5', '-',
    ],
    opts.stdin,
  );
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').pop()!.trim());
}

interface Packet {
  pts: number;
  dts: number;
}

function packets(path: string): Packet[] {
  const out = run('ffprobe', ['-v', 'error', '-select_streams', '0', '-show_entries', 'packet=pts,dts', '-of', 'csv=p=0', path]);
  return out
    .trim()
    .split('\n')
    .map((l) => {
      const [pts, dts] = l.split(',').map(Number);
      return { pts: pts!, dts: dts! };
    });
}

function presented(t: Track, i: number): number {
  return t.samples.dts[i]! + t.samples.cto[i]! - t.presentationOffset;
}

describe('clear output decodes like the source (ffmpeg)', () => {
  it('H.264 with B-frames and an edit list: same frames; DTS continuous; offsets as in the source', () => {
    const src = readMp4Track(BFRAMES, 'vide');
    expect(src.track.presentationOffset).toBeGreaterThan(0);
    const cuts = cutAtSync(src.track.samples, 24);
    expect(cuts.length).toBeGreaterThan(3);
    const path = save('avc.mp4', packageTrack(src, cuts).whole);

    expect(frameHashes(path)).toEqual(frameHashes(BFRAMES, { stream: 'v' }));

    const t = src.track;
    const pk = packets(path);
    expect(pk).toHaveLength(t.samples.count);
    // ffmpeg's mov demuxer does not let a fragment's negative offsets present a frame before its
    // DTS: it adds the largest negative offset seen (its dts_shift) to every PTS. Everything else is
    // the source's timeline: DTS from tfdt + durations, PTS - DTS from the signed offsets.
    const shift = pk[0]!.pts - presented(t, 0);
    pk.forEach((p, i) => {
      expect(p.dts).toBe(t.samples.dts[i]);
      expect(p.pts - shift).toBe(presented(t, i));
    });
    let minOffset = 0;
    for (let i = 0; i < t.samples.count; i++) minOffset = Math.min(minOffset, t.samples.cto[i]! - t.presentationOffset);
    expect(shift).toBe(-minOffset);
    // On the timeline the file states (what MSE uses), the first frame presents at 0.
    expect(Math.min(...pk.map((p) => p.pts - shift))).toBe(0);
  });

  it('AAC with priming: same decoded frames; the priming frame presents before 0', () => {
    const src = readMp4Track(BFRAMES, 'soun');
    const t = src.track;
    expect(t.presentationOffset).toBe(1024);
    const path = save('aac.mp4', packageTrack(src, cutEvery(t.samples, 94)).whole);

    const ours = frameHashes(path);
    // Every frame, priming included, as the source holds them (edit list ignored) ...
    expect(ours).toEqual(frameHashes(BFRAMES, { stream: 'a', pre: ['-ignore_editlist', '1'] }));
    // ... and after the priming frame, exactly what a player honouring the source's edit list plays.
    expect(ours.slice(1)).toEqual(frameHashes(BFRAMES, { stream: 'a' }));

    const pk = packets(path);
    expect(pk.map((p) => p.dts)).toEqual(Array.from(t.samples.dts));
    // All offsets are -1024: ffmpeg's dts_shift (see above) cancels them, so PTS = DTS there.
    expect(pk.every((p) => p.pts === p.dts)).toBe(true);
    expect(presented(t, 0)).toBe(-1024);
  });

  it('HEVC (hvc1): same frames', () => {
    const src = readMp4Track(HEVC, 'vide');
    const path = save('hevc.mp4', packageTrack(src, cutAtSync(src.track.samples, 25)).whole);
    expect(frameHashes(path)).toEqual(frameHashes(HEVC, { stream: 'v' }));
  });
});

// --- test-only CENC encryption (the project's own cipher lives in protect/, written separately) ---

const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
const KID = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const CONSTANT_IV = new Uint8Array(Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex'));

interface Subsamples {
  index: Uint32Array;
  clear: number[];
  prot: number[];
}

/** One subsample per NAL unit: length prefix + a clear lead, then a protected tail of whole blocks. */
function nalSubsamples(data: Uint8Array, sizes: number[]): Subsamples {
  const clear: number[] = [];
  const prot: number[] = [];
  const index = new Uint32Array(sizes.length + 1);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  sizes.forEach((size, k) => {
    const end = p + size;
    while (p < end) {
      const nal = 4 + view.getUint32(p);
      const protectedBytes = nal > 48 ? Math.floor((nal - 32) / 16) * 16 : 0;
      if (nal - protectedBytes > 0xffff) throw new Error('test NAL too large');
      clear.push(nal - protectedBytes);
      prot.push(protectedBytes);
      p += nal;
    }
    index[k + 1] = clear.length;
  });
  return { index, clear, prot };
}

/** cenc: AES-CTR, IV || 0 counter, one keystream per sample running across its protected ranges. */
function encryptCenc(data: Uint8Array, sizes: number[], ivs: Uint8Array, sub?: Subsamples): void {
  let p = 0;
  sizes.forEach((size, k) => {
    const iv = Buffer.alloc(16);
    iv.set(ivs.subarray(k * 8, k * 8 + 8));
    const c = createCipheriv('aes-128-ctr', KEY, iv);
    const ranges: [number, number][] = sub
      ? Array.from({ length: sub.index[k + 1]! - sub.index[k]! }, (_, j) => [sub.clear[sub.index[k]! + j]!, sub.prot[sub.index[k]! + j]!])
      : [[0, size]];
    let q = p;
    for (const [clear, prot] of ranges) {
      q += clear;
      data.set(c.update(data.subarray(q, q + prot)), q);
      q += prot;
    }
    expect(q).toBe(p + size);
    p += size;
  });
}

/** cbcs: in each protected range, CBC from the constant IV over the crypt blocks of the pattern. */
function encryptCbcs(data: Uint8Array, sizes: number[], crypt: number, skip: number, sub?: Subsamples): void {
  const cbc = (start: number, length: number) => {
    const blocks: number[] = [];
    for (let b = 0; (b + 1) * 16 <= length; b++) if (crypt === 0 || b % (crypt + skip) < crypt) blocks.push(start + b * 16);
    if (blocks.length === 0) return;
    const plain = Buffer.concat(blocks.map((o) => data.subarray(o, o + 16)));
    const c = createCipheriv('aes-128-cbc', KEY, CONSTANT_IV).setAutoPadding(false);
    const enc = c.update(plain);
    blocks.forEach((o, i) => data.set(enc.subarray(i * 16, i * 16 + 16), o));
  };
  let p = 0;
  sizes.forEach((size, k) => {
    if (!sub) {
      cbc(p, size);
    } else {
      let q = p;
      for (let j = sub.index[k]!; j < sub.index[k + 1]!; j++) {
        q += sub.clear[j]!;
        cbc(q, sub.prot[j]!);
        q += sub.prot[j]!;
      }
    }
    p += size;
  });
}

/** An init segment and the fragments of a track, encrypted with the test cipher above. */
function encryptedParts(src: SourceTrack, cuts: number[], scheme: 'cenc' | 'cbcs'): { init: Uint8Array; fragments: Uint8Array[] } {
  const t = src.track;
  const video = t.kind === 'video';
  const protection: InitProtection =
    scheme === 'cenc'
      ? { scheme, kid: KID, perSampleIvSize: 8, cryptByteBlock: 0, skipByteBlock: 0, pssh: [] }
      : { scheme, kid: KID, perSampleIvSize: 0, constantIv: CONSTANT_IV, cryptByteBlock: video ? 1 : 0, skipByteBlock: video ? 9 : 0, pssh: [] };
  const fragments: Uint8Array[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const start = cuts[k]!;
    const end = cuts[k + 1]!;
    const data = sourceSampleData(src, start, end);
    const sizes = Array.from(t.samples.size.subarray(start, end));
    const sub = video ? nalSubsamples(data, sizes) : undefined;
    let fp: FragmentProtection;
    if (scheme === 'cenc') {
      // 8-byte IVs: the global sample number, unique per sample under this key.
      const ivs = new Uint8Array(8 * (end - start));
      for (let i = start; i < end; i++) new DataView(ivs.buffer).setUint32((i - start) * 8 + 4, i + 1);
      encryptCenc(data, sizes, ivs, sub);
      fp = { perSampleIvSize: 8, ivs };
    } else {
      encryptCbcs(data, sizes, video ? 1 : 0, video ? 9 : 0, sub);
      fp = { perSampleIvSize: 0 };
    }
    if (sub) fp = { ...fp, subsampleIndex: sub.index, clearBytes: Uint16Array.from(sub.clear), protectedBytes: Uint32Array.from(sub.prot) };
    fragments.push(buildFragment({ track: t, start, end, sequenceNumber: k + 1, protection: fp }, data));
  }
  return { init: buildInit(t, { protection }), fragments };
}

function md5(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex');
}

/**
 * Two independent reads of the aux info, because ffmpeg 5.1 takes it from two places:
 *  - the whole file through a pipe: ffmpeg cannot seek, so it reads each senc as it meets the moof;
 *    every frame must decode as in the source;
 *  - each fragment alone in a seekable file: ffmpeg follows saiz/saio (saio precedes senc, which it
 *    then ignores as a duplicate); every decrypted packet must equal the source sample.
 * (A seekable multi-fragment file is not usable: ffmpeg 5.1 indexes all moofs up front and then applies
 * the last fragment's aux info to every packet.)
 */
function expectDecrypts(src: SourceTrack, cuts: number[], scheme: 'cenc' | 'cbcs', sourceFrames: string[], name: string): void {
  const key = ['-decryption_key', KEY.toString('hex')];
  const { init, fragments } = encryptedParts(src, cuts, scheme);
  const whole = Buffer.concat([init, ...fragments]);
  expect(frameHashes('', { pre: key, stdin: whole })).toEqual(sourceFrames);

  fragments.forEach((fragment, k) => {
    const path = save(`${name}-${k + 1}.mp4`, Buffer.concat([init, fragment]));
    const expected: string[] = [];
    for (let i = cuts[k]!; i < cuts[k + 1]!; i++) expected.push(md5(sourceSampleData(src, i, i + 1)));
    expect(frameHashes(path, { pre: key, copy: true }), `fragment ${k + 1}`).toEqual(expected);
    // Without the key the packets differ: the payload really was encrypted.
    if (k === 0) expect(frameHashes(path, { copy: true })).not.toEqual(expected);
  });
}

describe('encrypted output decrypts and decodes like the source (ffmpeg -decryption_key)', () => {
  it.each(['cenc', 'cbcs'] as const)('%s H.264 video with subsamples', (scheme) => {
    const src = readMp4Track(BFRAMES, 'vide');
    expectDecrypts(src, cutAtSync(src.track.samples, 24), scheme, frameHashes(BFRAMES, { stream: 'v' }), `${scheme}-avc`);
  });

  it.each(['cenc', 'cbcs'] as const)('%s AAC audio (whole-sample; cbcs without aux info)', (scheme) => {
    const src = readMp4Track(BFRAMES, 'soun');
    const frames = frameHashes(BFRAMES, { stream: 'a', pre: ['-ignore_editlist', '1'] });
    expectDecrypts(src, cutEvery(src.track.samples, 94), scheme, frames, `${scheme}-aac`);
  });

  it('cenc HEVC video with subsamples', () => {
    const src = readMp4Track(HEVC, 'vide');
    expectDecrypts(src, cutAtSync(src.track.samples, 25), 'cenc', frameHashes(HEVC, { stream: 'v' }), 'cenc-hevc');
  });
});
