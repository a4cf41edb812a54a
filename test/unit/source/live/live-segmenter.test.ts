import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsDemuxer } from '../../../../src/source/live/ts-demux.js';
import { LiveSegmenter } from '../../../../src/source/live/live-segmenter.js';
import type { LiveSegment } from '../../../../src/source/live/types.js';

let dir: string;
let ts: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'segmenter-'));
  const out = join(dir, 'in.ts');
  // 12 s, 25 fps, a key frame every second, AAC 48 kHz: what an IPTV encoder sends.
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '12', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-bf', '0',
    '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', out]);
  ts = readFileSync(out);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function segmentsOf(bytes: Uint8Array, segmentDuration: number): LiveSegment[] {
  const out: LiveSegment[] = [];
  const demux = new TsDemuxer();
  let clock = 1_700_000_000_000;
  const seg = new LiveSegmenter({ segmentDuration, now: () => clock, onSegment: (s) => out.push(s) });
  for (let at = 0; at < bytes.length; at += 1316) {
    clock += 1;
    seg.push(demux.push(bytes.subarray(at, at + 1316)));
  }
  seg.push(demux.flush());
  return out;
}

describe('LiveSegmenter on ffmpeg MPEG-TS', () => {
  it('cuts 2 s segments at key frames, numbered by timestamp, with the audio of the same interval', () => {
    const segs = segmentsOf(ts, 2);
    expect(segs.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < segs.length; i++) {
      expect(segs[i]!.number).toBe(segs[i - 1]!.number + 1);
      expect(segs[i]!.start).toBe(segs[i - 1]!.start + segs[i - 1]!.duration);
    }
    for (const s of segs) {
      expect(s.number).toBe(Math.floor(s.start / 180000) + 1);
      expect(s.duration).toBe(180000);
      expect(s.discontinuity).toBe(false);
      const [video, audio] = s.data;
      expect(video!.track.kind).toBe('video');
      expect(video!.track.width).toBe(160);
      expect(video!.track.height).toBe(90);
      expect(video!.track.samples.sync[0]).toBe(1);
      expect(video!.track.samples.count).toBe(50);
      expect(audio!.track.kind).toBe('audio');
      const a = audio!.track.samples;
      // Audio covers the video interval within one AAC frame (1920 ticks at 48 kHz).
      expect(Math.abs(a.dts[0]! - s.start)).toBeLessThan(1920);
      const aEnd = a.dts[a.count - 1]! + a.duration[a.count - 1]!;
      expect(Math.abs(aEnd - (s.start + s.duration))).toBeLessThan(1920);
      expect(s.tracks.map((t) => t.id)).toEqual(s.data.map((d) => d.track.id));
    }
    // Wall clocks follow the media clock between continuous segments.
    expect(segs[1]!.wallClock - segs[0]!.wallClock).toBe(2000);
  });

  it('a late joiner builds the same segments under the same numbers', () => {
    const full = segmentsOf(ts, 2);
    const late = segmentsOf(ts.subarray(188 * 2000), 2);
    expect(late.length).toBeGreaterThan(0);
    expect(late.length).toBeLessThan(full.length);
    for (const s of late) {
      const twin = full.find((f) => f.number === s.number)!;
      expect(twin).toBeDefined();
      expect(s.start).toBe(twin.start);
      expect(s.duration).toBe(twin.duration);
      s.data.forEach((d, i) => expect(Buffer.from(d.data).equals(Buffer.from(twin.data[i]!.data))).toBe(true));
    }
  });

  it('a source restart with smaller timestamps is a discontinuity and numbers keep increasing', () => {
    const joined = Buffer.concat([ts, ts]);
    const segs = segmentsOf(joined, 2);
    const breakAt = segs.findIndex((s) => s.discontinuity);
    expect(breakAt).toBeGreaterThan(0);
    for (let i = 1; i < segs.length; i++) expect(segs[i]!.number).toBeGreaterThan(segs[i - 1]!.number);
    expect(segs[breakAt]!.wallClock).toBeGreaterThanOrEqual(segs[breakAt - 1]!.wallClock + segs[breakAt - 1]!.duration / 90);
  });
});
