/**
 * Sample bytes from disk, straight into the caller's segment buffer. Samples of one track in one chunk
 * are contiguous in the file, so a segment is a handful of runs: one read per run, a few in flight.
 */
import type { FileHandle } from 'node:fs/promises';
import { ErrorCode, PackagerError } from '../../media/errors.js';
import type { Track } from '../../media/track.js';
import { readFully } from './read-fully.js';

/**
 * Runs read at once. Enough to overlap latency on network storage, few enough not to monopolise
 * libuv's thread pool (4 threads by default) when a file interleaves audio and video per sample.
 */
const READS_IN_FLIGHT = 4;

/**
 * Copies the bytes of samples [start, end) of `track`, in order and back to back, into
 * `into[at..]`. The caller sizes `into` with byteSize(track.samples, start, end).
 */
export async function readSamples(
  fd: FileHandle,
  track: Track,
  start: number,
  end: number,
  into: Uint8Array,
  at: number,
): Promise<void> {
  const s = track.samples;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > s.count || start > end) {
    throw new PackagerError(
      ErrorCode.SEGMENT_OUT_OF_RANGE,
      `samples [${start}, ${end}) are outside track ${track.id}'s 0..${s.count}`,
    );
  }
  // Runs as flat triples (file offset, length, destination) to avoid an object per run.
  const runs: number[] = [];
  let dest = at;
  let i = start;
  while (i < end) {
    const off = s.offset[i]!;
    let len = s.size[i]!;
    let j = i + 1;
    while (j < end && s.offset[j] === off + len) len += s.size[j++]!;
    if (len > 0) runs.push(off, len, dest);
    dest += len;
    i = j;
  }
  if (at < 0 || dest > into.length) {
    throw new PackagerError(
      ErrorCode.MUX_FAILURE,
      `destination of ${into.length} bytes cannot hold ${dest - at} bytes of samples at ${at}`,
    );
  }
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < runs.length && !failed) {
      const r = next;
      next += 3;
      await readFully(fd, into, runs[r + 2]!, runs[r + 1]!, runs[r]!).catch((e: unknown) => {
        failed = true; // the other workers stop taking runs: the segment is lost anyway
        if (e instanceof PackagerError) {
          throw new PackagerError(e.code, `track ${track.id}: ${e.message}`, { cause: e });
        }
        throw new PackagerError(ErrorCode.SOURCE_INVALID, `track ${track.id}: cannot read samples`, {
          status: 500,
          expose: false,
          cause: e,
        });
      });
    }
  };
  const workers = Math.min(READS_IN_FLIGHT, runs.length / 3);
  await Promise.all(Array.from({ length: workers }, worker));
}
