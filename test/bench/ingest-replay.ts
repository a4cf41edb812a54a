/**
 * In-process replay of the live-ingest path without sockets or HTTP: N channels of the bench TS pushed,
 * one 1316-byte datagram at a time (each a fresh Buffer, as node:dgram hands them out), round-robin
 * through TsDemuxer → LiveSegmenter, as fast as the CPU allows, with every segment kept (as the
 * 120 s in-memory window would keep them). It isolates the demuxer's and segmenter's CPU and GC from
 * the socket and the event loop, so a change to them can be compared in seconds, with less noise than
 * the real-time bench.
 *
 * Usage: npx tsx test/bench/ingest-replay.ts [FILE] [CHANNELS=50] [REPEATS=3]; prints one JSON line per repeat.
 */
import { readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { TsDemuxer } from '../../src/source/live/ts-demux.js';
import { LiveSegmenter } from '../../src/source/live/live-segmenter.js';
import type { LiveSegment } from '../../src/source/live/types.js';
import { DATAGRAM_BYTES } from './ingest-media.js';

const file = process.argv[2] ?? 'test/bench/media/ingest-720p25-5M-31s-v1.mpegts';
const channels = Number(process.argv[3] ?? 50);
const repeats = Number(process.argv[4] ?? 3);
const ts = new Uint8Array(readFileSync(file));

let gcMs = 0;
let major = 0;
let minor = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    const detail = (e as unknown as { detail?: { kind?: number } }).detail;
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
    else if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
  }
}).observe({ entryTypes: ['gc'] });

for (let r = 0; r < repeats; r++) {
  const kept: LiveSegment[] = [];
  const demux = Array.from({ length: channels }, () => new TsDemuxer());
  const seg = Array.from({ length: channels }, () => new LiveSegmenter({ segmentDuration: 2, now: () => 0, onSegment: (s) => void kept.push(s) }));
  gcMs = 0;
  major = 0;
  minor = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let at = 0; at < ts.length; at += DATAGRAM_BYTES) {
    const end = Math.min(ts.length, at + DATAGRAM_BYTES);
    for (let k = 0; k < channels; k++) seg[k]!.push(demux[k]!.push(Buffer.from(ts.subarray(at, end))));
  }
  for (let k = 0; k < channels; k++) seg[k]!.push(demux[k]!.flush());
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((res) => setTimeout(res, 50)); // let the GC observer deliver
  const mediaS = (ts.length * 8) / 5e6; // the bench file is 5 Mbit/s CBR
  console.log(
    JSON.stringify({
      channels,
      segments: kept.length,
      wallMs: Math.round(wall),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      cpuMsPerChannelSecond: +((cpu.user + cpu.system) / 1000 / (channels * mediaS)).toFixed(3),
      gcMs: Math.round(gcMs),
      major,
      minor,
      heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
      externalMB: Math.round(process.memoryUsage().arrayBuffers / 1e6),
    }),
  );
  kept.length = 0;
}
