/** Test-only: small hand-built tracks whose samples are fake NAL units or AAC frames. */

import type { SampleEntryType, SampleTable, Track } from '../../../../src/media/track.js';

export interface SampleSpec {
  readonly dts: number;
  readonly cto?: number;
  readonly duration: number;
  readonly size: number;
  readonly sync: boolean;
}

export const SPS = [0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9];
export const PPS = [0x68, 0xeb, 0xe3, 0xcb];

/** avcC with one SPS and one PPS, 4-byte NAL lengths. */
export function avcC(): Uint8Array {
  return Uint8Array.from([1, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0, SPS.length, ...SPS, 1, 0, PPS.length, ...PPS]);
}

/** AudioSpecificConfig: AAC-LC, 48 kHz (index 3), 2 channels. */
export const ASC_LC_48K_STEREO = Uint8Array.of(0x11, 0x90);

export function makeTrack(opts: {
  kind: 'video' | 'audio';
  sampleEntryType: SampleEntryType;
  timescale: number;
  presentationOffset?: number;
  codecConfig: Uint8Array;
  language?: string;
  samples: readonly SampleSpec[];
}): Track {
  const n = opts.samples.length;
  const samples: SampleTable = {
    count: n,
    dts: Float64Array.from(opts.samples, (s) => s.dts),
    cto: Int32Array.from(opts.samples, (s) => s.cto ?? 0),
    duration: Uint32Array.from(opts.samples, (s) => s.duration),
    size: Uint32Array.from(opts.samples, (s) => s.size),
    offset: new Float64Array(n),
    sync: Uint8Array.from(opts.samples, (s) => (s.sync ? 1 : 0)),
  };
  return {
    id: 1,
    kind: opts.kind,
    sampleEntryType: opts.sampleEntryType,
    codecString: '',
    timescale: opts.timescale,
    codecConfig: opts.codecConfig,
    sampleEntry: new Uint8Array(0),
    nalLengthSize: opts.kind === 'video' ? 4 : 0,
    language: opts.language ?? 'und',
    name: '',
    width: 0,
    height: 0,
    sampleRate: 0,
    channels: 0,
    presentationOffset: opts.presentationOffset ?? 0,
    samples,
  };
}

/**
 * Sample bytes for [start, end): video samples are one NAL unit each (IDR for sync samples, else a
 * non-IDR slice) filling the sample size; audio samples are opaque bytes. Byte values depend on the
 * sample index so misplaced data shows.
 */
export function sampleBytes(track: Track, start: number, end: number): Uint8Array {
  const s = track.samples;
  let total = 0;
  for (let i = start; i < end; i++) total += s.size[i]!;
  const out = new Uint8Array(total);
  let p = 0;
  for (let i = start; i < end; i++) {
    const size = s.size[i]!;
    if (track.kind === 'video') {
      const len = size - 4;
      out[p] = len >>> 24;
      out[p + 1] = (len >>> 16) & 0xff;
      out[p + 2] = (len >>> 8) & 0xff;
      out[p + 3] = len & 0xff;
      out[p + 4] = s.sync[i] ? 0x65 : 0x41;
      for (let k = 5; k < size; k++) out[p + k] = (i + k) & 0x7f | 0x10;
    } else {
      for (let k = 0; k < size; k++) out[p + k] = (i * 3 + k) & 0xff;
    }
    p += size;
  }
  return out;
}
