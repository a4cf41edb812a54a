import { describe, expect, it } from 'vitest';
import type { Track } from '../../../../src/media/track.js';
import {
  buildFragment,
  fragmentLayout,
  writeFragment,
  type FragmentInput,
  type FragmentProtection,
} from '../../../../src/mux/fmp4/fragment.js';
import { buildInit } from '../../../../src/mux/fmp4/init.js';
import { fakeSampleData, findBox, hex, makeSamples, makeTrack, parseWithMp4box, walkBoxes, type RawBox, expectMuxFailure } from './helpers.js';

/** I P B b b | I P B: B-frames (negative offsets after the shift) and a 2-frame edit-list delay. */
const gop = [
  { duration: 512, size: 3000, cto: 1024, sync: true },
  { duration: 512, size: 900, cto: 2560, sync: false },
  { duration: 512, size: 400, cto: 1024, sync: false },
  { duration: 512, size: 300, cto: 0, sync: false },
  { duration: 512, size: 350, cto: 512, sync: false },
];
const video = makeTrack({ samples: makeSamples([...gop, ...gop, ...gop]), presentationOffset: 1024 });
const audio = makeTrack({
  kind: 'audio',
  id: 2,
  samples: makeSamples(Array.from({ length: 10 }, (_, i) => ({ duration: 1024, size: 200 + i }))),
  presentationOffset: 1024,
});

function u32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(at);
}

function u16(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset).getUint16(at);
}

function boxAt(b: Uint8Array, box: RawBox): Uint8Array {
  return b.subarray(box.start, box.start + box.size);
}

function frag(track: Track, start: number, end: number, protection?: FragmentProtection, sequenceNumber = 1): Uint8Array {
  return buildFragment({ track, start, end, sequenceNumber, protection }, fakeSampleData(track.samples, start, end));
}

/** mp4box's view of init + fragment(s): the samples a reader reconstructs, with their bytes. */
function readBack(track: Track, fragments: Uint8Array[]) {
  const whole = Buffer.concat([buildInit(track), ...fragments]);
  const iso = parseWithMp4box(whole);
  return { whole, samples: iso.moov.traks[0]!.samples };
}

describe('fragment layout and clear fragments', () => {
  it('is moof + mdat; data_offset points at the first payload byte', () => {
    const input: FragmentInput = { track: video, start: 5, end: 10, sequenceNumber: 2 };
    const layout = fragmentLayout(input);
    const data = fakeSampleData(video.samples, 5, 10);
    const out = buildFragment(input, data);
    expect(out.length).toBe(layout.totalSize);
    expect(layout.mdatPayloadOffset).toBe(layout.moofSize + 8);
    expect(layout.totalSize).toBe(layout.mdatPayloadOffset + data.length);
    const boxes = walkBoxes(out);
    expect(boxes.map((b) => [b.type, b.size])).toEqual([
      ['moof', layout.moofSize],
      ['mdat', 8 + data.length],
    ]);
    expect(findBox(boxes, 'moof', 'traf').children.map((b) => b.type)).toEqual(['tfhd', 'tfdt', 'trun']);
    const trun = findBox(boxes, 'moof', 'traf', 'trun');
    expect(u32(out, trun.start + 16)).toBe(layout.moofSize + 8);
    expect(hex(out.subarray(layout.mdatPayloadOffset))).toBe(hex(data));
  });

  it('carries sequence number, continuous tfdt, default-base-is-moof, signed offsets (read back by mp4box)', () => {
    const iso = parseWithMp4box(frag(video, 5, 10, undefined, 2));
    const moof = iso.moofs[0]!;
    const traf = moof.trafs[0]!;
    expect(moof.mfhd?.sequence_number).toBe(2);
    expect(traf.tfhd?.flags).toBe(0x020000 | 0x08 | 0x20); // uniform duration and non-first flags as defaults
    expect(traf.tfhd?.track_id).toBe(1);
    expect(traf.tfhd?.default_sample_duration).toBe(512);
    expect(traf.tfhd?.default_sample_flags).toBe(0x01010000);
    expect(traf.tfdt?.baseMediaDecodeTime).toBe(5 * 512);
    expect(traf.tfdt?.version).toBe(0);
    const trun = traf.truns[0]!;
    expect(trun.version).toBe(1);
    expect(trun.flags).toBe(0x000001 | 0x000004 | 0x000200 | 0x000800);
    expect(trun.first_sample_flags).toBe(0x02000000);
    expect(trun.sample_size).toEqual([3000, 900, 400, 300, 350]);
    // cto - presentationOffset: the I frame presents at its DTS, B-frames before theirs.
    expect(trun.sample_composition_time_offset).toEqual([0, 1536, 0, -1024, -512]);
  });

  it('round-trips every sample (time, size, sync, bytes) through init + fragments', () => {
    const fragments = [frag(video, 0, 5, undefined, 1), frag(video, 5, 10, undefined, 2), frag(video, 10, 15, undefined, 3)];
    const { whole, samples } = readBack(video, fragments);
    const s = video.samples;
    expect(samples).toHaveLength(15);
    const dataAll = fakeSampleData(s, 0, 5);
    samples.forEach((r, i) => {
      expect(r.dts).toBe(s.dts[i]);
      expect(r.cts).toBe(s.dts[i]! + s.cto[i]! - video.presentationOffset);
      expect(r.duration).toBe(s.duration[i]);
      expect(r.size).toBe(s.size[i]);
      expect(r.is_sync).toBe(s.sync[i] === 1);
      // Each fragment's payload starts over at byte 0 of fakeSampleData, so compare within the GOP.
      const k = i % 5;
      let at = 0;
      for (let j = 0; j < k; j++) at += s.size[j]!;
      expect(hex(whole.subarray(r.offset, r.offset + r.size))).toBe(hex(dataAll.subarray(at, at + s.size[k]!)));
    });
    // The earliest presented frame is at 0: the edit list is applied.
    expect(Math.min(...samples.map((r) => r.cts))).toBe(0);
  });

  it('uses trun v0 when no offset is negative and omits offsets that are all 0', () => {
    const noShift = makeTrack({ samples: video.samples, presentationOffset: 0 });
    const t0 = parseWithMp4box(frag(noShift, 0, 5)).moofs[0]!.trafs[0]!.truns[0]!;
    expect(t0.version).toBe(0);
    expect(t0.sample_composition_time_offset).toEqual([1024, 2560, 1024, 0, 512]);

    const noB = makeTrack({ samples: makeSamples([{ duration: 1, size: 5 }, { duration: 1, size: 6, sync: false }]) });
    const t1 = parseWithMp4box(frag(noB, 0, 2)).moofs[0]!.trafs[0]!.truns[0]!;
    expect(t1.flags & 0x800).toBe(0);
  });

  it('audio: all samples sync via the tfhd default, priming as a negative offset, no per-sample flags', () => {
    const iso = parseWithMp4box(frag(audio, 0, 10));
    const traf = iso.moofs[0]!.trafs[0]!;
    expect(traf.tfhd?.default_sample_flags).toBe(0x02000000);
    expect(traf.tfhd?.default_sample_duration).toBe(1024);
    const trun = traf.truns[0]!;
    expect(trun.flags).toBe(0x000001 | 0x000200 | 0x000800);
    expect(trun.version).toBe(1);
    expect(trun.sample_composition_time_offset).toEqual(new Array(10).fill(-1024));

    const unshifted = makeTrack({ ...audio, presentationOffset: 0 });
    const plain = parseWithMp4box(frag(unshifted, 0, 10)).moofs[0]!.trafs[0]!.truns[0]!;
    expect(plain.flags).toBe(0x000001 | 0x000200);
  });

  it('writes per-sample flags when a sync sample is not first, and per-sample durations when they vary', () => {
    const t = makeTrack({
      samples: makeSamples([
        { duration: 500, size: 10, sync: true },
        { duration: 500, size: 11, sync: false },
        { duration: 501, size: 12, sync: true },
      ]),
    });
    const trun = parseWithMp4box(frag(t, 0, 3)).moofs[0]!.trafs[0]!.truns[0]!;
    expect(trun.flags & 0x400).toBe(0x400);
    expect(trun.flags & 0x100).toBe(0x100);
    expect(trun.sample_flags).toEqual([0x02000000, 0x01010000, 0x02000000]);
    expect(trun.sample_duration).toEqual([500, 500, 501]);
  });

  it('uses the tfhd default size when every sample has the same size (single sample)', () => {
    const traf = parseWithMp4box(frag(video, 0, 1)).moofs[0]!.trafs[0]!;
    expect(traf.tfhd?.default_sample_size).toBe(3000);
    expect(traf.tfhd?.default_sample_flags).toBe(0x02000000);
    expect(traf.truns[0]!.flags & 0x204).toBe(0);
  });

  it('switches tfdt to version 1 past 32 bits', () => {
    const late = makeTrack({ samples: makeSamples(gop, 2 ** 33 + 512) });
    const out = frag(late, 0, 5);
    const tfdt = findBox(walkBoxes(out), 'moof', 'traf', 'tfdt');
    expect(out[tfdt.start + 8]).toBe(1);
    expect(parseWithMp4box(out).moofs[0]!.trafs[0]!.tfdt?.baseMediaDecodeTime).toBe(2 ** 33 + 512);
  });

  it('writeFragment writes only moof and the mdat header, leaving the payload to the caller', () => {
    const input: FragmentInput = { track: video, start: 0, end: 5, sequenceNumber: 1 };
    const layout = fragmentLayout(input);
    const buf = new Uint8Array(layout.totalSize).fill(0xaa);
    writeFragment(buf, input, layout);
    expect(buf.subarray(layout.mdatPayloadOffset).every((b) => b === 0xaa)).toBe(true);
    expect(hex(buf.subarray(layout.moofSize, layout.mdatPayloadOffset))).toBe(
      (layout.totalSize - layout.moofSize).toString(16).padStart(8, '0') + '6d646174',
    );
    // Every header byte is written, so an uninitialised buffer (Buffer.allocUnsafe) is fine.
    const clean = new Uint8Array(layout.totalSize);
    writeFragment(clean, input, layout);
    expect(hex(clean.subarray(0, layout.mdatPayloadOffset))).toBe(hex(buf.subarray(0, layout.mdatPayloadOffset)));
  });

  it('writes into a pooled Buffer (non-zero byteOffset), as Buffer.allocUnsafe returns', () => {
    const input: FragmentInput = { track: video, start: 0, end: 5, sequenceNumber: 1 };
    const layout = fragmentLayout(input);
    Buffer.allocUnsafe(13); // move the pool cursor
    const buf = Buffer.allocUnsafe(layout.totalSize);
    buf.set(fakeSampleData(video.samples, 0, 5), layout.mdatPayloadOffset);
    writeFragment(buf, input, layout);
    expect(hex(buf)).toBe(hex(frag(video, 0, 5)));
  });

  it('refuses a layout that does not belong to the input, and a short buffer', () => {
    const layout = fragmentLayout({ track: video, start: 0, end: 5, sequenceNumber: 1 });
    const buf = new Uint8Array(layout.totalSize);
    expectMuxFailure(() => writeFragment(buf, { track: video, start: 0, end: 4, sequenceNumber: 1 }, layout), /layout/);
    expectMuxFailure(() => writeFragment(new Uint8Array(10), { track: video, start: 0, end: 5, sequenceNumber: 1 }, layout), /buffer/);
    expectMuxFailure(() => buildFragment({ track: video, start: 0, end: 5, sequenceNumber: 1 }, new Uint8Array(3)), /sample data/);
  });

  it('refuses bad ranges, numbers and payloads too large for a 32-bit mdat', () => {
    expectMuxFailure(() => fragmentLayout({ track: video, start: 3, end: 3, sequenceNumber: 1 }), /range/);
    expectMuxFailure(() => fragmentLayout({ track: video, start: 0, end: 16, sequenceNumber: 1 }), /range/);
    expectMuxFailure(() => fragmentLayout({ track: video, start: -1, end: 2, sequenceNumber: 1 }), /range/);
    expectMuxFailure(() => fragmentLayout({ track: video, start: 0, end: 2, sequenceNumber: -1 }), /sequence/);
    const huge = makeTrack({ samples: makeSamples([{ duration: 1, size: 2 ** 31 }, { duration: 1, size: 2 ** 31 }]) });
    expectMuxFailure(() => fragmentLayout({ track: huge, start: 0, end: 2, sequenceNumber: 1 }), /64-bit mdat/);
    const almost = makeTrack({ samples: makeSamples([{ duration: 1, size: 0xffffffff - 8 }]) });
    // The largest payload a 32-bit mdat size can hold: mdat size exactly 0xffffffff.
    const edge = fragmentLayout({ track: almost, start: 0, end: 1, sequenceNumber: 1 });
    expect(edge.totalSize - edge.moofSize).toBe(0xffffffff);
  });
});

/** Subsample maps for the GOP: per sample, [clear, protected] pairs summing to its size. */
function subsamplesFor(track: Track, start: number, end: number, base = 0) {
  const counts: number[] = [];
  const clear: number[] = [];
  const prot: number[] = [];
  for (let i = start; i < end; i++) {
    const size = track.samples.size[i]!;
    // Two NAL-like subsamples for big samples, one for small ones.
    if (size > 500) {
      clear.push(37, 5);
      prot.push(448, size - 37 - 448 - 5);
      counts.push(2);
    } else {
      clear.push(size);
      prot.push(0);
      counts.push(1);
    }
  }
  const index = new Uint32Array(end - start + 1);
  index[0] = base;
  counts.forEach((c, k) => (index[k + 1] = index[k]! + c));
  const pad = new Array<number>(base).fill(9);
  return {
    subsampleIndex: index,
    clearBytes: Uint16Array.from([...pad, ...clear]),
    protectedBytes: Uint32Array.from([...pad, ...prot]),
  };
}

function ivsFor(n: number, ivSize: number): Uint8Array {
  const ivs = new Uint8Array(n * ivSize);
  for (let k = 0; k < n; k++) ivs.fill(k + 1, k * ivSize, (k + 1) * ivSize);
  return ivs;
}

/**
 * Follows saiz/saio the way a reader without senc support does (Firefox did): for every sample, the
 * aux info found at moof + saio + sum(earlier saiz sizes) must be that sample's IV and subsamples.
 */
function checkAuxInfo(out: Uint8Array, track: Track, start: number, p: FragmentProtection): void {
  const boxes = walkBoxes(out);
  const moof = findBox(boxes, 'moof');
  const traf = findBox(boxes, 'moof', 'traf');
  expect(traf.children.map((b) => b.type)).toEqual(['tfhd', 'tfdt', 'trun', 'saiz', 'saio', 'senc']);
  const iso = parseWithMp4box(out);
  const t = iso.moofs[0]!.trafs[0]! as unknown as { boxes: Record<string, unknown>[] };
  const saiz = t.boxes.find((b) => b.type === 'saiz')! as { default_sample_info_size: number; sample_count: number; sample_info_size: number[] };
  const saio = t.boxes.find((b) => b.type === 'saio')! as { entry_count: number; offset: number[] };
  const n = saiz.sample_count;
  expect(saio.entry_count).toBe(1);
  const senc = findBox(traf.children, 'senc');
  expect(saio.offset[0]).toBe(senc.start - moof.start + 16);
  let at = moof.start + saio.offset[0]!;
  const sizes = track.samples.size;
  for (let k = 0; k < n; k++) {
    const infoSize = saiz.default_sample_info_size || saiz.sample_info_size[k]!;
    const info = out.subarray(at, at + infoSize);
    const iv = info.subarray(0, p.perSampleIvSize);
    if (p.ivs) expect(hex(iv)).toBe(hex(p.ivs.subarray(k * p.perSampleIvSize, (k + 1) * p.perSampleIvSize)));
    if (p.subsampleIndex) {
      const count = u16(info, p.perSampleIvSize);
      const from = p.subsampleIndex[k]!;
      expect(count).toBe(p.subsampleIndex[k + 1]! - from);
      expect(infoSize).toBe(p.perSampleIvSize + 2 + 6 * count);
      let sum = 0;
      for (let j = 0; j < count; j++) {
        const clear = u16(info, p.perSampleIvSize + 2 + 6 * j);
        const prot = u32(info, p.perSampleIvSize + 4 + 6 * j);
        expect([clear, prot]).toEqual([p.clearBytes![from + j], p.protectedBytes![from + j]]);
        sum += clear + prot;
      }
      expect(sum).toBe(sizes[start + k]);
    } else {
      expect(infoSize).toBe(p.perSampleIvSize);
    }
    at += infoSize;
  }
  // The last sample's aux info ends exactly at the end of senc (and of the moof).
  expect(at).toBe(senc.start + senc.size);
  expect(at).toBe(moof.start + moof.size);
  // data_offset accounts for the aux boxes.
  const trun = iso.moofs[0]!.trafs[0]!.truns[0]!;
  expect(trun.data_offset).toBe(moof.size + 8);
}

describe('protected fragments: saiz, saio, senc', () => {
  it('cenc video: 8-byte IVs + subsamples, per-sample saiz table', () => {
    const p: FragmentProtection = { perSampleIvSize: 8, ivs: ivsFor(5, 8), ...subsamplesFor(video, 5, 10) };
    const out = frag(video, 5, 10, p);
    checkAuxInfo(out, video, 5, p);
    const senc = findBox(walkBoxes(out), 'moof', 'traf', 'senc');
    expect(u32(out, senc.start + 8)).toBe(2); // flags: subsamples present
    const saiz = findBox(walkBoxes(out), 'moof', 'traf', 'saiz');
    expect(out[saiz.start + 12]).toBe(0); // sizes differ: 8+2+12 vs 8+2+6
  });

  it('cenc audio: whole-sample protection, IVs only, saiz default size 8, senc flags 0', () => {
    const p: FragmentProtection = { perSampleIvSize: 8, ivs: ivsFor(10, 8) };
    const out = frag(audio, 0, 10, p);
    checkAuxInfo(out, audio, 0, p);
    const boxes = walkBoxes(out);
    const saiz = findBox(boxes, 'moof', 'traf', 'saiz');
    expect(hex(boxAt(out, saiz))).toBe('00000011' + '7361697a' + '00000000' + '08' + '0000000a');
    const senc = findBox(boxes, 'moof', 'traf', 'senc');
    expect(u32(out, senc.start + 8)).toBe(0);
    expect(senc.size).toBe(16 + 80);
  });

  it('16-byte IVs with uniform subsample counts: saiz default size', () => {
    const uniform = makeTrack({ samples: makeSamples([{ duration: 1, size: 1000 }, { duration: 1, size: 2000, sync: false }]) });
    const p: FragmentProtection = { perSampleIvSize: 16, ivs: ivsFor(2, 16), ...subsamplesFor(uniform, 0, 2) };
    const out = frag(uniform, 0, 2, p);
    checkAuxInfo(out, uniform, 0, p);
    const saiz = findBox(walkBoxes(out), 'moof', 'traf', 'saiz');
    expect(out[saiz.start + 12]).toBe(16 + 2 + 12);
  });

  it('cbcs video with a constant IV: subsamples only', () => {
    const p: FragmentProtection = { perSampleIvSize: 0, ...subsamplesFor(video, 0, 5) };
    const out = frag(video, 0, 5, p);
    checkAuxInfo(out, video, 0, p);
  });

  it('cbcs audio with a constant IV: no aux info, so no saiz/saio/senc and the clear moof', () => {
    const out = frag(audio, 0, 10, { perSampleIvSize: 0 });
    expect(findBox(walkBoxes(out), 'moof', 'traf').children.map((b) => b.type)).toEqual(['tfhd', 'tfdt', 'trun']);
    expect(hex(out)).toBe(hex(frag(audio, 0, 10)));
  });

  it('accepts a window into track-wide subsample arrays (subsampleIndex not starting at 0)', () => {
    const p: FragmentProtection = { perSampleIvSize: 8, ivs: ivsFor(5, 8), ...subsamplesFor(video, 5, 10, 7) };
    const out = frag(video, 5, 10, p);
    checkAuxInfo(out, video, 5, p);
  });

  it('refuses more subsamples than an 8-bit saiz entry can describe', () => {
    // n subsamples of 1 clear byte each, for a sample of n bytes.
    const many = (n: number, ivSize: 0 | 8): FragmentProtection => ({
      perSampleIvSize: ivSize,
      ivs: ivSize ? new Uint8Array(ivSize) : undefined,
      subsampleIndex: Uint32Array.of(0, n),
      clearBytes: new Uint16Array(n).fill(1),
      protectedBytes: new Uint32Array(n),
    });
    const one = (n: number) => makeTrack({ samples: makeSamples([{ duration: 1, size: n }]) });
    // 8 + 2 + 6 * 40 = 250 fits; 41 subsamples = 256 does not.
    expect(() => frag(one(40), 0, 1, many(40, 8))).not.toThrow();
    expectMuxFailure(() => frag(one(41), 0, 1, many(41, 8)), /subsamples/);
    // Constant IV: 2 + 6 * 42 = 254 fits; 43 does not.
    expect(() => frag(one(42), 0, 1, many(42, 0))).not.toThrow();
    expectMuxFailure(() => frag(one(43), 0, 1, many(43, 0)), /subsamples/);
  });

  it('refuses clear runs over 65535 and subsamples that do not add up to the sample size', () => {
    const t = makeTrack({ samples: makeSamples([{ duration: 1, size: 70000 }]) });
    const wide: FragmentProtection = {
      perSampleIvSize: 8, ivs: new Uint8Array(8),
      subsampleIndex: Uint32Array.of(0, 1), clearBytes: Uint32Array.of(70000), protectedBytes: Uint32Array.of(0),
    };
    expectMuxFailure(() => frag(t, 0, 1, wide), /16 bits/);
    // The same map in a Uint16Array wraps to 4464: caught by the size check.
    expectMuxFailure(() => frag(t, 0, 1, { ...wide, clearBytes: Uint16Array.of(70000) }), /cover 4464 bytes, sample has 70000/);
    expectMuxFailure(
      () => frag(t, 0, 1, { ...wide, clearBytes: Uint16Array.of(16), protectedBytes: Uint32Array.of(69999) }),
      /cover 70015 bytes/,
    );
  });

  it('refuses missing or mis-sized IVs and incomplete subsample maps', () => {
    expectMuxFailure(() => frag(audio, 0, 10, { perSampleIvSize: 8 }), /IV bytes/);
    expectMuxFailure(() => frag(audio, 0, 10, { perSampleIvSize: 8, ivs: new Uint8Array(79) }), /IV bytes/);
    expectMuxFailure(() => frag(audio, 0, 2, { perSampleIvSize: 0, subsampleIndex: Uint32Array.of(0, 1, 2) }), /clearBytes/);
    expectMuxFailure(
      () => frag(audio, 0, 2, { perSampleIvSize: 0, subsampleIndex: Uint32Array.of(0, 1), clearBytes: Uint16Array.of(200), protectedBytes: Uint32Array.of(0) }),
      /entries/,
    );
    expectMuxFailure(
      () => frag(audio, 0, 2, { perSampleIvSize: 0, subsampleIndex: Uint32Array.of(0, 1, 3), clearBytes: Uint16Array.of(200, 201), protectedBytes: Uint32Array.of(0, 0) }),
      /past/,
    );
    expectMuxFailure(
      () => frag(audio, 0, 2, { perSampleIvSize: 0, subsampleIndex: Uint32Array.of(0, 2, 1), clearBytes: Uint16Array.of(200, 201), protectedBytes: Uint32Array.of(0, 0) }),
      /not increasing/,
    );
  });
});
