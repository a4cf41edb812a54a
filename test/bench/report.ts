/** Turns the bench results into the printed table. Numbers only, no judgement beyond the stated goals. */
import type { CipherResult } from './crypto.js';
import type { IndexBenchResult } from './index-bench.js';
import type { LoadBenchResult, VariantResult } from './load.js';
import type { BenchMedia } from './media.js';
import { VARIANTS } from './variants.js';

export interface Goal {
  readonly name: string;
  readonly value: number | null;
  readonly unit: string;
  readonly limit: string;
  readonly met: boolean | null;
}

export interface Ratios {
  /** Per variant: served MB/s ÷ raw MB/s of each cipher (e.g. hls-ts ÷ aes-128-ctr). */
  readonly servedOverCipher: Record<string, Record<string, number>>;
  /** Per variant: server CPU s/GB ÷ the cipher's CPU s/GB — what encrypting would add, at least. */
  readonly serverCpuOverCipherCpu: Record<string, Record<string, number>>;
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const fix = (n: number | null, d: number): string => (n !== null && Number.isFinite(n) ? n.toFixed(d) : '—');
const pad = (s: string, w: number): string => (s.length >= w ? s : ' '.repeat(w - s.length) + s);
const padEnd = (s: string, w: number): string => (s.length >= w ? s : s + ' '.repeat(w - s.length));

export function ratios(load: LoadBenchResult, crypto: readonly CipherResult[]): Ratios {
  const servedOverCipher: Record<string, Record<string, number>> = {};
  const serverCpuOverCipherCpu: Record<string, Record<string, number>> = {};
  for (const v of load.variants) {
    servedOverCipher[v.name] = Object.fromEntries(crypto.map((c) => [c.name, v.mbPerS / c.mbPerS]));
    serverCpuOverCipherCpu[v.name] = Object.fromEntries(crypto.map((c) => [c.name, v.serverCpuSPerGB / c.cpuSPerGB]));
  }
  return { servedOverCipher, serverCpuOverCipherCpu };
}

/** What encryption costs: each encrypted variant against the clear one serving the same segments. */
function encryptionLines(load: LoadBenchResult, crypto: readonly CipherResult[]): string[] {
  const byName = new Map(load.variants.map((v) => [v.name, v]));
  const rows: string[] = [];
  for (const spec of VARIANTS) {
    const enc = byName.get(spec.name);
    const clear = spec.clear ? byName.get(spec.clear) : undefined;
    if (!enc || !clear) continue;
    const cipher = crypto.find((c) => c.name === (spec.name.includes('cenc') ? 'aes-128-ctr' : 'aes-128-cbc'));
    rows.push(
      `  ${padEnd(`${spec.name} vs ${spec.clear}`, 22)}` +
        `${pad(fix(enc.mbPerS / clear.mbPerS, 2), 6)} ×MB/s  ` +
        `${pad(fix((enc.serverCpuSPerGB / clear.serverCpuSPerGB - 1) * 100, 0), 5)} % server CPU/GB  ` +
        `${pad(fix(enc.mbPerS / (cipher?.mbPerS ?? NaN), 3), 7)} ÷ raw ${cipher?.name ?? '?'}`,
    );
  }
  return rows.length ? ['encrypted against clear (same segments, same run)', ...rows, ''] : [];
}

export function goals(index: IndexBenchResult, load: LoadBenchResult): Goal[] {
  const colds = [index.pageCacheWarm.coldMs, index.pageCacheDropped?.coldMs ?? 0];
  const cold = Math.max(...colds);
  const reads = load.variants.map((v) => v.readPerPayload).filter((x): x is number => x !== null && Number.isFinite(x));
  const worstRead = reads.length ? Math.max(...reads) : null;
  const readCalls = load.variants.map((v) => v.readCallsPerRequest).filter((x): x is number => x !== null && Number.isFinite(x));
  const worstReads = readCalls.length ? Math.max(...readCalls) : null;
  const cenc = load.variants.find((v) => v.name === 'dash-cenc');
  const clearDash = load.variants.find((v) => v.name === 'dash');
  const cencCost = cenc && clearDash ? (cenc.serverCpuSPerGB / clearDash.serverCpuSPerGB - 1) * 100 : null;
  return [
    {
      name: 'cenc server CPU per GB over clear (dash-cenc vs dash)',
      value: cencCost,
      unit: '%',
      limit: '< 15',
      met: cencCost === null ? null : cencCost < 15,
    },
    { name: `cold index (${int(index.totalSamples)} samples)`, value: cold, unit: 'ms', limit: '< 100', met: cold < 100 },
    { name: 'index size', value: index.bytesPerSample, unit: 'B/sample', limit: '≤ 40', met: index.bytesPerSample <= 40 },
    {
      // Each request reads its segment's time range once: through the audio interleaved with video
      // frames (video segments) and through the video between audio frames (audio segments), so an
      // audio+video pair reads about twice its payload, in a handful of reads instead of hundreds.
      // Never more than the segment's time range of the file.
      name: 'bytes read ÷ sample bytes of segments served (worst variant)',
      value: worstRead,
      unit: '×',
      limit: '≤ 2.5',
      met: worstRead === null ? null : worstRead <= 2.5,
    },
    {
      name: 'read() calls per segment request (worst variant)',
      value: worstReads,
      unit: 'reads',
      limit: '≤ 10',
      met: worstReads === null ? null : worstReads <= 10,
    },
  ];
}

function indexLines(index: IndexBenchResult): string[] {
  const w = index.pageCacheWarm;
  const tracks = w.tracks.map((t) => `${t.kind === 'video' ? 'v' : 'a'}${t.id} ${t.codec} ${int(t.samples)}`).join(' + ');
  const row = (label: string, r: typeof w | null): string =>
    r
      ? `  ${padEnd(label, 26)}${pad(fix(r.coldMs, 1), 8)} ms ${pad(fix(r.warmMedianMs, 1), 9)} ms ${pad(fix(r.planColdMs, 1), 12)} ms ${pad(fix(r.planWarmMedianMs, 1), 8)} ms`
      : `  ${padEnd(label, 26)}(could not drop the file's pages)`;
  return [
    `index   ${int(index.totalSamples)} samples (${tracks}); ${w.segments} segments of ${index.segmentDuration} s`,
    `  ${padEnd('fresh process', 26)}${pad('indexMp4', 11)} ${pad('again (med)', 12)} ${pad('planSegments', 15)} ${pad('again', 11)}`,
    row('page cache as left', w),
    row('page cache dropped', index.pageCacheDropped),
    `  module load ${fix(w.importMs, 0)} ms (not counted above); sample tables ${fix(w.indexBytes / 1e6, 2)} MB = ${fix(index.bytesPerSample, 1)} B/sample`,
  ];
}

function variantRow(v: VariantResult, crypto: readonly CipherResult[]): string {
  if (v.requests === 0) return `  ${padEnd(v.name, 10)}FAILED: ${v.error}`;
  const cells = [
    pad(int(v.reqPerS), 7),
    pad(fix(v.mbPerS, 0), 7),
    ...crypto.map((c) => pad(fix(v.mbPerS / c.mbPerS, 2), 6)),
    pad(fix(v.serverCpuSPerGB, 2), 9),
    pad(`${fix(v.serverCpuShare * 100, 0)}%`, 8),
    pad(fix(v.clientCpuS / v.seconds * 100, 0) + '%', 8),
    pad(fix(v.p50Ms, 1), 7),
    pad(fix(v.p99Ms, 1), 7),
    pad(fix(v.readPerPayload, 3), 9),
    pad(fix(v.readCallsPerRequest, 0), 9),
    pad(fix(v.servedPerPayload, 3), 9),
  ];
  const row = `  ${padEnd(v.name, 10)}${cells.join(' ')}`;
  return v.error ? `${row}\n    ${v.error}` : row;
}

export function formatReport(
  media: BenchMedia,
  index: IndexBenchResult,
  crypto: readonly CipherResult[],
  load: LoadBenchResult,
  goalList: readonly Goal[],
  machine: string,
  loadAverages: readonly number[],
): string {
  const o = load.options;
  const first = load.variants.find((v) => v.urls > 0);
  const header = [
    pad('req/s', 7),
    pad('MB/s', 7),
    ...crypto.map((c) => pad(`÷${c.name.replace('aes-128-', '').toUpperCase()}`, 6)),
    pad('srv s/GB', 9),
    pad('srv CPU', 8),
    pad('cli CPU', 8),
    pad('p50 ms', 7),
    pad('p99 ms', 7),
    pad('read/pay', 9),
    pad('reads/req', 9),
    pad('sent/pay', 9),
  ];
  const mem = (f: (m: LoadBenchResult['memoryAtStart']) => number): string =>
    [load.memoryAtStart, load.memoryAfterIndex, load.memoryAtEnd].map((m) => fix(f(m), 0)).join(' → ');
  const lines = [
    `packager bench · ${machine}`,
    'units: MB = 10^6 bytes, GB = 10^9 bytes; CPU s/GB = CPU seconds of the process per GB',
    `1-min load average at start, before the load, at end: ${loadAverages.map((l) => fix(l, 2)).join(', ')} (other work on these cores skews the numbers)`,
    '',
    `media   ${media.file}: ${fix(media.bytes / 1e6, 1)} MB, ${fix(media.durationS, 0)} s, 720p25 H.264 + AAC 48 kHz (${media.generatedInS === null ? 'reused' : `generated in ${fix(media.generatedInS, 0)} s`})`,
    '',
    ...indexLines(index),
    `  first master playlist from a fresh server (index + plan + manifest): ${fix(load.firstRequestMs, 1)} ms`,
    '',
    'raw AES, node:crypto, one cipher, update() on 64 KiB chunks, one thread',
    ...crypto.map((c) => `  ${padEnd(c.name, 12)}${pad(fix(c.mbPerS, 0), 6)} MB/s (median of 5 rounds; best ${fix(c.bestMbPerS, 0)})   ${fix(c.cpuSPerGB, 2)} CPU s/GB`),
    '',
    `segments: ${o.concurrency} keep-alive connections from a child process, ≤ ${o.seconds} s per variant, ` +
      `${first?.urls ?? 0} URLs (${o.segmentsPerList} segment numbers × every rendition, seed ${o.seed}), page cache warm`,
    `  ${padEnd('variant', 10)}${header.join(' ')}`,
    ...load.variants.map((v) => variantRow(v, crypto)),
    '  ÷CTR/÷CBC: served MB/s ÷ raw AES MB/s above; srv/cli CPU: CPU time ÷ wall time of server/client process;',
    '  read/pay: bytes the server read (rchar) ÷ sample bytes of the segments served; reads/req: read() calls (syscr)',
    '  per request; sent/pay: body bytes ÷ sample bytes',
    `  share of server CPU in the kernel: ${load.variants.map((v) => `${v.name} ${fix(v.serverSysShare * 100, 0)}%`).join(', ')}`,
    '',
    ...encryptionLines(load, crypto),
    `memory  server process RSS ${mem((m) => m.rssMB)} MB (start → after index → end; max ${fix(load.maxRssMB, 0)}), ` +
      `heap used ${mem((m) => m.heapUsedMB)} MB, title cache ${fix(load.titleCacheBytes / 1e6, 2)} MB`,
    `  per variant RSS: ${load.variants.map((v) => `${v.name} ${fix(v.memoryBefore.rssMB, 0)} → ${fix(v.memoryAfter.rssMB, 0)}`).join(', ')} MB`,
    '',
    'goals',
    ...goalList.map(
      (g) => `  ${padEnd(g.name, 62)}${pad(fix(g.value, g.unit === 'ms' ? 1 : g.unit === '×' ? 3 : 1), 8)} ${padEnd(g.unit, 9)}${padEnd(g.limit, 8)}${g.met === null ? 'n/a' : g.met ? 'met' : 'MISSED'}`,
    ),
  ];
  if (load.serverLog.length > 0) {
    lines.push('', `server logged ${load.serverLog.length} warnings/errors, first:`, ...load.serverLog.slice(0, 3).map((l) => `  ${l}`));
  }
  return lines.join('\n');
}
