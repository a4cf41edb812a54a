/**
 * Two 128-bit SIMD loops for the cenc cipher (cenc-cipher.ts), as a WebAssembly module assembled here
 * from the opcode table below: no toolchain, no dependency, ~540 bytes. JS has no 64- or 128-bit
 * integers, so its typed-array loops XOR 4 bytes per step with a bounds check on each access (~0.9 ns
 * per word here, ~0.55 ns per byte for counters + XOR in place); WebAssembly's v128 moves 16. Both
 * functions work on the module's own memory (bounds-checked by the engine: a bad offset traps, it
 * cannot touch anything else). In WebAssembly text:
 *
 *   (memory (export "memory") PAGES)
 *   ;; Counter blocks IV || 0^32 || j, big-endian j, for j in [j, end), from byte `at` on.
 *   (func (export "counters") (param $at i32) (param $iv0 i32) (param $iv1 i32) (param $j i32) (param $end i32)
 *     (local $iv v128) (local $v v128)
 *     (local.set $iv (i32x4.replace_lane 1 (i32x4.replace_lane 0 (v128.const i64x2 0 0) (local.get $iv0)) (local.get $iv1)))
 *     ;; four blocks per turn while four remain (the loop's own overhead is as much as a block's work)
 *     (block (loop
 *       (br_if 1 (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $end)))
 *       BLOCK(0, $j) BLOCK(16, $j + 1) BLOCK(32, $j + 2) BLOCK(48, $j + 3)
 *       (local.set $at (i32.add (local.get $at) (i32.const 64)))
 *       (local.set $j (i32.add (local.get $j) (i32.const 4)))
 *       (br 0)))
 *     ;; then one at a time
 *     (block (loop
 *       (br_if 1 (i32.ge_u (local.get $j) (local.get $end)))
 *       BLOCK(0, $j)
 *       (local.set $at (i32.add (local.get $at) (i32.const 16)))
 *       (local.set $j (i32.add (local.get $j) (i32.const 1)))
 *       (br 0))))
 *   ;; BLOCK(off, n): bytes 0..11 of the IV block as they are, 12..15 = n reversed (big-endian):
 *   ;;   (local.set $v (i32x4.replace_lane 3 (local.get $iv) n))
 *   ;;   (v128.store offset=off (local.get $at) (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 15 14 13 12 (local.get $v) (local.get $v)))
 *   ;; memory[d, d + n) ^= memory[s, s + n); n a multiple of 16. 64 bytes per turn, then 16.
 *   (func (export "xor") (param $d i32) (param $s i32) (param $n i32)
 *     (block (loop
 *       (br_if 1 (i32.lt_u (local.get $n) (i32.const 64)))
 *       XOR(0) XOR(16) XOR(32) XOR(48)
 *       (local.set $d (i32.add (local.get $d) (i32.const 64)))
 *       (local.set $s (i32.add (local.get $s) (i32.const 64)))
 *       (local.set $n (i32.sub (local.get $n) (i32.const 64)))
 *       (br 0)))
 *     (block (loop
 *       (br_if 1 (i32.eqz (local.get $n)))
 *       XOR(0)
 *       (local.set $d (i32.add (local.get $d) (i32.const 16)))
 *       (local.set $s (i32.add (local.get $s) (i32.const 16)))
 *       (local.set $n (i32.sub (local.get $n) (i32.const 16)))
 *       (br 0))))
 *   ;; XOR(off): (v128.store offset=off (local.get $d) (v128.xor (v128.load offset=off (local.get $d)) (v128.load offset=off (local.get $s))))
 *
 * Unrolled by four: the counters of 0.75 MB 56 -> 41 us, their XOR 23 -> 20 us (medians of 21 rounds, 2-core VM).
 *
 * WebAssembly memory is little-endian on every platform: callers pass the IV words as the
 * little-endian reading of its bytes, and get the counter bytes in the order written above.
 */

export interface SimdKernels {
  /** The module's memory, bytes. */
  readonly memory: Uint8Array;
  counters(at: number, iv0: number, iv1: number, j: number, end: number): void;
  xor(d: number, s: number, n: number): void;
}

/** 64 KB pages of the module's memory: cenc-cipher.ts's three windows. Fixed: it never grows, so `memory` stays valid. */
export const SIMD_PAGES = 3;

// --- encoding --------------------------------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Small non-negative constants only (i32.const 1, 4, 16, 64). */
function sleb(n: number): number[] {
  if (n < 0 || n > 8191) throw new Error('sleb: out of range');
  // Signed LEB128: a byte's bit 6 is the sign, so 64..8191 take two bytes.
  return n < 64 ? [n] : [(n & 0x7f) | 0x80, n >>> 7];
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

const I32 = 0x7f;
const V128 = 0x7b;
const SIMD_PREFIX = 0xfd;
const simd = (op: number, ...imm: number[]): number[] => [SIMD_PREFIX, ...uleb(op), ...imm];

const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  i32Eqz: [0x45],
  i32LtU: [0x49],
  i32GtU: [0x4b],
  i32GeU: [0x4f],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  // memarg: alignment exponent 4 (16 bytes, a hint only), then the constant offset
  v128Load: (offset: number) => simd(0x00, 4, ...uleb(offset)),
  v128Store: (offset: number) => simd(0x0b, 4, ...uleb(offset)),
  v128Zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  i8x16Shuffle: (lanes: number[]) => simd(0x0d, ...lanes),
  i32x4ReplaceLane: (lane: number) => simd(0x1c, lane),
  v128Xor: simd(0x51),
};

function body(locals: [count: number, type: number][], code: number[][]): number[] {
  const b = [...vec(locals.map(([count, type]) => [...uleb(count), type])), ...code.flat(), ...op.end];
  return [...uleb(b.length), ...b];
}

// counters: params 0 at, 1 iv0, 2 iv1, 3 j, 4 end; locals 5 iv, 6 v
const BSWAP_LANE_3 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 14, 13, 12];
/** Counter block j + plus at at + offset. */
const counterBlock = (offset: number, plus: number): number[][] => [
  op.get(5), op.get(3), ...(plus > 0 ? [op.i32Const(plus), op.i32Add] : []), op.i32x4ReplaceLane(3), op.set(6),
  op.get(0), op.get(6), op.get(6), op.i8x16Shuffle(BSWAP_LANE_3), op.v128Store(offset),
];
const countersBody = body(
  [[2, V128]],
  [
    op.v128Zero, op.get(1), op.i32x4ReplaceLane(0), op.get(2), op.i32x4ReplaceLane(1), op.set(5),
    op.block, op.loop,
    op.get(3), op.i32Const(4), op.i32Add, op.get(4), op.i32GtU, op.brIf(1),
    ...counterBlock(0, 0), ...counterBlock(16, 1), ...counterBlock(32, 2), ...counterBlock(48, 3),
    op.get(0), op.i32Const(64), op.i32Add, op.set(0),
    op.get(3), op.i32Const(4), op.i32Add, op.set(3),
    op.br(0),
    op.end, op.end,
    op.block, op.loop,
    op.get(3), op.get(4), op.i32GeU, op.brIf(1),
    ...counterBlock(0, 0),
    op.get(0), op.i32Const(16), op.i32Add, op.set(0),
    op.get(3), op.i32Const(1), op.i32Add, op.set(3),
    op.br(0),
    op.end, op.end,
  ],
);

// xor: params 0 d, 1 s, 2 n
const xorBlock = (offset: number): number[][] => [op.get(0), op.get(0), op.v128Load(offset), op.get(1), op.v128Load(offset), op.v128Xor, op.v128Store(offset)];
const advance = (by: number): number[][] => [
  op.get(0), op.i32Const(by), op.i32Add, op.set(0),
  op.get(1), op.i32Const(by), op.i32Add, op.set(1),
  op.get(2), op.i32Const(by), op.i32Sub, op.set(2),
];
const xorBody = body(
  [],
  [
    op.block, op.loop,
    op.get(2), op.i32Const(64), op.i32LtU, op.brIf(1),
    ...xorBlock(0), ...xorBlock(16), ...xorBlock(32), ...xorBlock(48),
    ...advance(64),
    op.br(0),
    op.end, op.end,
    op.block, op.loop,
    op.get(2), op.i32Eqz, op.brIf(1),
    ...xorBlock(0),
    ...advance(16),
    op.br(0),
    op.end, op.end,
  ],
);

const FUNC = 0x60;
const moduleBytes = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  // types: 0 = (i32 x5) -> (), 1 = (i32 x3) -> ()
  ...section(1, vec([[FUNC, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0], [FUNC, ...vec([[I32], [I32], [I32]]), 0]])),
  // functions: counters: type 0, xor: type 1
  ...section(3, vec([[0], [1]])),
  // memory: min = max = SIMD_PAGES
  ...section(5, vec([[0x01, ...uleb(SIMD_PAGES), ...uleb(SIMD_PAGES)]])),
  // exports: memory 0, func 0, func 1
  ...section(7, vec([[...name('memory'), 0x02, 0], [...name('counters'), 0x00, 0], [...name('xor'), 0x00, 1]])),
  ...section(10, vec([countersBody, xorBody])),
]);

function instantiate(): SimdKernels | undefined {
  try {
    const exports = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes)).exports as {
      memory: WebAssembly.Memory;
      counters: SimdKernels['counters'];
      xor: SimdKernels['xor'];
    };
    return { memory: new Uint8Array(exports.memory.buffer), counters: exports.counters, xor: exports.xor };
  } catch {
    // No WebAssembly or no SIMD (a runtime built without them): the caller falls back to plain AES-CTR.
    return undefined;
  }
}

export const simdKernels: SimdKernels | undefined = instantiate();
