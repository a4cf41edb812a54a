import { ErrorCode, PackagerError } from '../../media/errors.js';

const TWO_32 = 0x1_0000_0000;

export function muxError(message: string): PackagerError {
  return new PackagerError(ErrorCode.MUX_FAILURE, message);
}

/**
 * Writes boxes into one preallocated buffer. Builders measure every box first (each box module has
 * `size()`), allocate once, then write; `begin()` records where each box must end so a box whose
 * `write()` disagrees with its `size()` fails at the box that is wrong, not as a corrupt file later.
 * Range checks on values belong to the size pass; the writer itself stays a thin layer over DataView
 * (whose setters throw RangeError past the end of the buffer).
 */
export class BoxWriter {
  readonly buf: Uint8Array;
  private readonly view: DataView;
  offset: number;
  /** Per open box: [start offset, expected end offset or -1 when the size is patched at end()]. */
  private readonly open: number[] = [];

  constructor(buf: Uint8Array, offset = 0) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.offset = offset;
  }

  u8(v: number): void {
    this.view.setUint8(this.offset, v);
    this.offset += 1;
  }

  u16(v: number): void {
    this.view.setUint16(this.offset, v);
    this.offset += 2;
  }

  u24(v: number): void {
    this.view.setUint8(this.offset, v >>> 16);
    this.view.setUint16(this.offset + 1, v & 0xffff);
    this.offset += 3;
  }

  u32(v: number): void {
    this.view.setUint32(this.offset, v);
    this.offset += 4;
  }

  i32(v: number): void {
    this.view.setInt32(this.offset, v);
    this.offset += 4;
  }

  /** Unsigned 64-bit from a safe integer (< 2^53): split in two u32 so no BigInt is needed. */
  u64(v: number): void {
    this.view.setUint32(this.offset, Math.floor(v / TWO_32));
    this.view.setUint32(this.offset + 4, v % TWO_32);
    this.offset += 8;
  }

  fourcc(s: string): void {
    for (let i = 0; i < 4; i++) this.view.setUint8(this.offset + i, s.charCodeAt(i));
    this.offset += 4;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.offset);
    this.offset += b.length;
  }

  zeros(n: number): void {
    this.buf.fill(0, this.offset, this.offset + n);
    this.offset += n;
  }

  /** Box header. With `size` (measured) end() checks it; without, end() patches the size field. */
  begin(type: string, size?: number): void {
    this.open.push(this.offset, size === undefined ? -1 : this.offset + size);
    this.u32(size ?? 0);
    this.fourcc(type);
  }

  /** Full box header: box header + u8 version + u24 flags. */
  beginFull(type: string, version: number, flags: number, size?: number): void {
    this.begin(type, size);
    this.u8(version);
    this.u24(flags);
  }

  end(): void {
    const expectedEnd = this.open.pop();
    const start = this.open.pop();
    if (expectedEnd === undefined || start === undefined) throw muxError('BoxWriter.end() without begin()');
    if (expectedEnd < 0) {
      this.view.setUint32(start, this.offset - start);
    } else if (this.offset !== expectedEnd) {
      const type = String.fromCharCode(...this.buf.subarray(start + 4, start + 8));
      throw muxError(`box ${type}: wrote ${this.offset - start} bytes, measured ${expectedEnd - start}`);
    }
  }

  /** The final check of every builder: everything measured was written, nothing more, no box left open. */
  finish(expectedOffset: number): void {
    if (this.open.length !== 0) throw muxError('BoxWriter.finish() with an unclosed box');
    if (this.offset !== expectedOffset) {
      throw muxError(`wrote ${this.offset} bytes, measured ${expectedOffset}`);
    }
  }
}

/** Box header sizes, for the size pass. */
export const BOX_HEADER = 8;
export const FULL_BOX_HEADER = 12;
