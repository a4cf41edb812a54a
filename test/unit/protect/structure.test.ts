/**
 * The maps and IVs protectSamples returns, checked against the bytes: subsample sums, alignment, the
 * protected range of each slice against slice-header sizes from ffmpeg's trace_headers (an independent
 * parser), which bytes changed, and IV uniqueness across fragments, renditions and content ids.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { FragmentProtection } from '../../../src/mux/fmp4/fragment.js';
import { protectSamples } from '../../../src/protect/encrypt-fragment.js';
import { cbcsConstantIv, cencIvBase } from '../../../src/protect/iv.js';
import type { CencScheme } from '../../../src/protect/types.js';
import { KEY, type LoadedTrack, cutAtSync, encryptTrack, hex, loadTrack, sampleBytes } from './helpers.js';
import { storedSpan, traceSliceHeaders } from '../media/codec/trace-headers.js';

const FIXTURES = ['fixtures/vod/bframes.mp4', 'fixtures/vod/moov-at-end.mp4', 'fixtures/vod/hevc.mp4', 'fixtures/vod/sub/avc3.mp4'];

interface Nal {
  /** Offsets in the sample. */
  readonly start: number;
  readonly end: number;
  /** Stored bytes of NAL header + slice header (from trace_headers), or -1 for a non-VCL NAL. */
  readonly header: number;
}

/** NAL units of every sample, VCL ones with their slice header size from trace_headers. */
function nalsWithHeaders(t: LoadedTrack): Nal[][] {
  const { bits } = traceSliceHeaders(t.path);
  const hevc = t.track.sampleEntryType === 'hvc1' || t.track.sampleEntryType === 'hev1';
  const out: Nal[][] = [];
  let v = 0;
  for (let i = 0; i < t.track.samples.count; i++) {
    const s = sampleBytes(t, i, i + 1);
    const nals: Nal[] = [];
    for (let p = 0; p < s.length; ) {
      const len = new DataView(s.buffer, s.byteOffset + p).getUint32(0);
      const start = p + 4;
      const type = hevc ? (s[start]! >> 1) & 0x3f : s[start]! & 0x1f;
      const vcl = hevc ? type < 32 : type === 1 || type === 5;
      const header = vcl ? storedSpan(s.subarray(start, start + len), Math.ceil(bits[v++]! / 8)) : -1;
      nals.push({ start, end: start + len, header });
      p = start + len;
    }
    out.push(nals);
  }
  expect(v).toBe(bits.length);
  return out;
}

function* subsamplesOf(p: FragmentProtection, k: number): Generator<{ at: number; clear: number; prot: number }> {
  let at = 0;
  for (let j = p.subsampleIndex![k]!; j < p.subsampleIndex![k + 1]!; j++) {
    const clear = p.clearBytes![j]!;
    const prot = p.protectedBytes![j]!;
    yield { at, clear, prot };
    at += clear + prot;
  }
}

const tracks = new Map<string, LoadedTrack>();
const nalMaps = new Map<string, Nal[][]>();
beforeAll(async () => {
  for (const f of FIXTURES) {
    const t = await loadTrack(f, 'video');
    tracks.set(f, t);
    nalMaps.set(f, nalsWithHeaders(t));
  }
});

describe.each(['cenc', 'cbcs'] as CencScheme[])('%s subsample maps of real video', (scheme) => {
  it.each(FIXTURES)('%s: sums, alignment, protected ranges after slice headers, bytes changed only there', (f) => {
    const t = tracks.get(f)!;
    const nalsBySample = nalMaps.get(f)!;
    const { fragments } = encryptTrack(t, cutAtSync(t.track, 25), { scheme });
    let protectedSlices = 0;
    for (const frag of fragments) {
      const p = frag.protection;
      const payload = frag.bytes.subarray(frag.bytes.length - (t.starts[frag.end]! - t.starts[frag.start]!));
      let base = 0;
      for (let i = frag.start; i < frag.end; i++) {
        const k = i - frag.start;
        const size = t.track.samples.size[i]!;
        const src = sampleBytes(t, i, i + 1);
        const enc = payload.subarray(base, base + size);
        base += size;
        const nals = nalsBySample[i]!;
        let sum = 0;
        const changed = new Uint8Array(size);
        for (const sub of subsamplesOf(p, k)) {
          sum += sub.clear + sub.prot;
          expect(sub.clear).toBeLessThanOrEqual(0xffff);
          if (sub.prot === 0) continue;
          const from = sub.at + sub.clear;
          const to = from + sub.prot;
          // A protected range lies inside one slice NAL, after its header, up to the NAL's end.
          const nal = nals.find((n) => n.start <= from && from < n.end);
          expect(nal, `sample ${i}: protected range at ${from} is in no NAL`).toBeDefined();
          expect(nal!.header).toBeGreaterThan(0);
          expect(to).toBe(nal!.end);
          if (scheme === 'cbcs') {
            expect(from).toBe(nal!.start + nal!.header);
          } else {
            expect(sub.prot % 16).toBe(0);
            expect(from).toBeGreaterThanOrEqual(nal!.start + nal!.header);
            expect(from - (nal!.start + nal!.header)).toBeLessThan(16);
          }
          protectedSlices++;
          changed.fill(1, from, to);
        }
        expect(sum, `sample ${i}`).toBe(size);
        // Every slice with 16+ protectable bytes is protected.
        for (const n of nals) {
          if (n.header < 0 || n.end - n.start - n.header < 16) continue;
          expect(changed[n.end - 1], `sample ${i}: slice at ${n.start} left clear`).toBe(1);
        }
        // Clear bytes are untouched; encrypted blocks differ (cbcs: only the 1-in-10 crypt blocks).
        for (let b = 0; b < size; b++) if (!changed[b]) expect(enc[b], `sample ${i} byte ${b}`).toBe(src[b]);
        for (const sub of subsamplesOf(p, k)) {
          const from = sub.at + sub.clear;
          const step = scheme === 'cbcs' ? 160 : 16;
          for (let o = from; o + 16 <= from + sub.prot; o += step) {
            expect(hex(enc.subarray(o, o + 16))).not.toBe(hex(src.subarray(o, o + 16)));
          }
        }
      }
    }
    expect(protectedSlices).toBeGreaterThan(t.track.samples.count / 2);
  });
});

describe('cenc IVs', () => {
  function allIvs(t: LoadedTrack, contentId: string): string[] {
    const { fragments } = encryptTrack(t, cutAtSync(t.track, 25), { scheme: 'cenc', contentId });
    const out: string[] = [];
    for (const f of fragments) {
      const p = f.protection;
      expect(p.perSampleIvSize).toBe(8);
      // 8-byte IVs: the counter block is IV || 0^8, so the low 64 bits (the block counter) start at 0
      // for every sample and a sample's blocks cannot run into another sample's counter range.
      expect(p.ivs!.length).toBe(8 * (f.end - f.start));
      for (let k = 0; k < f.end - f.start; k++) out.push(hex(p.ivs!.subarray(8 * k, 8 * k + 8)));
    }
    return out;
  }

  it('never repeat within a fragment, across fragments, renditions and content ids under one key', async () => {
    const hi = await loadTrack('fixtures/vod/multi-bitrate.mp4', 'video', 0);
    const lo = await loadTrack('fixtures/vod/multi-bitrate.mp4', 'video', 1);
    expect(hi.track.id).not.toBe(lo.track.id);
    const lists = [allIvs(hi, 'a.mp4'), allIvs(lo, 'a.mp4'), allIvs(hi, 'b.mp4'), allIvs(lo, 'b.mp4')];
    const all = lists.flat();
    expect(new Set(all).size).toBe(all.length);
    // Consecutive samples of a track: base + i.
    const first = BigInt(`0x${lists[0]![0]}`);
    lists[0]!.forEach((iv, i) => expect(BigInt(`0x${iv}`)).toBe((first + BigInt(i)) % 2n ** 64n));
  });

  it('are deterministic: the same request gives the same bytes', () => {
    const t = tracks.get(FIXTURES[0]!)!;
    const run = (): { data: Uint8Array; p: FragmentProtection } => {
      const data = sampleBytes(t, 0, 48).slice();
      const p = protectSamples({
        track: t.track, start: 0, end: 48, data, at: 0, scheme: 'cenc', key: KEY, ivBase: cencIvBase(KEY, 'x', t.track.id),
      });
      return { data, p };
    };
    const a = run();
    const b = run();
    expect(hex(a.data)).toBe(hex(b.data));
    expect(hex(a.p.ivs!)).toBe(hex(b.p.ivs!));
  });
});

describe('protectSamples input checks', () => {
  it('refuses missing IVs, bad keys and short buffers rather than writing clear or guessed output', () => {
    const t = tracks.get(FIXTURES[0]!)!;
    const data = sampleBytes(t, 0, 2).slice();
    const base = { track: t.track, start: 0, end: 2, data, at: 0, key: KEY };
    expect(() => protectSamples({ ...base, scheme: 'cenc' })).toThrow(/IV base/);
    expect(() => protectSamples({ ...base, scheme: 'cbcs' })).toThrow(/constant IV/);
    expect(() => protectSamples({ ...base, scheme: 'cenc', key: KEY.subarray(0, 8), ivBase: new Uint8Array(8) })).toThrow(/16 bytes/);
    expect(() => protectSamples({ ...base, scheme: 'cbcs', at: 1, constantIv: cbcsConstantIv(KEY) })).toThrow(/buffer/);
    expect(() => protectSamples({ ...base, scheme: 'cbcs', end: 0, constantIv: cbcsConstantIv(KEY) })).toThrow(/range/);
    // Nothing was encrypted by the refused calls.
    expect(hex(data)).toBe(hex(sampleBytes(t, 0, 2)));
  });
});
