/**
 * The index of every fixture against two independent readers: ffprobe (packets: size, pos, dts, pts
 * after the edit list, key flag; streams: codec, picture, audio format, language) and mp4box.js
 * (codec strings, per-sample offset/size/dts/cts/sync).
 */
import { describe, expect, it } from 'vitest';
import { forEachNal } from '../../../../src/media/codec/avc.js';
import { presentedTime, type Track } from '../../../../src/media/track.js';
import { indexMp4, type Mp4Index } from '../../../../src/source/mp4/index.js';
import { FIXTURES, ffprobe, fixture, mp4box } from './oracles.js';

const H264_PROFILES: Record<string, number> = { 'Constrained Baseline': 66, Baseline: 66, Main: 77, High: 100 };

const indexes = new Map<string, Promise<Mp4Index>>();
const index = (name: string): Promise<Mp4Index> => {
  let p = indexes.get(name);
  if (!p) indexes.set(name, (p = indexMp4(fixture(name))));
  return p;
};

function trackById(media: Mp4Index, id: number): Track {
  const t = media.tracks.find((x) => x.id === id);
  if (!t) throw new Error(`no track ${id}`);
  return t;
}

describe.each(FIXTURES)('%s against ffprobe', (name) => {
  it('has the same streams, codecs and formats', async () => {
    const media = await index(name);
    const probe = ffprobe(fixture(name));
    expect(media.tracks.map((t) => t.id).sort()).toEqual(probe.streams.map((s) => parseInt(s.id, 16)).sort());
    expect(media.skipped).toEqual([]);
    for (const s of probe.streams) {
      const t = trackById(media, parseInt(s.id, 16));
      expect(t.kind).toBe(s.codec_type);
      expect(t.sampleEntryType).toBe(s.codec_tag_string);
      expect(s.time_base).toBe(`1/${t.timescale}`);
      expect(t.language).toBe(s.tags?.language ?? 'und');
      expect(t.name).toBe(s.tags?.handler_name ?? '');
      expect(t.codecString.startsWith(`${s.codec_tag_string}.`)).toBe(true);
      if (t.kind === 'video') {
        expect([t.width, t.height]).toEqual([s.width, s.height]);
        if (t.sampleEntryType.startsWith('avc')) {
          expect(parseInt(t.codecString.slice(5, 7), 16)).toBe(H264_PROFILES[s.profile ?? '']);
          expect(parseInt(t.codecString.slice(9, 11), 16)).toBe(s.level);
        } else {
          expect(t.codecString).toMatch(new RegExp(`^hvc1\\.1\\.6\\.L${s.level}\\.`)); // Main profile
        }
      } else {
        expect(t.sampleRate).toBe(Number(s.sample_rate));
        expect(t.channels).toBe(s.channels);
        expect(s.profile).toBe('LC');
        expect(t.codecString).toBe('mp4a.40.2');
      }
    }
  });

  it('has the same packets: size, file position, dts and pts after the edit list, key flag', async () => {
    const media = await index(name);
    const probe = ffprobe(fixture(name));
    for (const s of probe.streams) {
      const t = trackById(media, parseInt(s.id, 16));
      const packets = probe.packets.filter((p) => p.stream_index === s.index);
      const st = t.samples;
      expect(st.count).toBe(packets.length);
      packets.forEach((p, i) => {
        const at = `track ${t.id} sample ${i}`;
        expect(st.size[i], at).toBe(Number(p.size));
        expect(st.offset[i], at).toBe(Number(p.pos));
        expect(st.dts[i]! - t.presentationOffset, at).toBe(p.dts);
        expect(presentedTime(t, i), at).toBe(p.pts);
        expect(Math.abs(presentedTime(t, i) / t.timescale - Number(p.pts_time)), at).toBeLessThanOrEqual(1 / t.timescale);
        expect(st.sync[i], at).toBe(p.flags.startsWith('K') ? 1 : 0);
      });
    }
  });

  it('has a duration equal to the longest presented track', async () => {
    const media = await index(name);
    let end = 0;
    for (const t of media.tracks) {
      for (let i = 0; i < t.samples.count; i++) end = Math.max(end, (presentedTime(t, i) + t.samples.duration[i]!) / t.timescale);
    }
    expect(media.duration).toBeCloseTo(end, 9);
    expect(media.indexBytes / media.tracks.reduce((n, t) => n + t.samples.count, 0)).toBeLessThanOrEqual(40);
  });
});

describe.each(FIXTURES)('%s against mp4box.js', (name) => {
  it('has the same codec strings and sample tables', async () => {
    const media = await index(name);
    const box = mp4box(fixture(name));
    expect(box.info.tracks).toHaveLength(media.tracks.length);
    for (const bt of box.info.tracks) {
      const t = trackById(media, bt.id);
      // mp4box writes HEVC hex digits in lower case; players compare case-insensitively.
      expect(t.codecString.toLowerCase()).toBe(bt.codec.toLowerCase());
      expect(t.timescale).toBe(bt.timescale);
      expect(t.samples.count).toBe(bt.nb_samples);
      const samples = box.samples(bt.id);
      samples.forEach((s, i) => {
        expect(t.samples.offset[i]).toBe(s.offset);
        expect(t.samples.size[i]).toBe(s.size);
        expect(t.samples.dts[i]).toBe(s.dts);
        expect(t.samples.dts[i]! + t.samples.cto[i]!).toBe(s.cts);
        expect(t.samples.sync[i]).toBe(s.is_sync ? 1 : 0);
      });
    }
  });
});

describe('codecConfig and sampleEntry', () => {
  it('are the avcC/hvcC payload and the exact sample entry box bytes', async () => {
    const { readFileSync } = await import('node:fs');
    for (const name of FIXTURES) {
      const file = readFileSync(fixture(name));
      const media = await index(name);
      for (const t of media.tracks) {
        const entry = Buffer.from(t.sampleEntry);
        expect(entry.readUInt32BE(0)).toBe(entry.length);
        expect(entry.toString('latin1', 4, 8)).toBe(t.sampleEntryType);
        expect(file.indexOf(entry)).toBeGreaterThan(0); // verbatim copy of the file's bytes
        expect(entry.indexOf(Buffer.from(t.codecConfig))).toBeGreaterThan(8);
        if (t.kind === 'audio') expect(t.codecConfig.length).toBeGreaterThanOrEqual(2);
        else expect(t.codecConfig[0]).toBe(1); // configurationVersion
      }
    }
  });

  it('NAL walking covers every video sample exactly', async () => {
    const { openAsBlob } = await import('node:fs');
    for (const name of ['bframes.mp4', 'hevc.mp4', 'sub/avc3.mp4']) {
      const media = await index(name);
      const bytes = new Uint8Array(await (await openAsBlob(fixture(name))).arrayBuffer());
      const v = media.tracks.find((t) => t.kind === 'video')!;
      for (let i = 0; i < v.samples.count; i++) {
        const off = v.samples.offset[i]!;
        const sample = bytes.subarray(off, off + v.samples.size[i]!);
        let last = 0;
        const types: number[] = [];
        forEachNal(sample, v.nalLengthSize, (s, e) => {
          types.push(v.sampleEntryType.startsWith('avc') ? sample[s]! & 0x1f : (sample[s]! >> 1) & 0x3f);
          last = e;
        });
        expect(last).toBe(sample.length);
        // Sync samples hold an IDR (H.264 type 5) or an HEVC IRAP picture (types 16..23: BLA, IDR, CRA).
        const random = v.sampleEntryType.startsWith('avc') ? (x: number) => x === 5 : (x: number) => x >= 16 && x <= 23;
        if (v.samples.sync[i]) expect(types.some(random), `sample ${i}: ${types.join(',')}`).toBe(true);
      }
    }
  });
});
