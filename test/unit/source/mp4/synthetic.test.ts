/**
 * Shapes of MP4 the fixtures do not have, built in memory: ctts v1, co64, stz2, constant sizes,
 * largesize and size-0 moov, edit lists with empty edits, skipped tracks, QuickTime audio entries.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import { byteSize, type Media, presentedTime } from '../../../../src/media/track.js';
import { describeMedia, indexMp4, indexMp4Buffer, readSamples } from '../../../../src/source/mp4/index.js';
import { unpackLanguage } from '../../../../src/source/mp4/trak.js';
import {
  audioSamples,
  avc1Entry,
  box,
  buildMp4,
  type MovieSpec,
  mp4aEntry,
  sampleByte,
  str,
  type TrackSpec,
  u8,
  videoSamples,
  visualEntry,
  zeros,
} from './build-mp4.js';

const tmp = mkdtempSync(join(tmpdir(), 'mp4-synth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const video = (over: Partial<TrackSpec> = {}): TrackSpec => ({ id: 1, timescale: 12800, samples: videoSamples(12), ...over });
const audio = (over: Partial<TrackSpec> = {}): TrackSpec => ({
  id: 2,
  timescale: 48000,
  entry: mp4aEntry(),
  samples: audioSamples(20),
  noStss: true,
  ...over,
});

function index(spec: MovieSpec): { media: Media; offsets: Map<number, number[]> } {
  const { file, offsets } = buildMp4(spec);
  return { media: indexMp4Buffer(file, file.length), offsets };
}

function errorOf(fn: () => unknown): PackagerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PackagerError) return e;
    throw e;
  }
  throw new Error('expected a PackagerError');
}

describe('sample tables', () => {
  it('expands stts, ctts v0, stsz, stsc + stco and stss', () => {
    const samples = videoSamples(12, 5, (i) => (i % 3) * 512);
    const { media, offsets } = index({ tracks: [video({ samples }), audio()] });
    const t = media.tracks[0]!;
    expect(t.samples.count).toBe(12);
    expect([...t.samples.dts]).toEqual(samples.map((_, i) => i * 512));
    expect([...t.samples.cto]).toEqual(samples.map((s) => s.cto));
    expect([...t.samples.size]).toEqual(samples.map((s) => s.size));
    expect([...t.samples.offset]).toEqual(offsets.get(1));
    expect([...t.samples.sync]).toEqual(samples.map((s) => (s.sync ? 1 : 0)));
    expect([...media.tracks[1]!.samples.offset]).toEqual(offsets.get(2));
    expect(media.tracks[1]!.samples.sync.every((x) => x === 1)).toBe(true); // no stss: all sync
  });

  it('reads ctts v1 negative offsets and co64', () => {
    const samples = videoSamples(9, 3, (i) => (i % 2 ? -512 : 1024));
    const { media, offsets } = index({ tracks: [video({ samples, cttsVersion: 1, co64: true })] });
    const t = media.tracks[0]!;
    expect([...t.samples.cto]).toEqual(samples.map((s) => s.cto));
    expect([...t.samples.offset]).toEqual(offsets.get(1));
  });

  it.each([4, 8, 16] as const)('reads stz2 with %i-bit fields', (field) => {
    const samples = videoSamples(7).map((s, i) => ({ ...s, size: field === 4 ? 1 + i : 30 + i * 5 }));
    const { media, offsets } = index({ tracks: [video({ samples, stz2: field })] });
    expect([...media.tracks[0]!.samples.size]).toEqual(samples.map((s) => s.size));
    expect([...media.tracks[0]!.samples.offset]).toEqual(offsets.get(1));
  });

  it('reads a constant stsz sample size', () => {
    const samples = audioSamples(10).map((s) => ({ ...s, size: 17 }));
    const { media, offsets } = index({ tracks: [audio({ samples, constantSize: true })] });
    expect([...media.tracks[0]!.samples.size]).toEqual(Array(10).fill(17));
    expect([...media.tracks[0]!.samples.offset]).toEqual(offsets.get(2));
  });

  it('ignores table entries past the last sample', () => {
    const { media } = index({
      tracks: [
        video({
          stblOverride: (b) => {
            // stts for 100 samples while stsz declares 12.
            b.stts = box('stts', u8(0, 0, 0, 0), u8(0, 0, 0, 1), u8(0, 0, 0, 100), u8(0, 0, 2, 0));
          },
        }),
      ],
    });
    expect(media.tracks[0]!.samples.count).toBe(12);
  });
});

describe('edit lists', () => {
  it('is 0 without an edit list', () => {
    expect(index({ tracks: [video()] }).media.tracks[0]!.presentationOffset).toBe(0);
  });

  it('takes the media_time of the first non-empty edit (v0 and v1)', () => {
    const samples = videoSamples(12, 5, () => 1024);
    for (const version of [0, 1] as const) {
      const { media } = index({ tracks: [video({ samples, elst: { version, entries: [[12000, 1024]] } })] });
      const t = media.tracks[0]!;
      expect(t.presentationOffset).toBe(1024);
      expect(presentedTime(t, 0)).toBe(0);
    }
  });

  it('subtracts leading empty edits converted from the movie timescale, ignores later edits', () => {
    // 500 ms empty at movie timescale 1000 = 24000 ticks at 48 kHz.
    const { media } = index({
      movieTimescale: 1000,
      tracks: [audio({ elst: { version: 0, entries: [[500, -1], [9000, 1024], [1000, 5000]] } })],
    });
    const t = media.tracks[0]!;
    expect(t.presentationOffset).toBe(1024 - 24000);
    expect(presentedTime(t, 0)).toBe(24000 - 1024);
    expect(media.duration).toBeCloseTo((24000 - 1024 + 20 * 1024) / 48000, 9);
  });

  it('only empty edits leave the media timeline as is', () => {
    expect(index({ tracks: [video({ elst: { version: 0, entries: [[1000, -1]] } })] }).media.tracks[0]!.presentationOffset).toBe(0);
  });
});

describe('track fields', () => {
  it('reads language, handler name, dimensions and audio format', () => {
    const { media } = index({
      tracks: [
        video({ language: 'fra', name: 'Main video', entry: avc1Entry(1280, 720) }),
        audio({ language: 'eng', name: 'Stereo', entry: mp4aEntry(u8(0x12, 0x08), { channels: 2, rate: 48000 }) }),
      ],
    });
    const [v, a] = media.tracks;
    expect(v).toMatchObject({ kind: 'video', language: 'fra', name: 'Main video', width: 1280, height: 720, codecString: 'avc1.64001f', nalLengthSize: 4 });
    // The AudioSpecificConfig wins over the entry's channel count and rate.
    expect(a).toMatchObject({ kind: 'audio', language: 'eng', name: 'Stereo', sampleRate: 44100, channels: 1, codecString: 'mp4a.40.2', nalLengthSize: 0 });
    expect([...a!.codecConfig]).toEqual([0x12, 0x08]);
  });

  it('falls back to tkhd for the picture size', () => {
    const { media } = index({ tracks: [video({ entry: avc1Entry(0, 0), tkhdSize: [640, 360] })] });
    expect(media.tracks[0]).toMatchObject({ width: 640, height: 360 });
  });

  it('reads a QuickTime v1 sound description with the esds inside wave', () => {
    const { media } = index({ tracks: [audio({ entry: mp4aEntry(u8(0x11, 0x90), { version: 1, inWave: true }) })] });
    expect(media.tracks[0]).toMatchObject({ sampleRate: 48000, channels: 2, codecString: 'mp4a.40.2' });
  });

  it('unpacks ISO-639-2/T and maps 0 or Macintosh codes to und', () => {
    expect(unpackLanguage(0x15c7)).toBe('eng');
    expect(unpackLanguage(0x55c4)).toBe('und');
    expect(unpackLanguage(0)).toBe('und');
    expect(unpackLanguage(0x7fff)).toBe('und');
    expect(index({ tracks: [video({ language: 0 })] }).media.tracks[0]!.language).toBe('und');
  });

  it('skips other handlers and unsupported codecs with a reason', () => {
    const tmcd = { id: 3, handler: 'tmcd', entry: box('tmcd', zeros(30)), samples: [{ size: 4, duration: 1 }] };
    const ac3 = audio({ id: 4, entry: box('ac-3', zeros(6), u8(0, 1), zeros(20)) });
    const mp3 = audio({ id: 5, entry: mp4aEntry() });
    // Turn track 5's esds objectTypeIndication into 0x6B (MP3).
    const e = mp3.entry!;
    const at = Buffer.from(e).indexOf(Buffer.from([0x40, 0x15]));
    e[at] = 0x6b;
    const { media } = index({ tracks: [video(), audio(), tmcd, ac3, mp3] });
    expect(media.tracks.map((t) => t.id)).toEqual([1, 2]);
    expect(media.skipped?.map((s) => s.id)).toEqual([3, 4, 5]);
    expect(media.skipped?.[0]?.reason).toMatch(/tmcd/);
    expect(media.skipped?.[1]?.reason).toMatch(/ac-3/);
    expect(media.skipped?.[2]?.reason).toMatch(/0x6b/);
  });

  it('skips a track whose samples use a second sample description', () => {
    const { media } = index({ tracks: [video({ sampleDescriptionIndex: 2 }), audio()] });
    expect(media.tracks.map((t) => t.id)).toEqual([2]);
    expect(media.skipped?.[0]?.reason).toMatch(/sample description 2/);
  });

  it('throws UNSUPPORTED_CODEC when nothing is packageable', () => {
    const hev = visualEntry('vp09', 320, 240);
    const err = errorOf(() => index({ tracks: [video({ entry: hev })] }));
    expect(err.code).toBe(ErrorCode.UNSUPPORTED_CODEC);
    expect(err.message).toMatch(/vp09/);
  });

  it('says fragmented MP4 is not supported', () => {
    const err = errorOf(() => index({ tracks: [video({ samples: [] })], extraMoovChildren: [box('mvex', zeros(0))] }));
    expect(err.code).toBe(ErrorCode.UNSUPPORTED_CODEC);
    expect(err.message).toMatch(/fragmented/);
  });
});

describe('top-level layout on disk', () => {
  const spec = (over: Partial<MovieSpec>): MovieSpec => ({ tracks: [video(), audio()], ...over });
  for (const [label, s] of [
    ['moov first', spec({})],
    ['moov at the end', spec({ moovAtEnd: true })],
    ['64-bit largesize moov', spec({ moovAtEnd: true, largeMoov: true })],
    ['size-0 moov (to end of file)', spec({ moovAtEnd: true, moovSizeZero: true })],
  ] as const) {
    it(`indexes ${label} and reads its samples`, async () => {
      const { file, offsets } = buildMp4(s);
      const path = join(tmp, `${label.replace(/\W+/g, '-')}.mp4`);
      writeFileSync(path, file);
      const media = await indexMp4(path);
      expect(media.size).toBe(file.length);
      expect(media.path).toBe(path);
      expect(media.indexBytes).toBeGreaterThan(0);
      expect([...media.tracks[0]!.samples.offset]).toEqual(offsets.get(1));
      const fd = await open(path, 'r');
      try {
        for (const t of media.tracks) {
          const out = new Uint8Array(byteSize(t.samples, 0, t.samples.count));
          await readSamples(fd, t, 0, t.samples.count, out, 0);
          let k = 0;
          for (let i = 0; i < t.samples.count; i++) {
            for (let j = 0; j < t.samples.size[i]!; j++) expect(out[k++]).toBe(sampleByte(t.id, i, j));
          }
        }
      } finally {
        await fd.close();
      }
    });
  }

  it('reads runs separated by gaps up to 256 KiB (interleaved chunks) with one read', async () => {
    // 3 samples per chunk, chunks of the two tracks interleaved: samples 1..7 span chunks 0, 1, 2.
    const { file } = buildMp4({ tracks: [video(), audio()] });
    const path = join(tmp, 'runs.mp4');
    writeFileSync(path, file);
    const media = await indexMp4(path);
    const fd = await open(path, 'r');
    try {
      const reads: number[] = [];
      // Only read() is used by readSamples: a spy that forwards it is enough of a FileHandle.
      const spy = {
        read: (buf: Uint8Array, off: number, len: number, pos: number) => {
          reads.push(len);
          return fd.read(buf, off, len, pos);
        },
      } as unknown as FileHandle;
      const t = media.tracks[0]!;
      const out = new Uint8Array(byteSize(t.samples, 1, 8));
      await readSamples(spy, t, 1, 8, out, 0);
      // The three runs (chunks 0, 1, 2 of the video) are separated by audio chunks smaller than them.
      const s = t.samples;
      expect(reads).toEqual([s.offset[7]! + s.size[7]! - s.offset[1]!]);
      const expected = new Uint8Array(out.length);
      let at = 0;
      for (let i = 1; i < 8; i++) {
        expected.set(file.subarray(s.offset[i]!, s.offset[i]! + s.size[i]!), at);
        at += s.size[i]!;
      }
      expect(Buffer.from(out).equals(Buffer.from(expected))).toBe(true);
      // The audio track's runs are separated by video chunks: read through as well (one read, IOPS
      // matter more than bytes), and only the audio bytes land in the output.
      const a = media.tracks[1]!;
      const as = a.samples;
      reads.length = 0;
      const aout = new Uint8Array(byteSize(as, 0, as.count));
      await readSamples(spy, a, 0, as.count, aout, 0);
      expect(reads).toEqual([as.offset[as.count - 1]! + as.size[as.count - 1]! - as.offset[0]!]);
      let k = 0;
      for (let i = 0; i < as.count; i++) {
        expect(Buffer.from(aout.subarray(k, k + as.size[i]!)).equals(file.subarray(as.offset[i]!, as.offset[i]! + as.size[i]!))).toBe(true);
        k += as.size[i]!;
      }
    } finally {
      await fd.close();
    }
  });
});

describe('describeMedia', () => {
  it('summarises tracks as JSON', () => {
    const { media } = index({
      tracks: [video({ language: 'eng', elst: { version: 0, entries: [[1000, 0]] } }), audio({ elst: { version: 0, entries: [[1000, 1024]] } })],
    });
    const d = describeMedia(media);
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    expect(d.tracks[0]).toMatchObject({
      id: 1,
      kind: 'video',
      codec: 'avc1.64001f',
      timescale: 12800,
      samples: 12,
      syncSamples: 3,
      fps: 25,
      width: 320,
      height: 240,
      language: 'eng',
      presentationOffset: 0,
      indexBytesPerSample: 29,
      duration: 12 * 512 / 12800,
    });
    expect(d.tracks[1]).toMatchObject({ kind: 'audio', sampleRate: 48000, channels: 2, presentationOffset: 1024 });
    // The priming frame before 0 is not part of the presented duration.
    expect(d.tracks[1]!.duration).toBeCloseTo((19 * 1024) / 48000, 6);
    expect(d.skipped).toEqual([]);
    expect(d.duration).toBe(media.duration);
  });
});

describe('ftyp-less buffers', () => {
  it('indexes a moov alone', () => {
    const { file } = buildMp4({ tracks: [video()], moovAtEnd: true });
    const moovAt = Buffer.from(file).indexOf(Buffer.from(str('moov'))) - 4;
    const media = indexMp4Buffer(file.subarray(moovAt), file.length);
    expect(media.tracks[0]!.samples.count).toBe(12);
  });
});
