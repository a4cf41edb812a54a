import { describe, expect, it } from 'vitest';
import { avcCodecString, forEachNal, parseAvcC } from '../../../../src/media/codec/avc.js';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';

const SPS = Uint8Array.from([0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50]);
const PPS = Uint8Array.from([0x68, 0xeb, 0xe3, 0xcb]);

function avcC(sps: Uint8Array[], pps: Uint8Array[], lengthSizeMinusOne = 3, head = [0x64, 0x00, 0x1f]): Uint8Array {
  const out = [1, ...head, 0xfc | lengthSizeMinusOne, 0xe0 | sps.length];
  for (const s of sps) out.push(s.length >> 8, s.length & 0xff, ...s);
  out.push(pps.length);
  for (const p of pps) out.push(p.length >> 8, p.length & 0xff, ...p);
  return Uint8Array.from(out);
}

function expectInvalid(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PackagerError);
    expect((e as PackagerError).code).toBe(ErrorCode.SOURCE_INVALID);
    return;
  }
  throw new Error('expected a PackagerError');
}

describe('parseAvcC', () => {
  it('reads profile, level, NAL length size and parameter sets', () => {
    const cfg = parseAvcC(avcC([SPS], [PPS]));
    expect(cfg).toMatchObject({ profile: 0x64, compatibility: 0, level: 0x1f, nalLengthSize: 4 });
    expect(cfg.sps).toEqual([SPS]);
    expect(cfg.pps).toEqual([PPS]);
  });

  it('reads several parameter sets and 2-byte NAL lengths, ignoring the High extension', () => {
    const rec = avcC([SPS, SPS.subarray(0, 4)], [PPS, PPS], 1);
    const withExt = Uint8Array.from([...rec, 0xfd, 0xf8, 0xf8, 0x00]);
    const cfg = parseAvcC(withExt);
    expect(cfg.nalLengthSize).toBe(2);
    expect(cfg.sps.map((s) => s.length)).toEqual([8, 4]);
    expect(cfg.pps).toHaveLength(2);
  });

  it('accepts an avc3 record with no parameter sets', () => {
    const cfg = parseAvcC(avcC([], [], 3, [0x4d, 0x40, 0x0d]));
    expect(cfg.sps).toEqual([]);
    expect(avcCodecString(cfg, 'avc3')).toBe('avc3.4d400d');
  });

  it('rejects truncated or malformed records', () => {
    const good = avcC([SPS], [PPS]);
    for (let n = 0; n < good.length; n++) expectInvalid(() => parseAvcC(good.subarray(0, n)));
    const badVersion = good.slice();
    badVersion[0] = 0;
    expectInvalid(() => parseAvcC(badVersion));
    expectInvalid(() => parseAvcC(avcC([SPS], [PPS], 2)));
  });
});

describe('avcCodecString', () => {
  it('is the lower-case hex of profile, constraint flags and level', () => {
    expect(avcCodecString(parseAvcC(avcC([SPS], [PPS])), 'avc1')).toBe('avc1.64001f');
    expect(avcCodecString({ profile: 0x42, compatibility: 0xc0, level: 0x15, nalLengthSize: 4, sps: [], pps: [] }, 'avc1')).toBe(
      'avc1.42c015',
    );
  });
});

describe('forEachNal', () => {
  const walk = (sample: Uint8Array, size: number): [number, number][] => {
    const out: [number, number][] = [];
    forEachNal(sample, size, (s, e) => out.push([s, e]));
    return out;
  };

  it('walks 4-, 2- and 1-byte length prefixes', () => {
    expect(walk(Uint8Array.from([0, 0, 0, 2, 9, 0xf0, 0, 0, 0, 3, 0x65, 1, 2]), 4)).toEqual([
      [4, 6],
      [10, 13],
    ]);
    expect(walk(Uint8Array.from([0, 1, 9, 0, 2, 0x41, 7]), 2)).toEqual([
      [2, 3],
      [5, 7],
    ]);
    expect(walk(Uint8Array.from([1, 9, 2, 0x41, 7]), 1)).toEqual([
      [1, 2],
      [3, 5],
    ]);
  });

  it('reports empty NAL units and accepts an empty sample', () => {
    expect(walk(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1, 9]), 4)).toEqual([
      [4, 4],
      [8, 9],
    ]);
    expect(walk(new Uint8Array(0), 4)).toEqual([]);
  });

  it('throws SOURCE_INVALID when a length runs past the sample', () => {
    expectInvalid(() => walk(Uint8Array.from([0, 0, 0, 5, 1, 2]), 4));
    expectInvalid(() => walk(Uint8Array.from([0, 0, 0, 1, 9, 0, 0]), 4)); // partial length prefix
    expectInvalid(() => walk(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 1]), 4)); // >= 2^31
    expectInvalid(() => walk(Uint8Array.from([0, 1, 9]), 3));
  });
});
