/**
 * End to end, with ffmpeg as the independent decrypter: fixtures indexed by indexMp4 and read by
 * readSamples, encrypted by protectSamples, written by buildInit/writeFragment, then decrypted with
 * `-decryption_key` and compared with the clear source, frame by frame and sample by sample.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CencScheme } from '../../../src/protect/types.js';
import {
  KEY,
  type LoadedTrack,
  WRONG_KEY,
  concat,
  cutAtSync,
  cutEvery,
  decryptionKey,
  encryptTrack,
  frameHashes,
  frameHashesOrError,
  loadTrack,
  sampleBytes,
} from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'protect-e2e-'));
afterAll(() => {
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
});

const VIDEO = [
  { name: 'H.264 High, B-frames, CABAC', path: 'fixtures/vod/bframes.mp4', gop: 24 },
  { name: 'H.264 Baseline, CAVLC', path: 'fixtures/vod/moov-at-end.mp4', gop: 30 },
  { name: 'H.265 hvc1', path: 'fixtures/vod/hevc.mp4', gop: 25 },
  { name: 'H.264 avc3, parameter sets in band', path: 'fixtures/vod/sub/avc3.mp4', gop: 25 },
] as const;
const SCHEMES: CencScheme[] = ['cenc', 'cbcs'];

const tracks = new Map<string, LoadedTrack>();
const sourceVideoFrames = new Map<string, string[]>();
beforeAll(async () => {
  for (const v of VIDEO) {
    tracks.set(v.path, await loadTrack(v.path, 'video'));
    sourceVideoFrames.set(v.path, frameHashes(v.path, { map: '0:v' }));
  }
  tracks.set('audio', await loadTrack('fixtures/vod/bframes.mp4', 'audio'));
});

function md5(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex');
}

describe.each(SCHEMES)('%s: ffmpeg decrypts what protectSamples encrypted', (scheme) => {
  it.each(VIDEO)('$name: decoded frames equal the source; every sample decrypts to its source bytes', ({ path, gop }) => {
    const t = tracks.get(path)!;
    const { init, fragments } = encryptTrack(t, cutAtSync(t.track, gop), { scheme });
    expect(fragments.length).toBeGreaterThan(2);
    // Whole stream through a pipe (senc read fragment by fragment): decoded frames.
    const whole = concat([init, ...fragments.map((f) => f.bytes)]);
    expect(frameHashes(whole, { pre: decryptionKey() })).toEqual(sourceVideoFrames.get(path));
    // init + one fragment, seekable (ffmpeg follows saiz/saio): each packet byte-exact.
    fragments.forEach((f, k) => {
      const file = join(dir, `${scheme}-${k}-${path.replaceAll('/', '_')}`);
      writeFileSync(file, concat([init, f.bytes]));
      const expected: string[] = [];
      for (let i = f.start; i < f.end; i++) expected.push(md5(sampleBytes(t, i, i + 1)));
      expect(frameHashes(file, { pre: decryptionKey(), copy: true }), `fragment ${k}`).toEqual(expected);
    });
  });

  it('AAC: decoded frames equal the source (priming frame included)', () => {
    const t = tracks.get('audio')!;
    const { init, fragments } = encryptTrack(t, cutEvery(t.track, 94), { scheme });
    const whole = concat([init, ...fragments.map((f) => f.bytes)]);
    const source = frameHashes('fixtures/vod/bframes.mp4', { map: '0:a', pre: ['-ignore_editlist', '1'] });
    expect(frameHashes(whole, { pre: decryptionKey() })).toEqual(source);
    // Packets too: every sample decrypts to its source bytes.
    const packets = frameHashes(whole, { pre: decryptionKey(), copy: true });
    expect(packets).toEqual(Array.from({ length: t.track.samples.count }, (_, i) => md5(sampleBytes(t, i, i + 1))));
  });

  it('a wrong key does not give the source back (the comparison can fail)', () => {
    const v = tracks.get(VIDEO[0].path)!;
    const enc = encryptTrack(v, cutAtSync(v.track, VIDEO[0].gop), { scheme });
    const whole = concat([enc.init, ...enc.fragments.map((f) => f.bytes)]);
    expect(frameHashesOrError(whole, { pre: decryptionKey(WRONG_KEY) })).not.toEqual(sourceVideoFrames.get(VIDEO[0].path));
    const a = tracks.get('audio')!;
    const audio = encryptTrack(a, cutEvery(a.track, 94), { scheme });
    const packets = frameHashesOrError(concat([audio.init, ...audio.fragments.map((f) => f.bytes)]), { pre: decryptionKey(WRONG_KEY), copy: true });
    const source = Array.from({ length: a.track.samples.count }, (_, i) => md5(sampleBytes(a, i, i + 1)));
    expect(packets).not.toEqual(source);
    // Each packet differs, not just some: every sample of audio is encrypted.
    if (Array.isArray(packets)) packets.forEach((h, i) => expect(h).not.toBe(source[i]));
  });
});

describe('KEY used for the round trips', () => {
  it('differs from WRONG_KEY in one byte only', () => {
    expect(KEY.filter((b, i) => b !== WRONG_KEY[i])).toHaveLength(1);
  });
});
