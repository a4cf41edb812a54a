import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type AacConfig,
  aacChannelCount,
  aacCodecString,
  adtsHeader,
  parseAudioSpecificConfig,
} from '../../../../src/media/codec/aac.js';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';

/** Packs [value, bits] fields MSB first, zero-padded to a byte. */
function bits(...fields: [number, number][]): Uint8Array {
  let s = '';
  for (const [v, n] of fields) s += v.toString(2).padStart(n, '0');
  while (s.length % 8) s += '0';
  const out = new Uint8Array(s.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 8, i * 8 + 8), 2);
  return out;
}

function codeOf(fn: () => unknown): ErrorCode | 'none' {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (!(e instanceof PackagerError)) throw e;
    return e.code;
  }
}

describe('parseAudioSpecificConfig', () => {
  it('reads AAC-LC', () => {
    expect(parseAudioSpecificConfig(Uint8Array.from([0x11, 0x90]))).toEqual({
      objectType: 2,
      samplingFrequencyIndex: 3,
      sampleRate: 48000,
      channelConfig: 2,
    });
    const mono = parseAudioSpecificConfig(Uint8Array.from([0x12, 0x08]));
    expect(mono).toMatchObject({ objectType: 2, samplingFrequencyIndex: 4, sampleRate: 44100, channelConfig: 1 });
    expect(aacChannelCount(mono)).toBe(1);
    expect(aacCodecString(mono)).toBe('mp4a.40.2');
  });

  it('reads explicit HE-AAC: core rate index, doubled output rate', () => {
    const he = parseAudioSpecificConfig(bits([5, 5], [6, 4], [2, 4], [3, 4], [2, 5], [0, 3]));
    expect(he).toMatchObject({ objectType: 5, samplingFrequencyIndex: 6, sampleRate: 48000, channelConfig: 2 });
    expect(aacCodecString(he)).toBe('mp4a.40.5');
  });

  it('reads explicit HE-AACv2: mono core, stereo output', () => {
    const ps = parseAudioSpecificConfig(bits([29, 5], [7, 4], [1, 4], [4, 4], [2, 5]));
    expect(ps).toMatchObject({ objectType: 29, samplingFrequencyIndex: 7, sampleRate: 44100, channelConfig: 1 });
    expect(aacChannelCount(ps)).toBe(2);
    expect(aacCodecString(ps)).toBe('mp4a.40.29');
  });

  it('reads backward-compatible SBR signalling after the GASpecificConfig', () => {
    const asc = bits([2, 5], [6, 4], [2, 4], [0, 3], [0x2b7, 11], [5, 5], [1, 1], [3, 4]);
    expect(parseAudioSpecificConfig(asc)).toMatchObject({ objectType: 2, samplingFrequencyIndex: 6, sampleRate: 48000 });
    // The same with a truncated extension is still the plain LC config.
    expect(parseAudioSpecificConfig(asc.subarray(0, 3))).toMatchObject({ objectType: 2, sampleRate: 24000 });
  });

  it('handles the escape object type and an explicit frequency', () => {
    const usac = parseAudioSpecificConfig(bits([31, 5], [10, 6], [3, 4], [2, 4]));
    expect(usac.objectType).toBe(42);
    const explicitKnown = parseAudioSpecificConfig(bits([2, 5], [15, 4], [48000, 24], [2, 4]));
    expect(explicitKnown).toMatchObject({ samplingFrequencyIndex: 3, sampleRate: 48000 });
    const explicitOdd = parseAudioSpecificConfig(bits([2, 5], [15, 4], [22000, 24], [2, 4]));
    expect(explicitOdd).toMatchObject({ samplingFrequencyIndex: 15, sampleRate: 22000 });
  });

  it('reports 8 channels for config 7', () => {
    expect(aacChannelCount(parseAudioSpecificConfig(bits([2, 5], [3, 4], [7, 4])))).toBe(8);
  });

  it('rejects truncated and reserved configs with SOURCE_INVALID', () => {
    expect(codeOf(() => parseAudioSpecificConfig(new Uint8Array(0)))).toBe(ErrorCode.SOURCE_INVALID);
    expect(codeOf(() => parseAudioSpecificConfig(Uint8Array.from([0x11])))).toBe(ErrorCode.SOURCE_INVALID);
    expect(codeOf(() => parseAudioSpecificConfig(bits([2, 5], [13, 4], [2, 4])))).toBe(ErrorCode.SOURCE_INVALID);
    expect(codeOf(() => parseAudioSpecificConfig(bits([0, 5], [3, 4], [2, 4])))).toBe(ErrorCode.SOURCE_INVALID);
    expect(codeOf(() => parseAudioSpecificConfig(bits([2, 5], [15, 4], [1, 8])))).toBe(ErrorCode.SOURCE_INVALID);
  });
});

describe('adtsHeader', () => {
  it('writes the 7-byte header of FORMATS.md §8.1', () => {
    const out = new Uint8Array(9);
    adtsHeader(parseAudioSpecificConfig(Uint8Array.from([0x11, 0x90])), 100, out, 2);
    expect([...out]).toEqual([0, 0, 0xff, 0xf1, 0x4c, 0x80, 0x0d, 0x7f, 0xfc]);
  });

  it('signals HE-AAC as its LC core', () => {
    const he = parseAudioSpecificConfig(bits([5, 5], [6, 4], [2, 4], [3, 4], [2, 5]));
    const out = new Uint8Array(7);
    adtsHeader(he, 200, out, 0);
    expect(out[2]! >> 6).toBe(1); // profile LC
    expect((out[2]! >> 2) & 0xf).toBe(6); // 24 kHz core
  });

  it('refuses what ADTS cannot carry', () => {
    const out = new Uint8Array(7);
    const usac: AacConfig = { objectType: 42, samplingFrequencyIndex: 3, sampleRate: 48000, channelConfig: 2 };
    expect(codeOf(() => adtsHeader(usac, 10, out, 0))).toBe(ErrorCode.UNSUPPORTED_CODEC);
    const odd: AacConfig = { objectType: 2, samplingFrequencyIndex: 15, sampleRate: 22000, channelConfig: 2 };
    expect(codeOf(() => adtsHeader(odd, 10, out, 0))).toBe(ErrorCode.UNSUPPORTED_CODEC);
    const lc: AacConfig = { objectType: 2, samplingFrequencyIndex: 3, sampleRate: 48000, channelConfig: 2 };
    expect(codeOf(() => adtsHeader(lc, 8185, out, 0))).toBe(ErrorCode.SOURCE_INVALID);
    expect(codeOf(() => adtsHeader(lc, 10, out, 1))).toBe(ErrorCode.MUX_FAILURE);
  });

  it('matches the headers FFmpeg writes for the fixture audio', () => {
    const dir = mkdtempSync(join(tmpdir(), 'adts-'));
    try {
      for (const [file, asc] of [
        ['bframes.mp4', [0x11, 0x90]],
        ['moov-at-end.mp4', [0x12, 0x08]],
      ] as const) {
        const input = fileURLToPath(new URL(`../../../../fixtures/vod/${file}`, import.meta.url));
        const out = join(dir, 'a.aac');
        const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', input, '-map', '0:a:0', '-c', 'copy', '-f', 'adts', out]);
        expect(r.status).toBe(0);
        const adts = readFileSync(out);
        const cfg = parseAudioSpecificConfig(Uint8Array.from(asc));
        const mine = new Uint8Array(7);
        let frames = 0;
        for (let p = 0; p < adts.length; frames++) {
          const len = ((adts[p + 3]! & 3) << 11) | (adts[p + 4]! << 3) | (adts[p + 5]! >> 5);
          adtsHeader(cfg, len - 7, mine, 0);
          expect([...mine]).toEqual([...adts.subarray(p, p + 7)]);
          p += len;
        }
        expect(frames).toBeGreaterThan(400);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
