/**
 * Index cost: the first indexMp4 of the bench file in a fresh process (cold), then repeated in the same
 * process (warm), and the size of the resulting sample tables per sample. Run twice: with the file's
 * pages in the page cache as they are, and with them dropped first (only this file's, through
 * `dd iflag=nocache`, which needs no privileges and leaves the rest of the machine's cache alone).
 */
import { join } from 'node:path';
import { run, tsxArgs } from './proc.js';

export interface IndexChildResult {
  readonly importMs: number;
  readonly coldMs: number;
  readonly warmMedianMs: number;
  readonly warmMinMs: number;
  readonly planColdMs: number;
  readonly planWarmMedianMs: number;
  readonly indexBytes: number;
  readonly tracks: ReadonlyArray<{ id: number; kind: string; codec: string; samples: number }>;
  readonly segments: number;
}

export interface IndexBenchResult {
  /** Fresh process, the file's pages left as they were (usually cached: just generated or read). */
  readonly pageCacheWarm: IndexChildResult;
  /** Fresh process, the file's pages dropped first; null where dd cannot drop them. */
  readonly pageCacheDropped: IndexChildResult | null;
  readonly totalSamples: number;
  readonly bytesPerSample: number;
  readonly segmentDuration: number;
}

const REPEATS = 10;
const CHILD_TIMEOUT_MS = 120_000;

async function indexInFreshProcess(path: string, segmentDuration: number): Promise<IndexChildResult> {
  const script = join(import.meta.dirname, 'index-child.ts');
  const r = await run(process.execPath, tsxArgs(script, [path, String(segmentDuration), String(REPEATS)]), { timeoutMs: CHILD_TIMEOUT_MS });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as IndexChildResult;
}

/** Evicts the file from the page cache; false when the tools are missing or refuse. */
async function dropPageCache(path: string): Promise<boolean> {
  // Dirty pages cannot be dropped: write them back first (a freshly generated file has many).
  const synced = await run('sync', [path], { timeoutMs: 60_000, allowFailure: true }).catch(() => null);
  const dropped = await run('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none'], { timeoutMs: 60_000, allowFailure: true }).catch(
    () => null,
  );
  return synced?.code === 0 && dropped?.code === 0;
}

export async function runIndexBench(path: string, segmentDuration: number): Promise<IndexBenchResult> {
  const pageCacheWarm = await indexInFreshProcess(path, segmentDuration);
  const pageCacheDropped = (await dropPageCache(path)) ? await indexInFreshProcess(path, segmentDuration) : null;
  const totalSamples = pageCacheWarm.tracks.reduce((n, t) => n + t.samples, 0);
  return {
    pageCacheWarm,
    pageCacheDropped,
    totalSamples,
    bytesPerSample: pageCacheWarm.indexBytes / totalSamples,
    segmentDuration,
  };
}
