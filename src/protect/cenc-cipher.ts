/**
 * 'cenc': AES-128-CTR over the protected bytes of each sample (CENC §10.1, FORMATS.md §1.2). The
 * counter block is the sample's 8-byte IV followed by a 64-bit block counter starting at 0; the
 * protected ranges of one sample form one keystream (a partial block at the end of one range continues
 * in the next); every sample starts a fresh keystream.
 *
 * Node cannot restart a CTR cipher at a new counter, so a cipher per sample costs a createCipheriv
 * (~0.9 us: OpenSSL 3 fetches the algorithm and expands the key every time) and an update() per range
 * (~1.1 us even for 16 bytes: a new output buffer each, to copy back): with GC, ~4 us per sample on top
 * of the AES, about 0.4 ms for the 100 frames of a 4 s video segment, as much again as the AES.
 *
 * So the keystream of (nearly) all samples comes from one ECB cipher per fragment, window by window,
 * through a fixed 192 KB WebAssembly memory (simd.ts) laid out as three WINDOW-byte areas:
 *  - counters: the counter blocks IV_k || j of the samples in the window, written by the SIMD
 *    `counters` loop, enciphered by one ECB update();
 *  - keystream: the update()'s output, copied in;
 *  - data: the samples' protected ranges gathered at the same offsets as their keystream, XORed
 *    16 bytes at a time by `xor`, then scattered back (copies are native memcpy).
 * A sample's blocks may straddle two windows: its keystream resumes at the next window's first block.
 * Windows rather than one call over the fragment: update() returns a new buffer, and a fresh
 * megabyte-sized one costs more in page faults than the AES in it; 64 KB ones are recycled.
 *
 * Measured on a 4 s 720p segment (100 frames of 3-25 KB, 0.74 MB; shared 2-core VM, medians), warm
 * data: 0.57 ms with a CTR cipher per sample, 0.58 ms with the same windows XORed by JS on 32-bit
 * words (~0.55 ns per byte for counters + XOR, as much as the cipher calls it saves), 0.35 ms with the
 * SIMD loops, of which ~0.16-0.2 ms is the ECB update() itself (Node: ~4 GB/s, OpenSSL alone 12).
 * protectSamples on freshly read samples: 0.57 -> 0.49 ms (video), 0.13 -> 0.10 ms (AAC).
 *
 * Where the time goes now (test/bench/protect-profile.ts, the bench's 4 s 720p segments of 0.75 MB,
 * medians; the key's ECB cipher is shared, key-state.ts): encryptCenc ~0.36 ms, of which the ECB
 * update()s ~0.25-0.3 ms (Node reaches 2.5-3 GB/s where `openssl speed` does 12: every update()
 * allocates its output one block too long and copies it into a second, exact-size buffer), the SIMD
 * counters 0.04, the XOR 0.02, copying keystream and data in and out ~0.05. Only the last three are
 * ours to cut, about a quarter of the cipher.
 *
 * Samples of OWN_CIPHER protected bytes or more still get their own CTR cipher: OpenSSL does their
 * XOR in place of the copies, and the fixed cost is small against their size (1.5 MB of equal samples:
 * the windows win at 4 KB, break even at ~12 KB, lose by ~25% at 24-48 KB). Without WebAssembly SIMD
 * every sample does.
 */
import { type KeyObject, createCipheriv, createSecretKey } from 'node:crypto';
import { sharedEcb } from './key-state.js';
import { type SampleRanges, protectedSize } from './ranges.js';
import { type SimdKernels, simdKernels } from './simd.js';

/** Bytes of counter blocks (= keystream, = gathered data) per ECB update(); three fill simd.ts's memory. */
const WINDOW = 64 * 1024;
const COUNTERS_AT = 0;
const KEYSTREAM_AT = WINDOW;
const DATA_AT = 2 * WINDOW;
/** Samples with at least this many protected bytes get a CTR cipher of their own. */
export const OWN_CIPHER = 16 * 1024;
/** Largest update() of a per-sample CTR cipher (its output is a new buffer, see above). */
const CTR_CHUNK = 64 * 1024;

/**
 * ivs: 8 bytes per sample. Encrypts in place. ownCipherFrom: the protected size from which a sample
 * gets its own CTR cipher (tests force either path with 0 or Infinity).
 */
export function encryptCenc(ranges: SampleRanges, key: Uint8Array, ivs: Uint8Array, ownCipherFrom = OWN_CIPHER): void {
  const { sizes, subsamples: sub } = ranges;
  // Only the samples with a cipher of their own need it; most segments have none.
  let secret: KeyObject | undefined;
  const simd = simdKernels;
  const windows = simd ? new Windows(ranges, key, simd) : undefined;
  let pos = ranges.at;
  for (let k = 0; k < sizes.length; k++) {
    const size = sizes[k]!;
    const prot = protectedSize(ranges, k);
    if (prot > 0) {
      if (windows && prot < ownCipherFrom) windows.add(k, pos, prot, ivs);
      else ownCipher(ranges, k, pos, sub ? sub.index[k]! : 0, sub ? sub.index[k + 1]! : 1, (secret ??= createSecretKey(key)), ivs);
    }
    pos += size;
  }
  windows?.flush();
}

const counter = Buffer.alloc(16);

/** Sample k at data[pos ...] through a CTR cipher of its own, range by range (entries [from, to)). */
function ownCipher(ranges: SampleRanges, k: number, pos: number, from: number, to: number, secret: KeyObject, ivs: Uint8Array): void {
  const { data, subsamples: sub } = ranges;
  for (let i = 0; i < 8; i++) counter[i] = ivs[k * 8 + i]!;
  const cipher = createCipheriv('aes-128-ctr', secret, counter);
  let p = data.byteOffset + pos;
  for (let j = from; j < to; j++) {
    p += sub ? sub.clearBytes[j]! : 0;
    const end = p + (sub ? sub.protectedBytes[j]! : ranges.sizes[k]!);
    for (; p < end; p += CTR_CHUNK) {
      const n = Math.min(CTR_CHUNK, end - p);
      new Uint8Array(data.buffer, p, n).set(cipher.update(new Uint8Array(data.buffer, p, n)));
    }
    p = end;
  }
}

/**
 * The keystream of the samples without a cipher of their own, window by window. A piece is the part
 * of one sample's keystream that falls in the current window.
 */
class Windows {
  private readonly ranges: SampleRanges;
  private readonly buffer: ArrayBufferLike;
  private readonly key: Uint8Array;
  private readonly simd: SimdKernels;
  private readonly counters: Buffer;
  /** Bytes of the window used. */
  private used = 0;
  /** Per piece: its sample, where the sample starts in data, the span [from, to) of its keystream, its place in the window. */
  private readonly pieceSample: number[] = [];
  private readonly pieceStart: number[] = [];
  private readonly pieceFrom: number[] = [];
  private readonly pieceTo: number[] = [];
  private readonly pieceAt: number[] = [];

  constructor(ranges: SampleRanges, key: Uint8Array, simd: SimdKernels) {
    this.ranges = ranges;
    this.buffer = ranges.data.buffer;
    this.key = key;
    this.simd = simd;
    this.counters = Buffer.from(simd.memory.buffer, simd.memory.byteOffset + COUNTERS_AT, WINDOW);
  }

  /** The counter blocks IV_k || 0, IV_k || 1, ... of sample k (prot bytes at data[pos ...]). */
  add(k: number, pos: number, prot: number, ivs: Uint8Array): void {
    const i = 8 * k;
    // Little-endian words of the IV bytes: WebAssembly stores them back in the same order.
    const iv0 = ivs[i]! | (ivs[i + 1]! << 8) | (ivs[i + 2]! << 16) | (ivs[i + 3]! << 24);
    const iv1 = ivs[i + 4]! | (ivs[i + 5]! << 8) | (ivs[i + 6]! << 16) | (ivs[i + 7]! << 24);
    const blocks = (prot + 15) >>> 4;
    for (let b = 0; b < blocks; ) {
      if (this.used === WINDOW) this.flush();
      const n = Math.min(blocks - b, (WINDOW - this.used) >>> 4);
      this.pieceSample.push(k);
      this.pieceStart.push(pos);
      this.pieceFrom.push(16 * b);
      this.pieceTo.push(Math.min(16 * (b + n), prot));
      this.pieceAt.push(this.used);
      this.simd.counters(COUNTERS_AT + this.used, iv0, iv1, b, b + n);
      this.used += 16 * n;
      b += n;
    }
  }

  /** Enciphers the window's counters and XORs the keystream into its pieces. */
  flush(): void {
    if (this.used === 0) return;
    const memory = this.simd.memory;
    this.move(true);
    // The key's one ECB cipher (key-state.ts): counter blocks are whole blocks, so it keeps no state.
    memory.set(sharedEcb(this.key).update(this.counters.subarray(0, this.used)), KEYSTREAM_AT);
    this.simd.xor(DATA_AT, KEYSTREAM_AT, this.used);
    this.move(false);
    this.used = 0;
    this.pieceSample.length = 0;
    this.pieceStart.length = 0;
    this.pieceFrom.length = 0;
    this.pieceTo.length = 0;
    this.pieceAt.length = 0;
  }

  /** Copies the pieces' bytes into the data area (gather) or back (scatter). */
  private move(gather: boolean): void {
    const sub = this.ranges.subsamples;
    const memory = this.simd.memory;
    const buffer = this.buffer;
    const base = this.ranges.data.byteOffset;
    for (let e = 0; e < this.pieceSample.length; e++) {
      const from = this.pieceFrom[e]!;
      const to = this.pieceTo[e]!;
      let at = DATA_AT + this.pieceAt[e]!;
      let p = base + this.pieceStart[e]!;
      if (!sub) {
        copy(buffer, p + from, memory, at, to - from, gather);
        continue;
      }
      // Walk the sample's ranges; `a` is where the current one starts in the sample's keystream.
      const k = this.pieceSample[e]!;
      let a = 0;
      for (let j = sub.index[k]!; j < sub.index[k + 1]! && a < to; j++) {
        p += sub.clearBytes[j]!;
        const len = sub.protectedBytes[j]!;
        const lo = Math.max(a, from);
        const hi = Math.min(a + len, to);
        if (hi > lo) {
          copy(buffer, p + (lo - a), memory, at, hi - lo, gather);
          at += hi - lo;
        }
        p += len;
        a += len;
      }
    }
  }
}

function copy(buffer: ArrayBufferLike, p: number, memory: Uint8Array, at: number, n: number, gather: boolean): void {
  const bytes = new Uint8Array(buffer, p, n);
  if (gather) memory.set(bytes, at);
  else bytes.set(memory.subarray(at, at + n));
}
