import { describe, expect, it } from 'vitest';
import {
  PES_STREAM_ID_AUDIO,
  PES_STREAM_ID_VIDEO,
  pesHeaderLength,
  wrap33,
  writePcr,
  writePesHeader,
  writeTimestamp,
} from '../../../../src/mux/ts/pes.js';

// Expected bytes were laid out bit by bit from ISO/IEC 13818-1 2.4.3.7 with an independent script.
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('PES header', () => {
  it('writes PTS and DTS above 2^32 (33-bit values split without 32-bit overflow)', () => {
    const out = new Uint8Array(19);
    const pts = 0x1_2345_6789;
    const dts = 0x1_2345_0000;
    const end = writePesHeader(out, 0, { streamId: PES_STREAM_ID_VIDEO, pts, dts, payloadLength: 1000 });
    expect(end).toBe(19);
    expect(pesHeaderLength(pts, dts)).toBe(19);
    // 00 00 01 E0, length 3+10+1000 = 1013, 0x84 (data_alignment), 0xC0 PTS+DTS, 10 header bytes
    expect(hex(out)).toBe('000001e003f584c00a' + '398d15cf13' + '198d150001');
  });

  it('writes a lone PTS when PTS equals DTS', () => {
    const out = new Uint8Array(14);
    expect(writePesHeader(out, 0, { streamId: PES_STREAM_ID_AUDIO, pts: 900000, dts: 900000, payloadLength: 100 })).toBe(14);
    expect(pesHeaderLength(900000, 900000)).toBe(14);
    expect(hex(out)).toBe('000001c0006c848005' + '2100377741');
  });

  it('signals PES_packet_length 0 above 65535 bytes', () => {
    const out = new Uint8Array(19);
    writePesHeader(out, 0, { streamId: PES_STREAM_ID_VIDEO, pts: 3600, dts: 0, payloadLength: 65535 - 13 });
    expect([out[4], out[5]]).toEqual([0xff, 0xff]);
    writePesHeader(out, 0, { streamId: PES_STREAM_ID_VIDEO, pts: 3600, dts: 0, payloadLength: 65535 - 12 });
    expect([out[4], out[5]]).toEqual([0, 0]);
  });

  it('wraps timestamps modulo 2^33', () => {
    const a = new Uint8Array(5);
    const b = new Uint8Array(5);
    writeTimestamp(a, 0, 2, 2 ** 33 - 1);
    expect(hex(a)).toBe('2fffffffff');
    writeTimestamp(a, 0, 2, 2 ** 33 + 900000);
    writeTimestamp(b, 0, 2, 900000);
    expect(hex(a)).toBe(hex(b));
    expect(wrap33(-1)).toBe(2 ** 33 - 1);
  });

  it('writes a PCR: 33-bit base, reserved bits, extension 0', () => {
    const out = new Uint8Array(6);
    writePcr(out, 0, 0x1_2345_6789);
    expect(hex(out)).toBe('91a2b3c4fe00');
    writePcr(out, 0, 900000);
    expect(hex(out)).toBe('0006ddd07e00');
  });
});
