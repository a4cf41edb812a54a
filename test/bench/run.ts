/**
 * `npm run bench`: generates (once) the one-hour bench file, then measures the index, raw AES and
 * segment serving under load, prints one table and writes test-results/bench.json. Numbers are printed,
 * never asserted: they are only comparable as ratios measured in the same run on the same machine.
 * Knobs: BENCH_SECONDS (per variant, default 10), BENCH_CONCURRENCY (default 8).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { runCryptoBench } from './crypto.js';
import { runIndexBench } from './index-bench.js';
import { runLoadBench, type LoadOptions } from './load.js';
import { ensureBenchMedia } from './media.js';
import { REPO_ROOT } from './proc.js';
import { formatReport, goals, ratios } from './report.js';
import { VARIANTS } from './variants.js';

/** Everything (including a first-time generation of about a minute) ends well within this. */
const WATCHDOG_MS = 20 * 60_000;
const SEGMENT_DURATION = 4;

function envNumber(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${WATCHDOG_MS / 60_000} min; giving up`);
  process.exit(2);
}, WATCHDOG_MS);
watchdog.unref();

const log = (line: string): void => console.error(`bench: ${line}`);
const cpuList = cpus();
const machine = `${new Date().toISOString().slice(0, 10)} · node ${process.version} · ${process.platform} ${release()} · ${cpuList.length} × ${cpuList[0]?.model.trim() ?? 'cpu'}`;

const loadAverages = [loadavg()[0]!];
const media = await ensureBenchMedia(log);
log('index: first indexMp4 in fresh processes');
const index = await runIndexBench(media.path, SEGMENT_DURATION);
const options: LoadOptions = {
  concurrency: envNumber('BENCH_CONCURRENCY', 8),
  seconds: envNumber('BENCH_SECONDS', 10),
  maxRequests: 1_000_000,
  segmentsPerList: 256,
  seed: 1,
};
loadAverages.push(loadavg()[0]!);
const load = await runLoadBench(media, options, log);
// After the load, so the server process's memory figures hold the server alone.
log('raw AES');
const crypto = runCryptoBench();
const goalList = goals(index, load);
loadAverages.push(loadavg()[0]!);

console.log(formatReport(media, index, crypto, load, goalList, machine, loadAverages));

const out = join(REPO_ROOT, 'test-results', 'bench.json');
await mkdir(join(REPO_ROOT, 'test-results'), { recursive: true });
const json = {
  version: 1,
  machine,
  cpus: cpuList.length,
  loadAverages,
  media,
  index,
  crypto,
  load,
  ratios: ratios(load, crypto),
  goals: goalList,
  variants: VARIANTS,
};
await writeFile(out, `${JSON.stringify(json, null, 2)}\n`);
console.log(`\nwrote ${out}`);
// A failed variant means its numbers are missing: make that visible to whoever runs this in CI.
process.exitCode = load.variants.some((v) => v.error !== null) ? 1 : 0;
