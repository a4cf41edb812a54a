/**
 * 'cbcs': AES-128-CBC with a pattern over each protected range (CENC §10.4, FORMATS.md §1.2). Every
 * protected range (every subsample; a whole audio sample) starts a new CBC chain from the same
 * constant IV; in it, `crypt` 16-byte blocks are encrypted then `skip` left clear, repeating, and the
 * chain runs through the encrypted blocks only. Only whole blocks are encrypted: a partial block at the
 * end of a range stays clear. Pattern 0:0 means every whole block of the range.
 *
 * Never one cipher call per block, and never a cipher per chain. Every update() costs ~1.1 us whatever
 * its size (Node allocates and wraps a new output buffer), which is the whole cost of a short chain,
 * so chains are encrypted two ways:
 *
 *  - Long chains (more than SHORT_CHAIN crypt blocks: video slices) one after the other through ONE
 *    CBC cipher for the fragment: the range's crypt blocks are gathered into a scratch buffer and
 *    encrypted with one update(); a new chain is started by XORing its first block with IV ^ (the
 *    cipher's last ciphertext block), so the cipher's running state cancels out and the block is
 *    enciphered as P0 ^ IV, what a fresh cipher would do.
 *  - Short chains (AAC frames: ~15 blocks at 0:0) side by side, in lock step, through one ECB cipher:
 *    round t enciphers block t of every chain that has one, each XORed first with its chain's previous
 *    ciphertext (the IV in round 0) — CBC written out. One update() per round rather than per chain:
 *    ~17 calls instead of ~190 for a 4 s AAC segment.
 *
 * Measured on this project's 4 s segments (shared 2-core VM, medians of 5 runs, protectSamples on
 * freshly read samples, against one CBC chain after another with 16-byte copies through copy16): 720p
 * video, 1:9, 100 slices: 0.42 -> 0.38 ms (DataView word copies, the shortest chains in lock step);
 * AAC, 0:0, 190 frames: 0.19 -> 0.15 ms (lock step; 0.27 -> 0.10 ms on warm data).
 */
import { type Cipher, createCipheriv } from 'node:crypto';
import { sharedEcb } from './key-state.js';
import { type SampleRanges } from './ranges.js';

export interface CbcsPattern {
  readonly cryptByteBlock: number;
  readonly skipByteBlock: number;
}

/**
 * Chains of at most this many crypt blocks go in lock step; longer ones through the CBC cipher, which
 * encrypts 0:0 chains where they lie but must gather a pattern's crypt blocks (measured best, 4 s
 * segments: 32 for AAC at 0:0, 16 for 720p video at 1:9, by 10-25% over the other paths).
 */
export const SHORT_CHAIN = { whole: 32, pattern: 16 } as const;

/**
 * Encrypts in place. iv: the 16-byte constant IV. shortChain: see SHORT_CHAIN (tests force either
 * way with 0 or Infinity).
 */
export function encryptCbcs(
  ranges: SampleRanges,
  key: Uint8Array,
  iv: Uint8Array,
  pattern: CbcsPattern,
  shortChain: number = pattern.cryptByteBlock === 0 ? SHORT_CHAIN.whole : SHORT_CHAIN.pattern,
): void {
  const { data, sizes, subsamples: sub } = ranges;
  const blocks = new CryptBlocks(data, pattern);
  let chain: CbcChain | undefined;
  let lockstep: Lockstep | undefined;
  const range = (p: number, len: number): void => {
    const n = blocks.count(len);
    if (n === 0) return;
    if (n <= shortChain) (lockstep ??= new Lockstep(key, iv, blocks)).add(data.byteOffset + p, n);
    else (chain ??= new CbcChain(key, iv, blocks)).encrypt(data.byteOffset + p, n);
  };
  let pos = ranges.at;
  for (let k = 0; k < sizes.length; k++) {
    const size = sizes[k]!;
    if (!sub) {
      range(pos, size);
    } else {
      let p = pos;
      for (let j = sub.index[k]!; j < sub.index[k + 1]!; j++) {
        p += sub.clearBytes[j]!;
        const len = sub.protectedBytes[j]!;
        range(p, len);
        p += len;
      }
    }
    pos += size;
  }
  lockstep?.run();
}

/**
 * Where the crypt blocks of a range are, and copying them 16 bytes at a time (4 32-bit words) between
 * the data and a scratch buffer. Both sides go through DataViews in the same byte order, so bytes keep
 * their order on any platform and at any alignment: a range starts anywhere, and a DataView word
 * access needs no alignment, at about the speed of a typed-array one.
 */
class CryptBlocks {
  /** data's whole buffer: offsets below are absolute in it. */
  readonly view: DataView;
  /** 0 for pattern 0:0 (every block). */
  private readonly crypt: number;
  /** Pattern 0:0: a range's crypt blocks are contiguous. */
  readonly contiguous: boolean;
  private readonly stride: number;

  constructor(data: Uint8Array, pattern: CbcsPattern) {
    this.view = new DataView(data.buffer);
    this.crypt = pattern.cryptByteBlock;
    this.stride = 16 * (pattern.cryptByteBlock + pattern.skipByteBlock);
    this.contiguous = this.crypt === 0;
  }

  /** Whole crypt blocks in a range of `len` bytes. */
  count(len: number): number {
    const whole = Math.floor(len / 16);
    if (this.crypt === 0) return whole;
    const groups = Math.floor(len / this.stride);
    return groups * this.crypt + Math.min(this.crypt, whole - (groups * this.stride) / 16);
  }

  /** Absolute offset of crypt block t of the range at `abs`. */
  at(abs: number, t: number): number {
    if (this.crypt === 0) return abs + 16 * t;
    const group = Math.floor(t / this.crypt);
    return abs + group * this.stride + 16 * (t - group * this.crypt);
  }

  /** The n crypt blocks of the range at `abs` to out[0, 16 n). */
  gather(abs: number, n: number, out: DataView): void {
    this.move(abs, n, out, true);
  }

  /** The reverse of gather. */
  scatter(from: DataView, abs: number, n: number): void {
    this.move(abs, n, from, false);
  }

  private move(abs: number, n: number, packed: DataView, gather: boolean): void {
    const data = this.view;
    const crypt = this.crypt || n;
    const stride = this.crypt ? this.stride : 16 * n;
    const end = 16 * n;
    for (let g = 0, group = abs; g < end; group += stride) {
      for (let b = 0, a = group; b < crypt && g < end; b++, a += 16, g += 16) {
        if (gather) copyBlock(data, a, packed, g);
        else copyBlock(packed, g, data, a);
      }
    }
  }
}

function copyBlock(from: DataView, f: number, to: DataView, t: number): void {
  to.setInt32(t, from.getInt32(f, true), true);
  to.setInt32(t + 4, from.getInt32(f + 4, true), true);
  to.setInt32(t + 8, from.getInt32(f + 8, true), true);
  to.setInt32(t + 12, from.getInt32(f + 12, true), true);
}

/** Scratch, reused by every call (the encryption is synchronous), grown as needed. */
let scratch = new Uint8Array(64 * 1024);
let scratchView = new DataView(scratch.buffer);

function scratchOf(n: number): DataView {
  if (scratch.length < n) {
    scratch = new Uint8Array(2 * n);
    scratchView = new DataView(scratch.buffer);
  }
  return scratchView;
}

/** Long chains, one after the other through one CBC cipher. */
class CbcChain {
  private readonly cipher: Cipher;
  private readonly iv: Uint8Array;
  /** The cipher's last ciphertext block: what its next block will be XORed with. */
  private readonly last: Uint8Array;
  private readonly blocks: CryptBlocks;

  constructor(key: Uint8Array, iv: Uint8Array, blocks: CryptBlocks) {
    this.cipher = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
    this.iv = iv;
    this.last = Uint8Array.from(iv);
    this.blocks = blocks;
  }

  /** The n crypt blocks of the range at absolute offset `abs`: a fresh chain from the IV. */
  encrypt(abs: number, n: number): void {
    const bytes = 16 * n;
    if (this.blocks.contiguous) {
      // 0:0: the blocks are contiguous in the data; encrypt them where they are.
      const range = new Uint8Array(this.blocks.view.buffer, abs, bytes);
      this.restartChain(range);
      const out = this.cipher.update(range);
      this.keepLast(out, bytes);
      range.set(out);
      return;
    }
    const view = scratchOf(bytes);
    const buf = scratch;
    this.blocks.gather(abs, n, view);
    this.restartChain(buf);
    const out = this.cipher.update(buf.subarray(0, bytes));
    this.keepLast(out, bytes);
    // Back through scratch, where the DataView is (out is a new buffer).
    buf.set(out);
    this.blocks.scatter(view, abs, n);
  }

  private restartChain(buf: Uint8Array): void {
    for (let i = 0; i < 16; i++) buf[i] = buf[i]! ^ this.iv[i]! ^ this.last[i]!;
  }

  private keepLast(out: Uint8Array, bytes: number): void {
    for (let i = 0; i < 16; i++) this.last[i] = out[bytes - 16 + i]!;
  }
}

/** Short chains side by side: round t enciphers block t of each chain longer than t. */
class Lockstep {
  private readonly ecb: Cipher;
  private readonly iv: DataView;
  private readonly blocks: CryptBlocks;
  /** Per chain: absolute offset of its range, number of crypt blocks. */
  private readonly starts: number[] = [];
  private readonly counts: number[] = [];
  private longest = 0;

  constructor(key: Uint8Array, iv: Uint8Array, blocks: CryptBlocks) {
    // Shared per key (key-state.ts): every update() below is whole blocks, so it keeps no state.
    this.ecb = sharedEcb(key);
    this.iv = new DataView(iv.buffer, iv.byteOffset, 16);
    this.blocks = blocks;
  }

  add(abs: number, n: number): void {
    this.starts.push(abs);
    this.counts.push(n);
    if (n > this.longest) this.longest = n;
  }

  run(): void {
    const chains = this.starts.length;
    const data = this.blocks.view;
    const input = scratchOf(16 * chains);
    const buf = scratch;
    // The previous ciphertext block of each chain, at 16 c (chains keep their index c in every
    // round; only those longer than t take part in round t). Round 0 uses the IV instead.
    let prev = new DataView(new ArrayBuffer(16 * chains));
    let next = new DataView(new ArrayBuffer(16 * chains));
    for (let t = 0; t < this.longest; t++) {
      const chained = t > 0 ? prev : this.iv;
      let q = 0;
      for (let c = 0; c < chains; c++) {
        if (this.counts[c]! <= t) continue;
        const a = this.blocks.at(this.starts[c]!, t);
        const p = t > 0 ? 16 * c : 0;
        input.setInt32(q, data.getInt32(a, true) ^ chained.getInt32(p, true), true);
        input.setInt32(q + 4, data.getInt32(a + 4, true) ^ chained.getInt32(p + 4, true), true);
        input.setInt32(q + 8, data.getInt32(a + 8, true) ^ chained.getInt32(p + 8, true), true);
        input.setInt32(q + 12, data.getInt32(a + 12, true) ^ chained.getInt32(p + 12, true), true);
        q += 16;
      }
      const out = this.ecb.update(buf.subarray(0, q));
      const got = new DataView(out.buffer, out.byteOffset, out.length);
      q = 0;
      for (let c = 0; c < chains; c++) {
        if (this.counts[c]! <= t) continue;
        const a = this.blocks.at(this.starts[c]!, t);
        copyBlock(got, q, data, a);
        copyBlock(got, q, next, 16 * c);
        q += 16;
      }
      [prev, next] = [next, prev];
    }
  }
}
