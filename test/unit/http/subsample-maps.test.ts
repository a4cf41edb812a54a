/**
 * The subsample maps a title keeps (Title.subsampleMaps, filled by fmp4Segment): a segment served from a
 * kept map must be byte for byte the segment built without one, maps must never be shared between
 * tracks, segments or schemes, a map of other samples must be refused before anything is encrypted, and
 * the keys (and so the encrypted bytes) still change per KID.
 */
import { realpath } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fmp4Segment, type CencParams, type SubsampleMapStore } from '../../../src/http/build-segment.js';
import { TitleCache } from '../../../src/http/title-cache.js';
import type { SubsampleEntries } from '../../../src/protect/ranges.js';
import type { CencScheme } from '../../../src/protect/types.js';

const FILE = 'fixtures/vod/multi-bitrate.mp4';
const SCHEMES: CencScheme[] = ['cenc', 'cbcs'];
const enc = (scheme: CencScheme, keyByte: number, kidByte: number): CencParams => ({
  scheme,
  kid: new Uint8Array(16).fill(kidByte),
  key: Uint8Array.from({ length: 16 }, (_, i) => (keyByte * 31 + i) & 0xff),
  contentId: 'multi-bitrate.mp4',
});
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const mapText = (m: SubsampleEntries): string => `${Array.from(m.index)}|${Array.from(m.clearBytes)}|${Array.from(m.protectedBytes)}`;

async function setup() {
  const path = await realpath(FILE);
  const title = await new TitleCache().get(path);
  const video = title.packaging(2).fmp4.video;
  return { path, title, video };
}

/** A store that records what is asked and kept. */
function recording(): SubsampleMapStore & { kept: Map<string, SubsampleEntries>; asked: string[] } {
  const kept = new Map<string, SubsampleEntries>();
  const asked: string[] = [];
  return {
    kept,
    asked,
    get: (id) => (asked.push(id), kept.get(id)),
    set: (id, m) => void kept.set(id, m),
  };
}

describe('subsample maps kept per title', () => {
  it('serves the same bytes from a kept map as without one, for every video track, segment and scheme', async () => {
    const { path, title, video } = await setup();
    expect(video.length).toBe(2);
    for (const scheme of SCHEMES) {
      for (const r of video) {
        for (let i = 0; i < Math.min(3, r.cut.count); i++) {
          const e = enc(scheme, 1, 1);
          const plain = await fmp4Segment(path, r.cut, i, i + 1, e);
          const first = await fmp4Segment(path, r.cut, i, i + 1, e, title.subsampleMaps);
          const kept = await fmp4Segment(path, r.cut, i, i + 1, e, title.subsampleMaps);
          expect(hex(first)).toBe(hex(plain));
          expect(hex(kept)).toBe(hex(plain));
        }
      }
    }
  });

  it('keeps one map per (track, segment, scheme), none shared', async () => {
    const { path, video } = await setup();
    const store = recording();
    for (const scheme of SCHEMES) for (const r of video) for (let i = 0; i < 2; i++) await fmp4Segment(path, r.cut, i, i + 1, enc(scheme, 1, 1), store);
    expect(store.kept.size).toBe(SCHEMES.length * video.length * 2);
    // The two renditions are different encodes: their maps of the same segment differ, as do two
    // segments of one track; cenc's maps (protected bytes in whole blocks) differ from cbcs's.
    const texts = new Set([...store.kept.values()].map(mapText));
    expect(texts.size).toBe(store.kept.size);
    for (const [id, m] of store.kept) {
      const [track, start, end, scheme] = id.split('/');
      const r = video.find((v) => String(v.cut.track.id) === track)!;
      expect(m.index.length).toBe(Number(end) - Number(start) + 1);
      let sum = 0;
      for (let k = Number(start); k < Number(end); k++) sum += r.cut.track.samples.size[k]!;
      const covered = Array.from(m.clearBytes).reduce((a, b) => a + b, 0) + Array.from(m.protectedBytes).reduce((a, b) => a + b, 0);
      expect(covered).toBe(sum);
      if (scheme === 'cenc') expect(Array.from(m.protectedBytes).every((p) => p % 16 === 0)).toBe(true);
    }
  });

  it('refuses a map of other samples instead of encrypting with it', async () => {
    const { path, video } = await setup();
    const store = recording();
    const [a, b] = video;
    await fmp4Segment(path, a!.cut, 0, 1, enc('cenc', 1, 1), store);
    const other = [...store.kept.values()][0]!;
    // A store that answers every id with that map: wrong track, wrong segment, wrong scheme.
    const wrong: SubsampleMapStore = { get: () => other, set: () => undefined };
    await expect(fmp4Segment(path, b!.cut, 0, 1, enc('cenc', 1, 1), wrong)).rejects.toThrow(/subsample map/);
    await expect(fmp4Segment(path, a!.cut, 1, 2, enc('cenc', 1, 1), wrong)).rejects.toThrow(/subsample map/);
  });

  it('still encrypts per key: two KIDs (two keys) sharing the kept maps give different bytes, each as without the maps', async () => {
    const { path, title, video } = await setup();
    const cut = video[0]!.cut;
    for (const scheme of SCHEMES) {
      const one = enc(scheme, 1, 1);
      const two = enc(scheme, 2, 2);
      const a = await fmp4Segment(path, cut, 0, 1, one, title.subsampleMaps);
      const b = await fmp4Segment(path, cut, 0, 1, two, title.subsampleMaps);
      expect(hex(a)).not.toBe(hex(b));
      expect(hex(b)).toBe(hex(await fmp4Segment(path, cut, 0, 1, two)));
      expect(hex(a)).toBe(hex(await fmp4Segment(path, cut, 0, 1, one)));
    }
  });

  it('gives every title its own store', async () => {
    const cache = new TitleCache();
    const a = await cache.get(await realpath(FILE));
    const b = await cache.get(await realpath('fixtures/vod/bframes.mp4'));
    expect(a.subsampleMaps).not.toBe(b.subsampleMaps);
  });
});
