/**
 * Bad input never crashes: a missing file is SOURCE_NOT_FOUND; truncated files, missing or corrupt
 * boxes and inconsistent tables are SOURCE_INVALID naming what is wrong; random damage to a real
 * moov ends in a PackagerError or a valid index, never another exception and never a hang.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import { indexMp4, indexMp4Buffer } from '../../../../src/source/mp4/index.js';
import { box, buildMp4, concat, fullBox, type MovieSpec, str, type TrackSpec, u32, u8, videoSamples, zeros } from './build-mp4.js';
import { FIXTURES, fixture } from './oracles.js';

const tmp = mkdtempSync(join(tmpdir(), 'mp4-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function failure(p: Promise<unknown> | (() => unknown)): Promise<PackagerError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof PackagerError) return e;
    throw e;
  }
  throw new Error('expected a PackagerError');
}

function writeTmp(name: string, bytes: Uint8Array): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

describe('files', () => {
  it('a missing file or a directory is SOURCE_NOT_FOUND', async () => {
    expect((await failure(indexMp4(join(tmp, 'nope.mp4')))).code).toBe(ErrorCode.SOURCE_NOT_FOUND);
    expect((await failure(indexMp4(join(tmp, 'nope', 'x.mp4')))).code).toBe(ErrorCode.SOURCE_NOT_FOUND);
    expect((await failure(indexMp4(tmp))).code).toBe(ErrorCode.SOURCE_NOT_FOUND);
  });

  it('an empty file, garbage or an ftyp alone has no moov', async () => {
    for (const [name, bytes] of [
      ['empty.mp4', new Uint8Array(0)],
      ['garbage.mp4', new TextEncoder().encode('hello, this is not an mp4 file at all')],
      ['ftyp.mp4', box('ftyp', str('isom'), u32(0))],
    ] as const) {
      const err = await failure(indexMp4(writeTmp(name, bytes)));
      expect(err.code, name).toBe(ErrorCode.SOURCE_INVALID);
      expect(err.message, name).toMatch(/moov|size|truncated/);
    }
  });

  it('a truncated file is SOURCE_INVALID "truncated", wherever the cut is', async () => {
    const atEnd = readFileSync(fixture('moov-at-end.mp4'));
    const moovAt = atEnd.lastIndexOf(Buffer.from('moov')) - 4;
    const first = readFileSync(fixture('bframes.mp4'));
    for (const [name, bytes] of [
      ['cut-in-moov.mp4', atEnd.subarray(0, moovAt + 500)],
      ['cut-in-mdat-before-moov.mp4', atEnd.subarray(0, moovAt - 1000)],
      ['cut-in-mdat-after-moov.mp4', first.subarray(0, first.length - 1000)],
    ] as const) {
      const err = await failure(indexMp4(writeTmp(name, bytes)));
      expect(err.code, name).toBe(ErrorCode.SOURCE_INVALID);
      expect(err.message, name).toMatch(/truncated/);
    }
  });
});

describe('corrupt moov', () => {
  const video = (over: Partial<TrackSpec> = {}): TrackSpec => ({ id: 1, timescale: 12800, samples: videoSamples(10), ...over });
  const build = (spec: MovieSpec): Uint8Array => buildMp4(spec).file;
  const cases: [string, MovieSpec, RegExp][] = [
    ['zero media timescale', { tracks: [video({ timescale: 0 })] }, /mdhd: timescale is 0/],
    ['zero movie timescale', { tracks: [video()], movieTimescale: 0 }, /mvhd: timescale is 0/],
    ['stts short', { tracks: [video({ stblOverride: (b) => (b.stts = fullBox('stts', 0, 0, u32(1), u32(4), u32(512))) })] }, /stts: describes 4 samples, stsz has 10/],
    ['ctts short', { tracks: [video({ stblOverride: (b) => (b.ctts = fullBox('ctts', 0, 0, u32(1), u32(3), u32(512))) })] }, /ctts: describes 3 samples/],
    ['stsc short', { tracks: [video({ stblOverride: (b) => (b.stsc = fullBox('stsc', 0, 0, u32(1), u32(1), u32(1), u32(1))) })] }, /stsc: chunks hold 4 samples, stsz has 10/],
    ['stsc past chunks', { tracks: [video({ stblOverride: (b) => (b.stsc = fullBox('stsc', 0, 0, u32(1), u32(9), u32(3), u32(1))) })] }, /stsc: entry 1 covers chunks 9/],
    ['stss out of range', { tracks: [video({ stblOverride: (b) => (b.stss = fullBox('stss', 0, 0, u32(1), u32(11))) })] }, /stss: sync sample 11 is outside 1..10/],
    ['stco entry_count too big', { tracks: [video({ stblOverride: (b) => (b.stco = fullBox('stco', 0, 0, u32(1000), u32(0))) })] }, /stco: entry_count 1000 needs 4000 bytes/],
    ['stsz count too big', { tracks: [video({ stblOverride: (b) => (b.stsz = fullBox('stsz', 0, 0, u32(0), u32(50), zeros(8))) })] }, /stsz: 50 sample sizes needs/],
    ['constant stsz past the file', { tracks: [video({ stblOverride: (b) => (b.stsz = fullBox('stsz', 0, 0, u32(1000), u32(0xffffffff))) })] }, /exceed the .*-byte file/],
    ['no stsz', { tracks: [video({ stblOverride: (b) => delete b.stsz })] }, /neither stsz nor stz2/],
    ['no stco', { tracks: [video({ stblOverride: (b) => delete b.stco })] }, /no stco\/co64/],
    ['no stsd entries', { tracks: [video({ stblOverride: (b) => (b.stsd = fullBox('stsd', 0, 0, u32(0))) })] }, /stsd: no sample entries/],
    ['child past its parent', { tracks: [video({ stblOverride: (b) => (b.stss = concat(u32(400), str('stss'), zeros(8))) })] }, /stss: box of 400 bytes .* runs past its parent/],
    ['box smaller than its header', { tracks: [video({ stblOverride: (b) => (b.stss = concat(u32(4), str('stss'), zeros(8))) })] }, /box size 4 is smaller than its header/],
    ['corrupt avcC', { tracks: [video({ entry: box('avc1', zeros(78), box('avcC', u8(1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 50))) })] }, /avcC: SPS 0/],
  ];
  it.each(cases)('%s', async (_name, spec, message) => {
    const file = build(spec);
    // A generous file size, so table errors are not masked by the chunk-past-end-of-file check.
    const err = await failure(() => indexMp4Buffer(file, file.length + 1_000_000));
    expect(err.code).toBe(ErrorCode.SOURCE_INVALID);
    expect(err.message).toMatch(message);
  });
});

/** xorshift32: deterministic damage, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** ftyp + moov of a fixture, as indexMp4 reads them. */
function headerOf(name: string): { head: Buffer; size: number } {
  const file = readFileSync(fixture(name));
  const boxes: Buffer[] = [];
  for (let pos = 0; pos < file.length; ) {
    const size = file.readUInt32BE(pos);
    const type = file.toString('latin1', pos + 4, pos + 8);
    if (type === 'ftyp' || type === 'moov') boxes.push(file.subarray(pos, pos + size));
    pos += size;
  }
  return { head: Buffer.concat(boxes), size: file.length };
}

function survives(buf: Uint8Array, size: number, what: string): 'ok' | 'error' {
  try {
    const media = indexMp4Buffer(buf, size);
    for (const t of media.tracks) expect(t.samples.dts.length, what).toBe(t.samples.count);
    return 'ok';
  } catch (e) {
    if (e instanceof PackagerError) return 'error';
    throw new Error(`${what}: ${String(e)}`, { cause: e });
  }
}

describe('damaged moov (fuzz)', () => {
  it.each(FIXTURES)('%s: every truncation point', (name) => {
    const { head, size } = headerOf(name);
    const started = performance.now();
    for (let cut = 0; cut < head.length; cut += head.length > 20000 ? 7 : 1) {
      // A cut moov keeps its declared size: the walker must notice it runs past the buffer.
      expect(survives(head.subarray(0, cut), size, `cut at ${cut}`)).toBe('error');
    }
    expect(performance.now() - started).toBeLessThan(20000);
  });

  it.each(FIXTURES)('%s: random byte damage', (name) => {
    const { head, size } = headerOf(name);
    const next = rng(0x9e3779b9 ^ head.length);
    const outcome = { ok: 0, error: 0 };
    for (let round = 0; round < 1500; round++) {
      const buf = Uint8Array.from(head);
      const flips = 1 + (next() % 4);
      const where: number[] = [];
      for (let k = 0; k < flips; k++) {
        const at = next() % buf.length;
        where.push(at);
        buf[at] = next() & 0xff;
      }
      outcome[survives(buf, size, `round ${round}, bytes ${where.join(',')}`)]++;
    }
    // Damage in sample values is harmless, damage in structure is caught: both must occur.
    expect(outcome.ok).toBeGreaterThan(0);
    expect(outcome.error).toBeGreaterThan(0);
  });
});
