import { describe, expect, it } from 'vitest';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import { hevcCodecString, parseHvcC } from '../../../../src/media/codec/hevc.js';

interface Opts {
  b1: number;
  compat: number;
  constraint: number[];
  level: number;
  arrays: [number, Uint8Array[]][];
  lengthSizeMinusOne?: number;
}

function hvcC(o: Opts): Uint8Array {
  const out = [1, o.b1, (o.compat >>> 24) & 0xff, (o.compat >>> 16) & 0xff, (o.compat >>> 8) & 0xff, o.compat & 0xff];
  out.push(...o.constraint, o.level, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0c | (o.lengthSizeMinusOne ?? 3), o.arrays.length);
  for (const [type, nals] of o.arrays) {
    out.push(0x80 | type, nals.length >> 8, nals.length & 0xff);
    for (const n of nals) out.push(n.length >> 8, n.length & 0xff, ...n);
  }
  return Uint8Array.from(out);
}

const VPS = Uint8Array.from([0x40, 0x01, 0x0c, 0x01]);
const SPS = Uint8Array.from([0x42, 0x01, 0x01, 0x01, 0x60]);
const PPS = Uint8Array.from([0x44, 0x01, 0xc1]);
const SEI = Uint8Array.from([0x4e, 0x01, 0x05]);

describe('parseHvcC', () => {
  const main = hvcC({
    b1: 0x01,
    compat: 0x60000000,
    constraint: [0x90, 0, 0, 0, 0, 0],
    level: 93,
    arrays: [
      [32, [VPS]],
      [33, [SPS]],
      [34, [PPS]],
      [39, [SEI]],
    ],
  });

  it('reads the profile fields and parameter sets (SEI arrays are skipped)', () => {
    const cfg = parseHvcC(main);
    expect(cfg).toMatchObject({ nalLengthSize: 4, profileSpace: 0, tierFlag: 0, profileIdc: 1, levelIdc: 93 });
    expect(cfg.compatibilityFlags).toBe(0x60000000);
    expect(cfg.chromaFormat).toBe(1);
    expect(cfg.bitDepthLuma).toBe(8);
    expect(cfg.vps).toEqual([VPS]);
    expect(cfg.sps).toEqual([SPS]);
    expect(cfg.pps).toEqual([PPS]);
  });

  it('builds Annex E codec strings', () => {
    expect(parseHvcC(main).codecString('hvc1')).toBe('hvc1.1.6.L93.90');
    expect(hevcCodecString(parseHvcC(main), 'hev1')).toBe('hev1.1.6.L93.90');
    // Main 10, high tier, profile space 1, constraint bytes with a zero in the middle.
    const main10 = parseHvcC(
      hvcC({ b1: 0x40 | 0x20 | 2, compat: 0x20000000, constraint: [0xb0, 0, 0x12, 0, 0, 0], level: 153, arrays: [] }),
    );
    expect(main10.codecString('hvc1')).toBe('hvc1.A2.4.H153.B0.0.12');
    // All-zero constraint bytes are all dropped; flag 31 reversed is bit 31.
    const odd = parseHvcC(hvcC({ b1: 3, compat: 0x00000001, constraint: [0, 0, 0, 0, 0, 0], level: 120, arrays: [] }));
    expect(odd.codecString('hvc1')).toBe('hvc1.3.80000000.L120');
  });

  it('rejects truncated records with SOURCE_INVALID', () => {
    for (let n = 0; n < main.length; n++) {
      let err: unknown;
      try {
        parseHvcC(main.subarray(0, n));
      } catch (e) {
        err = e;
      }
      expect(err, `cut at ${n}`).toBeInstanceOf(PackagerError);
      expect((err as PackagerError).code).toBe(ErrorCode.SOURCE_INVALID);
    }
  });
});
