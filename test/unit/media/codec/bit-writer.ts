/** Test-only: writes RBSP bits (u, ue, se) and turns them into an escaped NAL unit (EBSP). */
export class BitWriter {
  private readonly bits: number[] = [];

  get length(): number {
    return this.bits.length;
  }

  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(v / 2 ** i) % 2);
    return this;
  }

  flag(b: boolean | number): this {
    return this.u(1, b ? 1 : 0);
  }

  ue(v: number): this {
    const x = v + 1;
    const len = Math.floor(Math.log2(x));
    this.u(len, 0);
    return this.u(len + 1, x);
  }

  se(v: number): this {
    return this.ue(v > 0 ? 2 * v - 1 : -2 * v);
  }

  /** Pads with `bit` up to the next byte boundary. */
  align(bit: 0 | 1): this {
    while (this.bits.length % 8) this.bits.push(bit);
    return this;
  }

  /** rbsp_trailing_bits(): a 1, then 0s to the byte boundary. */
  trailing(): this {
    return this.u(1, 1).align(0);
  }

  bytes(): Uint8Array {
    if (this.bits.length % 8) throw new Error('not byte aligned');
    const out = new Uint8Array(this.bits.length / 8);
    for (let i = 0; i < this.bits.length; i++) if (this.bits[i]) out[i >> 3]! |= 0x80 >> (i & 7);
    return out;
  }
}

/** Inserts emulation-prevention bytes: 00 00 followed by 00..03 becomes 00 00 03 0x. */
export function escape(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** Deterministic PRNG (mulberry32) so a failing case reproduces from its seed. */
export class Rand {
  private a: number;

  constructor(seed: number) {
    this.a = seed >>> 0;
  }

  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
}
