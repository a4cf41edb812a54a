/**
 * Early output of H.264 access units (h264-es.ts, ts-demux.ts): the demuxer hands an access unit out
 * as soon as it is known complete instead of when the next one starts, and the segments must not
 * change for it. The elementary streams of an ffmpeg TS are muxed again here with PES layouts ffmpeg
 * does not write (length-bounded video PES, access units split across PES, two per PES, only the key
 * frames split, one split late in an aligned stream), then each layout is segmented with the early
 * rule and with the old one (`earlyUnits: false`), fed in datagrams, in one go and packet by packet.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32Mpeg } from '../../../../src/mux/ts/crc32.js';
import { LiveSegmenter } from '../../../../src/source/live/live-segmenter.js';
import { parsePes } from '../../../../src/source/live/pes.js';
import { TsDemuxer, type DemuxEvent, type VideoUnit } from '../../../../src/source/live/ts-demux.js';
import type { LiveSegment } from '../../../../src/source/live/types.js';

const VIDEO = 0x100;
const AUDIO = 0x101;
const PMT = 0x1000;

interface Pes {
  readonly pid: number;
  readonly pts?: number;
  readonly dts?: number;
  /** Elementary-stream bytes. */
  readonly es: Uint8Array;
  /** PES_packet_length 0 (unbounded). */
  readonly unbounded: boolean;
  /** Marks the PES holding a key frame's start, for the latency test. */
  readonly key?: boolean;
}

/** The PES packets of an ffmpeg TS (one video access unit per PES), in the order they start. */
function readPes(ts: Uint8Array): Pes[] {
  const open = new Map<number, { parts: Uint8Array[] }>();
  const order: Array<{ pid: number; parts: Uint8Array[] }> = [];
  for (let at = 0; at + 188 <= ts.length; at += 188) {
    const pid = ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
    if (pid !== VIDEO && pid !== AUDIO) continue;
    const p = (ts[at + 3]! & 0x20) !== 0 ? at + 5 + ts[at + 4]! : at + 4;
    if (ts[at + 1]! & 0x40) {
      const rec = { pid, parts: [] as Uint8Array[] };
      open.set(pid, rec);
      order.push(rec);
    }
    open.get(pid)?.parts.push(ts.subarray(p, at + 188));
  }
  return order.map(({ pid, parts }) => {
    const pes = parsePes(Buffer.concat(parts))!;
    const es = new Uint8Array(pes.payload);
    // IDR slice (type 5) anywhere in the unit.
    let key = false;
    for (let i = 0; i + 3 < es.length; i++) if (es[i] === 0 && es[i + 1] === 0 && es[i + 2] === 1 && (es[i + 3]! & 0x1f) === 5) key = true;
    const t = pes.pts === undefined ? {} : pes.dts === undefined ? { pts: pes.pts } : { pts: pes.pts, dts: pes.dts };
    return { pid, ...t, es, unbounded: false, key: pid === VIDEO && key };
  });
}

function timestamp(prefix: number, v: number): number[] {
  const hi = Math.floor(v / 2 ** 30) & 7;
  const lo = v % 2 ** 30;
  return [(prefix << 4) | (hi << 1) | 1, (lo >> 22) & 0xff, (((lo >> 15) & 0x7f) << 1) | 1, (lo >> 7) & 0xff, ((lo & 0x7f) << 1) | 1];
}

class TsWriter {
  readonly packets: Uint8Array[] = [];
  /** Index of the first and last TS packet of every PES written, in order. */
  readonly spans: Array<{ pes: Pes; first: number; last: number }> = [];
  private readonly cc = new Map<number, number>();

  private packet(pid: number, pusi: boolean, payload: Uint8Array): void {
    const cc = this.cc.get(pid) ?? 0;
    this.cc.set(pid, (cc + 1) & 0x0f);
    const p = new Uint8Array(188).fill(0xff);
    p[0] = 0x47;
    p[1] = (pusi ? 0x40 : 0) | (pid >> 8);
    p[2] = pid & 0xff;
    const stuffing = 184 - payload.length;
    if (stuffing > 0) {
      p[3] = 0x30 | cc;
      p[4] = stuffing - 1;
      if (stuffing > 1) p[5] = 0;
      p.set(payload, 4 + stuffing);
    } else {
      p[3] = 0x10 | cc;
      p.set(payload, 4);
    }
    this.packets.push(p);
  }

  private section(pid: number, body: number[]): void {
    const s = Uint8Array.from([...body, 0, 0, 0, 0]);
    const crc = crc32Mpeg(s, 0, s.length - 4);
    s.set([crc >>> 24, (crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff], s.length - 4);
    this.packet(pid, true, Uint8Array.from([0, ...s]));
  }

  psi(): void {
    this.section(0, [0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xe0 | (PMT >> 8), PMT & 0xff]);
    const streams = [0x1b, 0xe0 | (VIDEO >> 8), VIDEO & 0xff, 0xf0, 0, 0x0f, 0xe0 | (AUDIO >> 8), AUDIO & 0xff, 0xf0, 0];
    this.section(PMT, [0x02, 0xb0, 9 + streams.length + 4, 0, 1, 0xc1, 0, 0, 0xe0 | (VIDEO >> 8), VIDEO & 0xff, 0xf0, 0, ...streams]);
  }

  pes(pes: Pes): void {
    const optional =
      pes.pts === undefined ? [0x80, 0x00, 0] : pes.dts === undefined ? [0x80, 0x80, 5, ...timestamp(2, pes.pts)] : [0x80, 0xc0, 10, ...timestamp(3, pes.pts), ...timestamp(1, pes.dts)];
    const length = pes.unbounded ? 0 : optional.length + pes.es.length;
    if (length > 0xffff) throw new Error('PES too long for a length');
    const sid = pes.pid === VIDEO ? 0xe0 : 0xc0;
    const bytes = Buffer.concat([Uint8Array.from([0, 0, 1, sid, length >> 8, length & 0xff, ...optional]), pes.es]);
    const first = this.packets.length;
    for (let at = 0; at < bytes.length; at += 184) this.packet(pes.pid, at === 0, bytes.subarray(at, at + 184));
    this.spans.push({ pes, first, last: this.packets.length - 1 });
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.packets);
  }
}

type Layout = 'ffmpeg' | 'bounded' | 'split' | 'split-unbounded' | 'pairs' | 'key-split' | 'late-split';

/** The same elementary streams, video PES laid out as named; audio PES as ffmpeg wrote them. */
function remux(source: readonly Pes[], layout: Layout): TsWriter {
  const w = new TsWriter();
  w.psi();
  let videoIndex = 0;
  let held: Pes | null = null;
  for (const p of source) {
    if (p.pid !== VIDEO) {
      w.pes(p);
      continue;
    }
    const i = videoIndex++;
    const half = (bounded: boolean): void => {
      // Cut inside a NAL unit: the second PES starts with the rest of it (no start code, no PTS).
      const cut = Math.floor(p.es.length / 2);
      w.pes({ ...p, es: p.es.subarray(0, cut), unbounded: !bounded });
      w.pes({ pid: VIDEO, es: p.es.subarray(cut), unbounded: !bounded });
    };
    switch (layout) {
      case 'ffmpeg':
        w.pes({ ...p, unbounded: true });
        break;
      case 'bounded':
        w.pes(p);
        break;
      case 'split':
        half(true);
        break;
      case 'split-unbounded':
        half(false);
        break;
      case 'key-split':
        // Joined mid-GOP (so whole P and B frames come first), every key frame split.
        if (i < 5) break;
        if (p.key) half(true);
        else w.pes(p);
        break;
      case 'late-split':
        if (i === 60) half(true);
        else w.pes(p);
        break;
      case 'pairs':
        if (held) {
          w.pes({ ...held, es: Buffer.concat([held.es, p.es]) });
          held = null;
        } else held = p;
        break;
    }
  }
  if (held) w.pes(held);
  return w;
}

function demuxer(early: boolean): TsDemuxer {
  return new TsDemuxer(early ? {} : { earlyUnits: false });
}

/** Segments (and all demux events, for comparison) of `ts` pushed in chunks of `step` bytes. */
function segment(ts: Uint8Array, step: number, early: boolean): { segments: LiveSegment[]; events: DemuxEvent[]; d: TsDemuxer } {
  const segments: LiveSegment[] = [];
  const events: DemuxEvent[] = [];
  const d = demuxer(early);
  const s = new LiveSegmenter({ segmentDuration: 1, now: () => 1_700_000_000_000, onSegment: (x) => void segments.push(x) });
  for (let at = 0; at < ts.length; at += step) {
    const e = d.push(ts.subarray(at, at + step));
    events.push(...e);
    s.push(e);
  }
  const e = d.flush();
  events.push(...e);
  s.push(e);
  return { segments, events, d };
}

/** Everything of a segment that is served, reduced to comparable strings (toEqual on the typed arrays is slow). */
function digest(segments: readonly LiveSegment[]): string[] {
  return segments.map((seg) => {
    const h = createHash('sha256');
    for (const d of seg.data) {
      const t = d.track.samples;
      for (const a of [t.dts, t.cto, t.duration, t.size, t.offset, t.sync]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      h.update(d.data);
    }
    const { data: _data, ...info } = seg;
    return `${JSON.stringify(info)} ${h.digest('hex')}`;
  });
}

const videoUnits = (e: readonly DemuxEvent[]): VideoUnit[] => e.filter((x): x is VideoUnit => x.kind === 'video');

let dir: string;
let source: Pes[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'early-units-'));
  const file = join(dir, 'in.ts');
  // 6 s, B-frames, a key frame every 25 frames, AAC: small frames, so every one fits a bounded PES.
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=sample_rate=48000',
    '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-c:a', 'aac', '-f', 'mpegts', file]);
  source = readPes(new Uint8Array(readFileSync(file)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('early access units: same segments whatever the PES layout and the feeding', () => {
  for (const layout of ['ffmpeg', 'bounded', 'split', 'split-unbounded', 'key-split'] as const) {
    it(`${layout}: early rule = old rule; in one go = in datagrams = packet by packet`, () => {
      const ts = remux(source, layout).bytes();
      const old = segment(ts, 1316, false);
      const early = segment(ts, 1316, true);
      expect(old.segments.length).toBeGreaterThanOrEqual(3);
      expect(digest(early.segments)).toEqual(digest(old.segments));
      expect(videoUnits(early.events)).toEqual(videoUnits(old.events));
      expect(early.d.stats).toEqual(old.d.stats);
      expect(early.d.stats.esErrors).toBe(0);
      expect(digest(segment(ts, ts.length, true).segments)).toEqual(digest(old.segments));
      expect(digest(segment(ts, 188, true).segments)).toEqual(digest(old.segments));
    });
  }

  it('pairs (two access units per PES, one PTS): the same units as the old rule', () => {
    // The second unit of a PES inherits the first one's timestamps (there is no other PTS to give it),
    // so the segmenter sees a timeline break at every pair and closes segments at once with the audio
    // that has arrived by then: segments depend on arrival timing under either rule. The units do not.
    const ts = remux(source, 'pairs').bytes();
    const old = segment(ts, 1316, false);
    const early = segment(ts, 1316, true);
    expect(videoUnits(early.events)).toEqual(videoUnits(old.events));
    expect(videoUnits(segment(ts, 188, true).events)).toEqual(videoUnits(old.events));
    expect(early.d.stats).toEqual(old.d.stats);
  });

  it('a stream aligned for a while, then one access unit split across PES: that unit is cut short, counted, and the stream goes on', () => {
    const ts = remux(source, 'late-split').bytes();
    const old = segment(ts, 1316, false);
    const early = segment(ts, 1316, true);
    expect(old.d.stats.esErrors).toBe(0);
    expect(early.d.stats.esErrors).toBe(1);
    const ov = videoUnits(old.events);
    const ev = videoUnits(early.events);
    // The same units with the same times; only the split one is shorter, and the one after it flagged.
    expect(ev.map((u) => [u.pts, u.dts, u.key])).toEqual(ov.map((u) => [u.pts, u.dts, u.key]));
    const differ = ev.flatMap((u, i) => (Buffer.compare(u.data, ov[i]!.data) !== 0 ? [i] : []));
    expect(differ).toHaveLength(1);
    expect(ev[differ[0]!]!.data.length).toBeLessThan(ov[differ[0]!]!.data.length);
    expect(ev.flatMap((u, i) => (u.discontinuity ? [i] : []))).toEqual([differ[0]! + 1]);
    // From then on the stream is not speculated on: later units are the old rule's, byte for byte.
    expect(ev.slice(differ[0]! + 1).map((u) => u.data)).toEqual(ov.slice(differ[0]! + 1).map((u) => u.data));
  });
});

describe('early access units: when a key frame comes out', () => {
  /** Per key frame PES after the first second: the packet index whose push output the key frame's unit. */
  function keyOutputs(layout: Layout, early: boolean): Array<{ first: number; last: number; out: number; nextVideoFirst: number; nextVideoLast: number; nextButOneFirst: number }> {
    const w = remux(source, layout);
    const d = demuxer(early);
    const outAt = new Map<number, number>();
    w.packets.forEach((p, i) => {
      for (const e of d.push(p)) if (e.kind === 'video' && e.key) outAt.set(e.pts, i);
    });
    const video = w.spans.filter((s) => s.pes.pid === VIDEO);
    return video.flatMap((s, k) =>
      s.pes.key && k >= 25 && k + 2 < video.length
        ? [{ first: s.first, last: s.last, out: outAt.get(s.pes.pts!) ?? -1, nextVideoFirst: video[k + 1]!.first, nextVideoLast: video[k + 1]!.last, nextButOneFirst: video[k + 2]!.first }]
        : [],
    );
  }

  it('bounded PES, aligned: in the push of the key frame\'s last packet, before any packet of the next PES', () => {
    const keys = keyOutputs('bounded', true);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const k of keys) expect(k.out).toBe(k.last);
    // The old rule: only once the next video PES is complete (its first NAL unit starts a unit).
    for (const k of keyOutputs('bounded', false)) expect(k.out).toBe(k.nextVideoLast);
  });

  it('PES_packet_length 0 (ffmpeg): in the push of the next video PES\'s first packet, the first moment its end is known', () => {
    const keys = keyOutputs('ffmpeg', true);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const k of keys) expect(k.out).toBe(k.nextVideoFirst);
    for (const k of keyOutputs('ffmpeg', false)) expect(k.out).toBe(k.nextButOneFirst);
  });

  it('access units split across PES: not before the next access unit is known to begin', () => {
    const keys = keyOutputs('split', true);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    // Two PES per unit: the key frame is known complete at the first packet of the PES after its
    // continuation (the next unit's first half), as the old rule would have it only at that PES's end.
    const w = remux(source, 'split');
    const video = w.spans.filter((s) => s.pes.pid === VIDEO);
    for (const k of keys) {
      const i = video.findIndex((s) => s.first === k.first);
      expect(k.out).toBe(video[i + 2]!.first);
    }
  });
});
