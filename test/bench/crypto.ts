/**
 * Raw AES throughput of this machine through node:crypto: one cipher object, many update() calls on
 * 64 KiB chunks — the best an encrypting packager could do per core, and the yardstick the serving
 * throughput is printed against, so that numbers from different machines compare as ratios.
 */
import { createCipheriv, randomBytes, type Cipher } from 'node:crypto';

export const CHUNK_BYTES = 64 * 1024;
const DEFAULT_SECONDS = 1;
/** The time is split in rounds and the median round kept: a shared VM's neighbours come and go. */
const ROUNDS = 5;

export interface CipherCase {
  readonly name: string;
  readonly algorithm: string;
  /** CBC over whole blocks: padding off, as segment encryption does it. */
  readonly autoPadding: boolean;
}

/** Add a line here to measure another cipher (e.g. AES-256, or CBC with a fresh IV per sample). */
export const CIPHER_CASES: readonly CipherCase[] = [
  { name: 'aes-128-ctr', algorithm: 'aes-128-ctr', autoPadding: true },
  { name: 'aes-128-cbc', algorithm: 'aes-128-cbc', autoPadding: false },
];

export interface CipherResult {
  readonly name: string;
  /** 10^6 bytes per second of wall time on one thread: the median round. */
  readonly mbPerS: number;
  readonly bestMbPerS: number;
  /** CPU seconds this process spent per 10^9 bytes enciphered. */
  readonly cpuSPerGB: number;
  readonly bytes: number;
  readonly seconds: number;
}

function measure(c: CipherCase, seconds: number): CipherResult {
  const cipher = createCipheriv(c.algorithm, randomBytes(16), randomBytes(16));
  cipher.setAutoPadding(c.autoPadding);
  const chunk = randomBytes(CHUNK_BYTES);
  // Warm-up, so the first (slower) calls are not counted.
  for (let i = 0; i < 64; i++) cipher.update(chunk);
  const rounds: number[] = [];
  let bytes = 0;
  let elapsed = 0;
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++) {
    const round = measureRound(cipher, chunk, seconds / ROUNDS);
    rounds.push(round.bytes / 1e6 / round.seconds);
    bytes += round.bytes;
    elapsed += round.seconds;
  }
  const cpu = process.cpuUsage(cpu0);
  cipher.final();
  rounds.sort((a, b) => a - b);
  return {
    name: c.name,
    mbPerS: rounds[Math.floor(ROUNDS / 2)]!,
    bestMbPerS: rounds[ROUNDS - 1]!,
    cpuSPerGB: (cpu.user + cpu.system) / 1e6 / (bytes / 1e9),
    bytes,
    seconds: elapsed,
  };
}

function measureRound(cipher: Cipher, chunk: Buffer, seconds: number): { bytes: number; seconds: number } {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let calls = 0;
  let now = t0;
  // Clock read once per 64 calls (4 MiB): cheap against the cipher, fine-grained enough for 1 s.
  while (now < deadline) {
    for (let i = 0; i < 64; i++) cipher.update(chunk);
    calls += 64;
    now = performance.now();
  }
  return { bytes: calls * CHUNK_BYTES, seconds: (now - t0) / 1000 };
}

export function runCryptoBench(seconds = DEFAULT_SECONDS): CipherResult[] {
  return CIPHER_CASES.map((c) => measure(c, seconds));
}
