/** This process's counters: what the server costs while it alone runs here. */
import { readFileSync } from 'node:fs';

const MB = 1e6;

export interface MemorySnapshot {
  readonly rssMB: number;
  readonly heapUsedMB: number;
  readonly externalMB: number;
}

export interface Counters {
  readonly cpuUs: number;
  readonly sysUs: number;
  readonly wallMs: number;
  /** /proc/self/io: bytes passed to read() and friends (page cache or disk) and bytes fetched from storage. */
  readonly rchar: number | null;
  readonly readBytes: number | null;
  /** read() and friends: calls, so reads per segment show how well sample runs were coalesced. */
  readonly syscr: number | null;
}

export function memory(): MemorySnapshot {
  const m = process.memoryUsage();
  return { rssMB: m.rss / MB, heapUsedMB: m.heapUsed / MB, externalMB: m.external / MB };
}

export function counters(): Counters {
  let rchar: number | null = null;
  let readBytes: number | null = null;
  let syscr: number | null = null;
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    rchar = Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? NaN);
    readBytes = Number(/^read_bytes: (\d+)$/m.exec(io)?.[1] ?? NaN);
    syscr = Number(/^syscr: (\d+)$/m.exec(io)?.[1] ?? NaN);
  } catch {
    // not Linux: the read ratio is left out
  }
  const cpu = process.cpuUsage();
  return { cpuUs: cpu.user + cpu.system, sysUs: cpu.system, wallMs: performance.now(), rchar, readBytes, syscr };
}
