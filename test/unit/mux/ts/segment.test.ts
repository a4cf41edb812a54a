import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../src/media/errors.js';
import type { Track } from '../../../../src/media/track.js';
import { AVC_AUD } from '../../../../src/mux/ts/annexb.js';
import { AUDIO_PID, PMT_PID, VIDEO_PID } from '../../../../src/mux/ts/psi.js';
import { TS_TIME_OFFSET, buildTsSegment, pmtFor, toTsTime } from '../../../../src/mux/ts/segment.js';
import type { SampleSpec } from './synthetic-track.js';
import { ASC_LC_48K_STEREO, PPS, SPS, avcC, makeTrack, sampleBytes } from './synthetic-track.js';
import type { TsPacket } from './ts-reader.js';
import { pcrOf, readPes, readPackets } from './ts-reader.js';

/** 25 fps at timescale 12800 (512 per frame), IBBP-like decode order with composition offsets. */
function videoTrack(frames: number, gop: number, frameSize = (i: number) => 300 + ((i * 37) % 500)): Track {
  const samples: SampleSpec[] = [];
  const ctoPattern = [1024, 2560, 0, 0];
  for (let i = 0; i < frames; i++) {
    samples.push({ dts: i * 512, cto: ctoPattern[i % 4]!, duration: 512, size: frameSize(i), sync: i % gop === 0 });
  }
  return makeTrack({ kind: 'video', sampleEntryType: 'avc1', timescale: 12800, presentationOffset: 1024, codecConfig: avcC(), samples });
}

function audioTrack(frames: number, size = (i: number) => 200 + ((i * 13) % 150), dts = (i: number) => i * 1024): Track {
  const samples: SampleSpec[] = [];
  for (let i = 0; i < frames; i++) samples.push({ dts: dts(i), duration: 1024, size: size(i), sync: true });
  return makeTrack({
    kind: 'audio',
    sampleEntryType: 'mp4a',
    timescale: 48000,
    presentationOffset: 1024,
    codecConfig: ASC_LC_48K_STEREO,
    language: 'eng',
    samples,
  });
}

function build(track: Track, start: number, end: number, segmentIndex: number): Uint8Array {
  return buildTsSegment({ track, start, end, sampleData: sampleBytes(track, start, end), segmentIndex });
}

/** Every PID's continuity counter advances by exactly 1 (mod 16) from packet to packet. */
function expectContinuous(packets: readonly TsPacket[]): void {
  const last = new Map<number, number>();
  for (const p of packets) {
    const prev = last.get(p.pid);
    if (prev !== undefined) expect({ pid: p.pid, index: p.index, cc: p.cc }).toEqual({ pid: p.pid, index: p.index, cc: (prev + 1) & 15 });
    last.set(p.pid, p.cc);
  }
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

describe('buildTsSegment (video)', () => {
  const track = videoTrack(30, 10);
  const segs = [build(track, 0, 10, 0), build(track, 10, 30, 1)];

  it('starts every segment with PAT then PMT, CC = segment index', () => {
    segs.forEach((seg, index) => {
      const [pat, pmt] = readPackets(seg);
      expect([pat!.pid, pat!.cc, pmt!.pid, pmt!.cc]).toEqual([0, index, PMT_PID, index]);
    });
  });

  it('puts a multiple of 16 packets on the ES PID, starting at CC 0, so segments chain', () => {
    for (const seg of segs) {
      const es = readPackets(seg).filter((p) => p.pid === VIDEO_PID);
      expect(es.length % 16).toBe(0);
      expect(es[0]!.cc).toBe(0);
      expect(es.at(-1)!.cc).toBe(15);
    }
    expectContinuous(readPackets(concat(...segs)));
  });

  it('writes one PES per sample with 90 kHz PTS/DTS from absolute times, PCR = DTS, RAI on key frames', () => {
    const pes = [...readPes(readPackets(segs[0]!), VIDEO_PID), ...readPes(readPackets(segs[1]!), VIDEO_PID)];
    expect(pes.length).toBe(30);
    const s = track.samples;
    pes.forEach((p, i) => {
      const dts = Math.round(((s.dts[i]! - 1024) * 90000) / 12800) + TS_TIME_OFFSET;
      const pts = Math.round(((s.dts[i]! + s.cto[i]! - 1024) * 90000) / 12800) + TS_TIME_OFFSET;
      expect([p.streamId, p.pts, p.dts, p.dataAligned]).toEqual([0xe0, pts, dts, true]);
      expect(toTsTime(track, s.dts[i]!)).toBe(dts);
      const first = p.packets[0]!;
      expect(pcrOf(first.af)).toBe(dts);
      expect(((first.af![0]! & 0x40) !== 0)).toBe(i % 10 === 0);
      expect(p.packetLength).toBe(p.data.length + 3 + (pts === dts ? 5 : 10));
      // Annex B: AUD, SPS+PPS on key frames, then the slice
      expect([...p.data.subarray(0, 6)]).toEqual([...AVC_AUD]);
      const sc = [0, 0, 0, 1];
      const lead = i % 10 === 0 ? [...AVC_AUD, ...sc, ...SPS, ...sc, ...PPS, ...sc] : [...AVC_AUD, ...sc];
      expect([...p.data.subarray(0, lead.length)]).toEqual(lead);
      expect(p.data.length).toBe(lead.length + s.size[i]! - 4);
    });
  });

  it('writes a PMT with H.264 on the video PID carrying the PCR', () => {
    expect(pmtFor(track)).toEqual({ pcrPid: VIDEO_PID, streams: [{ streamType: 0x1b, pid: VIDEO_PID, descriptors: new Uint8Array(0) }] });
    const pmt = readPackets(segs[0]!)[1]!.payload;
    expect([...pmt.subarray(1, 4)]).toEqual([0x02, 0xb0, 0x12]);
    expect([...pmt.subarray(9, 18)]).toEqual([0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00]);
  });

  it('signals PES_packet_length 0 for an access unit over 64 KiB and keeps its bytes', () => {
    const big = videoTrack(2, 1, (i) => (i === 0 ? 100_000 : 500));
    const seg = build(big, 0, 2, 7);
    const pes = readPes(readPackets(seg), VIDEO_PID);
    expect(pes[0]!.packetLength).toBe(0);
    expect(pes[1]!.packetLength).not.toBe(0);
    const data = sampleBytes(big, 0, 1);
    expect(pes[0]!.data.subarray(pes[0]!.data.length - (data.length - 4))).toEqual(data.subarray(4));
  });

  it('wraps timestamps past 2^33 (26.5 h) and keeps the PCR equal to the DTS', () => {
    const t = makeTrack({
      kind: 'video',
      sampleEntryType: 'avc1',
      timescale: 90000,
      codecConfig: avcC(),
      samples: [0, 1, 2].map((k) => ({ dts: 2 ** 33 - TS_TIME_OFFSET - 3600 + k * 3600, cto: 3600, duration: 3600, size: 50, sync: k === 0 })),
    });
    const pes = readPes(readPackets(build(t, 0, 3, 0)), VIDEO_PID);
    expect(pes.map((p) => [p.dts, p.pts])).toEqual([
      [2 ** 33 - 3600, 0],
      [0, 3600],
      [3600, 7200],
    ]);
    expect(pes.map((p) => pcrOf(p.packets[0]!.af))).toEqual([2 ** 33 - 3600, 0, 3600]);
  });
});

describe('buildTsSegment (AAC)', () => {
  it('groups contiguous ADTS frames into PESs of at most 100 ms with exact lengths', () => {
    const track = audioTrack(20);
    const seg = build(track, 0, 20, 3);
    const packets = readPackets(seg);
    expect([packets[0]!.cc, packets[1]!.cc]).toEqual([3, 3]);
    const pes = readPes(packets, AUDIO_PID);
    // 4 frames of 21.3 ms fit in 100 ms, 5 do not
    expect(pes.length).toBe(5);
    const data = sampleBytes(track, 0, 20);
    let offset = 0;
    pes.forEach((p, k) => {
      const first = k * 4;
      expect(p.streamId).toBe(0xc0);
      expect(p.pts).toBe(Math.round(((first * 1024 - 1024) * 90000) / 48000) + TS_TIME_OFFSET);
      expect(p.dts).toBe(p.pts);
      expect(p.packetLength).toBe(p.data.length + 8);
      expect(pcrOf(p.packets[0]!.af)).toBe(p.pts);
      let q = 0;
      for (let i = first; i < first + 4; i++) {
        const size = track.samples.size[i]!;
        const h = p.data.subarray(q, q + 7);
        expect([h[0], h[1], h[2]! >> 6, (h[2]! >> 2) & 15]).toEqual([0xff, 0xf1, 1, 3]);
        const frameLength = ((h[3]! & 3) << 11) | (h[4]! << 3) | (h[5]! >> 5);
        expect(frameLength).toBe(size + 7);
        expect(p.data.subarray(q + 7, q + 7 + size)).toEqual(data.subarray(offset, offset + size));
        q += 7 + size;
        offset += size;
      }
      expect(q).toBe(p.data.length);
    });
    expect(readPackets(seg).filter((p) => p.pid === AUDIO_PID).length % 16).toBe(0);
  });

  it('starts a new PES at a timestamp gap', () => {
    const track = audioTrack(6, () => 100, (i) => i * 1024 + (i >= 2 ? 5000 : 0));
    const pes = readPes(readPackets(build(track, 0, 6, 0)), AUDIO_PID);
    expect(pes.map((p) => p.data.length / 107)).toEqual([2, 4]);
  });

  it('pads a one-frame segment to 16 packets, each with payload', () => {
    const track = audioTrack(1, () => 10);
    const es = readPackets(build(track, 0, 1, 0)).filter((p) => p.pid === AUDIO_PID);
    expect(es.length).toBe(16);
    expect(es.every((p) => p.payload.length >= 1)).toBe(true);
    expect(es.map((p) => p.cc)).toEqual([...Array(16).keys()]);
  });

  it('announces AAC ADTS with the track language', () => {
    expect(pmtFor(audioTrack(1))).toEqual({
      pcrPid: AUDIO_PID,
      streams: [{ streamType: 0x0f, pid: AUDIO_PID, descriptors: Uint8Array.of(0x0a, 4, 0x65, 0x6e, 0x67, 0) }],
    });
  });
});

describe('buildTsSegment input checks', () => {
  const track = videoTrack(5, 5);
  it('rejects bad ranges and mismatched sample data with MUX_FAILURE', () => {
    const code = expect.objectContaining({ code: ErrorCode.MUX_FAILURE });
    expect(() => build(track, 3, 3, 0)).toThrow(code);
    expect(() => build(track, 0, 6, 0)).toThrow(code);
    expect(() => buildTsSegment({ track, start: 0, end: 2, sampleData: new Uint8Array(10), segmentIndex: 0 })).toThrow(code);
    expect(() => build(track, 0, 2, -1)).toThrow(code);
  });

  it('rejects a sample entry that does not match the track kind', () => {
    const bad = { ...audioTrack(2), sampleEntryType: 'avc1' as const };
    expect(() => build(bad, 0, 2, 0)).toThrow(expect.objectContaining({ code: ErrorCode.UNSUPPORTED_CODEC }));
  });
});
