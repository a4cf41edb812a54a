/**
 * The live-ingest bench's server process (spawned by ingest.ts): the real server (startServer, the
 * config's streams ingesting UDP) and nothing else, so this process's cpuUsage() is the server's.
 * It notes when each segment is published (LiveStream.onSegmentReady: the moment a playlist request
 * would list it; with DVR, after the write) — a callback that costs one array push per segment.
 *
 * stdout: one JSON line {"url"} once listening, then one JSON line per command read from stdin:
 *   stats     → IngestServerStats (and the event-loop delay histogram starts afresh)
 *   segments  → { [stream]: [[number, publishedAtMs], …] }
 *   quit      → closes the server, exits
 * Usage: ingest-server.ts CONFIG
 */
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { startServer } from '../../src/http/server.js';
import { createLogger } from '../../src/http/logger.js';
import { counters, memory, type Counters, type MemorySnapshot } from './server-stats.js';

export interface IngestServerStats {
  readonly counters: Counters;
  readonly memory: MemorySnapshot;
  /** Event-loop delay since the previous `stats`, ms (1 ms sampling resolution). */
  readonly loopDelay: { readonly p50: number; readonly p99: number; readonly max: number };
  /** CPU seconds of the main thread (the event loop: sockets, demux, segments, HTTP) so far; null off Linux. */
  readonly mainThreadCpuS: number | null;
  /** GC pauses of the main thread since the previous `stats`: total and longest, ms; full (mark-compact) collections. */
  readonly gc: { readonly pauseMs: number; readonly maxPauseMs: number; readonly major: number; readonly minor: number };
  readonly maxRssMB: number;
  /** Warnings and errors the server logged so far. */
  readonly logLines: number;
  readonly firstLog: readonly string[];
}

const configPath = process.argv[2];
if (!configPath) throw new Error('usage: ingest-server.ts CONFIG');

const logLines: string[] = [];
const server = await startServer({
  configPath,
  listen: '127.0.0.1:0',
  log: createLogger('warn', (line) => void logLines.push(line.trim())),
  watch: false,
});

const published: Record<string, Array<[number, number]>> = {};
for (const st of server.state.config.streams) {
  const list: Array<[number, number]> = [];
  published[st.name] = list;
  server.state.live.get(st.name)?.onSegmentReady((info) => void list.push([info.number, Date.now()]));
}

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();

let gc = { pauseMs: 0, maxPauseMs: 0, major: 0, minor: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.pauseMs += e.duration;
    gc.maxPauseMs = Math.max(gc.maxPauseMs, e.duration);
    const kind = gcKind(e);
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
  }
}).observe({ entryTypes: ['gc'] });

function gcKind(e: PerformanceEntry): number | undefined {
  const detail: unknown = (e as PerformanceEntry & { readonly detail?: unknown }).detail;
  return typeof detail === 'object' && detail !== null && 'kind' in detail && typeof detail.kind === 'number' ? detail.kind : undefined;
}

/** utime + stime of the main thread (its task id is the pid), from /proc; clock ticks of 10 ms. */
function mainThreadCpuS(): number | null {
  try {
    const st = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

const reply = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
reply({ url: server.url });

let closing = false;
const quit = (): void => {
  if (closing) return;
  closing = true;
  void server.close().then(() => process.exit(0));
};

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'stats') {
    const stats: IngestServerStats = {
      counters: counters(),
      memory: memory(),
      loopDelay: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
      mainThreadCpuS: mainThreadCpuS(),
      gc,
      maxRssMB: (process.resourceUsage().maxRSS * 1024) / 1e6,
      logLines: logLines.length,
      firstLog: logLines.slice(0, 3),
    };
    delay.reset();
    gc = { pauseMs: 0, maxPauseMs: 0, major: 0, minor: 0 };
    reply(stats);
  } else if (cmd === 'segments') {
    reply(published);
  } else if (cmd === 'quit') {
    quit();
  }
});
// The parent went away: do not linger.
lines.on('close', quit);
