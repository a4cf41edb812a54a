import type { FileHandle } from 'node:fs/promises';
import { invalid } from './box-reader.js';

/** Reads exactly `length` bytes at `position` into `into[at..]`; a short file is a truncated file. */
export async function readFully(
  fh: FileHandle,
  into: Uint8Array,
  at: number,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(into, at + done, length - done, position + done);
    if (bytesRead === 0) {
      throw invalid(`truncated: needed ${length} bytes at offset ${position}, file ended after ${done}`);
    }
    done += bytesRead;
  }
}
