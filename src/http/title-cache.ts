import { stat } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { indexMp4, type Mp4Index } from '../source/mp4/index-file.js';
import { isNotFound } from '../source/safe-path.js';
import { planSegments } from '../segment/plan.js';
import type { SegmentPlan } from '../segment/types.js';
import { buildPresentation, type Presentation } from '../manifest/types.js';
import { noteTitleCache } from './request-context.js';
import type { SubsampleEntries } from '../protect/ranges.js';
import type { SubsampleMapStore } from './build-segment.js';

/** MPEG-TS adds packet headers, PES headers, AUDs and parameter sets: about 6–8 % over the samples. */
const TS_OVERHEAD = 1.08;
/** fMP4 adds a moof per segment: about 1–2 %. */
const FMP4_OVERHEAD = 1.02;

/** What one segment duration derives from an index: the plan and the two presentations built on it. */
export interface Packaging {
  readonly plan: SegmentPlan;
  readonly ts: Presentation;
  readonly fmp4: Presentation;
}

/**
 * Room for a title's subsample maps, as a share of its index: a map costs ~16 bytes per video sample
 * (a 4-byte index entry, one or two 8-byte entries), the index 29 per sample of all tracks, so half the
 * index holds the maps of both schemes of a typical title.
 */
const MAPS_SHARE_OF_INDEX = 0.5;
const MIN_MAPS_BYTES = 64 * 1024;

export class Title {
  private readonly packagings = new Map<number, Packaging>();
  /**
   * Subsample maps of the title's video segments (build-segment.ts), bounded in bytes. Derived from
   * the sample bytes of this very file (same path, size and mtime as the index), never from a key:
   * encrypted output is never kept.
   */
  readonly subsampleMaps: SubsampleMapStore;
  private readonly mapsBytes: number;

  constructor(readonly index: Mp4Index) {
    this.mapsBytes = Math.max(MIN_MAPS_BYTES, Math.ceil(index.indexBytes * MAPS_SHARE_OF_INDEX));
    this.subsampleMaps = new LRUCache<string, SubsampleEntries>({
      maxSize: this.mapsBytes,
      sizeCalculation: (m) => m.index.byteLength + m.clearBytes.byteLength + m.protectedBytes.byteLength + 64,
    });
  }

  packaging(segmentDuration: number): Packaging {
    let p = this.packagings.get(segmentDuration);
    if (!p) {
      const plan = planSegments(this.index, segmentDuration);
      p = {
        plan,
        ts: buildPresentation(plan, { overhead: TS_OVERHEAD }),
        fmp4: buildPresentation(plan, { overhead: FMP4_OVERHEAD }),
      };
      this.packagings.set(segmentDuration, p);
    }
    return p;
  }

  /** Approximate memory held by this entry at most: the sample tables, and room for subsample maps. */
  get bytes(): number {
    return this.index.indexBytes + this.mapsBytes + 4096;
  }
}

/**
 * Parsed indexes, keyed by real path + size + mtime so a replaced file can never be served from a stale
 * index, bounded by the bytes of their sample tables. Concurrent requests for an uncached title share
 * one parse.
 */
export class TitleCache {
  private readonly lru: LRUCache<string, Title>;
  private readonly inflight = new Map<string, Promise<Title>>();
  hits = 0;
  misses = 0;

  constructor(maxBytes = 256 * 1024 * 1024) {
    this.lru = new LRUCache<string, Title>({ maxSize: maxBytes, sizeCalculation: (t) => t.bytes });
  }

  async get(realPath: string): Promise<Title> {
    let st;
    try {
      st = await stat(realPath);
    } catch (e) {
      if (isNotFound(e)) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'no such file');
      throw e;
    }
    if (!st.isFile()) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'not a file');
    const key = `${realPath}\0${st.size}\0${st.mtimeMs}`;
    const cached = this.lru.get(key);
    if (cached) {
      this.hits++;
      noteTitleCache(true);
      return cached;
    }
    this.misses++;
    noteTitleCache(false);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = indexMp4(realPath).then((index) => {
        const title = new Title(index);
        // Only cache what matches the stat we keyed on: a file replaced during the parse is re-read
        // by the next request instead of being cached under the old identity.
        if (index.size === st.size && index.mtimeMs === st.mtimeMs) this.lru.set(key, title);
        return title;
      });
      this.inflight.set(key, pending);
      pending.finally(() => this.inflight.delete(key)).catch(() => undefined);
    }
    return pending;
  }

  /** Drops every cached index of a path (the watcher calls this on change or unlink). */
  evict(realPath: string): void {
    const prefix = `${realPath}\0`;
    for (const key of this.lru.keys()) if (key.startsWith(prefix)) this.lru.delete(key);
  }

  get size(): number {
    return this.lru.size;
  }

  get calculatedBytes(): number {
    return this.lru.calculatedSize;
  }
}
