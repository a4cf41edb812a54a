/**
 * TsDemuxer against ffmpeg/ffprobe as the independent oracle: a short H.264 (B-frames) + AAC TS made
 * by ffmpeg is demuxed in 1316-byte datagrams and in random splits and compared packet by packet with
 * `ffprobe -show_packets`; then faults are made by editing packets (loss, duplicate, garbage, PTS
 * wrap, PMT version change).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAudioSpecificConfig } from '../../../../src/media/codec/aac.js';
import { parseAvcSps } from '../../../../src/media/codec/avc-parameter-sets.js';
import { crc32Mpeg } from '../../../../src/mux/ts/crc32.js';
import { TS_WRAP } from '../../../../src/source/live/timestamps.js';
import { ffprobeBytes } from '../../../helpers/ffmpeg.js';
import { TsDemuxer, type AudioUnit, type ConfigEvent, type DemuxEvent, type ProgramEvent, type VideoUnit } from '../../../../src/source/live/ts-demux.js';

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Annex B access unit -> 4-byte length-prefixed NALs without AUD/SPS/PPS (what the demuxer outputs). */
function annexbToSample(b: Buffer): Buffer {
  const nals: Buffer[] = [];
  const starts: number[] = [];
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) starts.push(i);
  starts.forEach((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! : b.length;
    while (end > s + 3 && b[end - 1] === 0) end--;
    const nal = b.subarray(s + 3, end);
    const type = nal[0]! & 0x1f;
    if (type === 7 || type === 8 || type === 9) return;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(nal.length);
    nals.push(len, nal);
  });
  return Buffer.concat(nals);
}

interface Probed {
  pts: number;
  dts: number;
  size: number;
  key: boolean;
  data?: Buffer;
}

function probe(file: string, stream: 'v' | 'a', withData: boolean): Probed[] {
  const args = ['-v', 'error', '-select_streams', stream, '-show_packets', ...(withData ? ['-show_data'] : []), '-of', 'json', file];
  const j = JSON.parse(run('ffprobe', args)) as { packets: Array<Record<string, string | number>> };
  return j.packets.map((p) => ({
    pts: Number(p['pts']),
    dts: Number(p['dts']),
    size: Number(p['size']),
    key: String(p['flags']).includes('K'),
    ...(withData ? { data: ffprobeBytes(String(p['data'])) } : {}),
  }));
}

function demux(bytes: Uint8Array, sizes: (i: number) => number, opts?: { program?: number }): { events: DemuxEvent[]; d: TsDemuxer } {
  const d = new TsDemuxer(opts);
  const events: DemuxEvent[] = [];
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = sizes(i);
    events.push(...d.push(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  events.push(...d.flush());
  return { events, d };
}

const datagrams = (): number => 1316;
const video = (e: DemuxEvent[]): VideoUnit[] => e.filter((x): x is VideoUnit => x.kind === 'video');
const audio = (e: DemuxEvent[]): AudioUnit[] => e.filter((x): x is AudioUnit => x.kind === 'audio');
const configs = (e: DemuxEvent[]): ConfigEvent[] => e.filter((x): x is ConfigEvent => x.kind === 'config');
const programs = (e: DemuxEvent[]): ProgramEvent[] => e.filter((x): x is ProgramEvent => x.kind === 'program');

/** Deterministic PRNG (mulberry32) so a failing split can be reproduced. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pidOf = (ts: Uint8Array, i: number): number => ((ts[i * 188 + 1]! & 0x1f) << 8) | ts[i * 188 + 2]!;
const pusi = (ts: Uint8Array, i: number): boolean => (ts[i * 188 + 1]! & 0x40) !== 0;
/** Offset of the payload of packet i (after any adaptation field). */
function payloadAt(ts: Uint8Array, i: number): number {
  const at = i * 188;
  return (ts[at + 3]! & 0x20) !== 0 ? at + 5 + ts[at + 4]! : at + 4;
}

function readTs(b: Uint8Array, at: number): number {
  return ((b[at]! >> 1) & 7) * 2 ** 30 + ((b[at + 1]! << 22) | ((b[at + 2]! >> 1) << 15) | (b[at + 3]! << 7) | (b[at + 4]! >> 1));
}

function writeTs(b: Uint8Array, at: number, v: number): void {
  const prefix = b[at]! & 0xf0;
  const hi = Math.floor(v / 2 ** 30) & 7;
  const lo = v % 2 ** 30;
  b[at] = prefix | (hi << 1) | 1;
  b[at + 1] = (lo >> 22) & 0xff;
  b[at + 2] = (((lo >> 15) & 0x7f) << 1) | 1;
  b[at + 3] = (lo >> 7) & 0xff;
  b[at + 4] = ((lo & 0x7f) << 1) | 1;
}

/** Calls fn(offset of PTS, offset of DTS or -1) for every PES header starting in a PUSI packet of `pids`. */
function forEachPesTimestamps(ts: Uint8Array, pids: Set<number>, fn: (pts: number, dts: number, packet: number) => void): void {
  for (let i = 0; i < ts.length / 188; i++) {
    if (!pusi(ts, i) || !pids.has(pidOf(ts, i))) continue;
    const p = payloadAt(ts, i);
    const flags = ts[p + 7]!;
    if (flags & 0x80) fn(p + 9, (flags & 0xc0) === 0xc0 ? p + 14 : -1, i);
  }
}

describe('TsDemuxer vs ffprobe', () => {
  let dir: string;
  let ts: Uint8Array;
  let pv: Probed[];
  let pa: Probed[];
  let avcC: Buffer;
  let streams: Array<Record<string, unknown>>;
  let clean: DemuxEvent[];
  let vpid: number;
  let apid: number;
  let pmtPid: number;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-demux-'));
    const file = join(dir, 'out.ts');
    run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine', '-t', '4', '-c:v', 'libx264', '-bf', '2', '-g', '25', '-c:a', 'aac', '-f', 'mpegts', file]);
    ts = new Uint8Array(readFileSync(file));
    pv = probe(file, 'v', true);
    pa = probe(file, 'a', false);
    streams = (JSON.parse(run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file])) as { streams: Array<Record<string, unknown>> }).streams;
    const mp4 = join(dir, 'v.mp4');
    run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-c', 'copy', '-f', 'mp4', mp4]);
    const vs = (JSON.parse(run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_streams', '-show_data', '-of', 'json', mp4])) as { streams: Array<Record<string, string>> }).streams;
    avcC = ffprobeBytes(vs[0]!['extradata']!);
    clean = demux(ts, datagrams).events;
    const prog = programs(clean)[0]!;
    vpid = prog.streams.find((s) => s.codec === 'avc')!.pid;
    apid = prog.streams.find((s) => s.codec === 'aac')!.pid;
    pmtPid = prog.pmtPid;
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('announces the program once, with one H.264 and one AAC stream', () => {
    const p = programs(clean);
    expect(p).toHaveLength(1);
    expect(p[0]!.streams.map((s) => s.codec)).toEqual(['avc', 'aac']);
  });

  it('outputs the same video access units as ffprobe: count, pts/dts, key flags, bytes', () => {
    const v = video(clean);
    expect(v.length).toBe(pv.length);
    v.forEach((u, i) => {
      const e = pv[i]!;
      expect([u.pts, u.dts, u.key, u.discontinuity]).toEqual([e.pts, e.dts, e.key, false]);
      expect(Buffer.from(u.data).equals(annexbToSample(e.data!)), `access unit ${i} bytes`).toBe(true);
    });
  });

  it('outputs the same audio frames as ffprobe: count, sizes without ADTS header, pts', () => {
    const a = audio(clean);
    expect(a.length).toBe(pa.length);
    a.forEach((f, i) => {
      const e = pa[i]!;
      expect(f.data.length + 7).toBe(e.size);
      // ffmpeg adds a rounded 2090-tick duration per frame at 44.1 kHz; we use the exact
      // 1024 * 90000 / 44100 from each PES PTS: the two agree within a couple of ticks.
      expect(Math.abs(f.pts - e.pts)).toBeLessThanOrEqual(2);
      expect(f.discontinuity).toBe(false);
    });
  });

  it('builds avcC (byte for byte as ffmpeg writes it into MP4), codec strings and the ASC', () => {
    const c = configs(clean);
    expect(c).toHaveLength(2);
    const v = c.find((x) => x.codec === 'avc')!;
    const a = c.find((x) => x.codec === 'aac')!;
    if (v.codec !== 'avc' || a.codec !== 'aac') throw new Error('unreachable');
    expect(Buffer.from(v.avcC).equals(avcC)).toBe(true);
    const vs = streams.find((s) => s['codec_type'] === 'video')!;
    const profileIdc = { Baseline: 66, 'Constrained Baseline': 66, Main: 77, High: 100 }[String(vs['profile'])];
    expect(v.codecString.slice(0, 7)).toBe(`avc1.${profileIdc!.toString(16)}`);
    expect(parseInt(v.codecString.slice(9, 11), 16)).toBe(Number(vs['level']));
    expect(v.config.nalLengthSize).toBe(4);
    const as = streams.find((s) => s['codec_type'] === 'audio')!;
    const asc = parseAudioSpecificConfig(a.asc);
    expect(asc.sampleRate).toBe(Number(as['sample_rate']));
    expect(asc.channelConfig).toBe(Number(as['channels']));
    expect(a.codecString).toBe(as['profile'] === 'LC' ? 'mp4a.40.2' : 'unexpected');
    // Configs come before the first unit of their stream.
    expect(clean.findIndex((e) => e === v)).toBeLessThan(clean.findIndex((e) => e.kind === 'video'));
    expect(clean.findIndex((e) => e === a)).toBeLessThan(clean.findIndex((e) => e.kind === 'audio'));
  });

  it('gives the same output for any split of the input, with clean stats', () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const { events, d } = demux(ts, () => 1 + Math.floor(r() * 3000));
      expect(events).toEqual(clean);
      expect(d.stats).toMatchObject({ ccErrors: 0, duplicates: 0, teiDropped: 0, resyncs: 0, skippedBytes: 0, crcErrors: 0, pesDropped: 0, esErrors: 0 });
      expect(d.stats.packets).toBe(ts.length / 188);
    }
  });

  it('a dropped packet: one CC error, that PES lost, the next unit flagged', () => {
    // A video packet in the middle of a PES, about 30 frames in.
    const n = ts.length / 188;
    let start = -1;
    let seen = 0;
    for (let i = 0; i < n && start < 0; i++) if (pidOf(ts, i) === vpid && pusi(ts, i) && ++seen === 30) start = i;
    let drop = start + 1;
    while (pidOf(ts, drop) !== vpid) drop++;
    expect(pusi(ts, drop)).toBe(false);
    const lostPts = readTs(ts, payloadAt(ts, start) + 9);
    const cut = new Uint8Array(ts.length - 188);
    cut.set(ts.subarray(0, drop * 188));
    cut.set(ts.subarray((drop + 1) * 188), drop * 188);
    const { events, d } = demux(cut, datagrams);
    expect(d.stats.ccErrors).toBe(1);
    expect(d.stats.pesDropped).toBe(1);
    const v = video(events);
    const expected = video(clean).filter((u) => u.pts !== lostPts);
    expect(v.length).toBe(video(clean).length - 1);
    expect(v.map((u) => u.pts)).toEqual(expected.map((u) => u.pts));
    const after = video(clean).findIndex((u) => u.pts === lostPts);
    expect(v.map((u, i) => (u.discontinuity ? i : -1)).filter((i) => i >= 0)).toEqual([after]);
    expect(audio(events)).toEqual(audio(clean));
  });

  it('a duplicated packet: counted, dropped, output identical', () => {
    const i = 400;
    const dup = new Uint8Array(ts.length + 188);
    dup.set(ts.subarray(0, (i + 1) * 188));
    dup.set(ts.subarray(i * 188, (i + 1) * 188), (i + 1) * 188);
    dup.set(ts.subarray((i + 1) * 188), (i + 2) * 188);
    const { events, d } = demux(dup, datagrams);
    expect(d.stats.duplicates).toBe(1);
    expect(d.stats.ccErrors).toBe(0);
    expect(events).toEqual(clean);
  });

  it('garbage between packets: resyncs without losing data', () => {
    const garbage = Uint8Array.from({ length: 50 }, (_, k) => (k % 7 === 3 ? 0x47 : (k * 37) & 0xff));
    const at = 300 * 188;
    const g = new Uint8Array(ts.length + garbage.length);
    g.set(ts.subarray(0, at));
    g.set(garbage, at);
    g.set(ts.subarray(at), at + garbage.length);
    const { events, d } = demux(g, datagrams);
    expect(d.stats.resyncs).toBe(1);
    expect(d.stats.skippedBytes).toBe(garbage.length);
    expect(d.stats.ccErrors).toBe(0);
    expect(events).toEqual(clean);
  });

  it('drops packets with transport_error_indicator', () => {
    const t = ts.slice();
    let i = 200;
    while (pidOf(t, i) !== apid) i++;
    t[i * 188 + 1]! |= 0x80;
    const { events, d } = demux(t, datagrams);
    expect(d.stats.teiDropped).toBe(1);
    expect(d.stats.ccErrors).toBe(1); // the next audio packet sees the gap
    expect(audio(events).length).toBeLessThan(audio(clean).length);
    expect(video(events)).toEqual(video(clean));
  });

  it('unwraps PTS/DTS across 2^33', () => {
    const first = video(clean)[0]!.dts;
    // The 33-bit clock wraps about 1.5 s into the stream.
    const offset = TS_WRAP - first - 135000;
    const w = ts.slice();
    forEachPesTimestamps(w, new Set([vpid, apid]), (p, dt) => {
      writeTs(w, p, (readTs(w, p) + offset) % TS_WRAP);
      if (dt >= 0) writeTs(w, dt, (readTs(w, dt) + offset) % TS_WRAP);
    });
    const { events } = demux(w, datagrams);
    const v = video(events);
    expect(v.map((u) => [u.pts - offset, u.dts - offset])).toEqual(video(clean).map((u) => [u.pts, u.dts]));
    expect(v.some((u) => u.dts >= TS_WRAP)).toBe(true);
    for (let i = 1; i < v.length; i++) expect(v[i]!.dts).toBeGreaterThan(v[i - 1]!.dts);
    expect(audio(events).map((f) => f.pts - offset)).toEqual(audio(clean).map((f) => f.pts));
  });

  it('a PMT version change signals a new track set and keeps the streams going', () => {
    const n = ts.length / 188;
    const pmts: number[] = [];
    for (let i = 0; i < n; i++) if (pidOf(ts, i) === pmtPid) pmts.push(i);
    expect(pmts.length).toBeGreaterThan(2);
    const t = ts.slice();
    const bumped = pmts.slice(Math.floor(pmts.length / 2));
    for (const i of bumped) {
      const s = payloadAt(t, i) + 1 + t[payloadAt(t, i)]!; // after pointer_field
      const len = 3 + (((t[s + 1]! & 0x0f) << 8) | t[s + 2]!);
      t[s + 5] = (t[s + 5]! & 0xc1) | (1 << 1); // version_number 1
      const crc = crc32Mpeg(t, s, s + len - 4);
      t.set([crc >>> 24, (crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff], s + len - 4);
    }
    const { events, d } = demux(t, datagrams);
    const p = programs(events);
    expect(p.map((x) => x.version)).toEqual([0, 1]);
    expect(p[1]!.streams).toEqual(p[0]!.streams);
    expect(d.stats.crcErrors).toBe(0);
    expect(events.filter((e) => e.kind !== 'program')).toEqual(clean.filter((e) => e.kind !== 'program'));

    // A PMT with a bad CRC is ignored and counted.
    const c = ts.slice();
    c[payloadAt(c, pmts[1]!) + 10]! ^= 0xff;
    const r = demux(c, datagrams);
    expect(r.d.stats.crcErrors).toBe(1);
    expect(r.events).toEqual(clean);
  });

  it('honours a program selection that is not in the PAT (nothing demuxed)', () => {
    const { events } = demux(ts, datagrams, { program: 77 });
    expect(events).toEqual([]);
  });
});

describe('TsDemuxer on an MPTS (two programs)', () => {
  let dir: string;
  let file: string;
  let ts: Uint8Array;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ts-demux-mpts-'));
    file = join(dir, 'mpts.ts');
    // Program 1: 320x240 pictures; program 2: 256x144 bars; each with its own AAC PID.
    run('ffmpeg', [
      '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'smptebars=size=256x144:rate=25',
      '-f', 'lavfi', '-i', 'sine=f=440:r=48000', '-t', '2', '-map', '0:v', '-map', '2:a', '-map', '1:v', '-map', '2:a',
      '-c:v', 'libx264', '-g', '25', '-c:a', 'aac', '-program', 'program_num=1:st=0:st=1', '-program', 'program_num=7:st=2:st=3',
      '-f', 'mpegts', file,
    ]);
    ts = new Uint8Array(readFileSync(file));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** ffprobe's packets of one program's video (`p:N:v`): PTS, DTS and sizes in decode order. */
  function programVideo(program: number): Array<[number, number]> {
    const j = JSON.parse(run('ffprobe', ['-v', 'error', '-select_streams', `p:${program}:v`, '-show_entries', 'packet=pts,dts', '-of', 'json', file])) as {
      packets: Array<Record<string, string>>;
    };
    return j.packets.map((p) => [Number(p['pts']), Number(p['dts'])]);
  }

  it('takes the program named by program= and only its PIDs; the first program without it', () => {
    for (const [opts, program, width] of [[{ program: 7 }, 7, 256], [undefined, 1, 320]] as const) {
      const { events } = demux(ts, datagrams, opts);
      const p = programs(events);
      expect(p.map((x) => x.program)).toEqual([program]);
      const pids = new Set(p[0]!.streams.map((st) => st.pid));
      expect(pids.size).toBe(2);
      for (const e of events) if (e.kind !== 'program') expect(pids.has(e.pid), `${e.kind} on PID ${e.pid}`).toBe(true);
      const avc = configs(events).find((c) => c.codec === 'avc');
      expect(avc?.codec === 'avc' && parseAvcSps(avc.config.sps[0]!).width).toBe(width);
      const v = video(events);
      expect(v.map((u) => [u.pts, u.dts])).toEqual(programVideo(program));
      expect(audio(events).length).toBeGreaterThan(80);
    }
  });
});
