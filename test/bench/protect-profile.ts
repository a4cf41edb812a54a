/**
 * In-process profile of the protected segment path, stage by stage, against the clear one: the same
 * 512 segment URLs as the load bench (url-plan.ts, seed 1), built by the same functions the VOD handler
 * calls (title cache, encryptionFor, fmp4Segment) but without HTTP. Not a test; run by hand:
 *   npx tsx test/bench/protect-profile.ts [passes]
 * (node --cpu-prof works too: `node --import tsx --cpu-prof test/bench/protect-profile.ts`.)
 *
 * Per segment (median over the URLs, of the fastest of `passes` passes per URL, so a neighbour's burst
 * on this shared machine rarely counts), split into: whole segment through fmp4Segment (clear, cenc,
 * cbcs); the key lookup of one request (encryptionFor through the cached provider); reading the
 * samples; the subsample map (NAL walk + slice headers); IVs; the cipher; moof writing. The whole
 * segments use the title's subsample-map store as the handler does (filled by the first pass), and once
 * without it.
 * The stages are timed on their own, so their sum is only near the whole (no GC or cache interplay).
 */
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { buildProtections } from '../../src/http/protection.js';
import { TitleCache } from '../../src/http/title-cache.js';
import { encryptionFor, type Encryption } from '../../src/http/output-protection.js';
import { fileSamples, fmp4Segment } from '../../src/http/build-segment.js';
import { KnownKids } from '../../src/keys/known-kids.js';
import type { Rendition } from '../../src/manifest/types.js';
import { fragmentLayout, writeFragment, type FragmentInput, type FragmentProtection } from '../../src/mux/fmp4/fragment.js';
import { encryptCbcs } from '../../src/protect/cbcs-cipher.js';
import { encryptCenc } from '../../src/protect/cenc-cipher.js';
import { protectSamples } from '../../src/protect/encrypt-fragment.js';
import { writeSampleIv } from '../../src/protect/iv.js';
import { keyedCbcsConstantIv, keyedCencIvBase } from '../../src/protect/key-state.js';
import type { SampleRanges } from '../../src/protect/ranges.js';
import { sliceHeaderScanner } from '../../src/protect/slice-headers.js';
import { SubsampleMap, sampleSubsamples } from '../../src/protect/subsamples.js';
import { maxSubsamples, schemeParams, type CencScheme } from '../../src/protect/types.js';
import { byteSize } from '../../src/media/track.js';
import { ensureBenchMedia } from './media.js';
import { planUrls } from './url-plan.js';
import { benchConfig, VARIANTS } from './variants.js';

const PASSES = Number(process.argv[2] ?? 5);
const SEGMENT_DURATION = 4;

const log = (line: string): void => console.error(`profile: ${line}`);
const media = await ensureBenchMedia(log);
const path = await realpath(media.path);
const config = parseConfig(benchConfig(media.dir), join(media.dir, 'bench.conf'));
const protections = buildProtections(config, () => Promise.reject(new Error('no secret in the bench')), createLogger('error'));
const titles = new TitleCache();
const title = await titles.get(path);
const p = title.packaging(SEGMENT_DURATION).fmp4;
const renditions: Rendition[] = [...p.video, ...p.audio];
const dash = VARIANTS.find((v) => v.name === 'dash')!;
// The bench's URL list, parsed back into (rendition, segment index).
const urls = planUrls(dash, 't', renditions, { segmentsPerList: 256, seed: 1 }).map((u) => {
  const m = /dash\/([va]\d+)\/(\d+)\.m4s$/.exec(u.path)!;
  return { rend: renditions.find((r) => r.id === m[1])!, index: Number(m[2]) - 1, payload: u.payload };
});
const known = new KnownKids();
const deps = { knownKids: known, log: createLogger('error') };
const encOf = (location: string): Promise<Encryption> => {
  const prot = protections.get(location)!;
  return prot.kidOf(path).then((kid) => encryptionFor(prot, kid, media.file, 'dash', deps, {}, path));
};
const cenc = await encOf('enc');
const cbcs = await encOf('enc-cbcs');

type Kind = 'video' | 'audio';
/** Per stage and kind of track: the best time of each URL over the passes, ms. */
const best = new Map<string, Map<number, number>>();
function note(stage: string, url: number, ms: number): void {
  let m = best.get(stage);
  if (!m) best.set(stage, (m = new Map()));
  const prev = m.get(url);
  if (prev === undefined || ms < prev) m.set(url, ms);
}
async function timed<T>(stage: string, url: number, fn: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  note(stage, url, performance.now() - t0);
  return r;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

/** writeFragment wants room for the whole fragment; only its moof is written, so one buffer serves all. */
let scratch = new Uint8Array(0);
function moofScratch(n: number): Uint8Array {
  if (scratch.length < n) scratch = new Uint8Array(2 * n);
  return scratch;
}

function mapOf(data: Uint8Array, at: number, rend: Rendition, start: number, end: number, scheme: CencScheme): SampleRanges['subsamples'] {
  const track = rend.cut.track;
  if (track.kind !== 'video') return undefined;
  const s = track.samples;
  const map = new SubsampleMap(end - start);
  const scanner = sliceHeaderScanner(track);
  const limit = maxSubsamples(scheme === 'cenc' ? 8 : 0);
  let pos = at;
  for (let i = start; i < end; i++) {
    sampleSubsamples(data, pos, pos + s.size[i]!, scanner, scheme, limit, map);
    pos += s.size[i]!;
  }
  return { index: map.index, clearBytes: map.clearBytes.subarray(0, map.count), protectedBytes: map.protectedBytes.subarray(0, map.count) };
}

for (let pass = 0; pass < PASSES; pass++) {
  for (let u = 0; u < urls.length; u++) {
    const { rend, index } = urls[u]!;
    const cut = rend.cut;
    const track = cut.track;
    const start = cut.first[index]!;
    const end = cut.first[index + 1]!;
    const kind: Kind = track.kind === 'video' ? 'video' : 'audio';
    // Whole segments, the handler's call.
    await timed(`${kind} segment clear`, u, () => fmp4Segment(path, cut, index, index + 1));
    await timed(`${kind} segment cenc`, u, () => fmp4Segment(path, cut, index, index + 1, cenc, title.subsampleMaps));
    await timed(`${kind} segment cbcs`, u, () => fmp4Segment(path, cut, index, index + 1, cbcs, title.subsampleMaps));
    await timed(`${kind} segment cenc, no map cache`, u, () => fmp4Segment(path, cut, index, index + 1, cenc));
    await timed(`${kind} key lookup (encryptionFor)`, u, () => encOf('enc'));
    // Stages.
    const payload = byteSize(track.samples, start, end);
    const data = new Uint8Array(payload);
    await timed(`${kind} read samples`, u, () => fileSamples(path)(track, start, end, data, 0));
    const clearCopy = data.slice();
    const input: FragmentInput = { track, start, end, sequenceNumber: index + 1 };
    await timed(`${kind} moof clear`, u, () => {
      const layout = fragmentLayout(input);
      writeFragment(moofScratch(layout.totalSize), input, layout);
    });
    for (const [scheme, enc] of [['cenc', cenc], ['cbcs', cbcs]] as const) {
      data.set(clearCopy);
      const sub = await timed(`${kind} ${scheme} map`, u, () => mapOf(data, 0, rend, start, end, scheme));
      const ranges: SampleRanges = { data, at: 0, sizes: track.samples.size.subarray(start, end), subsamples: sub };
      let protection: FragmentProtection;
      if (scheme === 'cenc') {
        const ivs = await timed(`${kind} cenc IVs`, u, () => {
          const base = keyedCencIvBase(enc.key, enc.contentId, track.id);
          const out = new Uint8Array(8 * (end - start));
          for (let k = 0; k < end - start; k++) writeSampleIv(base, start + k, out, 8 * k);
          return out;
        });
        await timed(`${kind} cenc cipher`, u, () => encryptCenc(ranges, enc.key, ivs));
        protection = { perSampleIvSize: 8, ivs, ...(sub ? { subsampleIndex: sub.index, clearBytes: sub.clearBytes, protectedBytes: sub.protectedBytes } : {}) };
      } else {
        const params = await timed(`${kind} cbcs IVs`, u, () => schemeParams('cbcs', track.kind, keyedCbcsConstantIv(enc.key)));
        await timed(`${kind} cbcs cipher`, u, () => encryptCbcs(ranges, enc.key, params.constantIv!, params));
        protection = { perSampleIvSize: 0, ...(sub ? { subsampleIndex: sub.index, clearBytes: sub.clearBytes, protectedBytes: sub.protectedBytes } : {}) };
      }
      const pin: FragmentInput = { ...input, protection };
      await timed(`${kind} ${scheme} moof`, u, () => {
        const layout = fragmentLayout(pin);
        writeFragment(moofScratch(layout.totalSize), pin, layout);
      });
      data.set(clearCopy);
      await timed(`${kind} ${scheme} protectSamples`, u, () =>
        protectSamples({
          track,
          start,
          end,
          data,
          at: 0,
          scheme,
          key: enc.key,
          ...(scheme === 'cenc' ? { ivBase: keyedCencIvBase(enc.key, enc.contentId, track.id) } : { constantIv: keyedCbcsConstantIv(enc.key) }),
        }),
      );
    }
  }
  log(`pass ${pass + 1}/${PASSES}`);
}

const bytesOf = (kind: Kind): number[] => urls.filter((x) => (x.rend.cut.track.kind === 'video') === (kind === 'video')).map((x) => x.payload);
console.log(`\n${urls.length} segment URLs of ${media.file}, best of ${PASSES} passes per URL, median over URLs (ms)`);
for (const kind of ['video', 'audio'] as const) {
  console.log(`\n${kind}: median payload ${(median(bytesOf(kind)) / 1e6).toFixed(3)} MB`);
  for (const [stage, m] of best) {
    if (!stage.startsWith(kind)) continue;
    const ms = [...m.values()];
    console.log(`  ${stage.slice(kind.length + 1).padEnd(34)} ${median(ms).toFixed(3).padStart(7)}`);
  }
}
// Over the whole list, as the load bench weighs it: ms per MB of payload.
const sum = (stage: string): number => {
  let t = 0;
  for (const kind of ['video', 'audio']) for (const v of best.get(`${kind} ${stage}`)!.values()) t += v;
  return t;
};
const totalMB = urls.reduce((a, x) => a + x.payload, 0) / 1e6;
const clearMs = sum('segment clear');
console.log(`\nwhole list (${totalMB.toFixed(0)} MB): ms per MB of payload`);
for (const s of ['segment clear', 'segment cenc', 'segment cbcs']) {
  const ms = sum(s);
  console.log(`  ${s.padEnd(16)} ${(ms / totalMB).toFixed(3)}  (${((ms / clearMs - 1) * 100).toFixed(0)} % over clear)`);
}
