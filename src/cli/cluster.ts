/**
 * `packager serve --workers N|auto`: one process per core with node:cluster. The primary forks N workers
 * that each run the same `serve` (same config, same port: cluster shares the listening socket and hands
 * connections round-robin), restarts a worker that dies unexpectedly, and on SIGTERM/SIGINT forwards the
 * signal and exits 0 once every worker has finished its requests in flight.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

/** `auto` → one per core; otherwise a whole number 1..256. Undefined: not a valid value. */
export function parseWorkers(text: string): number | undefined {
  if (text === 'auto') return Math.max(1, availableParallelism());
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 256 ? n : undefined;
}

/** A worker that dies this soon after its start does not get restarted in a loop faster than this. */
const RESTART_DELAY_MS = 1000;
/** Bound on the primary's wait for its workers at shutdown (each has its own 10 s grace). */
const SHUTDOWN_WAIT_MS = 15_000;

export interface WorkerMessage {
  type: 'listening';
  url: string;
}

/** Runs the primary; resolves never (the process exits from a signal or when no worker can start). */
export function runPrimary(count: number, out: NodeJS.WritableStream): Promise<number> {
  let stopping = false;
  let announced = false;
  const started = new Map<number, number>();
  const fork = (): Worker => {
    const w = cluster.fork();
    started.set(w.id, Date.now());
    w.on('message', (m: WorkerMessage) => {
      if (m?.type === 'listening' && !announced) {
        announced = true;
        out.write(`packager listening on ${m.url} (${count} workers, primary pid ${process.pid})\n`);
      }
    });
    return w;
  };
  cluster.on('exit', (w, code, signal) => {
    if (stopping) return;
    out.write(`worker ${w.process.pid} exited (${signal ?? code}); starting another\n`);
    const age = Date.now() - (started.get(w.id) ?? 0);
    started.delete(w.id);
    setTimeout(fork, age < RESTART_DELAY_MS ? RESTART_DELAY_MS : 0);
  });
  for (let i = 0; i < count; i++) fork();
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    out.write(`${signal}: stopping ${Object.keys(cluster.workers ?? {}).length} workers\n`);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let left = workers.length;
    if (left === 0) process.exit(0);
    const timer = setTimeout(() => process.exit(1), SHUTDOWN_WAIT_MS);
    for (const w of workers) {
      w.once('exit', () => {
        if (--left === 0) {
          clearTimeout(timer);
          process.exit(0);
        }
      });
      w.process.kill('SIGTERM');
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => undefined);
}
