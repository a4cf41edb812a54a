/**
 * Static (VOD) DASH MPD: one Period, AdaptationSets split by type, language and codec family, $Number$
 * addressing with an exact SegmentTimeline (GOP-aligned segments are not all the same length).
 */

import { ErrorCode, PackagerError } from '../../media/errors.js';
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
  const rootAttrs: Array<readonly [string, string]> = [['xmlns', 'urn:mpeg:dash:schema:mpd:2011']];
  for (const [prefix, uri] of Object.entries(namespaces(opts.extraNamespaces))) rootAttrs.push([`xmlns:${prefix}`, uri]);
  rootAttrs.push(
    ['xsi:schemaLocation', 'urn:mpeg:dash:schema:mpd:2011 DASH-MPD.xsd'],
    ['profiles', DASH_PROFILE_LIVE],
    ['type', 'static'],
    // rounded up so the advertised end never cuts into the last sample
    ['mediaPresentationDuration', `PT${formatScaled(ceilMillis(p.duration), 3)}S`],
    // with bandwidth = the peak per-segment rate, buffering one longest segment guarantees playout
    ['minBufferTime', `PT${formatScaled(ceilMillis(maxSegmentSeconds(p)), 3)}S`],
  );
  out.push(`<MPD${attrs(rootAttrs)}>`);
  out.push(`  <Period id="0" start="PT0S">`);

  const initTemplate = templateUri(DASH_INIT_TEMPLATE, opts.query);
  const mediaTemplate = templateUri(DASH_MEDIA_TEMPLATE, opts.query);
  const segmentTemplate = (r: Rendition, indent: string): string[] => {
    const lines = [
      `${indent}<SegmentTemplate${attrs([
        ['timescale', formatInteger(r.cut.track.timescale)],
        ['initialization', initTemplate],
        ['media', mediaTemplate],
        ['startNumber', String(FIRST_SEGMENT_NUMBER)],
      ])}>`,
      `${indent}  <SegmentTimeline>`,
    ];
    for (const s of segmentTimeline(r.cut.start, r.cut.count)) {
      lines.push(
        `${indent}    <S${attrs([
          ...(s.writeT ? [['t', formatInteger(s.t)] as const] : []),
          ['d', formatInteger(s.d)],
          ...(s.r > 0 ? [['r', String(s.r)] as const] : []),
        ])}/>`,
      );
    }
    lines.push(`${indent}  </SegmentTimeline>`, `${indent}</SegmentTemplate>`);
    return lines;
  };

  let firstAudio = true;
  adaptationSets(p).forEach((set, index) => {
    const first = set.renditions[0]!;
    const asAttrs: Array<readonly [string, string]> = [['id', String(index)], ['contentType', set.kind]];
    if (set.language !== UNDETERMINED) asAttrs.push(['lang', set.language]);
    asAttrs.push(['mimeType', `${set.kind}/mp4`], ['segmentAlignment', 'true'], ['startWithSAP', '1']);
    if (set.kind === 'video') {
      asAttrs.push(
        ['maxWidth', String(Math.max(...set.renditions.map((r) => r.cut.track.width)))],
        ['maxHeight', String(Math.max(...set.renditions.map((r) => r.cut.track.height)))],
      );
      const fastest = maxFrameRate(set.renditions);
      if (fastest) asAttrs.push(['maxFrameRate', fastest]);
    }
    out.push(`    <AdaptationSet${attrs(asAttrs)}>`);
    const protection = opts.contentProtection?.(first) ?? '';
    // indented with the set, the fragment's own layout (and any text it holds) otherwise untouched
    for (const line of protection.split(/\r?\n/)) if (line.trim() !== '') out.push(`      ${line}`);
    if (set.kind === 'audio' && firstAudio) {
      out.push('      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>');
      firstAudio = false;
    }
    // One SegmentTemplate describes one timeline: share it only when every representation has it.
    const shared = set.renditions.every((r) => sameTimeline(r, first));
    if (shared) out.push(...segmentTemplate(first, '      '));
    for (const r of set.renditions) {
      const t = r.cut.track;
      const repAttrs: Array<readonly [string, string]> = [
        ['id', r.id],
        ['bandwidth', formatInteger(r.bandwidth)],
        ['codecs', t.codecString],
      ];
      if (set.kind === 'video') {
        if (t.width > 0 && t.height > 0) repAttrs.push(['width', String(t.width)], ['height', String(t.height)]);
        const fr = frameRateFraction(r);
        if (fr) repAttrs.push(['frameRate', fr.text]);
        repAttrs.push(['sar', '1:1']);
      } else if (t.sampleRate > 0) {
        repAttrs.push(['audioSamplingRate', String(t.sampleRate)]);
      }
      const children: string[] = [];
      if (set.kind === 'audio' && t.channels > 0) {
        children.push(
          `        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${t.channels}"/>`,
        );
      }
      if (!shared) children.push(...segmentTemplate(r, '        '));
      if (children.length === 0) out.push(`      <Representation${attrs(repAttrs)}/>`);
      else out.push(`      <Representation${attrs(repAttrs)}>`, ...children, '      </Representation>');
    }
    out.push('    </AdaptationSet>');
  });
  out.push('  </Period>', '</MPD>');
  return `${out.join('\n')}\n`;
}

/**
 * Video sets, then audio sets. Renditions split by type, language and codec family (avc1 / hvc1 /
 * mp4a …): players switch freely inside a set, which fails across codecs and makes no sense across
 * languages.
 */
export function adaptationSets(p: Presentation): AdaptationSetGroup[] {
  const sets = new Map<string, { kind: 'video' | 'audio'; language: string; renditions: Rendition[] }>();
  const add = (kind: 'video' | 'audio', r: Rendition): void => {
    const language = kind === 'audio' ? normalizeLanguage(r.cut.track.language) : UNDETERMINED;
    const family = r.cut.track.codecString.split('.')[0]!.toLowerCase();
    const key = `${kind}|${language}|${family}`;
    const set = sets.get(key);
    if (set) set.renditions.push(r);
    else sets.set(key, { kind, language, renditions: [r] });
  };
  for (const r of p.video) add('video', r);
  for (const r of p.audio) add('audio', r);
  return [...sets.values()];
}

/** S entries of segments [0, count) of a cut: equal consecutive contiguous durations folded into r. */
export function segmentTimeline(start: Float64Array, count: number): TimelineEntry[] {
  const out: Array<{ t: number; d: number; r: number; writeT: boolean }> = [];
  for (let i = 0; i < count; i++) {
    const t = start[i]!;
    const d = start[i + 1]! - t;
    const last = out[out.length - 1];
    const expected = last ? last.t + (last.r + 1) * last.d : undefined;
    if (last && last.d === d && expected === t) last.r++;
    else out.push({ t, d, r: 0, writeT: expected !== t });
  }
  return out;
}

function sameTimeline(a: Rendition, b: Rendition): boolean {
  if (a === b) return true;
  if (a.cut.track.timescale !== b.cut.track.timescale || a.cut.count !== b.cut.count) return false;
  for (let i = 0; i <= a.cut.count; i++) if (a.cut.start[i] !== b.cut.start[i]) return false;
  return true;
}

/** DASH FrameRateType is an integer or a fraction (24, 30000/1001), never a decimal. */
function frameRateFraction(r: Rendition): { num: number; den: number; text: string } | undefined {
  if (r.frameDuration === undefined || !(r.frameDuration > 0)) return undefined;
  const ts = r.cut.track.timescale;
  const g = gcd(ts, r.frameDuration);
  const num = ts / g;
  const den = r.frameDuration / g;
  return { num, den, text: den === 1 ? String(num) : `${num}/${den}` };
}

function maxFrameRate(renditions: readonly Rendition[]): string | undefined {
  let best: { num: number; den: number; text: string } | undefined;
  for (const r of renditions) {
    const f = frameRateFraction(r);
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
function templateUri(template: string, query: string | undefined): string {
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

function attrs(list: ReadonlyArray<readonly [string, string]>): string {
  return list.map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
}
