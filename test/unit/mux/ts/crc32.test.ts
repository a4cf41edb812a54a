import { describe, expect, it } from 'vitest';
import { crc32Mpeg } from '../../../../src/mux/ts/crc32.js';

describe('crc32Mpeg', () => {
  it('gives the CRC-32/MPEG-2 check value', () => {
    expect(crc32Mpeg(new TextEncoder().encode('123456789'))).toBe(0x0376e6e7);
  });

  it('matches the CRC of the PAT ffmpeg writes (tsid 1, program 1 -> PMT 0x1000)', () => {
    const section = Uint8Array.of(0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00);
    expect(crc32Mpeg(section)).toBe(0x2ab104b2);
  });

  it('is 0 over a section followed by its own CRC, and honours start/end', () => {
    const buf = Uint8Array.of(0xaa, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1, 0x04, 0xb2, 0xbb);
    expect(crc32Mpeg(buf, 1, 17)).toBe(0);
    expect(crc32Mpeg(buf, 1, 13)).toBe(0x2ab104b2);
    expect(crc32Mpeg(new Uint8Array(0))).toBe(0xffffffff);
  });
});
