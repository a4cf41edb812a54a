/** The pure pieces of the live demuxer: timestamps, RTP, PSI sections across packets, PES, ADTS. */
import { describe, expect, it } from 'vitest';
import { adtsHeader, type AacConfig } from '../../../../src/media/codec/aac.js';
import { crc32Mpeg } from '../../../../src/mux/ts/crc32.js';
import { AdtsEsParser, type AdtsOutput } from '../../../../src/source/live/adts-es.js';
import { parsePes } from '../../../../src/source/live/pes.js';
import { SectionAssembler, parsePmt, sectionCrcOk } from '../../../../src/source/live/psi-parse.js';
import { unwrapRtp } from '../../../../src/source/live/rtp.js';
import { TS_WRAP, TimestampUnwrapper, unwrapTimestamp } from '../../../../src/source/live/timestamps.js';

describe('timestamps', () => {
  it('unwraps forward and backward across 2^33', () => {
    expect(unwrapTimestamp(100, undefined)).toBe(100);
    expect(unwrapTimestamp(100, TS_WRAP - 3000)).toBe(TS_WRAP + 100);
    expect(unwrapTimestamp(TS_WRAP - 3000, TS_WRAP + 100)).toBe(TS_WRAP - 3000);
    expect(unwrapTimestamp(50, 2 * TS_WRAP + 10)).toBe(2 * TS_WRAP + 50);
    const u = new TimestampUnwrapper();
    expect(u.unwrap(TS_WRAP - 1800, TS_WRAP - 3600)).toEqual({ pts: TS_WRAP - 1800, dts: TS_WRAP - 3600 });
    expect(u.unwrap(1800, 0)).toEqual({ pts: TS_WRAP + 1800, dts: TS_WRAP });
    u.reset();
    expect(u.unwrap(1800, 0)).toEqual({ pts: 1800, dts: 0 });
  });
});

describe('unwrapRtp', () => {
  const ts = new Uint8Array(188 * 2).fill(0xaa);
  ts[0] = 0x47;
  ts[188] = 0x47;

  it('passes raw TS through', () => {
    expect(unwrapRtp(ts)).toBe(ts);
  });

  it('skips CSRCs and a header extension, removes padding', () => {
    const csrc = 2;
    const ext = 1; // 32-bit words
    const pad = 3;
    const d = new Uint8Array(12 + 4 * csrc + 4 + 4 * ext + ts.length + pad);
    d[0] = 0x80 | 0x20 | 0x10 | csrc;
    d[1] = 33;
    const e = 12 + 4 * csrc;
    d[e + 3] = ext;
    d.set(ts, e + 4 + 4 * ext);
    d[d.length - 1] = pad;
    expect(Array.from(unwrapRtp(d))).toEqual(Array.from(ts));
  });

  it('refuses other payload types and non-RTP data', () => {
    const d = new Uint8Array(12 + 188);
    d[0] = 0x80;
    d[1] = 96;
    expect(() => unwrapRtp(d)).toThrow(/payload type 96/);
    expect(() => unwrapRtp(Uint8Array.of(1, 2, 3))).toThrow(/neither/);
  });
});

function pmtSection(version: number, streams: Array<[number, number]>, descriptorBytes: number): Uint8Array {
  const body: number[] = [0xe1, 0x00, 0xf0, 0x00];
  for (const [type, pid] of streams) body.push(type, 0xe0 | (pid >> 8), pid & 0xff, 0xf0, descriptorBytes, ...new Array<number>(descriptorBytes).fill(0x05));
  const len = 5 + body.length + 4;
  const s = [0x02, 0xb0 | (len >> 8), len & 0xff, 0x00, 0x01, 0xc1 | (version << 1), 0, 0, ...body];
  const crc = crc32Mpeg(Uint8Array.from(s));
  return Uint8Array.from([...s, crc >>> 24, (crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff]);
}

describe('PSI sections', () => {
  it('reassembles a section spanning packets, with pointer_field and a following section', () => {
    const big = pmtSection(3, [[0x1b, 0x100], [0x0f, 0x101]], 150); // > one packet
    expect(sectionCrcOk(big)).toBe(true);
    const second = pmtSection(4, [[0x1b, 0x100]], 0);
    const asm = new SectionAssembler();
    // Packet 1: pointer 0, start of `big`. Packet 2: pointer = rest of big, then `second`, stuffing.
    const p1 = new Uint8Array(184).fill(0xff);
    p1[0] = 0;
    p1.set(big.subarray(0, 183), 1);
    const rest = big.subarray(183);
    const p2 = new Uint8Array(184).fill(0xff);
    p2[0] = rest.length;
    p2.set(rest, 1);
    p2.set(second, 1 + rest.length);
    expect(asm.push(p1, true)).toEqual([]);
    const out = asm.push(p2, true);
    expect(out.map((s) => parsePmt(s)!.version)).toEqual([3, 4]);
    expect(parsePmt(out[0]!)!.streams).toEqual([{ streamType: 0x1b, pid: 0x100 }, { streamType: 0x0f, pid: 0x101 }]);
    expect(out.every(sectionCrcOk)).toBe(true);
    // A continuation without a start is ignored.
    expect(new SectionAssembler().push(p2.subarray(1), false)).toEqual([]);
  });
});

describe('parsePes', () => {
  it('reads 33-bit PTS and DTS and honours PES_packet_length', () => {
    const pts = TS_WRAP - 1;
    const dts = 2 ** 32 + 5;
    const enc = (prefix: number, v: number): number[] => {
      const hi = Math.floor(v / 2 ** 30);
      const lo = v % 2 ** 30;
      return [(prefix << 4) | (hi << 1) | 1, (lo >> 22) & 0xff, (((lo >> 15) & 0x7f) << 1) | 1, (lo >> 7) & 0xff, ((lo & 0x7f) << 1) | 1];
    };
    const payload = [1, 2, 3];
    const header = [0x80, 0xc0, 10, ...enc(3, pts), ...enc(1, dts)];
    const len = header.length + payload.length;
    const pes = Uint8Array.from([0, 0, 1, 0xe0, len >> 8, len & 0xff, ...header, ...payload, 0xee /* past the length */]);
    const r = parsePes(pes)!;
    expect([r.pts, r.dts, Array.from(r.payload)]).toEqual([pts, dts, payload]);
    expect(parsePes(Uint8Array.of(0, 0, 2, 0xe0, 0, 0))).toBeNull();
  });
});

describe('AdtsEsParser', () => {
  const cfg: AacConfig = { objectType: 2, samplingFrequencyIndex: 3, sampleRate: 48000, channelConfig: 2 };
  const frame = (n: number, fill: number): Uint8Array => {
    const f = new Uint8Array(7 + n).fill(fill);
    adtsHeader(cfg, n, f, 0);
    return f;
  };

  it('carries a frame straddling PES packets, with per-frame PTS', () => {
    const frames = [frame(100, 1), frame(120, 2), frame(90, 3), frame(110, 4)];
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      all.set(f, at);
      at += f.length;
    }
    const cut = 107 + 50; // inside frame 2
    const p = new AdtsEsParser();
    const out: AdtsOutput[] = [];
    p.push({ pts: 9000, data: all.subarray(0, cut), discontinuity: false }, out);
    // The next PES's PTS is its first frame that starts in it (frame 3).
    p.push({ pts: 9000 + 2 * 1920, data: all.subarray(cut), discontinuity: false }, out);
    const config = out.filter((o) => o.type === 'config');
    expect(config).toHaveLength(1);
    if (config[0]!.type === 'config') {
      expect(Array.from(config[0]!.value.asc)).toEqual([0x11, 0x90]);
      expect(config[0]!.value.codecString).toBe('mp4a.40.2');
    }
    const got = out.flatMap((o) => (o.type === 'frame' ? [[o.value.pts, o.value.data.length, o.value.data[0]]] : []));
    expect(got).toEqual([
      [9000, 100, 1],
      [9000 + 1920, 120, 2],
      [9000 + 2 * 1920, 90, 3],
      [9000 + 3 * 1920, 110, 4],
    ]);
  });

  it('drops the carried part on loss and flags the next frame', () => {
    const p = new AdtsEsParser();
    const out: AdtsOutput[] = [];
    const f = frame(100, 7);
    p.push({ pts: 0, data: f.subarray(0, 60), discontinuity: false }, out);
    p.discard();
    p.push({ pts: 5000, data: f, discontinuity: false }, out);
    const frames = out.flatMap((o) => (o.type === 'frame' ? [o.value] : []));
    expect(frames.map((x) => [x.pts, x.discontinuity])).toEqual([[5000, true]]);
  });
});
