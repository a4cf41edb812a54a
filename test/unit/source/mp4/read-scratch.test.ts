import { describe, expect, it } from 'vitest';
import type { FileHandle } from 'node:fs/promises';
import { readSamples } from '../../../../src/source/mp4/read-samples.js';
import type { Track } from '../../../../src/media/track.js';
import { audioTrack } from '../../../helpers/synthetic.js';

/**
 * A FileHandle over a buffer whose reads complete after a random delay and return at most 64 KB each
 * (short reads, as from a pipe or a network file system), so that reads of several spans interleave.
 */
function slowFile(file: Buffer, seed: number): FileHandle {
  let s = seed;
  return {
    read: async (buf: Uint8Array, off: number, len: number, pos: number) => {
      s = (s * 1103515245 + 12345) >>> 0;
      await new Promise((resolve) => setTimeout(resolve, s % 3));
      const n = file.copy(buf, off, pos, Math.min(pos + Math.min(len, 65536), file.length));
      return { bytesRead: n, buffer: buf };
    },
  } as unknown as FileHandle;
}

/** Samples of `size` bytes every `step` bytes (the gaps are read through), each filled with its own byte pattern. */
function spacedTrack(count: number, size: number, step: number, tag: number): { track: Track; file: Buffer; want: Buffer } {
  const track = audioTrack({ seconds: (count * 1024) / 48000 });
  const s = track.samples;
  const file = Buffer.alloc(s.count * step).fill(0xee);
  const want = Buffer.alloc(s.count * size);
  for (let i = 0; i < s.count; i++) {
    (s.offset as Float64Array)[i] = i * step;
    (s.size as Uint32Array)[i] = size;
    for (let b = 0; b < size; b++) file[i * step + b] = (tag * 31 + i * 7 + b) & 0xff;
    file.copy(want, i * size, i * step, i * step + size);
  }
  return { track, file, want };
}

describe('readSamples span buffers', () => {
  it('never lets two reads in flight share a reused span buffer, and leaves nothing stale behind', async () => {
    // Spans of ~300 KB to ~1.5 MB: large enough to go through the kept buffers.
    const cases = Array.from({ length: 12 }, (_, tag) => spacedTrack(40 + 10 * (tag % 5), 700 + 100 * tag, 7000 + 3000 * (tag % 4), tag));
    for (let round = 0; round < 3; round++) {
      const outs = cases.map((c) => Buffer.alloc(c.want.length + 5).fill(0x11));
      await Promise.all(cases.map((c, i) => readSamples(slowFile(c.file, round * 100 + i), c.track, 0, c.track.samples.count, outs[i]!, 5)));
      cases.forEach((c, i) => {
        expect(outs[i]!.subarray(0, 5).every((b) => b === 0x11), `case ${i} head`).toBe(true);
        expect(Buffer.compare(outs[i]!.subarray(5), c.want), `round ${round} case ${i}`).toBe(0);
      });
    }
  });

  it('returns its span buffer when a read fails, and the next reads are still right', async () => {
    const c = spacedTrack(60, 900, 9000, 3);
    const failing = {
      read: async () => {
        throw new Error('EIO');
      },
    } as unknown as FileHandle;
    const out = Buffer.alloc(c.want.length);
    await expect(readSamples(failing, c.track, 0, c.track.samples.count, out, 0)).rejects.toThrow();
    await readSamples(slowFile(c.file, 1), c.track, 0, c.track.samples.count, out, 0);
    expect(Buffer.compare(out, c.want)).toBe(0);
  });
});
