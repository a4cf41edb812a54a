/**
 * Reads the RBSP of an H.264/H.265 NAL unit bit by bit, straight from the bytes as stored (the EBSP):
 * emulation-prevention bytes (the 03 of 00 00 03) are dropped on the fly and counted, so a position in
 * the RBSP maps back to a position in the stored NAL without unescaping a copy first.
 */
import { ErrorCode, PackagerError } from '../errors.js';

export class RbspReader {
  private buf: Uint8Array = new Uint8Array(0);
  private end = 0;
  private start = 0;
  /** Next stored byte to load. */
  private pos = 0;
  /** Consecutive 00 bytes loaded so far (stored bytes), to spot the 03 that follows two of them. */
  private zeros = 0;
  private cur = 0;
  /** Unread bits of `cur` (0..7 once a bit of it has been read). */
  private bitsLeft = 0;
  private rbspBytes = 0;
  /** Emulation-prevention bytes dropped so far. */
  epbCount = 0;

  constructor(buf?: Uint8Array, start = 0, end = buf?.length ?? 0) {
    if (buf) this.reset(buf, start, end);
  }

  /** Points the reader at buf[start, end) (one NAL unit, header included); reusable across NALs. */
  reset(buf: Uint8Array, start: number, end: number): this {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.pos = start;
    this.zeros = 0;
    this.cur = 0;
    this.bitsLeft = 0;
    this.rbspBytes = 0;
    this.epbCount = 0;
    return this;
  }

  /** RBSP bits consumed since reset. */
  get bitPosition(): number {
    return this.rbspBytes * 8 - this.bitsLeft;
  }

  get byteAligned(): boolean {
    return this.bitsLeft === 0;
  }

  /**
   * Stored bytes from the NAL start through the byte holding the last bit read: the RBSP length
   * rounded up to bytes plus the emulation-prevention bytes inside that span. An 03 right after that
   * byte is not counted (Bento4's CountEmulationPreventionBytes stops at the same place).
   */
  get storedLength(): number {
    return this.pos - this.start;
  }

  /** Bits left before the next byte boundary (0 when aligned). */
  get bitsToAlignment(): number {
    return this.bitsLeft;
  }

  /** The bits up to the next byte boundary, as a number, without consuming them. */
  peekToAlignment(): number {
    return this.cur & ((1 << this.bitsLeft) - 1);
  }

  /** Whether RBSP bits remain before the end of the NAL (trailing bits included). */
  get hasMore(): boolean {
    return this.bitsLeft > 0 || this.pos < this.end;
  }

  u1(): number {
    if (this.bitsLeft === 0) this.load();
    this.bitsLeft--;
    return (this.cur >> this.bitsLeft) & 1;
  }

  /** u(n) for n <= 32; multiplication keeps 32-bit values positive. */
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.u1();
    return v;
  }

  flag(): boolean {
    return this.u1() === 1;
  }

  skip(n: number): void {
    for (let i = 0; i < n; i++) this.u1();
  }

  /** ue(v): values up to 2^32 - 2, as the standards allow. */
  ue(): number {
    let zeros = 0;
    while (this.u1() === 0) {
      if (++zeros > 32) throw invalid('exp-Golomb code longer than 32 bits');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    // 0 - x rather than -x: se(v) of 0 is +0, not -0.
    return k & 1 ? (k + 1) / 2 : 0 - k / 2;
  }

  private load(): void {
    if (this.pos >= this.end) throw invalid('header runs past the end of the NAL unit');
    let b = this.buf[this.pos++]!;
    if (this.zeros >= 2 && b === 3) {
      this.epbCount++;
      this.zeros = 0;
      if (this.pos >= this.end) throw invalid('header runs past the end of the NAL unit');
      b = this.buf[this.pos++]!;
    }
    this.zeros = b === 0 ? this.zeros + 1 : 0;
    this.cur = b;
    this.bitsLeft = 8;
    this.rbspBytes++;
  }
}

export function invalid(what: string): PackagerError {
  return new PackagerError(ErrorCode.SOURCE_INVALID, `bitstream: ${what}`);
}

export function unsupported(what: string): PackagerError {
  return new PackagerError(ErrorCode.UNSUPPORTED_CODEC, what);
}

/** Ceil(Log2(n)) for n >= 1: the width of u(v) fields indexing n items. */
export function ceilLog2(n: number): number {
  let bits = 0;
  while (2 ** bits < n) bits++;
  return bits;
}

/** Reads ue(v) and checks it against [0, max], naming the field in the error. */
export function ueMax(r: RbspReader, max: number, field: string): number {
  const v = r.ue();
  if (v > max) throw invalid(`${field} ${v} out of range 0..${max}`);
  return v;
}
