import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../src/media/errors.js';
import type { PesStart } from '../../../../src/mux/ts/packetizer.js';
import { PesPacketizer, TS_PACKET_SIZE, pesPacketCount, writeAdaptationField } from '../../../../src/mux/ts/packetizer.js';
import { pcrOf, readPackets } from './ts-reader.js';

const PLAIN: PesStart = { pcr: undefined, randomAccess: false };
const KEY_WITH_PCR: PesStart = { pcr: 123456789, randomAccess: true };

function bytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** Packetizes `data` as one PES over `packets` packets, written in chunks of `chunk` bytes. */
function packetize(data: Uint8Array, packets: number, start: PesStart, cc = 0, chunk = 50): Uint8Array {
  const out = new Uint8Array(packets * TS_PACKET_SIZE);
  const w = new PesPacketizer(out, 0);
  w.begin(0x100, data.length, packets, start, cc);
  for (let i = 0; i < data.length; i += chunk) w.write(data, i, Math.min(data.length, i + chunk));
  w.end();
  expect(w.offset).toBe(out.length);
  return out;
}

function payloadOf(out: Uint8Array): Uint8Array {
  return Uint8Array.from(readPackets(out).flatMap((p) => [...p.payload]));
}

describe('pesPacketCount', () => {
  it('counts 184 payload bytes per packet, 176 in a first packet with a PCR', () => {
    expect(pesPacketCount(184, PLAIN)).toBe(1);
    expect(pesPacketCount(185, PLAIN)).toBe(2);
    expect(pesPacketCount(176, KEY_WITH_PCR)).toBe(1);
    expect(pesPacketCount(177, KEY_WITH_PCR)).toBe(2);
    expect(pesPacketCount(176 + 184, KEY_WITH_PCR)).toBe(2);
    expect(pesPacketCount(182, { pcr: undefined, randomAccess: true })).toBe(1);
  });
});

describe('adaptation-field stuffing', () => {
  it('absorbs exactly 1 byte with adaptation_field_length 0 and no flags byte', () => {
    const data = bytes(184 + 183);
    const out = packetize(data, 2, PLAIN);
    const [a, b] = readPackets(out);
    expect(a!.afc).toBe(1);
    expect(b!.afc).toBe(3);
    expect(out[188 + 4]).toBe(0); // adaptation_field_length
    expect(b!.payload.length).toBe(183);
    expect(payloadOf(out)).toEqual(data);
  });

  it('absorbs 2 bytes with length 1 and a zero flags byte, no 0xFF fill', () => {
    const data = bytes(184 + 182);
    const out = packetize(data, 2, PLAIN);
    expect([...out.subarray(188 + 4, 188 + 6)]).toEqual([1, 0]);
    expect(out[188 + 6]).toBe(data[184]);
    expect(payloadOf(out)).toEqual(data);
  });

  it('absorbs more with 0xFF fill', () => {
    const out = new Uint8Array(10);
    expect(writeAdaptationField(out, 0, undefined, 5)).toBe(5);
    expect([...out.subarray(0, 5)]).toEqual([4, 0, 0xff, 0xff, 0xff]);
    expect(writeAdaptationField(out, 0, undefined, 0)).toBe(0);
  });

  it('stuffs after the PCR of a short first packet and sets random_access_indicator', () => {
    const data = bytes(175);
    const out = packetize(data, 1, KEY_WITH_PCR);
    const [p] = readPackets(out);
    expect(p!.unitStart).toBe(true);
    expect(out[4]).toBe(8); // 7 for flags + PCR, 1 stuffing
    expect(out[5]).toBe(0x50); // random_access_indicator | PCR_flag
    expect(pcrOf(p!.af)).toBe(123456789);
    expect(out[12]).toBe(0xff);
    expect(payloadOf(out)).toEqual(data);
  });
});

describe('PesPacketizer', () => {
  it('sets PUSI only on the first packet and counts CC from the given value, wrapping at 16', () => {
    const data = bytes(184 * 4);
    const out = packetize(data, 5, KEY_WITH_PCR, 14);
    const ps = readPackets(out);
    expect(ps.map((p) => p.unitStart)).toEqual([true, false, false, false, false]);
    expect(ps.map((p) => p.cc)).toEqual([14, 15, 0, 1, 2]);
    expect(ps.every((p) => p.pid === 0x100)).toBe(true);
    expect(payloadOf(out)).toEqual(data);
  });

  it('spreads a PES over more packets than needed, each with at least one payload byte', () => {
    const data = bytes(30);
    const out = packetize(data, 16, KEY_WITH_PCR, 0, 7);
    const ps = readPackets(out);
    expect(ps.map((p) => p.cc)).toEqual([...Array(16).keys()]);
    expect(ps.every((p) => p.payload.length >= 1 && p.afc === 3)).toBe(true);
    expect(payloadOf(out)).toEqual(data);
  });

  it('returns the next continuity counter from end()', () => {
    const out = new Uint8Array(3 * TS_PACKET_SIZE);
    const w = new PesPacketizer(out, 0);
    w.begin(0x101, 20, 3, PLAIN, 15);
    w.write(bytes(20), 0, 20);
    expect(w.end()).toBe(2);
  });

  it('refuses impossible layouts and length mismatches with MUX_FAILURE', () => {
    const out = new Uint8Array(4 * TS_PACKET_SIZE);
    const w = new PesPacketizer(out, 0);
    expect(() => w.begin(0x100, 3, 4, PLAIN, 0)).toThrow(expect.objectContaining({ code: ErrorCode.MUX_FAILURE }));
    expect(() => w.begin(0x100, 400, 2, PLAIN, 0)).toThrow(expect.objectContaining({ code: ErrorCode.MUX_FAILURE }));
    w.begin(0x100, 10, 1, PLAIN, 0);
    expect(() => w.write(bytes(11), 0, 11)).toThrow(expect.objectContaining({ code: ErrorCode.MUX_FAILURE }));
    const v = new PesPacketizer(out, 0);
    v.begin(0x100, 10, 1, PLAIN, 0);
    v.write(bytes(9), 0, 9);
    expect(() => v.end()).toThrow(expect.objectContaining({ code: ErrorCode.MUX_FAILURE }));
  });
});
