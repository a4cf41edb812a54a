import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import {
  MAX_HEADER_BYTES,
  SEGMENT_PREAMBLE_BYTES,
  decodeSegment,
  decodeSegmentInfo,
  encodeSegment,
  liveSegmentInfo,
} from '../../../../src/source/live/segment-codec.js';
import type { LiveSegment } from '../../../../src/source/live/types.js';
import { makeSegment } from './segment-fixture.js';

function expectInvalid(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(PackagerError);
  const e = caught as PackagerError;
  expect(e.code).toBe(ErrorCode.SOURCE_INVALID);
  expect(e.expose).toBe(false); // messages name server paths
  expect(e.message).toMatch(message);
}

/** Rewrites the trailing CRC so a deliberate change gets past the checksum and reaches the other checks. */
function withCrc(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  out.writeUInt32LE(crc32(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

function headerLength(buf: Buffer): number {
  return buf.readUInt32LE(8);
}

/** A file whose JSON header is replaced by `edit(header)`, media and columns kept, CRC recomputed. */
function withHeader(buf: Buffer, edit: (h: Record<string, unknown>) => void): Buffer {
  const h = headerLength(buf);
  const json = JSON.parse(buf.subarray(SEGMENT_PREAMBLE_BYTES, SEGMENT_PREAMBLE_BYTES + h).toString('utf8')) as Record<string, unknown>;
  edit(json);
  const text = Buffer.from(JSON.stringify(json));
  const pre = Buffer.from(buf.subarray(0, SEGMENT_PREAMBLE_BYTES));
  pre.writeUInt32LE(text.length, 8);
  return withCrc(Buffer.concat([pre, text, buf.subarray(SEGMENT_PREAMBLE_BYTES + h)]));
}

function mediaOf(h: Record<string, unknown>): Record<string, unknown>[] {
  return h['media'] as Record<string, unknown>[];
}

describe('segment codec: round trip', () => {
  const seg = makeSegment(42);

  it('decodes to a segment deep-equal to the one encoded (video avc1 + audio mp4a)', () => {
    const buf = encodeSegment(seg);
    const back = decodeSegment(buf, '42.seg');
    expect(back).toEqual(seg);
    // toEqual tolerates some type slack: pin the column types and the sample bytes explicitly.
    for (const [i, d] of back.data.entries()) {
      const s = d.track.samples;
      expect(s.dts).toBeInstanceOf(Float64Array);
      expect(s.cto).toBeInstanceOf(Int32Array);
      expect(s.duration).toBeInstanceOf(Uint32Array);
      expect(s.size).toBeInstanceOf(Uint32Array);
      expect(s.offset).toBeInstanceOf(Float64Array);
      expect(s.sync).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(d.data).equals(Buffer.from(seg.data[i]!.data))).toBe(true);
      expect(d.track.sampleEntry).toEqual(seg.data[i]!.track.sampleEntry);
    }
    expect([...back.data[0]!.track.samples.sync]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(back.data[0]!.track.samples.cto.some((c) => c > 0)).toBe(true);
  });

  it('keeps no reference to the input and copes with a buffer at an odd offset', () => {
    const buf = encodeSegment(seg);
    const shifted = Buffer.alloc(buf.length + 3);
    buf.copy(shifted, 3);
    const back = decodeSegment(shifted.subarray(3));
    expect(back).toEqual(seg);
    // Columns are fresh, aligned typed arrays, not views over the unaligned file bytes.
    expect(back.data[0]!.track.samples.dts.byteOffset % 8).toBe(0);
    expect(back.data[0]!.track.samples.dts.buffer).not.toBe(shifted.buffer);
  });

  it('is deterministic and exact for extreme column values', () => {
    const s = makeSegment(2 ** 40);
    const v = s.data[0]!.track.samples as { dts: Float64Array; cto: Int32Array };
    v.dts[0] = 2 ** 53 - 1;
    v.cto[1] = -(2 ** 31);
    const a = encodeSegment(s);
    expect(encodeSegment(s).equals(a)).toBe(true);
    const back = decodeSegment(a);
    expect(back.data[0]!.track.samples.dts[0]).toBe(2 ** 53 - 1);
    expect(back.data[0]!.track.samples.cto[1]).toBe(-(2 ** 31));
    expect(back.number).toBe(2 ** 40);
  });

  it('gives the info and the file size from the first few KiB, without the media', () => {
    const buf = encodeSegment(seg);
    expect(buf.length).toBeGreaterThan(8192);
    const r = decodeSegmentInfo(buf.subarray(0, 4096));
    expect(r).toEqual({ kind: 'info', info: liveSegmentInfo(seg), fileBytes: buf.length });
    if (r.kind === 'info') expect(r.info).not.toHaveProperty('data');
  });

  it('asks for more when the prefix stops inside the preamble or the header', () => {
    const buf = encodeSegment(seg);
    expect(decodeSegmentInfo(buf.subarray(0, 0))).toEqual({ kind: 'need-more', needBytes: SEGMENT_PREAMBLE_BYTES });
    expect(decodeSegmentInfo(buf.subarray(0, 7))).toEqual({ kind: 'need-more', needBytes: SEGMENT_PREAMBLE_BYTES });
    const end = SEGMENT_PREAMBLE_BYTES + headerLength(buf);
    expect(decodeSegmentInfo(buf.subarray(0, 20))).toEqual({ kind: 'need-more', needBytes: end });
    expect(decodeSegmentInfo(buf.subarray(0, end)).kind).toBe('info');
  });
});

describe('segment codec: corruption is rejected', () => {
  const seg = makeSegment(7);
  const good = encodeSegment(seg);
  const hdrEnd = SEGMENT_PREAMBLE_BYTES + headerLength(good);

  it('a single flipped bit anywhere after the preamble: header, columns, sample bytes or the CRC itself', () => {
    const positions = [hdrEnd - 2, hdrEnd + 3, hdrEnd + 200, Math.floor(good.length / 2), good.length - 10, good.length - 1];
    for (const p of positions) {
      for (const bit of [0, 7]) {
        const bad = Buffer.from(good);
        bad[p]! ^= 1 << bit;
        expectInvalid(() => decodeSegment(bad, '/srv/dvr/7.seg'), /\/srv\/dvr\/7\.seg: invalid live segment/);
      }
    }
    const inMedia = Buffer.from(good);
    inMedia[good.length - 100]! ^= 0x10;
    expectInvalid(() => decodeSegment(inMedia, '7.seg'), /checksum mismatch/);
  });

  it('a flipped bit in a header number: the file no longer matches its described size', () => {
    // 'dataLength":<digits>' → change one digit: valid JSON, wrong length.
    const text = good.subarray(SEGMENT_PREAMBLE_BYTES, hdrEnd).toString('latin1');
    const at = SEGMENT_PREAMBLE_BYTES + text.indexOf('"dataLength":') + '"dataLength":'.length;
    const bad = Buffer.from(good);
    bad[at] = bad[at] === 0x31 ? 0x32 : 0x31;
    expectInvalid(() => decodeSegment(bad), /header describes/);
  });

  it('truncated anywhere', () => {
    for (const n of [0, 3, 11, 12, 40, hdrEnd, hdrEnd + 5, good.length - 4, good.length - 1]) {
      expectInvalid(() => decodeSegment(good.subarray(0, n)), /invalid live segment/);
    }
    expectInvalid(() => decodeSegment(good.subarray(0, 40)), /truncated/);
    expectInvalid(() => decodeSegment(good.subarray(0, good.length - 1)), new RegExp(`${good.length - 1} bytes, its header describes ${good.length}`));
  });

  it('a trailing extra byte', () => {
    expectInvalid(() => decodeSegment(Buffer.concat([good, Buffer.from([0])])), /header describes/);
  });

  it('wrong magic, wrong version, absurd header length', () => {
    const magic = Buffer.from(good);
    magic.write('PKLX', 0, 'latin1');
    expectInvalid(() => decodeSegment(magic), /bad magic/);
    expectInvalid(() => decodeSegmentInfo(magic.subarray(0, 4)), /bad magic/);
    expectInvalid(() => decodeSegmentInfo(Buffer.from('GIF8')), /bad magic/);
    const version = Buffer.from(good);
    version.writeUInt32LE(2, 4);
    expectInvalid(() => decodeSegment(version), /unsupported format version 2/);
    expectInvalid(() => decodeSegmentInfo(version), /unsupported format version 2/);
    const huge = Buffer.from(good);
    huge.writeUInt32LE(MAX_HEADER_BYTES + 1, 8);
    expectInvalid(() => decodeSegmentInfo(huge), /header length/);
  });

  it('a well-formed, checksummed file whose header or columns lie', () => {
    expectInvalid(() => decodeSegment(withHeader(good, (h) => delete h['configId'])), /configId must be a string/);
    expectInvalid(() => decodeSegment(withHeader(good, (h) => (mediaOf(h)[0]!['kind'] = 'text'))), /media\[0\]\.kind must be one of video, audio/);
    expectInvalid(() => decodeSegment(withHeader(good, (h) => (mediaOf(h)[1]!['codecConfig'] = 'not base64!'))), /codecConfig must be base64/);
    expectInvalid(() => decodeSegment(withHeader(good, (h) => (mediaOf(h)[1]!['id'] = 999))), /media\[1\] is audio 999, tracks\[1\] is audio 257/);
    expectInvalid(() => decodeSegment(withHeader(good, (h) => (h['duration'] = 0))), /duration 0/);
    // The first video sample's offset column (after dts, cto, duration, size) pointed past the data.
    const count = seg.data[0]!.track.samples.count;
    const offsetAt = hdrEnd + count * (8 + 4 + 4 + 4);
    const cols = Buffer.from(good);
    cols.writeDoubleLE(seg.data[0]!.data.length, offsetAt);
    expectInvalid(() => decodeSegment(withCrc(cols)), /sample 0 .* outside its \d+ data bytes/);
    const notJson = Buffer.from(good);
    notJson[SEGMENT_PREAMBLE_BYTES] = 0x5b; // '{' → '['
    expectInvalid(() => decodeSegment(withCrc(notJson)), /header is not JSON/);
  });
});

describe('segment codec: encode refuses what could not be read back', () => {
  function edit(seg: LiveSegment, f: (s: { -readonly [K in keyof LiveSegment]: LiveSegment[K] }) => void): LiveSegment {
    const copy = { ...seg };
    f(copy);
    return copy;
  }

  it('a track with no samples', () => {
    const seg = makeSegment(1);
    const v = seg.data[0]!;
    const empty = { count: 0, dts: new Float64Array(0), cto: new Int32Array(0), duration: new Uint32Array(0), size: new Uint32Array(0), offset: new Float64Array(0), sync: new Uint8Array(0) };
    const bad = edit(seg, (s) => (s.data = [{ track: { ...v.track, samples: empty }, data: new Uint8Array(0) }, seg.data[1]!]));
    expectInvalid(() => encodeSegment(bad), /track 256 has no samples/);
  });

  it('a sample outside its data, a data/tracks mismatch, values JSON would mangle', () => {
    const seg = makeSegment(1);
    const short = edit(seg, (s) => (s.data = [{ track: seg.data[0]!.track, data: seg.data[0]!.data.subarray(1) }, seg.data[1]!]));
    expectInvalid(() => encodeSegment(short), /outside its/);
    expectInvalid(() => encodeSegment(edit(seg, (s) => (s.data = [seg.data[0]!]))), /1 data entries for 2 tracks/);
    expectInvalid(() => encodeSegment(edit(seg, (s) => (s.data = [seg.data[1]!, seg.data[0]!]))), /media\[0\] is audio 257, tracks\[0\] is video 256/);
    expectInvalid(() => encodeSegment(edit(seg, (s) => (s.wallClock = Number.NaN))), /wallClock must be a finite number/);
    expectInvalid(() => encodeSegment(edit(seg, (s) => (s.data = [{ ...seg.data[0]!, track: { ...seg.data[0]!.track, width: 1.5 } }, seg.data[1]!]))), /width must be an integer/);
    expectInvalid(() => encodeSegment(edit(seg, (s) => (s.tracks = []))), /2 data entries for 0 tracks/);
    expectInvalid(() => encodeSegment(edit(seg, (s) => ((s.data = []), (s.tracks = [])))), /no tracks/);
  });
});
