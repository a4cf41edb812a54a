/**
 * buildTsSegment({ sampleAes }) on hand-built tracks: what a SAMPLE-AES decoder does (split the Annex B
 * stream, strip one escaping layer, decrypt at 32, 192, ...) must give back every stored NAL unit and
 * AAC frame, and the PMT must carry Apple's signalling byte for byte.
 */
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAudioSpecificConfig } from '../../../../src/media/codec/aac.js';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import type { Track } from '../../../../src/media/track.js';
import { AUDIO_PID, VIDEO_PID } from '../../../../src/mux/ts/psi.js';
import { aacAudioType, sampleAesAudioStream } from '../../../../src/mux/ts/sample-aes.js';
import { buildTsSegment } from '../../../../src/mux/ts/segment.js';
import {
  expectBytes,
  protectsNal,
  referenceDecryptAudio,
  referenceDecryptNal,
  referenceEncryptNal,
  referenceEscape,
  splitAnnexB,
  unescape,
} from '../../protect/sample-aes-reference.js';
import { loadTrack } from './mp4-fixture.js';
import type { SampleSpec } from './synthetic-track.js';
import { ASC_LC_48K_STEREO, PPS, SPS, avcC, makeTrack, sampleBytes } from './synthetic-track.js';
import { readPackets, readPes } from './ts-reader.js';

const KEY = Uint8Array.from(Buffer.from('c0ffee00c0ffee00c0ffee00c0ffee00', 'hex'));
const IV = Uint8Array.from(Buffer.from('00000000000000000000000000000007', 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function aesDecryptBlock(block: Uint8Array): Uint8Array {
  return new Uint8Array(createDecipheriv('aes-128-ecb', KEY, null).setAutoPadding(false).update(block));
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((x, i) => x ^ b[i]!);
}

let seed = 1;
function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = seed >>> 24;
  }
  return out;
}

/** A valid stored NAL unit (EBSP) of exactly `length` bytes: header, escaped random payload, non-zero last byte. */
function storedNal(header: number, length: number): Uint8Array {
  for (;;) {
    const body = referenceEscape(Uint8Array.of(header, ...random(length - 1)));
    if (body.length < length) continue;
    const n = body.slice(0, length);
    n[length - 1] = 0x80; // rbsp_stop_one_bit: valid EBSP never ends in 00
    if (n[length - 2] === 0 && n[length - 3] === 0) continue;
    return n;
  }
}

/**
 * A slice whose first encrypted block enciphers to 00 00 01 ... (a start code inside ciphertext), and
 * whose second ends in 00 00 right before a clear 02: both must be escaped after encryption.
 */
function craftedSlice(): Uint8Array {
  const n = storedNal(0x41, 400);
  const target0 = Uint8Array.of(0, 0, 1, ...random(13));
  const p0 = xor(aesDecryptBlock(target0), IV); // C0 = E(P0 ^ IV)
  const target1 = Uint8Array.of(...random(14), 0, 0);
  const p1 = xor(aesDecryptBlock(target1), target0); // C1 = E(P1 ^ C0)
  n.set(p0, 32);
  n.set(p1, 192);
  n[208] = 0x02;
  return n;
}

/** An existing emulation prevention byte (00 00 03 01) in the clear lead: it gets escaped once more. */
function sliceWithEpb(): Uint8Array {
  const n = storedNal(0x65, 300);
  n.set([0x11, 0, 0, 3, 1, 0x22], 10);
  return n;
}

interface VideoSample {
  readonly nals: Uint8Array[];
  readonly sync: boolean;
}

const VIDEO_SAMPLES: VideoSample[] = [
  { sync: true, nals: [storedNal(0x06, 60), sliceWithEpb(), storedNal(0x65, 48), storedNal(0x65, 49), storedNal(0x65, 5000)] },
  { sync: false, nals: [storedNal(0x41, 209), storedNal(0x41, 208), storedNal(0x01, 64), storedNal(0x01, 65)] },
  { sync: false, nals: [Uint8Array.of(0x09, 0xf0), craftedSlice(), storedNal(0x0c, 100)] },
  { sync: false, nals: [storedNal(0x41, 192), storedNal(0x41, 193), storedNal(0x41, 369)] },
  { sync: true, nals: [storedNal(0x65, 70000)] },
  { sync: false, nals: [craftedSlice(), craftedSlice()] },
];

function videoFixture(samples: VideoSample[]): { track: Track; data: Uint8Array } {
  const specs: SampleSpec[] = [];
  const parts: number[] = [];
  samples.forEach((s, i) => {
    let size = 0;
    for (const n of s.nals) {
      parts.push(n.length >>> 24, (n.length >>> 16) & 0xff, (n.length >>> 8) & 0xff, n.length & 0xff, ...n);
      size += 4 + n.length;
    }
    specs.push({ dts: i * 512, cto: 0, duration: 512, size, sync: s.sync });
  });
  const track = makeTrack({ kind: 'video', sampleEntryType: 'avc1', timescale: 12800, codecConfig: avcC(), samples: specs });
  return { track, data: Uint8Array.from(parts) };
}

function audioFixture(sizes: number[]): { track: Track; data: Uint8Array } {
  const samples: SampleSpec[] = sizes.map((size, i) => ({ dts: i * 1024, duration: 1024, size, sync: true }));
  const track = makeTrack({ kind: 'audio', sampleEntryType: 'mp4a', timescale: 48000, codecConfig: ASC_LC_48K_STEREO, language: 'eng', samples });
  return { track, data: sampleBytes(track, 0, sizes.length) };
}

/** The PMT section (table_id .. CRC) of a segment. */
function pmtSection(ts: Uint8Array): Uint8Array {
  const p = readPackets(ts)[1]!;
  const s = p.payload.subarray(1 + p.payload[0]!);
  const len = ((s[1]! & 0x0f) << 8) | s[2]!;
  return s.subarray(0, 3 + len);
}

/** CRC-32/MPEG-2 bit by bit, independent of src/mux/ts/crc32.ts. */
function crcBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    for (let bit = 7; bit >= 0; bit--) {
      const top = (crc >>> 31) ^ ((byte >> bit) & 1);
      crc = ((crc << 1) >>> 0) ^ (top ? 0x04c11db7 : 0);
      crc >>>= 0;
    }
  }
  return crc;
}

function expectValidCrc(section: Uint8Array): void {
  const body = section.subarray(0, section.length - 4);
  const crc = new DataView(section.buffer, section.byteOffset + section.length - 4, 4).getUint32(0);
  expect(crc.toString(16)).toBe(crcBitwise(body).toString(16));
}

describe('SAMPLE-AES video segment', () => {
  const { track, data } = videoFixture(VIDEO_SAMPLES);
  const input = { track, start: 0, end: VIDEO_SAMPLES.length, sampleData: data, segmentIndex: 3 };

  it('decodes (split, un-escape once, decrypt) to exactly the stored NAL units', () => {
    const before = Uint8Array.from(data);
    const ts = buildTsSegment({ ...input, sampleAes: { key: KEY, iv: IV } });
    expect(data).toEqual(before); // the caller's sample bytes are left alone
    const pes = readPes(readPackets(ts), VIDEO_PID);
    expect(pes.length).toBe(VIDEO_SAMPLES.length);
    let protectedNals = 0;
    let escapedByCipher = 0;
    pes.forEach((p, k) => {
      const sample = VIDEO_SAMPLES[k]!;
      const nals = splitAnnexB(p.data);
      const expected = sample.nals.filter((n) => (n[0]! & 0x1f) !== 9);
      const head = sample.sync ? [Uint8Array.of(0x09, 0xf0), Uint8Array.from(SPS), Uint8Array.from(PPS)] : [Uint8Array.of(0x09, 0xf0)];
      expect(nals.length, `AU ${k}`).toBe(head.length + expected.length);
      head.forEach((h, i) => expectBytes(nals[i]!, h));
      expected.forEach((orig, i) => {
        const out = nals[head.length + i]!;
        if (!protectsNal(orig)) {
          expectBytes(out, orig, `AU ${k} NAL ${i}: clear, not re-escaped`);
          return;
        }
        protectedNals++;
        const encrypted = referenceEncryptNal(orig, KEY, IV);
        expectBytes(out, referenceEscape(encrypted), `AU ${k} NAL ${i}: encrypted, then escaped`);
        expectBytes(referenceDecryptNal(unescape(out), KEY, IV), orig, `AU ${k} NAL ${i}: decodes back`);
        if (referenceEscape(orig).length === orig.length && out.length > orig.length) escapedByCipher++;
      });
    });
    expect(protectedNals).toBe(14);
    // The crafted slices put start codes into ciphertext; the decoder still got them back above.
    expect(escapedByCipher).toBeGreaterThanOrEqual(3);
  });

  it('escapes the crafted ciphertext start code and the existing emulation prevention byte', () => {
    const ts = buildTsSegment({ ...input, sampleAes: { key: KEY, iv: IV } });
    const pes = readPes(readPackets(ts), VIDEO_PID);
    // AU 2: AUD, then the crafted slice (its in-sample AUD dropped).
    const crafted = splitAnnexB(pes[2]!.data)[1]!;
    expect(hex(crafted.subarray(32, 36))).toBe('00000301');
    expect(crafted.length).toBe(400 + 2);
    // AU 0: AUD SPS PPS SEI, then the slice with 00 00 03 01 at 11: now 00 00 03 03 01.
    const epb = splitAnnexB(pes[0]!.data)[4]!;
    expect(hex(epb.subarray(10, 17))).toBe('1100000303' + '0122');
  });

  it('keeps the segment shape: CC continuity padded to 16 packets, PAT/PMT counters, timestamps', () => {
    const clear = readPackets(buildTsSegment(input));
    const enc = readPackets(buildTsSegment({ ...input, sampleAes: { key: KEY, iv: IV } }));
    const es = enc.filter((p) => p.pid === VIDEO_PID);
    expect(es.length % 16).toBe(0);
    es.forEach((p, i) => expect(p.cc).toBe(i % 16));
    expect(enc[0]!.cc).toBe(3);
    expect(enc[1]!.cc).toBe(3);
    const ptsOf = (pk: typeof enc) => readPes(pk, VIDEO_PID).map((p) => [p.pts, p.dts]);
    expect(ptsOf(enc)).toEqual(ptsOf(clear));
  });

  it('signals 0xDB with private_data_indicator "zavc" in a PMT of version 1, with a valid CRC', () => {
    const section = pmtSection(buildTsSegment({ ...input, sampleAes: { key: KEY, iv: IV } }));
    // table_id 02, section_length 0x18, program 1, version 1 (c3), PCR PID 0x100, no program info,
    // stream_type DB, PID 0x100, ES_info_length 6: 0F 04 'z' 'a' 'v' 'c', CRC.
    expect(hex(section.subarray(0, -4))).toBe('02b018' + '0001c30000' + 'e100f000' + 'dbe100f006' + '0f047a617663');
    expectValidCrc(section);
    expect(hex(section.subarray(-4))).toBe('5259fdd6');
    // The clear segment keeps version 0 and stream_type 0x1B.
    expect(hex(pmtSection(buildTsSegment(input)).subarray(0, -4))).toBe('02b012' + '0001c10000' + 'e100f000' + '1be100f000');
  });

  it('rejects HEVC: SAMPLE-AES in MPEG-TS is not defined for it', () => {
    const fx = loadTrack(readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'fixtures', 'vod', 'hevc.mp4')), 'video');
    expect(fx.track.sampleEntryType).toBe('hvc1');
    const build = () =>
      buildTsSegment({ track: fx.track, start: 0, end: 1, sampleData: fx.sampleData(0, 1), segmentIndex: 0, sampleAes: { key: KEY, iv: IV } });
    expect(build).toThrow(PackagerError);
    expect(build).toThrow('SAMPLE-AES in MPEG-TS is defined for H.264 and AAC only; use fMP4 (cbcs) for HEVC');
    try {
      build();
    } catch (e) {
      expect((e as PackagerError).code).toBe(ErrorCode.UNSUPPORTED_CODEC);
    }
    // The clear path still muxes it.
    expect(buildTsSegment({ track: fx.track, start: 0, end: 1, sampleData: fx.sampleData(0, 1), segmentIndex: 0 }).length).toBeGreaterThan(0);
  });

  it('produces the same bytes with sampleAes undefined as without it', () => {
    expect(hex(buildTsSegment({ ...input, sampleAes: undefined }))).toBe(hex(buildTsSegment(input)));
  });
});

describe('SAMPLE-AES audio segment', () => {
  const sizes = [0, 10, 31, 32, 33, 47, 48, 49, 100, 371, 512, 16, 700];
  const { track, data } = audioFixture(sizes);
  const input = { track, start: 0, end: sizes.length, sampleData: data, segmentIndex: 0 };

  it('keeps every ADTS header, encrypts each raw frame (IV reset per frame), and decrypts back', () => {
    const clear = readPes(readPackets(buildTsSegment(input)), AUDIO_PID).map((p) => p.data);
    const enc = readPes(readPackets(buildTsSegment({ ...input, sampleAes: { key: KEY, iv: IV } })), AUDIO_PID).map((p) => p.data);
    expect(enc.map((d) => d.length)).toEqual(clear.map((d) => d.length));
    const stream = Buffer.concat(enc);
    const clearStream = Buffer.concat(clear);
    let p = 0;
    let offset = 0;
    sizes.forEach((size, i) => {
      expect(hex(stream.subarray(p, p + 7)), `frame ${i} header`).toBe(hex(clearStream.subarray(p, p + 7)));
      const frameLength = ((stream[p + 3]! & 3) << 11) | (stream[p + 4]! << 3) | (stream[p + 5]! >> 5);
      expect(frameLength).toBe(7 + size);
      const raw = stream.subarray(p + 7, p + 7 + size);
      const orig = data.subarray(offset, offset + size);
      if (size < 32) expectBytes(raw, orig, `frame ${i}: clear`);
      else {
        expect(hex(raw)).not.toBe(hex(orig));
        expectBytes(raw.subarray(0, 16), orig.subarray(0, 16), `frame ${i}: 16 clear bytes`);
        const tail = (size - 16) % 16;
        expectBytes(raw.subarray(size - tail), orig.subarray(size - tail), `frame ${i}: clear tail`);
      }
      expectBytes(referenceDecryptAudio(raw, KEY, IV), orig, `frame ${i}`);
      p += 7 + size;
      offset += size;
    });
    expect(p).toBe(stream.length);
  });

  it('signals 0xCF with "aacd" and the "apad" audio setup information, then the language, in PMT version 1', () => {
    const section = pmtSection(buildTsSegment({ ...input, sampleAes: { key: KEY, iv: IV } }));
    expect(hex(section.subarray(0, -4))).toBe(
      '02b02e' + '0001c30000' + 'e101f000' + 'cfe101f01c' +
        '0f0461616364' + // private_data_indicator 'aacd'
        '050e' + '61706164' + // registration descriptor, 14 bytes: 'apad'
        '7a616163' + '0000' + '01' + '02' + '1190' + // 'zaac', priming 0, version 1, 2 bytes of AudioSpecificConfig
        '0a04656e6700', // ISO_639_language_descriptor 'eng'
    );
    expectValidCrc(section);
    expect(hex(section.subarray(-4))).toBe('84344c98');
  });

  it('names HE-AAC "zach" and HE-AACv2 "zacp", and refuses other object types', () => {
    const stream = { streamType: 0x0f, pid: AUDIO_PID, descriptors: new Uint8Array(0) };
    const lc = parseAudioSpecificConfig(ASC_LC_48K_STEREO);
    expect(aacAudioType(lc)).toBe('zaac');
    expect(aacAudioType({ ...lc, objectType: 5 })).toBe('zach');
    expect(aacAudioType({ ...lc, objectType: 29 })).toBe('zacp');
    const he = Uint8Array.of(0x2b, 0x11, 0x88, 0x00); // explicit HE-AAC: AOT 5, 24 kHz core, 48 kHz
    const s = sampleAesAudioStream(stream, he, { ...lc, objectType: 5 });
    expect(hex(s.descriptors)).toBe('0f0461616364' + '0510' + '61706164' + '7a616368' + '0000' + '01' + '04' + '2b118800');
    expect(() => aacAudioType({ ...lc, objectType: 1 })).toThrow(PackagerError);
  });
});
