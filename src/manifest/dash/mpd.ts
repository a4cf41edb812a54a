/**
 * Static (VOD) DASH MPD: one Period, AdaptationSets split by type, language and codec family, $Number$
 * addressing with an exact SegmentTimeline (GOP-aligned segments are not all the same length).
 * The AdaptationSet, SegmentTemplate and root-attribute writers are exported for the live MPD
 * (live-mpd.ts), so both kinds describe representations identically.
 */

import { ErrorCode, PackagerError } from '../../media/errors.js';
import type { Track } from '../../media/track.js';
import { FIRST_SEGMENT_NUMBER } from '../../segment/types.js';
import { escapeXml, formatInteger, formatScaled, gcd } from '../format.js';
import { normalizeLanguage, UNDETERMINED } from '../language.js';
import { appendQuery, DASH_INIT_TEMPLATE, DASH_MEDIA_TEMPLATE } from '../paths.js';
import type { Presentation, Rendition } from '../types.js';

export interface MpdOptions {
  /** Appended to the init and media URL templates (e.g. '?token=abc'). */
  readonly query?: string;
  /**
   * XML fragment(s) (ContentProtection elements) put first in each AdaptationSet; called with the set's
   * first rendition. The fragment is inserted verbatim: it must be well-formed.
   */
  readonly contentProtection?: (r: Rendition) => string;
  /** prefix -> namespace URI declared on MPD (e.g. { mspr: 'urn:microsoft:playready' }). */
  readonly extraNamespaces?: Readonly<Record<string, string>>;
}

export const DASH_PROFILE_LIVE = 'urn:mpeg:dash:profile:isoff-live:2011';

const BASE_NAMESPACES: Readonly<Record<string, string>> = {
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  cenc: 'urn:mpeg:cenc:2013',
};

export interface AdaptationSetGroup {
  readonly kind: 'video' | 'audio';
  /** Normalised language; 'und' when unknown. */
  readonly language: string;
  readonly renditions: readonly Rendition[];
}

/** One S element: r extra repetitions of d; t written only where the timeline is not contiguous. */
export interface TimelineEntry {
  readonly t: number;
  readonly d: number;
  readonly r: number;
  readonly writeT: boolean;
}

export function buildMpd(p: Presentation, opts: MpdOptions = {}): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const rootAttrs = mpdRootAttrs(opts.extraNamespaces);
  rootAttrs.push(
    ['type', 'static'],
    // rounded up so the advertised end never cuts into the last sample
    ['mediaPresentationDuration', `PT${formatScaled(ceilMillis(p.duration), 3)}S`],
    // with bandwidth = the peak per-segment rate, buffering one longest segment guarantees playout
    ['minBufferTime', `PT${formatScaled(ceilMillis(maxSegmentSeconds(p)), 3)}S`],
  );
  out.push(`<MPD${xmlAttrs(rootAttrs)}>`);
  out.push(`  <Period id="0" start="PT0S">`);

  const initTemplate = templateUri(DASH_INIT_TEMPLATE, opts.query);
  const mediaTemplate = templateUri(DASH_MEDIA_TEMPLATE, opts.query);
  const representation = (r: Rendition): RepresentationSource => ({
    id: r.id,
    track: r.cut.track,
    bandwidth: r.bandwidth,
    frameRate: frameRateFraction(r),
    segmentTemplate: segmentTemplateLines(
      [
        ['timescale', formatInteger(r.cut.track.timescale)],
        ['initialization', initTemplate],
        ['media', mediaTemplate],
        ['startNumber', String(FIRST_SEGMENT_NUMBER)],
      ],
      segmentTimeline(r.cut.start, r.cut.count),
    ),
  });

  let firstAudio = true;
  adaptationSets(p).forEach((set, index) => {
    out.push(
      ...adaptationSetLines(set.kind, set.language, set.renditions.map(representation), {
        id: index,
        protection: opts.contentProtection?.(set.renditions[0]!) ?? '',
        mainAudio: set.kind === 'audio' && firstAudio,
      }),
    );
    if (set.kind === 'audio') firstAudio = false;
  });
  out.push('  </Period>', '</MPD>');
  return `${out.join('\n')}\n`;
}

/** MPD's namespace declarations, schema location and profile: the attributes every MPD starts with. */
export function mpdRootAttrs(extraNamespaces: Readonly<Record<string, string>> | undefined): Array<readonly [string, string]> {
  const rootAttrs: Array<readonly [string, string]> = [['xmlns', 'urn:mpeg:dash:schema:mpd:2011']];
  for (const [prefix, uri] of Object.entries(namespaces(extraNamespaces))) rootAttrs.push([`xmlns:${prefix}`, uri]);
  rootAttrs.push(['xsi:schemaLocation', 'urn:mpeg:dash:schema:mpd:2011 DASH-MPD.xsd'], ['profiles', DASH_PROFILE_LIVE]);
  return rootAttrs;
}

/** DASH FrameRateType: an integer or a fraction (24, 30000/1001), never a decimal. */
export interface FrameRate {
  readonly num: number;
  readonly den: number;
  readonly text: string;
}

/** What an AdaptationSet needs of a representation, VOD or live. */
export interface RepresentationSource {
  readonly id: string;
  readonly track: Track;
  readonly bandwidth: number;
  /** Video only. */
  readonly frameRate?: FrameRate | undefined;
  /** Its SegmentTemplate element, unindented lines (see segmentTemplateLines). */
  readonly segmentTemplate: readonly string[];
}

/**
 * The lines of one AdaptationSet (indented for a Period at two spaces): ContentProtection first, the
 * main Role on the first audio set, then one Representation per source. A SegmentTemplate shared by
 * every representation is written once at set level.
 */
export function adaptationSetLines(
  kind: 'video' | 'audio',
  language: string,
  reps: readonly RepresentationSource[],
  opts: { readonly id: number; readonly protection: string; readonly mainAudio: boolean },
): string[] {
  const out: string[] = [];
  const asAttrs: Array<readonly [string, string]> = [['id', String(opts.id)], ['contentType', kind]];
  if (language !== UNDETERMINED) asAttrs.push(['lang', language]);
  asAttrs.push(['mimeType', `${kind}/mp4`], ['segmentAlignment', 'true'], ['startWithSAP', '1']);
  if (kind === 'video') {
    asAttrs.push(
      ['maxWidth', String(Math.max(...reps.map((r) => r.track.width)))],
      ['maxHeight', String(Math.max(...reps.map((r) => r.track.height)))],
    );
    const fastest = maxFrameRate(reps);
    if (fastest) asAttrs.push(['maxFrameRate', fastest]);
  }
  out.push(`    <AdaptationSet${xmlAttrs(asAttrs)}>`);
  // indented with the set, the fragment's own layout (and any text it holds) otherwise untouched
  for (const line of opts.protection.split(/\r?\n/)) if (line.trim() !== '') out.push(`      ${line}`);
  if (opts.mainAudio) out.push('      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>');
  // One SegmentTemplate describes one timeline: share it only when every representation has it.
  const first = reps[0]!.segmentTemplate.join('\n');
  const shared = reps.every((r) => r.segmentTemplate.join('\n') === first);
  if (shared) out.push(...reps[0]!.segmentTemplate.map((l) => `      ${l}`));
  for (const r of reps) {
    const t = r.track;
    const repAttrs: Array<readonly [string, string]> = [
      ['id', r.id],
      ['bandwidth', formatInteger(r.bandwidth)],
      ['codecs', t.codecString],
    ];
    if (kind === 'video') {
      if (t.width > 0 && t.height > 0) repAttrs.push(['width', String(t.width)], ['height', String(t.height)]);
      if (r.frameRate) repAttrs.push(['frameRate', r.frameRate.text]);
      repAttrs.push(['sar', '1:1']);
    } else if (t.sampleRate > 0) {
      repAttrs.push(['audioSamplingRate', String(t.sampleRate)]);
    }
    const children: string[] = [];
    if (kind === 'audio' && t.channels > 0) {
      children.push(
        `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${t.channels}"/>`,
      );
    }
    if (!shared) children.push(...r.segmentTemplate.map((l) => `        ${l}`));
    if (children.length === 0) out.push(`      <Representation${xmlAttrs(repAttrs)}/>`);
    else out.push(`      <Representation${xmlAttrs(repAttrs)}>`, ...children, '      </Representation>');
  }
  out.push('    </AdaptationSet>');
  return out;
}

/** A SegmentTemplate with the given attributes and SegmentTimeline, as unindented lines. */
export function segmentTemplateLines(
  attrs: ReadonlyArray<readonly [string, string]>,
  entries: readonly TimelineEntry[],
): string[] {
  const lines = [`<SegmentTemplate${xmlAttrs(attrs)}>`, '  <SegmentTimeline>'];
  for (const s of entries) {
    lines.push(
      `    <S${xmlAttrs([
        ...(s.writeT ? [['t', formatInteger(s.t)] as const] : []),
        ['d', formatInteger(s.d)],
        ...(s.r > 0 ? [['r', String(s.r)] as const] : []),
      ])}/>`,
    );
  }
  lines.push('  </SegmentTimeline>', '</SegmentTemplate>');
  return lines;
}

/**
 * Video sets, then audio sets. Renditions split by type, language and codec family (avc1 / hvc1 /
 * mp4a …): players switch freely inside a set, which fails across codecs and makes no sense across
 * languages.
 */
export function adaptationSets(p: Presentation): AdaptationSetGroup[] {
  return groupAdaptationSets(p.video, p.audio, (r) => r.cut.track);
}

/** adaptationSets for any kind of rendition, given its track. */
export function groupAdaptationSets<R>(
  video: readonly R[],
  audio: readonly R[],
  trackOf: (r: R) => Track,
): Array<{ kind: 'video' | 'audio'; language: string; renditions: R[] }> {
  const sets = new Map<string, { kind: 'video' | 'audio'; language: string; renditions: R[] }>();
  const add = (kind: 'video' | 'audio', r: R): void => {
    const track = trackOf(r);
    const language = kind === 'audio' ? normalizeLanguage(track.language) : UNDETERMINED;
    const family = track.codecString.split('.')[0]!.toLowerCase();
    const key = `${kind}|${language}|${family}`;
    const set = sets.get(key);
    if (set) set.renditions.push(r);
    else sets.set(key, { kind, language, renditions: [r] });
  };
  for (const r of video) add('video', r);
  for (const r of audio) add('audio', r);
  return [...sets.values()];
}

/** S entries of segments [0, count) of a cut: equal consecutive contiguous durations folded into r. */
export function segmentTimeline(start: Float64Array, count: number): TimelineEntry[] {
  const segments: Array<{ t: number; d: number }> = [];
  for (let i = 0; i < count; i++) segments.push({ t: start[i]!, d: start[i + 1]! - start[i]! });
  return timelineEntries(segments);
}

/** S entries of segments given by start and duration, in order (gaps and overlaps write t again). */
export function timelineEntries(segments: Iterable<{ readonly t: number; readonly d: number }>): TimelineEntry[] {
  const out: Array<{ t: number; d: number; r: number; writeT: boolean }> = [];
  for (const { t, d } of segments) {
    const last = out[out.length - 1];
    const expected = last ? last.t + (last.r + 1) * last.d : undefined;
    if (last && last.d === d && expected === t) last.r++;
    else out.push({ t, d, r: 0, writeT: expected !== t });
  }
  return out;
}

function frameRateFraction(r: Rendition): FrameRate | undefined {
  if (r.frameDuration === undefined || !(r.frameDuration > 0)) return undefined;
  const ts = r.cut.track.timescale;
  const g = gcd(ts, r.frameDuration);
  const num = ts / g;
  const den = r.frameDuration / g;
  return { num, den, text: den === 1 ? String(num) : `${num}/${den}` };
}

function maxFrameRate(reps: readonly RepresentationSource[]): string | undefined {
  let best: FrameRate | undefined;
  for (const r of reps) {
    const f = r.frameRate;
    if (f && (!best || f.num * best.den > best.num * f.den)) best = f;
  }
  return best?.text;
}

function maxSegmentSeconds(p: Presentation): number {
  let max = 0;
  for (const r of [...p.video, ...p.audio]) {
    const { start, track } = r.cut;
    for (let i = 0; i < r.cut.count; i++) max = Math.max(max, (start[i + 1]! - start[i]!) / track.timescale);
  }
  return max > 0 ? max : p.plan.targetDuration;
}

function ceilMillis(seconds: number): number {
  // forgive float noise: 12.000000000000002 s is 12000 ms, not 12001
  return Math.max(0, Math.ceil(seconds * 1000 - 1e-6));
}

/** In a SegmentTemplate '$' starts an identifier, so a literal '$' of the query is written '$$'. */
export function templateUri(template: string, query: string | undefined): string {
  const full = appendQuery('', query);
  return template + full.replace(/\$/g, '$$$$');
}

function namespaces(extra: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const all: Record<string, string> = { ...BASE_NAMESPACES };
  for (const [prefix, uri] of Object.entries(extra ?? {})) {
    // a bad prefix would make the whole MPD ill-formed; 'xml…' prefixes are reserved by XML itself
    if (!/^[A-Za-z_][A-Za-z0-9._-]*$/.test(prefix) || /^xml/i.test(prefix)) {
      throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: bad XML namespace prefix '${prefix}'`);
    }
    all[prefix] = uri;
  }
  return all;
}

/** ` name="value"` pairs, values escaped. */
export function xmlAttrs(list: ReadonlyArray<readonly [string, string]>): string {
  return list.map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
}
