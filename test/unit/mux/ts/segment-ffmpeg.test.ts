/**
 * End to end against ffmpeg/ffprobe as independent oracles: real H.264 (B-frames), AAC and HEVC
 * encodes are cut into two independently built TS segments, concatenated, and decoded.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIO_PID, PMT_PID, VIDEO_PID } from '../../../../src/mux/ts/psi.js';
import { TS_TIME_OFFSET, buildTsSegment } from '../../../../src/mux/ts/segment.js';
import { loadTrack } from './mp4-fixture.js';
import type { Mp4Fixture } from './mp4-fixture.js';
import { readPackets } from './ts-reader.js';

const FFMPEG = '/usr/bin/ffmpeg';
const FFPROBE = '/usr/bin/ffprobe';

function run(cmd: string, args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

const ffmpeg = (...args: string[]): { stdout: string; stderr: string } => run(FFMPEG, ['-hide_banner', ...args]);

/** Hashes of the decoded video frames, in output order (timestamps left out: they differ by design). */
function frameHashes(file: string): string[] {
  const out = ffmpeg('-v', 'error', '-i', file, '-map', '0:v', '-fps_mode', 'passthrough', '-f', 'framemd5', '-').stdout;
  return out
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(',').at(-1)!.trim());
}

interface ProbedPacket {
  pts: number;
  dts: number;
  key: boolean;
}

function probePackets(file: string, stream: 'v' | 'a'): { timeBase: [number, number]; packets: ProbedPacket[] } {
  const out = run(FFPROBE, [
    '-v', 'error', '-select_streams', `${stream}:0`,
    '-show_entries', 'stream=time_base:packet=pts,dts,flags', '-of', 'json', file,
  ]).stdout;
  const j = JSON.parse(out) as { streams: { time_base: string }[]; packets: { pts: number; dts: number; flags: string }[] };
  const [num, den] = j.streams[0]!.time_base.split('/').map(Number) as [number, number];
  return { timeBase: [num, den], packets: j.packets.map((p) => ({ pts: p.pts, dts: p.dts, key: p.flags.startsWith('K') })) };
}

/** Decoder complaints at warning level ("Packet corrupt", "PES packet size mismatch", decode errors). */
function warnings(file: string): string {
  return ffmpeg('-v', 'warning', '-i', file, '-f', 'null', '-').stderr.trim();
}

/** ffmpeg's mpegts demuxer logs continuity errors at debug level only. */
function continuityErrors(file: string): string[] {
  return ffmpeg('-v', 'debug', '-i', file, '-f', 'null', '-').stderr
    .split('\n')
    .filter((l) => l.includes('Continuity check failed'));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Two segments cut at `cut` (a sync sample for video), each built on its own. */
function twoSegments(fx: Mp4Fixture, cut: number): [Uint8Array, Uint8Array] {
  const t = fx.track;
  const n = t.samples.count;
  return [
    buildTsSegment({ track: t, start: 0, end: cut, sampleData: fx.sampleData(0, cut), segmentIndex: 0 }),
    buildTsSegment({ track: t, start: cut, end: n, sampleData: fx.sampleData(cut, n), segmentIndex: 1 }),
  ];
}

function syncNearMiddle(fx: Mp4Fixture): number {
  const s = fx.track.samples;
  let cut = Math.floor(s.count / 2);
  while (cut > 1 && s.sync[cut] !== 1) cut--;
  expect(cut).toBeGreaterThan(0);
  return cut;
}

function expectSegmentShape(seg: Uint8Array, index: number, esPid: number): void {
  const packets = readPackets(seg);
  expect([packets[0]!.pid, packets[1]!.pid]).toEqual([0, PMT_PID]);
  expect([packets[0]!.cc, packets[1]!.cc]).toEqual([index & 15, index & 15]);
  const es = packets.filter((p) => p.pid === esPid);
  expect(es.length).toBe(packets.length - 2);
  expect(es.length % 16).toBe(0);
  expect(es[0]!.cc).toBe(0);
}

/** The same bytes with every ES packet's continuity counter advanced by one: a broken chain. */
function shiftEsCc(seg: Uint8Array, esPid: number): Uint8Array {
  const out = seg.slice();
  for (let at = 0; at < out.length; at += 188) {
    if ((((out[at + 1]! & 0x1f) << 8) | out[at + 2]!) === esPid) out[at + 3] = (out[at + 3]! & 0xf0) | ((out[at + 3]! + 1) & 0x0f);
  }
  return out;
}

const to90k = (v: number, [num, den]: [number, number]): number => Math.round((v * num * 90000) / den) + TS_TIME_OFFSET;

describe('TS segments decoded by ffmpeg', () => {
  let dir = '';
  const file = (name: string): string => join(dir, name);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mux-ts-'));
    ffmpeg('-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-c:v', 'libx264', '-bf', '2', '-g', '25',
      '-keyint_min', '25', '-sc_threshold', '0', '-threads', '1', '-t', '4', '-f', 'mp4', file('h264.mp4'));
    ffmpeg('-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-c:a', 'aac', '-b:a', '96k',
      '-ac', '2', '-t', '4', '-f', 'mp4', file('aac.mp4'));
    ffmpeg('-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-c:v', 'libx265', '-tag:v', 'hvc1',
      '-x265-params', 'keyint=25:min-keyint=25:scenecut=0:bframes=2:pools=1:frame-threads=1:log-level=error',
      '-t', '2', '-f', 'mp4', file('hevc.mp4'));
  });

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  describe('H.264 with B-frames', () => {
    let segs: [Uint8Array, Uint8Array];
    let ts = '';
    beforeAll(() => {
      const fx = loadTrack(readFileSync(file('h264.mp4')), 'video');
      segs = twoSegments(fx, syncNearMiddle(fx));
      ts = file('h264.ts');
      writeFileSync(ts, concat(...segs));
      writeFileSync(file('h264.1.ts'), segs[1]);
    });

    it('decodes to the same frames as the source', () => {
      const source = frameHashes(file('h264.mp4'));
      expect(source.length).toBe(100);
      expect(frameHashes(ts)).toEqual(source);
    });

    it('carries the source timestamps (edit list applied) + 10 s, converted to 90 kHz, and key flags', () => {
      const src = probePackets(file('h264.mp4'), 'v');
      const out = probePackets(ts, 'v');
      expect(out.timeBase).toEqual([1, 90000]);
      expect(out.packets).toEqual(src.packets.map((p) => ({ pts: to90k(p.pts, src.timeBase), dts: to90k(p.dts, src.timeBase), key: p.key })));
      expect(out.packets.filter((p) => p.key).length).toBe(4);
    });

    it('has continuous continuity counters across the two segments and no decoder warnings', () => {
      expect(warnings(ts)).toBe('');
      expect(continuityErrors(ts)).toEqual([]);
      segs.forEach((s, i) => expectSegmentShape(s, i, VIDEO_PID));
    });

    it('would be caught by the same check if the chain were broken', () => {
      const broken = file('h264-broken.ts');
      writeFileSync(broken, concat(segs[0], shiftEsCc(segs[1], VIDEO_PID)));
      expect(continuityErrors(broken).length).toBeGreaterThan(0);
    });

    it('decodes the second segment on its own', () => {
      expect(warnings(file('h264.1.ts'))).toBe('');
      expect(frameHashes(file('h264.1.ts')).length).toBe(50);
    });
  });

  describe('AAC', () => {
    let segs: [Uint8Array, Uint8Array];
    let ts = '';
    beforeAll(() => {
      const fx = loadTrack(readFileSync(file('aac.mp4')), 'audio');
      segs = twoSegments(fx, Math.floor(fx.track.samples.count / 2));
      ts = file('aac.ts');
      writeFileSync(ts, concat(...segs));
    });

    it('decodes to the same PCM as the source', () => {
      // TS has no edit list: the priming frame is delivered (at PTS < 10 s) and decoded, so the source
      // is decoded without its edit list too.
      const md5 = (args: string[]): string => ffmpeg('-v', 'error', ...args, '-map', '0:a', '-f', 'md5', '-').stdout.trim();
      const source = md5(['-ignore_editlist', '1', '-i', file('aac.mp4')]);
      expect(source).toMatch(/^MD5=[0-9a-f]{32}$/);
      expect(md5(['-i', ts])).toBe(source);
    });

    it('carries the source timestamps + 10 s for every frame', () => {
      const src = probePackets(file('aac.mp4'), 'a');
      const out = probePackets(ts, 'a');
      expect(out.packets.map((p) => p.pts)).toEqual(src.packets.map((p) => to90k(p.pts, src.timeBase)));
    });

    it('has continuous continuity counters across the two segments and no decoder warnings', () => {
      expect(warnings(ts)).toBe('');
      expect(continuityErrors(ts)).toEqual([]);
      segs.forEach((s, i) => expectSegmentShape(s, i, AUDIO_PID));
    });
  });

  describe('HEVC', () => {
    let segs: [Uint8Array, Uint8Array];
    let ts = '';
    beforeAll(() => {
      const fx = loadTrack(readFileSync(file('hevc.mp4')), 'video');
      expect(fx.track.sampleEntryType).toBe('hvc1');
      segs = twoSegments(fx, syncNearMiddle(fx));
      ts = file('hevc.ts');
      writeFileSync(ts, concat(...segs));
    });

    it('decodes to the same frames as the source, with continuous counters and no warnings', () => {
      const source = frameHashes(file('hevc.mp4'));
      expect(source.length).toBe(50);
      expect(frameHashes(ts)).toEqual(source);
      expect(warnings(ts)).toBe('');
      expect(continuityErrors(ts)).toEqual([]);
      segs.forEach((s, i) => expectSegmentShape(s, i, VIDEO_PID));
    });

    it('carries the source timestamps + 10 s', () => {
      const src = probePackets(file('hevc.mp4'), 'v');
      const out = probePackets(ts, 'v');
      expect(out.packets).toEqual(src.packets.map((p) => ({ pts: to90k(p.pts, src.timeBase), dts: to90k(p.dts, src.timeBase), key: p.key })));
    });
  });
});
