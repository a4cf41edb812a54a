/**
 * The live-ingest bench's sender process (spawned by ingest.ts), so that its CPU is not the server's.
 * Paces N copies of one TS file in real time to N UDP ports on 127.0.0.1, one connected socket per
 * channel, 1316-byte datagrams: one timer for all channels, every ~1 ms each channel sends the
 * datagrams that have fallen due. Channel k starts at its own datagram of the file (so the channels'
 * segment boundaries are spread out) and sends `count` datagrams from there.
 *
 * It notes the wall-clock time (Date.now(), the clock the server stamps segments with) at which it
 * sent each datagram flagged in the job (key-frame starts and ends, release points), and how late
 * each datagram left against its schedule.
 *
 * stdin: `go`. stdout: `ready`, then one SenderResult line.
 * Usage: ingest-sender.ts JOB.json
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import { DATAGRAM_BYTES } from './ingest-media.js';

export interface SenderJob {
  readonly path: string;
  readonly ports: readonly number[];
  /** First datagram of each channel. */
  readonly start: readonly number[];
  /** Datagrams each channel sends. */
  readonly count: number;
  /** Due time of every datagram of the file, seconds. */
  readonly times: readonly number[];
  /** Datagram indices whose send time is recorded. */
  readonly marks: readonly number[];
}

export interface SenderResult {
  /** Wall clock (ms since the epoch) of the `go`. */
  readonly startedAt: number;
  readonly sent: readonly number[];
  readonly sendErrors: number;
  /** Per channel: [datagram index, Date.now() when sent] for the marked datagrams it sent. */
  readonly marks: ReadonlyArray<ReadonlyArray<readonly [number, number]>>;
  /** Lateness of the datagrams against their schedule. */
  readonly late: { readonly over5ms: number; readonly over20ms: number; readonly over100ms: number; readonly maxMs: number };
  readonly cpuS: number;
  readonly wallS: number;
  /** Whether the sender got a raised scheduling priority (root only). */
  readonly raisedPriority: boolean;
}

const TICK_MS = 1;

// On a small machine the server's GC threads and this process share the cores: when allowed (root),
// a higher priority keeps the sender on schedule so that the server sees the stream as it was paced.
let raisedPriority = false;
try {
  setPriority(-10);
  raisedPriority = true;
} catch {
  // not permitted: pacing may then slip while the server's threads hold both cores
}

const jobPath = process.argv[2];
if (!jobPath) throw new Error('usage: ingest-sender.ts JOB.json');
const job = JSON.parse(await readFile(jobPath, 'utf8')) as SenderJob;
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
const file = await readFile(job.path);
const n = job.ports.length;
const marked = new Uint8Array(job.times.length);
for (const m of job.marks) marked[m] = 1;

let sendErrors = 0;
const sockets: Socket[] = await Promise.all(
  job.ports.map(
    (port) =>
      new Promise<Socket>((resolve, reject) => {
        const s = createSocket('udp4');
        s.on('error', () => void sendErrors++);
        s.once('error', reject);
        s.connect(port, '127.0.0.1', () => {
          s.off('error', reject);
          resolve(s);
        });
      }),
  ),
);
// Bursts of up to a few ms of 100 channels must not hit a full send buffer.
for (const s of sockets) {
  try {
    s.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    // capped or refused: the default is enough at low channel counts
  }
}

process.stdout.write('ready\n');
const go = await lines.next();
if (go.done || go.value.trim() !== 'go') throw new Error('ingest-sender: expected go');

const next = job.start.map((s) => s);
const end = job.start.map((s) => Math.min(s + job.count, job.times.length));
const base = job.start.map((s) => job.times[s]!);
const sent = new Array<number>(n).fill(0);
const marks: Array<Array<readonly [number, number]>> = job.ports.map(() => []);
const late = { over5ms: 0, over20ms: 0, over100ms: 0, maxMs: 0 };
const cpu0 = process.cpuUsage();
const startedAt = Date.now();
const t0 = performance.now();

await new Promise<void>((resolve) => {
  const tick = (): void => {
    const elapsed = (performance.now() - t0) / 1000;
    let pending = 0;
    for (let c = 0; c < n; c++) {
      const sock = sockets[c]!;
      let i = next[c]!;
      const stop = end[c]!;
      const b = base[c]!;
      while (i < stop) {
        const due = job.times[i]! - b;
        if (due > elapsed) break;
        sock.send(file.subarray(i * DATAGRAM_BYTES, Math.min((i + 1) * DATAGRAM_BYTES, file.length)));
        if (marked[i] === 1) marks[c]!.push([i, Date.now()]);
        const lateMs = (elapsed - due) * 1000;
        if (lateMs > 5) {
          late.over5ms++;
          if (lateMs > 20) late.over20ms++;
          if (lateMs > 100) late.over100ms++;
          if (lateMs > late.maxMs) late.maxMs = lateMs;
        }
        i++;
      }
      sent[c] = i - job.start[c]!;
      next[c] = i;
      if (i < stop) pending++;
    }
    if (pending > 0) setTimeout(tick, TICK_MS);
    else resolve();
  };
  tick();
});

const cpu = process.cpuUsage(cpu0);
const result: SenderResult = {
  startedAt,
  sent,
  sendErrors,
  marks,
  late,
  cpuS: (cpu.user + cpu.system) / 1e6,
  wallS: (performance.now() - t0) / 1000,
  raisedPriority,
};
// Let the last sends leave before the sockets close (closing cancels what is still queued).
await new Promise((r) => setTimeout(r, 100));
await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
process.stdout.write(`${JSON.stringify(result)}\n`);
input.close();
