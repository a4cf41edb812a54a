/** The segment URLs of a variant: seeded, spread over the whole title, each with its payload size. */
import type { Rendition } from '../../src/manifest/types.js';
import { expand, type Variant } from './variants.js';
import { seededRandom as rng } from '../helpers/random.js';

export interface UrlPlanOptions {
  /** Distinct segment numbers; each is requested for every rendition (video, audio). */
  readonly segmentsPerList: number;
  readonly seed: number;
}


function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

export interface PlannedUrl {
  readonly path: string;
  /** Sample bytes of this segment (the plan's cut.bytes). */
  readonly payload: number;
}

/** The same seeded segment numbers for every variant, spread over the whole title. */
function pickNumbers(count: number, opts: UrlPlanOptions): number[] {
  const all = Array.from({ length: count }, (_, i) => i + 1);
  return shuffle(all, rng(opts.seed)).slice(0, Math.min(count, opts.segmentsPerList));
}

export function planUrls(variant: Variant, title: string, renditions: readonly Rendition[], opts: UrlPlanOptions): PlannedUrl[] {
  const count = Math.min(...renditions.map((r) => r.cut.count));
  const urls: PlannedUrl[] = [];
  for (const n of pickNumbers(count, opts)) {
    for (const r of renditions) {
      urls.push({ path: `/${variant.location}/${title}/${expand(variant.segment, r.id, n)}`, payload: r.cut.bytes[n - 1]! });
    }
  }
  // Interleaved video and audio in a seeded order, as many players behind one CDN would ask.
  return shuffle(urls, rng(opts.seed + 1));
}
