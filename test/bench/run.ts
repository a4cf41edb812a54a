/**
 * `npm run bench`: generates (once) the one-hour bench file, then measures the index, raw AES,
 * segment serving under load and live ingest (ingest.ts), prints the tables and writes
 * test-results/bench.json. Numbers are printed, never asserted: they are only comparable as ratios
 * measured in the same run on the same machine.
 * Knobs: BENCH_SECONDS (per variant, default 10), BENCH_CONCURRENCY (default 8), BENCH_INGEST_* (see
 * ingest.ts; BENCH_INGEST_CHANNELS=none BENCH_INGEST_DVR=none leaves ingest out), BENCH_VARIANTS (a comma-separated
 * subset of variants.ts's names, e.g. dash,dash-cenc,dash-cbcs,hls-fmp4,hls-cbcs).
 * `npm run bench -- ingest`: the live-ingest bench alone (writes test-results/bench-ingest.json).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { runCryptoBench } from './crypto.js';
import { runIndexBench } from './index-bench.js';
import { formatIngestReport, ingestGoals, ingestOptionsFromEnv, runIngestAlone, runIngestBench, type IngestBenchResult } from './ingest.js';
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

async function runAll(): Promise<void> {
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
  // Live ingest last: its server and sender are child processes, this one only watches.
  const ingestOptions = ingestOptionsFromEnv();
  const ingest: IngestBenchResult | null =
    ingestOptions.channels.length + ingestOptions.dvrChannels.length > 0 ? await runIngestBench(ingestOptions, log) : null;

  console.log(formatReport(media, index, crypto, load, goalList, machine, loadAverages));
  if (ingest) console.log(`\n${formatIngestReport(ingest)}`);

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
    ingest,
    ingestGoals: ingest ? ingestGoals(ingest) : null,
  };
  await writeFile(out, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
  // A failed variant means its numbers are missing: make that visible to whoever runs this in CI.
  const failed = load.variants.some((v) => v.error !== null) || (ingest?.runs.some((r) => r.error !== null) ?? false);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv.slice(2).includes('ingest')) await runIngestAlone(machine, log);
else await runAll();
