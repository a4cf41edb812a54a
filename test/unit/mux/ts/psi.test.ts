import { describe, expect, it } from 'vitest';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import { crc32Mpeg } from '../../../../src/mux/ts/crc32.js';
import { PMT_PID, writePat, writePmt } from '../../../../src/mux/ts/psi.js';
import { readPackets } from './ts-reader.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('PAT', () => {
  it('is byte-identical to the PAT ffmpeg writes', () => {
    const out = new Uint8Array(188);
    writePat(out, 0, 0);
    expect(hex(out.subarray(0, 21))).toBe('474000100000b00d0001c100000001f0002ab104b2');
    expect(out.subarray(21).every((b) => b === 0xff)).toBe(true);
  });

  it('carries the continuity counter it is given', () => {
    const out = new Uint8Array(188 * 2);
    writePat(out, 188, 0x1d);
    expect(out[188 + 3]).toBe(0x1d);
    expect(out.subarray(0, 188).every((b) => b === 0)).toBe(true);
  });
});

interface ParsedPmt {
  pcrPid: number;
  version: number;
  streams: { streamType: number; pid: number; descriptors: string }[];
}

function parsePmt(pkt: Uint8Array): ParsedPmt {
  const [p] = readPackets(pkt);
  const s = p!.payload.subarray(1 + p!.payload[0]!);
  expect(s[0]).toBe(0x02);
  const len = ((s[1]! & 0x0f) << 8) | s[2]!;
  expect(crc32Mpeg(s, 0, 3 + len)).toBe(0);
  const programInfo = ((s[10]! & 0x0f) << 8) | s[11]!;
  const streams: ParsedPmt['streams'] = [];
  for (let q = 12 + programInfo; q < 3 + len - 4; ) {
    const esLen = ((s[q + 3]! & 0x0f) << 8) | s[q + 4]!;
    streams.push({
      streamType: s[q]!,
      pid: ((s[q + 1]! & 0x1f) << 8) | s[q + 2]!,
      descriptors: hex(s.subarray(q + 5, q + 5 + esLen)),
    });
    q += 5 + esLen;
  }
  return { pcrPid: ((s[8]! & 0x1f) << 8) | s[9]!, version: (s[5]! >> 1) & 0x1f, streams };
}

describe('PMT', () => {
  it('writes stream types and ES descriptors given as data, with a valid CRC', () => {
    const out = new Uint8Array(188);
    // What a SAMPLE-AES H.264 stream would carry: 0xDB + private_data_indicator 'zavc'.
    const zavc = Uint8Array.of(0x0f, 0x04, 0x7a, 0x61, 0x76, 0x63);
    writePmt(out, 0, 3, { pcrPid: 0x100, streams: [{ streamType: 0xdb, pid: 0x100, descriptors: zavc }], version: 1 });
    const [p] = readPackets(out);
    expect(p!.pid).toBe(PMT_PID);
    expect(p!.unitStart).toBe(true);
    expect(p!.cc).toBe(3);
    expect(parsePmt(out)).toEqual({
      pcrPid: 0x100,
      version: 1,
      streams: [{ streamType: 0xdb, pid: 0x100, descriptors: '0f047a617663' }],
    });
  });

  it('writes the exact bytes of a clear H.264 PMT', () => {
    const out = new Uint8Array(188);
    writePmt(out, 0, 0, { pcrPid: 0x100, streams: [{ streamType: 0x1b, pid: 0x100, descriptors: new Uint8Array(0) }] });
    expect(out[4]).toBe(0); // pointer_field
    const section = out.subarray(5, 5 + 3 + 18);
    expect(hex(section.subarray(0, 17))).toBe('02b0120001c10000e100f0001be100f000');
    expect(crc32Mpeg(section)).toBe(0);
  });

  it('refuses a PMT that does not fit in one packet', () => {
    const out = new Uint8Array(188);
    const big = { streamType: 0x0f, pid: 0x101, descriptors: new Uint8Array(170) };
    expect(() => writePmt(out, 0, 0, { pcrPid: 0x101, streams: [big] })).toThrow(PackagerError);
    try {
      writePmt(out, 0, 0, { pcrPid: 0x101, streams: [big] });
    } catch (e) {
      expect((e as PackagerError).code).toBe(ErrorCode.MUX_FAILURE);
    }
  });
});
