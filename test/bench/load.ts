/**
 * Segment throughput under concurrent load. The server runs in this process and nothing else does
 * while a variant is measured; the load client is a child process. So this process's cpuUsage() and
 * /proc/self/io deltas are the server's: CPU seconds per GB served, and bytes read per byte of sample
 * payload (≈ 1.0 when only the byte ranges a segment needs are read, ≫ 1 when whole files or chunks
 * are).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, open, realpath, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { createLogger } from '../../src/http/logger.js';
import type { Rendition } from '../../src/manifest/types.js';
import type { LoadJob, LoadResult } from './load-client.js';
import type { BenchMedia } from './media.js';
import { REPO_ROOT, tsxArgs } from './proc.js';
import { ServerProfile, type GcPauses } from './server-profile.js';
import { counters, memory, type Counters, type MemorySnapshot } from './server-stats.js';
import { planUrls, type UrlPlanOptions } from './url-plan.js';
import { benchConfig, expand, LOCATIONS, VARIANTS, type Variant } from './variants.js';

export interface LoadOptions extends UrlPlanOptions {
  readonly concurrency: number;
  readonly seconds: number;
  readonly maxRequests: number;
}

export interface VariantResult {
  readonly name: string;
  readonly location: string;
  readonly error: string | null;
  /** Distinct segment URLs the client cycled through. */
  readonly urls: number;
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly reqPerS: number;
  /** 10^6 bytes of response bodies per second. */
  readonly mbPerS: number;
  readonly servedBytes: number;
  /** Sample bytes of the segments served: what the server had to read at the least. */
  readonly payloadBytes: number;
  readonly serverCpuS: number;
  /** Server CPU seconds over wall seconds: 1.0 is one core saturated. */
  readonly serverCpuShare: number;
  readonly serverCpuSPerGB: number;
  /** Share of the server's CPU time spent in the kernel (socket and file copies, TCP on loopback). */
  readonly serverSysShare: number;
  /** read() calls of the server per request: file reads (one per run of samples) plus socket reads. */
  readonly readCallsPerRequest: number | null;
  readonly clientCpuS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly readPerPayload: number | null;
  readonly readPerServed: number | null;
  readonly servedPerPayload: number;
  /** Bytes the server fetched from storage (page cache misses); ~0 with the file cached. */
  readonly storageReadBytes: number | null;
  readonly memoryBefore: MemorySnapshot;
  readonly memoryAfter: MemorySnapshot;
  /** With BENCH_CPU_PROF: the main thread's GC pauses over the timed load. */
  readonly gc?: GcPauses;
}

export interface LoadBenchResult {
  readonly options: LoadOptions;
  readonly pageCacheWarmUpS: number;
  /** First master playlist on a fresh server: index + plan + manifest, in one request. */
  readonly firstRequestMs: number;
  readonly memoryAtStart: MemorySnapshot;
  readonly memoryAfterIndex: MemorySnapshot;
  readonly memoryAtEnd: MemorySnapshot;
  readonly maxRssMB: number;
  readonly titleCacheBytes: number;
  readonly variants: readonly VariantResult[];
  /** Warnings and errors the server logged during the bench. */
  readonly serverLog: readonly string[];
}

const MB = 1e6;
const GB = 1e9;
const WARMUP_BUDGET_S = 60;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * BENCH_CPU_PROF=DIR: a V8 CPU profile of the server (this process) per variant, over the timed load
 * only, written to DIR/<variant>.cpuprofile (open in Chrome DevTools, or summarise with
 * test/bench/profile-summary.ts). The sampling slows the server: compare profiles with each other,
 * not their run's s/GB with a run without it. BENCH_CPU_PROF_US sets the sampling interval (default 200).
 */
const PROFILE_DIR = process.env['BENCH_CPU_PROF'] || undefined;
const PROFILE_US = Number(process.env['BENCH_CPU_PROF_US'] ?? 200);

/**
 * BENCH_TRACKS=audio or video: only that kind's segments (audio ~64 KB, video ~0.75 MB), to split a
 * variant's cost into per request and per byte. Default: both, interleaved.
 */
const TRACKS = process.env['BENCH_TRACKS'] || undefined;

/** BENCH_VARIANTS=dash,dash-cenc measures only those (default: all of VARIANTS, in their order). */
function selectedVariants(): readonly Variant[] {
  const names = process.env['BENCH_VARIANTS']?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!names?.length) return VARIANTS;
  const unknown = names.filter((n) => !VARIANTS.some((v) => v.name === n));
  if (unknown.length) throw new Error(`BENCH_VARIANTS: no variant ${unknown.join(', ')} (known: ${VARIANTS.map((v) => v.name).join(', ')})`);
  return VARIANTS.filter((v) => names.includes(v.name));
}

function timedGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${url}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Reads the whole file once so that every variant is measured against the page cache (the index
 * bench may just have dropped it): otherwise the first variant would pay for the disk alone.
 */
async function warmPageCache(path: string): Promise<number> {
  const t0 = performance.now();
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return (performance.now() - t0) / 1000;
}

interface ClientRun {
  readonly result: LoadResult;
  readonly before: Counters;
  readonly after: Counters;
  /** Bytes this process read from the client's stdout between the snapshots (counted in rchar). */
  readonly pipeBytes: number;
}

/** Runs the client child through warm-up, `go` and its result, snapshotting counters around the load. */
function runClient(jobPath: string, timeoutMs: number, hooks?: { start(): void; stop(): void }): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, tsxArgs(join(import.meta.dirname, 'load-client.ts'), [jobPath]), {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let before: Counters | null = null;
    let after: Counters | null = null;
    let pipeBytes = 0;
    let pending = '';
    let result: LoadResult | null = null;
    let failure: string | null = null;
    // A client that died early makes the `go` write fail with EPIPE; its exit is reported below.
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => {
      failure = `load client did not finish in ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      // Snapshot first thing: the load is over when its result starts to arrive.
      if (before && !after) {
        after = counters();
        pipeBytes = chunk.length;
        hooks?.stop();
      }
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line === 'ready') {
          hooks?.start();
          before = counters();
          child.stdin.write('go\n');
        } else if (line.startsWith('{')) {
          const parsed = JSON.parse(line) as LoadResult | { warmupError: string };
          if ('warmupError' in parsed) failure = `warm-up failed: ${parsed.warmupError}`;
          else result = parsed;
        }
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      if (result && before && after) resolve({ result, before, after, pipeBytes });
      else reject(new Error(failure ?? `load client exited with ${code} before reporting`));
    });
  });
}

async function runVariant(
  variant: Variant,
  server: RunningServer,
  title: string,
  renditions: readonly Rendition[],
  jobDir: string,
  opts: LoadOptions,
  profile?: ServerProfile,
): Promise<VariantResult> {
  const urls = planUrls(variant, title, renditions, opts);
  const init = variant.init;
  const inits = init ? renditions.map((r) => `/${variant.location}/${title}/${expand(init, r.id)}`) : [];
  const job: LoadJob = {
    base: server.url,
    urls: urls.map((u) => u.path),
    warmup: [...inits, ...urls.slice(0, 4 * opts.concurrency).map((u) => u.path)],
    concurrency: opts.concurrency,
    seconds: opts.seconds,
    maxRequests: opts.maxRequests,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  };
  const jobPath = join(jobDir, `${variant.name}.json`);
  await writeFile(jobPath, JSON.stringify(job));
  const memoryBefore = memory();
  const timeoutMs = (opts.seconds + WARMUP_BUDGET_S) * 1000 + REQUEST_TIMEOUT_MS;
  let stopping: Promise<GcPauses> | undefined;
  const hooks = profile && { start: () => profile.start(), stop: () => void (stopping = profile.stop(variant.name)) };
  const { result: r, before, after, pipeBytes } = await runClient(jobPath, timeoutMs, hooks);
  const gc = await stopping;
  const memoryAfter = memory();

  let payloadBytes = 0;
  r.perUrl.forEach((n, i) => (payloadBytes += n * urls[i]!.payload));
  const serverCpuS = (after.cpuUs - before.cpuUs) / 1e6;
  const wallS = (after.wallMs - before.wallMs) / 1000;
  const read = before.rchar !== null && after.rchar !== null ? after.rchar - before.rchar - pipeBytes : null;
  const storage = before.readBytes !== null && after.readBytes !== null ? after.readBytes - before.readBytes : null;
  return {
    name: variant.name,
    location: variant.location,
    error: r.errors > 0 ? `${r.errors} failed requests, first: ${r.firstError}` : null,
    urls: urls.length,
    requests: r.requests,
    errors: r.errors,
    seconds: r.seconds,
    reqPerS: r.requests / r.seconds,
    mbPerS: r.bytes / MB / r.seconds,
    servedBytes: r.bytes,
    payloadBytes,
    serverCpuS,
    serverCpuShare: serverCpuS / wallS,
    serverCpuSPerGB: serverCpuS / (r.bytes / GB),
    serverSysShare: (after.sysUs - before.sysUs) / (after.cpuUs - before.cpuUs),
    readCallsPerRequest: before.syscr !== null && after.syscr !== null ? (after.syscr - before.syscr) / r.requests : null,
    clientCpuS: r.clientCpuS,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    maxMs: r.maxMs,
    readPerPayload: read === null ? null : read / payloadBytes,
    readPerServed: read === null ? null : read / r.bytes,
    servedPerPayload: r.bytes / payloadBytes,
    storageReadBytes: storage,
    memoryBefore,
    memoryAfter,
    ...(gc ? { gc } : {}),
  };
}

function failed(variant: Variant, e: unknown, m: MemorySnapshot): VariantResult {
  return {
    name: variant.name,
    location: variant.location,
    error: e instanceof Error ? e.message : String(e),
    urls: 0,
    requests: 0,
    errors: 0,
    seconds: 0,
    reqPerS: NaN,
    mbPerS: NaN,
    servedBytes: 0,
    payloadBytes: 0,
    serverCpuS: NaN,
    serverCpuShare: NaN,
    serverCpuSPerGB: NaN,
    serverSysShare: NaN,
    readCallsPerRequest: null,
    clientCpuS: NaN,
    p50Ms: NaN,
    p99Ms: NaN,
    maxMs: NaN,
    readPerPayload: null,
    readPerServed: null,
    servedPerPayload: NaN,
    storageReadBytes: null,
    memoryBefore: m,
    memoryAfter: memory(),
  };
}

export async function runLoadBench(media: BenchMedia, opts: LoadOptions, log: (line: string) => void): Promise<LoadBenchResult> {
  log(`warming the page cache with ${media.file}`);
  const pageCacheWarmUpS = await warmPageCache(media.path);
  const dir = await mkdtemp(join(tmpdir(), 'packager-bench-'));
  const serverLog: string[] = [];
  try {
    const configPath = join(dir, 'bench.conf');
    await writeFile(configPath, benchConfig(media.dir));
    const memoryAtStart = memory();
    const server = await startServer({
      configPath,
      listen: '127.0.0.1:0',
      log: createLogger('warn', (line) => serverLog.push(line.trim())),
      watch: false,
    });
    try {
      const title = encodeURIComponent(media.file);
      const firstLocation = LOCATIONS[0]!.name;
      const firstRequestMs = await timedGet(`${server.url}/${firstLocation}/${title}/index.m3u8`);
      const memoryAfterIndex = memory();
      // The plan the server itself uses (the title it just indexed, from its own cache): its cut
      // sizes say how many bytes each requested segment had to read.
      const cached = await server.state.titles.get(await realpath(media.path));
      const variants: VariantResult[] = [];
      const profile = PROFILE_DIR === undefined ? undefined : new ServerProfile(PROFILE_DIR, PROFILE_US);
      if (PROFILE_DIR !== undefined) log(`CPU profiles of the server per variant in ${PROFILE_DIR}`);
      for (const v of selectedVariants()) {
        const location = server.state.config.files.find((f) => f.name === v.location);
        if (!location) throw new Error(`variant ${v.name}: no location ${v.location} in the bench config`);
        const p = cached.packaging(location.segmentDuration).fmp4;
        log(`load: ${v.name} (${opts.concurrency} connections, ${opts.seconds} s)`);
        const m = memory();
        const renditions = [...(TRACKS === 'audio' ? [] : p.video), ...(TRACKS === 'video' ? [] : p.audio)];
        variants.push(await runVariant(v, server, title, renditions, dir, opts, profile).catch((e: unknown) => failed(v, e, m)));
      }
      profile?.close();
      return {
        options: opts,
        pageCacheWarmUpS,
        firstRequestMs,
        memoryAtStart,
        memoryAfterIndex,
        memoryAtEnd: memory(),
        maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
        titleCacheBytes: server.state.titles.calculatedBytes,
        variants,
        serverLog,
      };
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
