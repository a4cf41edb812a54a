import { describe, expect, it } from 'vitest';
import {
  AVC_AUD,
  HEVC_AUD,
  accessUnitSize,
  hasInBandParameterSets,
  parameterSetsAnnexb,
  writeAccessUnit,
} from '../../../../src/mux/ts/annexb.js';
import type { AnnexbParams, ByteSink } from '../../../../src/mux/ts/annexb.js';

/** Length-prefixed sample from NAL units. */
function sample(lengthSize: number, ...nals: number[][]): Uint8Array {
  const out: number[] = [];
  for (const n of nals) {
    for (let i = lengthSize - 1; i >= 0; i--) out.push((n.length >> (8 * i)) & 0xff);
    out.push(...n);
  }
  return Uint8Array.from(out);
}

class Collect implements ByteSink {
  readonly bytes: number[] = [];
  write(src: Uint8Array, start: number, end: number): void {
    for (let i = start; i < end; i++) this.bytes.push(src[i]!);
  }
}

function convert(s: Uint8Array, sync: boolean, params: AnnexbParams): number[] {
  const c = new Collect();
  writeAccessUnit(c, s, sync, params);
  expect(accessUnitSize(s, sync, params)).toBe(c.bytes.length);
  return c.bytes;
}

const SC = [0, 0, 0, 1];
const SPS = [0x67, 0x64, 0x00, 0x1f];
const PPS = [0x68, 0xeb, 0xe3];
const SEI = [0x06, 0x05, 0x01, 0x80];
const IDR = [0x65, 0x88, 0x84, 0x00, 0x10];
const P_SLICE = [0x41, 0x9a, 0x02];
const AUD_IN_SAMPLE = [0x09, 0x10];

const avc = (lengthSize = 4): AnnexbParams => ({
  codec: 'avc',
  nalLengthSize: lengthSize,
  parameterSets: parameterSetsAnnexb([Uint8Array.from(SPS), Uint8Array.from(PPS)]),
});

describe('writeAccessUnit (H.264)', () => {
  it('starts with an AUD and puts SPS+PPS before a sync sample', () => {
    const out = convert(sample(4, SEI, IDR), true, avc());
    expect(out).toEqual([...AVC_AUD, ...SC, ...SPS, ...SC, ...PPS, ...SC, ...SEI, ...SC, ...IDR]);
  });

  it('adds no parameter sets to a non-sync sample and handles 1- and 2-byte lengths', () => {
    expect(convert(sample(2, P_SLICE), false, avc(2))).toEqual([...AVC_AUD, ...SC, ...P_SLICE]);
    expect(convert(sample(1, P_SLICE), false, avc(1))).toEqual([...AVC_AUD, ...SC, ...P_SLICE]);
  });

  it('drops AUDs already in the sample and empty NAL units', () => {
    const out = convert(sample(4, AUD_IN_SAMPLE, [], P_SLICE), false, avc());
    expect(out).toEqual([0, 0, 0, 1, 0x09, 0xf0, ...SC, ...P_SLICE]);
  });

  it('does not duplicate parameter sets the sample carries in band (avc3)', () => {
    const inBandSps = [0x67, 0x4d, 0x00, 0x28];
    const s = sample(4, AUD_IN_SAMPLE, inBandSps, PPS, IDR);
    expect(hasInBandParameterSets(s, 'avc', 4)).toBe(true);
    expect(convert(s, true, avc())).toEqual([...AVC_AUD, ...SC, ...inBandSps, ...SC, ...PPS, ...SC, ...IDR]);
  });
});

describe('writeAccessUnit (HEVC)', () => {
  const VPS = [0x40, 0x01, 0x0c];
  const HSPS = [0x42, 0x01, 0x01];
  const HPPS = [0x44, 0x01, 0xc1];
  const HAUD = [0x46, 0x01, 0x10];
  const IDR_W_RADL = [0x26, 0x01, 0xaf, 0x00];
  const TRAIL = [0x02, 0x01, 0xd0];
  const hevc: AnnexbParams = {
    codec: 'hevc',
    nalLengthSize: 4,
    parameterSets: parameterSetsAnnexb([VPS, HSPS, HPPS].map((n) => Uint8Array.from(n))),
  };

  it('writes the HEVC AUD (type 35), then VPS+SPS+PPS before a sync sample', () => {
    expect(HEVC_AUD).toEqual(Uint8Array.of(0, 0, 0, 1, 0x46, 0x01, 0x50));
    const out = convert(sample(4, HAUD, IDR_W_RADL), true, hevc);
    expect(out).toEqual([...HEVC_AUD, ...SC, ...VPS, ...SC, ...HSPS, ...SC, ...HPPS, ...SC, ...IDR_W_RADL]);
  });

  it('leaves in-band parameter sets alone (hev1) and non-sync samples bare', () => {
    const s = sample(4, VPS, HSPS, HPPS, IDR_W_RADL);
    expect(hasInBandParameterSets(s, 'hevc', 4)).toBe(true);
    expect(convert(s, true, hevc)).toEqual([...HEVC_AUD, ...SC, ...VPS, ...SC, ...HSPS, ...SC, ...HPPS, ...SC, ...IDR_W_RADL]);
    expect(convert(sample(4, TRAIL), false, hevc)).toEqual([...HEVC_AUD, ...SC, ...TRAIL]);
  });
});
