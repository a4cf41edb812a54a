/**
 * The load client, in its own process so that the server process's CPU and I/O counters are the
 * server's alone. Protocol on stdio, one line each: the client warms up and prints `ready`; the parent
 * snapshots its counters and writes `go`; the client runs the timed load and prints its result as JSON.
 * Usage: load-client.ts JOB.json
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

export interface LoadJob {
  /** http://127.0.0.1:PORT, the only host the bench talks to. */
  readonly base: string;
  readonly urls: readonly string[];
  /** Fetched once each before `ready`: inits and a first pass over some segments (JIT, file handles). */
  readonly warmup: readonly string[];
  readonly concurrency: number;
  readonly seconds: number;
  readonly maxRequests: number;
  readonly requestTimeoutMs: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly bytes: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Completed requests per entry of job.urls, to work out the payload the server had to read. */
  readonly perUrl: number[];
  /** The client's own CPU seconds: tells whether the client, not the server, was the limit. */
  readonly clientCpuS: number;
}

const job = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadJob;
const base = new URL(job.base);
const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });

/** GETs a path and drains the body; resolves with its length, rejects on anything but a whole 200. */
function get(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, path, agent }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => {
        const declared = Number(res.headers['content-length'] ?? n);
        if (res.statusCode !== 200) reject(new Error(`${path}: HTTP ${res.statusCode}`));
        else if (declared !== n) reject(new Error(`${path}: ${n} of ${declared} bytes`));
        else resolve(n);
      });
      res.on('error', reject);
    });
    req.setTimeout(job.requestTimeoutMs, () => req.destroy(new Error(`${path}: no answer in ${job.requestTimeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function pool(n: number, work: () => Promise<boolean>): Promise<void> {
  const worker = async (): Promise<void> => {
    while (await work());
  };
  await Promise.all(Array.from({ length: n }, worker));
}

async function warmUp(): Promise<void> {
  let i = 0;
  await pool(job.concurrency, async () => {
    const path = job.warmup[i++];
    if (path === undefined) return false;
    await get(path);
    return true;
  });
}

async function load(): Promise<LoadResult> {
  const latencies = new Float64Array(job.maxRequests);
  const perUrl = new Array<number>(job.urls.length).fill(0);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let bytes = 0;
  let firstError: string | null = null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + job.seconds * 1000;
  await pool(job.concurrency, async () => {
    if (issued >= job.maxRequests || performance.now() >= deadline) return false;
    const u = issued++ % job.urls.length;
    const start = performance.now();
    try {
      // Not `bytes += await get()`: that reads `bytes` before the await and loses the other workers' adds.
      const n = await get(job.urls[u]!);
      bytes += n;
      latencies[done++] = performance.now() - start;
      perUrl[u]!++;
    } catch (e) {
      errors++;
      firstError ??= e instanceof Error ? e.message : String(e);
    }
    return true;
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sorted = latencies.subarray(0, done).sort();
  const pct = (p: number): number => (done ? sorted[Math.min(done - 1, Math.floor(p * done))]! : NaN);
  return {
    requests: done,
    errors,
    firstError,
    bytes,
    seconds,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    maxMs: done ? sorted[done - 1]! : NaN,
    perUrl,
    clientCpuS: (cpu.user + cpu.system) / 1e6,
  };
}

try {
  await warmUp();
} catch (e) {
  // The parent reports it; a broken output must not hang the bench.
  process.stdout.write(`${JSON.stringify({ warmupError: e instanceof Error ? e.message : String(e) })}\n`);
  process.exit(1);
}
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === 'go') break;
}
const result = await load();
agent.destroy();
// Exit once the line is written: stdin stays open (the parent holds it) and would keep us alive.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
