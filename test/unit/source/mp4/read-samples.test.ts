import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import { byteSize, type Track } from '../../../../src/media/track.js';
import { indexMp4, readSamples } from '../../../../src/source/mp4/index.js';
import { ffprobe, fixture } from './oracles.js';

const tmp = mkdtempSync(join(tmpdir(), 'read-samples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function withFile<T>(path: string, fn: (fd: FileHandle) => Promise<T>): Promise<T> {
  const fd = await open(path, 'r');
  try {
    return await fn(fd);
  } finally {
    await fd.close();
  }
}

async function read(fd: FileHandle, t: Track, start: number, end: number, at = 0): Promise<Uint8Array> {
  const out = new Uint8Array(at + byteSize(t.samples, start, end) + 3).fill(0xee);
  await readSamples(fd, t, start, end, out, at);
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'none'> {
  try {
    await p;
    return 'none';
  } catch (e) {
    if (!(e instanceof PackagerError)) throw e;
    return e.code;
  }
}

describe('readSamples', () => {
  for (const name of ['bframes.mp4', 'moov-at-end.mp4', 'multi-bitrate.mp4']) {
    it(`returns the bytes at ffprobe's packet positions (${name})`, async () => {
      const path = fixture(name);
      const file = readFileSync(path);
      const probe = ffprobe(path);
      const media = await indexMp4(path);
      await withFile(path, async (fd) => {
        for (const s of probe.streams) {
          const t = media.tracks.find((x) => x.id === parseInt(s.id, 16))!;
          const packets = probe.packets.filter((p) => p.stream_index === s.index);
          const n = packets.length;
          for (const [start, end, at] of [
            [0, 1, 0],
            [0, n, 0],
            [3, 40, 5],
            [n - 7, n, 1],
            [10, 10, 0],
          ] as const) {
            const out = await read(fd, t, start, end, at);
            const want = Buffer.concat(
              packets.slice(start, end).map((p) => file.subarray(Number(p.pos), Number(p.pos) + Number(p.size))),
            );
            expect(Buffer.from(out.subarray(at, at + want.length)).equals(want), `${start}..${end}`).toBe(true);
            // Nothing written outside [at, at + size).
            expect(out.subarray(0, at).every((b) => b === 0xee)).toBe(true);
            expect([...out.subarray(at + want.length)]).toEqual([0xee, 0xee, 0xee]);
          }
        }
      });
    });
  }

  it('rejects ranges outside the track and destinations too small', async () => {
    const media = await indexMp4(fixture('bframes.mp4'));
    const t = media.tracks[0]!;
    await withFile(fixture('bframes.mp4'), async (fd) => {
      const big = new Uint8Array(1 << 20);
      expect(await codeOf(readSamples(fd, t, -1, 2, big, 0))).toBe(ErrorCode.SEGMENT_OUT_OF_RANGE);
      expect(await codeOf(readSamples(fd, t, 5, 2, big, 0))).toBe(ErrorCode.SEGMENT_OUT_OF_RANGE);
      expect(await codeOf(readSamples(fd, t, 0, t.samples.count + 1, big, 0))).toBe(ErrorCode.SEGMENT_OUT_OF_RANGE);
      expect(await codeOf(readSamples(fd, t, 0, 3, new Uint8Array(10), 0))).toBe(ErrorCode.MUX_FAILURE);
    });
  });

  it('says "truncated" when the file shrank after indexing', async () => {
    const path = join(tmp, 'shrunk.mp4');
    copyFileSync(fixture('bframes.mp4'), path);
    const media = await indexMp4(path);
    const t = media.tracks[0]!;
    const n = t.samples.count;
    truncateSync(path, t.samples.offset[n - 5]! + 10);
    await withFile(path, async (fd) => {
      const err = await read(fd, t, n - 8, n).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PackagerError);
      expect((err as PackagerError).code).toBe(ErrorCode.SOURCE_INVALID);
      expect((err as PackagerError).message).toMatch(/truncated/);
    });
  });
});
