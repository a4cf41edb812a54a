/**
 * H265EsParser against FFmpeg as the independent oracle: HEVC (libx265, B-frames, open GOP) muxed to
 * MPEG-TS by ffmpeg is cut into PES here and parsed; the access units must be ffprobe's packets (count,
 * PTS/DTS, key flags) and frames (key frames), their bytes the samples ffmpeg's MP4 muxer writes for
 * the same stream (`-c copy -tag:v hvc1`), and the hvcC the one it writes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHvcC } from '../../../../src/media/codec/hevc.js';
import { H265EsParser, type H265Config, type H265Output, type H265Pes } from '../../../../src/source/live/h265-es.js';
import { parsePes } from '../../../../src/source/live/pes.js';
import { TsDemuxer, type DemuxEvent } from '../../../../src/source/live/ts-demux.js';
import { ffprobeBytes } from '../../../helpers/ffmpeg.js';

function run(cmd: string, args: string[]): string {
  const r = spawnSync('nice', [cmd, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function ffprobe<T>(args: string[]): T {
  return JSON.parse(run('ffprobe', ['-v', 'error', ...args, '-of', 'json'])) as T;
}

/** An HEVC-only MPEG-TS from libx265 (its default open GOP: CRA key frames with RASL pictures after them). */
function encode(file: string, size: string, seconds: number, tsOffset = 0): void {
  run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25`, '-t', String(seconds),
    '-c:v', 'libx265', '-x265-params', 'keyint=25:bframes=2:log-level=error',
    '-output_ts_offset', String(tsOffset), '-f', 'mpegts', file,
  ]);
}

/** The PES packets of the first video PID, as the demuxer hands them on (PTS/DTS not unwrapped: no wrap here). */
function videoPes(ts: Uint8Array): H265Pes[] {
  let pid = -1;
  const pes: Uint8Array[][] = [];
  for (let at = 0; at + 188 <= ts.length; at += 188) {
    const p = ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
    const start = (ts[at + 1]! & 0x40) !== 0;
    const payload = ts.subarray((ts[at + 3]! & 0x20) !== 0 ? at + 5 + ts[at + 4]! : at + 4, at + 188);
    // The first PES with a video stream id picks the PID.
    if (pid < 0 && start && payload[0] === 0 && payload[1] === 0 && payload[2] === 1 && (payload[3]! & 0xf0) === 0xe0) pid = p;
    if (p !== pid) continue;
    if (start) pes.push([]);
    pes.at(-1)?.push(payload);
  }
  return pes.map((parts) => {
    const p = parsePes(Buffer.concat(parts))!;
    return p.pts === undefined ? { data: p.payload, discontinuity: false } : { pts: p.pts, dts: p.dts ?? p.pts, data: p.payload, discontinuity: false };
  });
}

function parse(pes: readonly H265Pes[]): H265Output[] {
  const parser = new H265EsParser();
  const out: H265Output[] = [];
  for (const p of pes) parser.push(p, out);
  parser.flush(out);
  expect(parser.errors).toBe(0);
  return out;
}

const units = (out: H265Output[]) => out.flatMap((o) => (o.type === 'unit' ? [o.value] : []));
/** nal_unit_type of each NAL unit of a 4-byte length-prefixed sample. */
function nalTypes(sample: Uint8Array): number[] {
  const types: number[] = [];
  for (let p = 0; p + 4 < sample.length; p += 4 + ((sample[p]! << 24) | (sample[p + 1]! << 16) | (sample[p + 2]! << 8) | sample[p + 3]!)) {
    types.push((sample[p + 4]! >> 1) & 0x3f);
  }
  return types;
}

const configs = (out: H265Output[]): H265Config[] => out.flatMap((o) => (o.type === 'config' ? [o.value] : []));

/**
 * A sample's 4-byte length-prefixed NAL units without VPS, SPS, PPS and AUD (NAL types 32..35), and
 * without trailing zero bytes: a NAL unit never ends in 0x00 (H.265 §7.4.2); FFmpeg's parser leaves
 * the zero_byte of the next 4-byte start code at the end of a packet and `-c copy` keeps it.
 */
function normalized(sample: Buffer): Buffer {
  const keep: Buffer[] = [];
  for (let p = 0; p < sample.length; ) {
    const start = p + 4;
    p = start + sample.readUInt32BE(start - 4);
    if ((sample[start]! >> 1) >= 32 && (sample[start]! >> 1) <= 35) continue;
    let end = p;
    while (end > start && sample[end - 1] === 0) end--;
    const head = Buffer.alloc(4);
    head.writeUInt32BE(end - start);
    keep.push(head, sample.subarray(start, end));
  }
  return Buffer.concat(keep);
}

interface Mp4Video {
  hvcC: Buffer;
  width: number;
  height: number;
  samples: Buffer[];
}

/** ffmpeg's own MP4 of the stream: the hvcC and the samples (decode order) its muxer writes. */
function ffmpegMp4(ts: string, mp4: string): Mp4Video {
  run('ffmpeg', ['-v', 'error', '-i', ts, '-map', '0:v', '-c', 'copy', '-tag:v', 'hvc1', '-f', 'mp4', mp4]);
  const s = ffprobe<{ streams: Array<Record<string, string | number>> }>(['-select_streams', 'v', '-show_streams', '-show_data', mp4]).streams[0]!;
  const pk = ffprobe<{ packets: Array<Record<string, string>> }>(['-select_streams', 'v', '-show_packets', '-show_data', mp4]).packets;
  return { hvcC: ffprobeBytes(String(s['extradata'])), width: Number(s['width']), height: Number(s['height']), samples: pk.map((p) => ffprobeBytes(p['data']!)) };
}

describe('H265EsParser vs ffmpeg', () => {
  let dir: string;
  let pes: H265Pes[];
  let out: H265Output[];
  let packets: Array<{ pts: number; dts: number; key: boolean }>;
  let frames: Array<{ pts: number; key: boolean }>;
  let mp4: Mp4Video;
  let ts: Uint8Array;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'h265-es-'));
    const file = join(dir, 'v.ts');
    encode(file, '320x240', 3);
    ts = new Uint8Array(readFileSync(file));
    pes = videoPes(ts);
    out = parse(pes);
    packets = ffprobe<{ packets: Array<Record<string, string>> }>(['-select_streams', 'v', '-show_entries', 'packet=pts,dts,flags', file]).packets.map((p) => ({
      pts: Number(p['pts']),
      dts: Number(p['dts']),
      key: p['flags']!.includes('K'),
    }));
    frames = ffprobe<{ frames: Array<Record<string, string | number>> }>(['-select_streams', 'v', '-show_entries', 'frame=pts,key_frame', file]).frames.map((f) => ({
      pts: Number(f['pts']),
      key: Number(f['key_frame']) === 1,
    }));
    mp4 = ffmpegMp4(file, join(dir, 'v.mp4'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('outputs one access unit per frame ffprobe decodes, with its PTS, DTS and key flag', () => {
    const u = units(out);
    expect(u.length).toBe(75);
    expect(u.length).toBe(frames.length);
    expect(u.map((x) => [x.pts, x.dts, x.key])).toEqual(packets.map((p) => [p.pts, p.dts, p.key]));
    // Key frames (IRAP) at the pictures the decoder reports as key frames; B-frames reorder them.
    expect(u.filter((x) => x.key).map((x) => x.pts)).toEqual(frames.filter((f) => f.key).map((f) => f.pts).sort((a, b) => a - b));
    expect(u.filter((x) => x.key).map((x) => nalTypes(x.data).at(-1))).toEqual([20, 21, 21]); // IDR_N_LP, then CRA
    expect(u.some((x) => nalTypes(x.data).includes(8))).toBe(true); // RASL_N: the open GOP's leading pictures
    expect(u.some((x) => x.pts !== x.dts)).toBe(true);
    expect(u.every((x) => !x.discontinuity)).toBe(true);
  });

  it('outputs the samples of ffmpeg\'s hvc1 MP4, byte for byte (AUD, parameter sets, zero_byte aside)', () => {
    const u = units(out);
    expect(mp4.samples.length).toBe(u.length);
    // ffmpeg's mpegts muxer inserts an AUD in each access unit, and `-c copy` (FFmpeg 5.1) keeps it
    // and the in-band VPS/SPS/PPS in the MP4 samples even under hvc1. The parser drops AUDs (the TS
    // writer adds its own) and keeps parameter sets in the hvcC only.
    expect(mp4.samples.every((s) => !normalized(s).equals(s))).toBe(true);
    u.forEach((x, i) => expect(Buffer.from(x.data).equals(normalized(mp4.samples[i]!)), `sample ${i}`).toBe(true));
    // SEI stays: x265 writes its settings as a user-data SEI in the first access unit.
    expect(u[0]!.data[4]! >> 1).toBe(39);
  });

  it('builds the hvcC ffmpeg writes, its codec string and the picture size', () => {
    const c = configs(out);
    expect(c).toHaveLength(1);
    expect(out[0]!.type).toBe('config');
    expect(Buffer.from(c[0]!.hvcC).equals(mp4.hvcC)).toBe(true);
    const parsed = parseHvcC(c[0]!.hvcC);
    expect([parsed.vps.length, parsed.sps.length, parsed.pps.length, parsed.nalLengthSize]).toEqual([1, 1, 1, 4]);
    expect(parsed.chromaFormat).toBe(1);
    expect(c[0]!.codecString).toBe(parsed.codecString('hvc1'));
    expect(c[0]!.codecString).toMatch(/^hvc1\.1\.6\.L\d+\.90$/);
    expect([c[0]!.width, c[0]!.height]).toEqual([mp4.width, mp4.height]);
  });

  it('gives the same output when PES payloads are split mid-NAL into PES without a PTS', () => {
    const split = pes.flatMap((p) => {
      // Inside a NAL unit, clear of start codes and of zero bytes (which end a NAL unit in Annex B).
      let cut = Math.floor(p.data.length / 2);
      while (p.data[cut - 1] === 0 || p.data[cut] === 0 || p.data[cut + 1] === 0) cut++;
      return [{ ...p, data: p.data.subarray(0, cut) }, { data: p.data.subarray(cut), discontinuity: false }];
    });
    const again = parse(split);
    expect(again.length).toBe(out.length);
    again.forEach((o, i) => {
      const e = out[i]!;
      expect(o.type).toBe(e.type);
      if (o.type === 'unit' && e.type === 'unit') expect(Buffer.from(o.value.data).equals(Buffer.from(e.value.data))).toBe(true);
    });
  });

  it('is what TsDemuxer runs for stream_type 0x24: an hevc stream, its config and the same units', () => {
    const d = new TsDemuxer();
    const events: DemuxEvent[] = [];
    for (let at = 0; at < ts.length; at += 1316) events.push(...d.push(ts.subarray(at, at + 1316)));
    events.push(...d.flush());
    const program = events.find((e) => e.kind === 'program');
    expect(program?.kind === 'program' && program.streams.map((s) => [s.streamType, s.codec])).toEqual([[0x24, 'hevc']]);
    const config = events.find((e) => e.kind === 'config');
    expect(config).toMatchObject({ codec: 'hevc', width: 320, height: 240, codecString: configs(out)[0]!.codecString });
    const video = events.flatMap((e) => (e.kind === 'video' ? [e] : []));
    expect(video.map((v) => [v.pts, v.dts, v.key, Buffer.from(v.data).toString('base64')])).toEqual(
      units(out).map((u) => [u.pts, u.dts, u.key, Buffer.from(u.data).toString('base64')]),
    );
    expect(d.stats.esErrors).toBe(0);
  });

  it('hands a unit out at the first packet of the next video PES, with the bytes the old rule gives', () => {
    const videoPid = ((): number => {
      const d = new TsDemuxer();
      const p = d.push(ts).find((e) => e.kind === 'program');
      return p?.kind === 'program' ? p.streams[0]!.pid : -1;
    })();
    const early = new TsDemuxer();
    const late = new TsDemuxer({ earlyUnits: false });
    const emittedAt: number[] = [];
    const starts: number[] = [];
    const earlyUnits: string[] = [];
    const lateUnits: string[] = [];
    const key = (e: DemuxEvent): string => (e.kind === 'video' ? `${e.pts}/${e.dts}/${e.key}/${Buffer.from(e.data).toString('base64')}` : '');
    for (let i = 0, at = 0; at < ts.length; i++, at += 188) {
      const packet = ts.subarray(at, at + 188);
      if ((((packet[1]! & 0x1f) << 8) | packet[2]!) === videoPid && packet[1]! & 0x40) starts.push(i);
      for (const e of early.push(packet)) if (e.kind === 'video') (emittedAt.push(i), earlyUnits.push(key(e)));
      for (const e of late.push(packet)) if (e.kind === 'video') lateUnits.push(key(e));
    }
    for (const e of early.flush()) if (e.kind === 'video') earlyUnits.push(key(e));
    for (const e of late.flush()) if (e.kind === 'video') lateUnits.push(key(e));
    expect(earlyUnits).toEqual(lateUnits);
    expect(earlyUnits).toHaveLength(75);
    // Unit k is complete when PES k + 1 begins (one access unit per PES, as ffmpeg writes them).
    expect(emittedAt).toEqual(starts.slice(1));
  });

  it('after a loss, outputs what it has and marks the next unit as a discontinuity', () => {
    const parser = new H265EsParser();
    const o: H265Output[] = [];
    for (const p of pes.slice(0, 10)) parser.push(p, o);
    parser.discard(o);
    expect(units(o)).toHaveLength(10);
    for (const p of pes.slice(12)) parser.push(p, o);
    parser.flush(o);
    const u = units(o);
    expect(u).toHaveLength(73);
    expect(u.map((x) => x.discontinuity).indexOf(true)).toBe(10);
    expect(u.filter((x) => x.discontinuity)).toHaveLength(1);
    expect(configs(o)).toHaveLength(1);
  });
});

describe('H265EsParser: a resolution change mid-stream', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'h265-es-res-'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('emits a second config (the second part\'s hvcC, size) before its first unit', () => {
    // 180 lines are coded as 184 (CTUs of 8 at least): the conformance window crops 4.
    encode(join(dir, 'a.ts'), '320x180', 1);
    encode(join(dir, 'b.ts'), '256x144', 1, 2);
    const a = videoPes(new Uint8Array(readFileSync(join(dir, 'a.ts'))));
    const b = videoPes(new Uint8Array(readFileSync(join(dir, 'b.ts'))));
    const out = parse([...a, ...b]);
    const c = configs(out);
    expect(c.map((x) => [x.width, x.height])).toEqual([
      [320, 180],
      [256, 144],
    ]);
    const second = out.findIndex((o) => o.type === 'config' && o.value === c[1]);
    expect(units(out.slice(0, second))).toHaveLength(25);
    expect(units(out.slice(second))).toHaveLength(25);
    expect(out[second + 1]).toMatchObject({ type: 'unit', value: { key: true } });
    expect(Buffer.from(c[0]!.hvcC).equals(ffmpegMp4(join(dir, 'a.ts'), join(dir, 'a.mp4')).hvcC)).toBe(true);
    expect(Buffer.from(c[1]!.hvcC).equals(ffmpegMp4(join(dir, 'b.ts'), join(dir, 'b.mp4')).hvcC)).toBe(true);
  });
});
