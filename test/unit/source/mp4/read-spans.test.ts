import { describe, it, expect } from 'vitest';
import type { FileHandle } from 'node:fs/promises';
import { readSamples } from '../../../../src/source/mp4/read-samples.js';
import { audioTrack } from '../../../helpers/synthetic.js';

/** A FileHandle over a buffer that records every read (only read() is used by readSamples). */
function fakeFile(file: Buffer, reads: Array<[number, number]>): FileHandle {
  return {
    read: async (buf: Uint8Array, off: number, len: number, pos: number) => {
      reads.push([pos, len]);
      const n = file.copy(buf, off, pos, Math.min(pos + len, file.length));
      return { bytesRead: n, buffer: buf };
    },
  } as unknown as FileHandle;
}

describe('readSamples spans', () => {
  it('keeps one read per run when runs are further apart than 256 KiB, and bounds a span at 4 MiB', async () => {
    const t = audioTrack({ seconds: 0.1 });
    const s = t.samples;
    const file = Buffer.alloc(12 * 1024 * 1024);
    // Samples 300 KB apart: never joined.
    for (let i = 0; i < s.count; i++) {
      (s.offset as Float64Array)[i] = i * 300_000;
      file.fill(i + 1, i * 300_000, i * 300_000 + s.size[i]!);
    }
    const reads: Array<[number, number]> = [];
    const out = new Uint8Array(s.count * 300);
    await readSamples(fakeFile(file, reads), t, 0, s.count, out, 0);
    expect(reads).toHaveLength(s.count);
    for (let i = 0; i < s.count; i++) expect(out[i * 300]).toBe(i + 1);
    // Samples 200 KB apart: joined, but no span longer than 4 MiB.
    for (let i = 0; i < s.count; i++) {
      (s.offset as Float64Array)[i] = i * 200_000;
      file.fill(i + 1, i * 200_000, i * 200_000 + s.size[i]!);
    }
    reads.length = 0;
    await readSamples(fakeFile(file, reads), t, 0, s.count, out, 0);
    expect(reads.length).toBeLessThan(s.count);
    for (const [, len] of reads) expect(len).toBeLessThanOrEqual(4 * 1024 * 1024);
    for (let i = 0; i < s.count; i++) expect(out[i * 300]).toBe(i + 1);
  });
});
