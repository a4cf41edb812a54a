/**
 * Slice-header sizes against ffmpeg's trace_headers (an independent parser), for every slice of every
 * frame: streams from real encoders (x264 and x265 in many configurations, generated here) and random
 * synthetic streams that exercise the syntax real encoders leave out.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAvcPps, parseAvcSps } from '../../../../src/media/codec/avc-parameter-sets.js';
import { AvcParameterSets, readAvcSliceHeader } from '../../../../src/media/codec/avc-slice.js';
import { parseAvcC } from '../../../../src/media/codec/avc.js';
import { RbspReader } from '../../../../src/media/codec/bit-reader.js';
import { parseHevcPps, parseHevcSps } from '../../../../src/media/codec/hevc-parameter-sets.js';
import { HevcParameterSets, readHevcSliceHeader } from '../../../../src/media/codec/hevc-slice.js';
import { parseHvcC } from '../../../../src/media/codec/hevc.js';
import { ErrorCode, PackagerError } from '../../../../src/media/errors.js';
import { type Track, byteSize } from '../../../../src/media/track.js';
import { ALL_CLEAR, sliceHeaderScanner } from '../../../../src/protect/slice-headers.js';
import { indexMp4, readSamples } from '../../../../src/source/mp4/index.js';
import { BitWriter, escape } from './bit-writer.js';
import { type SyntheticNal, syntheticAvc } from './synthetic-avc.js';
import { syntheticHevc } from './synthetic-hevc.js';
import { storedSpan, traceSliceHeaders } from './trace-headers.js';

const dir = mkdtempSync(join(tmpdir(), 'slice-header-'));
afterAll(() => {
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
});

const SOURCE = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2'];
const X264 = (params: string, extra: string[] = []): string[] => [...extra, '-c:v', 'libx264', '-x264-params', `keyint=25:${params}`];
const X265 = (params: string, extra: string[] = []): string[] => [...extra, '-c:v', 'libx265', '-x265-params', `log-level=error:keyint=25:${params}`];

/** Encoder configurations: each changes which slice-header fields appear or how wide they are. */
const ENCODES: Record<string, string[]> = {
  'x264 CABAC, B-pyramid, weightp 2, 4 slices, 4 refs': X264('slices=4:weightp=2:bframes=3:b-pyramid=normal:ref=4'),
  'x264 CAVLC, B-frames, weightp 2, 3 slices': X264('cabac=0:slices=3:weightp=2:bframes=2:ref=3'),
  'x264 interlaced (MBAFF), 2 slices': X264('interlaced=1:bframes=2:weightp=1:slices=2'),
  'x264 4:0:0 with weighted P': X264('weightp=2:bframes=2', ['-pix_fmt', 'gray']),
  'x264 4:4:4 with JVT scaling matrices': X264('cqm=jvt:bframes=2:weightp=2:slices=2', ['-pix_fmt', 'yuv444p']),
  'x264 Baseline (POC type 2)': X264('bframes=0', ['-profile:v', 'baseline']),
  'x264 avc3, parameter sets in band': X264('bframes=1:slices=2:cabac=0', ['-tag:v', 'avc3', '-bsf:v', 'dump_extra']),
  'x265 B-pyramid, weighted P and B, 4 slices, WPP entry points': X265('slices=4:weightp=1:weightb=1:bframes=4:b-pyramid=1:ref=4'),
  'x265 no WPP/SAO, PPS ref/QP defaults, merge 3, tskip, temporal layers, deblock offsets':
    X265('no-wpp=1:no-sao=1:opt-ref-list-length-pps=1:opt-qp-pps=1:max-merge=3:tskip=1:constrained-intra=1:signhide=0:temporal-layers=1:deblock=-1,1'),
  'x265 4:0:0 with weighted P': X265('weightp=1:bframes=3', ['-pix_fmt', 'gray']),
  'x265 hev1, headers repeated in band, lossless': X265('repeat-headers=1:lossless=1:bframes=2', ['-tag:v', 'hev1']),
  'x265 4:4:4, scaling lists, chroma QP offsets': X265('scaling-list=default:bframes=2:cbqpoffs=2:crqpoffs=-2', ['-pix_fmt', 'yuv444p']),
};

const FIXTURES = ['fixtures/vod/bframes.mp4', 'fixtures/vod/moov-at-end.mp4', 'fixtures/vod/hevc.mp4', 'fixtures/vod/sub/avc3.mp4', 'fixtures/vod/two-audio.mp4'];

const files = new Map<string, string>();
beforeAll(() => {
  Object.entries(ENCODES).forEach(([name, args], i) => {
    const path = join(dir, `enc-${i}.mp4`);
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...SOURCE, ...args, path], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`encoding "${name}" failed: ${r.stderr}`);
    files.set(name, path);
  });
});

interface Measured {
  /** RBSP bits and stored bytes of NAL header + slice header, per slice in stream order. */
  bits: number[];
  stored: number[];
  /** storedSpan() of ceil(bits / 8), counted independently. */
  storedExpected: number[];
  epbInHeaders: number;
}

/** Our parser over a list of NAL units, parameter sets taken in as they come. */
function measure(nals: Iterable<Uint8Array>, hevc: boolean, avc?: AvcParameterSets, hvc?: HevcParameterSets): Measured {
  const avcSets = avc ?? new AvcParameterSets();
  const hevcSets = hvc ?? new HevcParameterSets();
  const r = new RbspReader();
  const out: Measured = { bits: [], stored: [], storedExpected: [], epbInHeaders: 0 };
  for (const n of nals) {
    if (hevc) {
      const type = (n[0]! >> 1) & 0x3f;
      if (type === 33) hevcSets.addSps(parseHevcSps(n));
      else if (type === 34) hevcSets.addPps(parseHevcPps(n));
      if (type >= 32) continue;
      readHevcSliceHeader(r.reset(n, 0, n.length), hevcSets);
    } else {
      const type = n[0]! & 0x1f;
      if (type === 7) avcSets.addSps(parseAvcSps(n));
      else if (type === 8) avcSets.addPps(parseAvcPps(n));
      if (type !== 1 && type !== 5) continue;
      readAvcSliceHeader(r.reset(n, 0, n.length), avcSets);
    }
    out.bits.push(r.bitPosition);
    out.stored.push(r.storedLength);
    out.storedExpected.push(storedSpan(n, Math.ceil(r.bitPosition / 8)));
    out.epbInHeaders += r.epbCount;
  }
  return out;
}

async function videoTrack(path: string): Promise<{ track: Track; data: Uint8Array }> {
  const media = await indexMp4(path);
  const track = media.tracks.find((t) => t.kind === 'video')!;
  const data = new Uint8Array(byteSize(track.samples, 0, track.samples.count));
  const fh = await open(path, 'r');
  await readSamples(fh, track, 0, track.samples.count, data, 0).finally(() => fh.close());
  return { track, data };
}

function* nalUnits(data: Uint8Array, lengthSize: number): Generator<Uint8Array> {
  for (let p = 0; p < data.length; ) {
    let len = 0;
    for (let i = 0; i < lengthSize; i++) len = len * 256 + data[p + i]!;
    p += lengthSize;
    yield data.subarray(p, p + len);
    p += len;
  }
}

async function checkMp4(path: string): Promise<number> {
  const { track, data } = await videoTrack(path);
  const hevc = track.sampleEntryType === 'hvc1' || track.sampleEntryType === 'hev1';
  const ours = hevc
    ? measure(nalUnits(data, track.nalLengthSize), true, undefined, HevcParameterSets.fromConfig(parseHvcC(track.codecConfig)))
    : measure(nalUnits(data, track.nalLengthSize), false, AvcParameterSets.fromConfig(parseAvcC(track.codecConfig)));
  const theirs = traceSliceHeaders(path);
  expect(ours.bits.length).toBeGreaterThan(0);
  expect(ours.bits).toEqual(theirs.bits);
  expect(ours.stored).toEqual(ours.storedExpected);
  return ours.bits.length;
}

describe('slice header sizes equal ffmpeg trace_headers on encoder output, every slice of every frame', () => {
  it.each(Object.keys(ENCODES))('%s', async (name) => {
    expect(await checkMp4(files.get(name)!)).toBeGreaterThanOrEqual(50);
  });

  it.each(FIXTURES)('fixture %s', async (path) => {
    expect(await checkMp4(path)).toBeGreaterThanOrEqual(100);
  });
});

function annexB(nals: readonly SyntheticNal[], name: string): string {
  const total = nals.reduce((n, x) => n + 4 + x.bytes.length, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const n of nals) {
    out.set([0, 0, 0, 1], p);
    out.set(n.bytes, p + 4);
    p += 4 + n.bytes.length;
  }
  const path = join(dir, name);
  writeFileSync(path, out);
  return path;
}

function fieldsSeen(all: Map<string, number>[]): Set<string> {
  return new Set(all.flatMap((m) => [...m.keys()]));
}

describe('slice header sizes on random synthetic streams: parser = generator = ffmpeg', () => {
  const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

  it('H.264: POC types 0-2, field pictures, SP/SI, MMCO, list modification, explicit weights, FMO-free PPS variety', () => {
    const traced: Map<string, number>[] = [];
    let slices = 0;
    let epb = 0;
    for (const seed of SEEDS) {
      const nals = syntheticAvc(seed, 150);
      const theirs = traceSliceHeaders(annexB(nals, `avc-${seed}.h264`), 'h264');
      const ours = measure(nals.map((n) => n.bytes), false);
      const written = nals.filter((n) => n.headerBits >= 0).map((n) => n.headerBits);
      expect(ours.bits, `seed ${seed} vs generator`).toEqual(written);
      expect(ours.bits, `seed ${seed} vs ffmpeg`).toEqual(theirs.bits);
      expect(ours.stored).toEqual(ours.storedExpected);
      traced.push(theirs.fields);
      slices += ours.bits.length;
      epb += ours.epbInHeaders;
    }
    expect(slices).toBe(SEEDS.length * 150);
    // Emulation prevention inside headers did occur, and the stored sizes above accounted for it.
    expect(epb).toBeGreaterThan(0);
    const seen = fieldsSeen(traced);
    for (const f of [
      'colour_plane_id', 'field_pic_flag', 'bottom_field_flag', 'idr_pic_id', 'delta_pic_order_cnt_bottom', 'delta_pic_order_cnt',
      'redundant_pic_cnt', 'direct_spatial_mv_pred_flag', 'num_ref_idx_l1_active_minus1', 'abs_diff_pic_num_minus1',
      'long_term_pic_num', 'chroma_weight_l1_flag', 'luma_offset_l1', 'memory_management_control_operation',
      'difference_of_pic_nums_minus1', 'long_term_frame_idx', 'max_long_term_frame_idx_plus1', 'cabac_init_idc',
      'sp_for_switch_flag', 'slice_qs_delta', 'slice_alpha_c0_offset_div2',
    ]) {
      expect(seen, f).toContain(f);
    }
  });

  it('H.265: inter-RPS (SPS and slice), long-term pictures, list modification, tiles + WPP, dependent segments, extensions', () => {
    const traced: Map<string, number>[] = [];
    let slices = 0;
    for (const seed of SEEDS) {
      const nals = syntheticHevc(seed, 120);
      const theirs = traceSliceHeaders(annexB(nals, `hevc-${seed}.hevc`), 'hevc');
      const ours = measure(nals.map((n) => n.bytes), true);
      const written = nals.filter((n) => n.headerBits >= 0).map((n) => n.headerBits);
      expect(ours.bits, `seed ${seed} vs generator`).toEqual(written);
      expect(ours.bits, `seed ${seed} vs ffmpeg`).toEqual(theirs.bits);
      expect(ours.stored).toEqual(ours.storedExpected);
      traced.push(theirs.fields);
      slices += ours.bits.length;
    }
    expect(slices).toBeGreaterThan(SEEDS.length * 120);
    const seen = fieldsSeen(traced);
    for (const f of [
      'no_output_of_prior_pics_flag', 'dependent_slice_segment_flag', 'slice_segment_address', 'slice_reserved_flag',
      'pic_output_flag', 'colour_plane_id', 'short_term_ref_pic_set_idx', 'inter_ref_pic_set_prediction_flag',
      'delta_idx_minus1', 'use_delta_flag', 'num_long_term_sps', 'lt_idx_sps', 'poc_lsb_lt', 'used_by_curr_pic_lt_flag',
      'delta_poc_msb_cycle_lt', 'slice_temporal_mvp_enabled_flag', 'slice_sao_chroma_flag', 'list_entry_l0', 'list_entry_l1',
      'mvd_l1_zero_flag', 'cabac_init_flag', 'collocated_ref_idx', 'delta_chroma_weight_l1', 'luma_offset_l0',
      'five_minus_max_num_merge_cand', 'slice_cb_qp_offset', 'cu_chroma_qp_offset_enabled_flag',
      'deblocking_filter_override_flag', 'slice_tc_offset_div2', 'slice_loop_filter_across_slices_enabled_flag',
      'entry_point_offset_minus1', 'slice_segment_header_extension_data_byte',
    ]) {
      expect(seen, f).toContain(f);
    }
  });
});

describe('sliceHeaderScanner takes parameter sets met in band', () => {
  it('an avc3 track whose avcC holds other parameter sets still gets every header right', async () => {
    const avc3 = await videoTrack(files.get('x264 avc3, parameter sets in band')!);
    const other = await videoTrack(files.get('x264 CABAC, B-pyramid, weightp 2, 4 slices, 4 refs')!);
    // Same ids, different content (CABAC vs CAVLC, other frame_num/POC widths): only in-band sets work.
    const track: Track = { ...avc3.track, codecConfig: other.track.codecConfig };
    const scanner = sliceHeaderScanner(track);
    const theirs = traceSliceHeaders(files.get('x264 avc3, parameter sets in band')!).bits;
    const sizes: number[] = [];
    const expected: number[] = [];
    let v = 0;
    for (const n of nalUnits(avc3.data, track.nalLengthSize)) {
      const lead = scanner.clearLeader(n, 0, n.length);
      const type = n[0]! & 0x1f;
      if (type === 1 || type === 5) {
        sizes.push(lead);
        expected.push(storedSpan(n, Math.ceil(theirs[v++]! / 8)));
      } else {
        expect(lead).toBe(ALL_CLEAR);
      }
    }
    expect(sizes).toEqual(expected);
  });
});

describe('refusals', () => {
  function code(fn: () => unknown): ErrorCode | undefined {
    try {
      fn();
    } catch (e) {
      if (e instanceof PackagerError) return e.code;
      throw e;
    }
    return undefined;
  }

  it('H.264 FMO (several slice groups) is UNSUPPORTED_CODEC', () => {
    const pps = new BitWriter().ue(0).ue(0).flag(0).flag(0).ue(1).trailing();
    expect(code(() => parseAvcPps(Uint8Array.from([0x68, ...escape(pps.bytes())])))).toBe(ErrorCode.UNSUPPORTED_CODEC);
  });

  it('a slice naming an unknown PPS, or a misread header, is SOURCE_INVALID', async () => {
    const { track, data } = await videoTrack('fixtures/vod/hevc.mp4');
    const sets = HevcParameterSets.fromConfig(parseHvcC(track.codecConfig));
    const slice = [...nalUnits(data, 4)].find((n) => ((n[0]! >> 1) & 0x3f) < 32)!;
    expect(code(() => readHevcSliceHeader(new RbspReader(slice), new HevcParameterSets()))).toBe(ErrorCode.SOURCE_INVALID);
    // Flip first_slice_segment_in_pic_flag: the header is read with a slice address and more, so the
    // byte_alignment() check catches it instead of returning a wrong size.
    const bad = slice.slice();
    bad[2] = bad[2]! ^ 0x80;
    expect(code(() => readHevcSliceHeader(new RbspReader(bad), sets))).toBe(ErrorCode.SOURCE_INVALID);
  });

  it('an H.265 slice of a layer above 0 is UNSUPPORTED_CODEC', async () => {
    const { track, data } = await videoTrack('fixtures/vod/hevc.mp4');
    const sets = HevcParameterSets.fromConfig(parseHvcC(track.codecConfig));
    const slice = [...nalUnits(data, 4)].find((n) => ((n[0]! >> 1) & 0x3f) < 32)!.slice();
    slice[1] = slice[1]! | 0x08; // nuh_layer_id = 1
    expect(code(() => readHevcSliceHeader(new RbspReader(slice), sets))).toBe(ErrorCode.UNSUPPORTED_CODEC);
  });
});
