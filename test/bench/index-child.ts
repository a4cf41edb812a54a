/**
 * Runs in a fresh process (spawned by index-bench.ts): the first indexMp4 here pays for module
 * loading, JIT warm-up and, when the parent dropped the file's pages, the disk — as the first request
 * for a title does on a freshly started server. Prints one JSON line.
 * Usage: index-child.ts FILE SEGMENT_SECONDS REPEATS
 */
import type { IndexChildResult } from './index-bench.js';

const [path, segArg, repeatArg] = process.argv.slice(2);
if (!path || !segArg || !repeatArg) throw new Error('usage: index-child.ts FILE SEGMENT_SECONDS REPEATS');
const segmentDuration = Number(segArg);
const repeats = Number(repeatArg);

// Loaded here rather than imported statically so that their cost is measured apart from the parse.
const t0 = performance.now();
const { indexMp4 } = await import('../../src/source/mp4/index-file.js');
const { planSegments } = await import('../../src/segment/plan.js');
const importMs = performance.now() - t0;

const t1 = performance.now();
const index = await indexMp4(path);
const coldMs = performance.now() - t1;
const t2 = performance.now();
const plan = planSegments(index, segmentDuration);
const planColdMs = performance.now() - t2;

const warm: number[] = [];
const planWarm: number[] = [];
for (let i = 0; i < repeats; i++) {
  const a = performance.now();
  const again = await indexMp4(path);
  const b = performance.now();
  planSegments(again, segmentDuration);
  planWarm.push(performance.now() - b);
  warm.push(b - a);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

const result: IndexChildResult = {
  importMs,
  coldMs,
  warmMedianMs: median(warm),
  warmMinMs: Math.min(...warm),
  planColdMs,
  planWarmMedianMs: median(planWarm),
  indexBytes: index.indexBytes,
  tracks: index.tracks.map((t) => ({ id: t.id, kind: t.kind, codec: t.codecString, samples: t.samples.count })),
  segments: plan.count,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
