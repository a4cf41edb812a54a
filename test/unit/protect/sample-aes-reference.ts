/**
 * Test-only, obviously-correct HLS SAMPLE-AES (Apple's "MPEG-2 Stream Encryption Format for HTTP Live
 * Streaming"), written out from the spec one AES block at a time through single-block ECB calls, with
 * the CBC chaining by hand. Slow on purpose: the yardstick for src/protect/sample-aes.ts.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { expect } from 'vitest';
import { escape } from '../media/codec/bit-writer.js';

/** toEqual for byte arrays, fast when they match (vitest compares typed arrays element by element). */
export function expectBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.length))) return;
  expect(Buffer.from(actual).toString('hex'), message).toBe(Buffer.from(expected).toString('hex'));
}

// ECB has no state between blocks, so one cipher per key and direction serves every block.
const ecb = new Map<string, { update(b: Uint8Array): Buffer }>();

function aesBlock(key: Uint8Array, block: Uint8Array, decrypt: boolean): Uint8Array {
  const id = `${decrypt ? 'd' : 'e'}${Buffer.from(key).toString('hex')}`;
  let c = ecb.get(id);
  if (!c) {
    c = (decrypt ? createDecipheriv('aes-128-ecb', key, null) : createCipheriv('aes-128-ecb', key, null)).setAutoPadding(false);
    ecb.set(id, c);
  }
  const out = c.update(block);
  if (out.length !== 16) throw new Error('ECB returned a partial block');
  return new Uint8Array(out);
}

/** Offsets of the encrypted blocks of a protected NAL of `length` bytes: 32, 192, 352 ... while more than 16 bytes remain. */
export function nalBlockOffsets(length: number): number[] {
  const out: number[] = [];
  if (length <= 48) return out;
  for (let at = 32; length - at > 16; at += 160) out.push(at);
  return out;
}

/** Offsets of the encrypted blocks of a raw AAC frame of `length` bytes. */
export function audioBlockOffsets(length: number): number[] {
  const out: number[] = [];
  if (length < 32) return out;
  for (let at = 16; at + 16 <= length; at += 16) out.push(at);
  return out;
}

/** Whether SAMPLE-AES protects a NAL: coded slice (type 1 or 5) of more than 48 bytes. */
export function protectsNal(nal: Uint8Array): boolean {
  const type = nal[0]! & 0x1f;
  return (type === 1 || type === 5) && nal.length > 48;
}

/** CBC over the given 16-byte blocks of `data` (a copy), one chain from `iv`. */
function cbcBlocks(data: Uint8Array, offsets: number[], key: Uint8Array, iv: Uint8Array, decrypt: boolean): Uint8Array {
  const out = Uint8Array.from(data);
  let prev: Uint8Array = Uint8Array.from(iv);
  for (const at of offsets) {
    const block = data.slice(at, at + 16);
    if (decrypt) {
      out.set(aesBlock(key, block, true).map((x, i) => x ^ prev[i]!), at);
      prev = block;
    } else {
      const c = aesBlock(key, block.map((x, i) => x ^ prev[i]!), false);
      out.set(c, at);
      prev = c;
    }
  }
  return out;
}

export function referenceEncryptNal(nal: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  return protectsNal(nal) ? cbcBlocks(nal, nalBlockOffsets(nal.length), key, iv, false) : Uint8Array.from(nal);
}

export function referenceDecryptNal(nal: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  return protectsNal(nal) ? cbcBlocks(nal, nalBlockOffsets(nal.length), key, iv, true) : Uint8Array.from(nal);
}

export function referenceEncryptAudio(frame: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  return cbcBlocks(frame, audioBlockOffsets(frame.length), key, iv, false);
}

export function referenceDecryptAudio(frame: Uint8Array, key: Uint8Array, iv: Uint8Array): Uint8Array {
  return cbcBlocks(frame, audioBlockOffsets(frame.length), key, iv, true);
}

/** Emulation prevention, the textbook way: 00 00 followed by 00..03 gets a 03 in between. */
export const referenceEscape = escape;

/** What a decoder does first: drop the 03 of every 00 00 03. */
export function unescape(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const b of data) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** Annex B byte stream -> NAL units (start codes and the zero_byte of 4-byte start codes removed). */
export function splitAnnexB(stream: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : stream.length;
    while (end > s && stream[end - 1] === 0) end--;
    return stream.subarray(s, end);
  });
}
