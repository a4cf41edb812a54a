/** Hand-built tracks, cuts and plans for the manifest tests, plus the oracles (m3u8-parser, XML). */

import { execFileSync } from 'node:child_process';
import { Parser, type Manifest } from 'm3u8-parser';
import type { SampleEntryType, Track, TrackKind } from '../../../src/media/track.js';
import type { SegmentPlan, TrackCut } from '../../../src/segment/types.js';

export interface TrackSpec {
  id: number;
  kind: TrackKind;
  timescale: number;
  /** Duration of each sample, in timescale units (one entry per sample). */
  durations: number[];
  /** Size of each sample; default 1000 bytes. */
  sizes?: number[];
  codecString?: string;
  language?: string;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

export function makeTrack(spec: TrackSpec): Track {
  const n = spec.durations.length;
  const dts = new Float64Array(n);
  for (let i = 1; i < n; i++) dts[i] = dts[i - 1]! + spec.durations[i - 1]!;
  const size = new Uint32Array(n).fill(1000);
  if (spec.sizes) size.set(spec.sizes);
  const video = spec.kind === 'video';
  return {
    id: spec.id,
    kind: spec.kind,
    sampleEntryType: (video ? 'avc1' : 'mp4a') as SampleEntryType,
    codecString: spec.codecString ?? (video ? 'avc1.64001f' : 'mp4a.40.2'),
    timescale: spec.timescale,
    codecConfig: new Uint8Array(0),
    sampleEntry: new Uint8Array(0),
    nalLengthSize: video ? 4 : 0,
    language: spec.language ?? 'und',
    name: '',
    width: spec.width ?? (video ? 640 : 0),
    height: spec.height ?? (video ? 360 : 0),
    sampleRate: spec.sampleRate ?? (video ? 0 : spec.timescale),
    channels: spec.channels ?? (video ? 0 : 2),
    presentationOffset: 0,
    samples: {
      count: n,
      dts,
      cto: new Int32Array(n),
      duration: Uint32Array.from(spec.durations),
      size,
      offset: new Float64Array(n),
      sync: new Uint8Array(n).fill(1),
    },
  };
}

/** Cut a track at the given first-sample indices (one per segment); start/bytes from the samples. */
export function cutAt(track: Track, firsts: number[]): TrackCut {
  const s = track.samples;
  const count = firsts.length;
  const first = new Uint32Array(count + 1);
  first.set(firsts);
  first[count] = s.count;
  const start = new Float64Array(count + 1);
  const bytes = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    start[i] = s.dts[first[i]!]!;
    for (let j = first[i]!; j < first[i + 1]!; j++) bytes[i]! += s.size[j]!;
  }
  start[count] = s.dts[s.count - 1]! + s.duration[s.count - 1]!;
  return { track, count, first, start, bytes };
}

/** A cut given directly by segment durations (timescale units) and bytes, over a minimal track. */
export function cutFromDurations(
  spec: Omit<TrackSpec, 'durations' | 'sizes'>,
  durations: number[],
  bytes: number[],
): TrackCut {
  // one sample per segment is enough for the manifests; frame rate comes from durations anyway
  const track = makeTrack({ ...spec, durations, sizes: bytes });
  return cutAt(
    track,
    durations.map((_, i) => i),
  );
}

/** count samples of equal duration. */
export function constant(count: number, duration: number): number[] {
  return new Array<number>(count).fill(duration);
}

export function plan(cuts: TrackCut[], targetDuration = 4): SegmentPlan {
  return { count: Math.max(...cuts.map((c) => c.count)), targetDuration, cuts };
}

/** 24 fps video, 12 s, segments of 4 s at timescale 24000 (1000 per frame). */
export function video24(id = 1, opts: Partial<TrackSpec> = {}): TrackCut {
  const t = makeTrack({ id, kind: 'video', timescale: 24000, durations: constant(288, 1000), ...opts });
  return cutAt(t, [0, 96, 192]);
}

/** AAC 48 kHz, 12 s (563 frames of 1024), cut near 4 s and 8 s. */
export function aac(id: number, language: string, opts: Partial<TrackSpec> = {}): TrackCut {
  const t = makeTrack({ id, kind: 'audio', timescale: 48000, durations: constant(563, 1024), language, ...opts });
  return cutAt(t, [0, 188, 375]);
}

export interface ParsedPlaylist {
  manifest: Manifest;
  warnings: string[];
  /** Raw tag events of the parse stream, e.g. to read CHANNELS that the parser drops. */
  tags: Array<{ tagType?: string; attributes?: Record<string, unknown> }>;
}

export function parseM3u8(text: string): ParsedPlaylist {
  const parser = new Parser();
  const warnings: string[] = [];
  const tags: ParsedPlaylist['tags'] = [];
  parser.on('warn', (w) => warnings.push(w.message));
  parser.parseStream.on('data', (...data: unknown[]) => {
    const e = data[0] as { type?: string; tagType?: string; attributes?: Record<string, unknown> };
    if (e.type === 'tag') tags.push({ tagType: e.tagType, attributes: e.attributes });
  });
  parser.push(text);
  parser.end();
  return { manifest: parser.manifest, warnings, tags };
}

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/**
 * A strict little XML reader for the MPD tests: balanced tags, quoted unique attributes, known
 * entities only. Throws on anything else; enough to prove our own output well-formed.
 */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`XML: ${msg} at ${i}: ${JSON.stringify(src.slice(i, i + 40))}`);
  };
  const decode = (s: string): string => {
    if (/&(?!(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(s)) fail('bad entity');
    if (/</.test(s)) fail('< in text');
    return s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  };
  const NAME = /[A-Za-z_][\w.:-]*/y;
  const readName = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    if (!m) return fail('name expected');
    i += m[0].length;
    return m[0];
  };
  const skipWs = (): void => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  if (src.startsWith('<?xml')) {
    const end = src.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    i = end + 2;
  }
  skipWs();
  const readElement = (): XmlElement => {
    if (src[i] !== '<') fail('< expected');
    i++;
    const el: XmlElement = { name: readName(), attrs: {}, children: [], text: '' };
    for (;;) {
      const before = i;
      skipWs();
      if (src.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      if (i === before) fail('space expected before attribute');
      const name = readName();
      if (name in el.attrs) fail(`duplicate attribute ${name}`);
      if (src[i] !== '=') fail('= expected');
      i++;
      const q = src[i];
      if (q !== '"' && q !== "'") return fail('quote expected');
      const end = src.indexOf(q, i + 1);
      if (end < 0) fail('unterminated attribute');
      el.attrs[name] = decode(src.slice(i + 1, end));
      i = end + 1;
    }
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${el.name}>`);
      el.text += decode(src.slice(i, lt));
      i = lt;
      if (src.startsWith('</', i)) {
        i += 2;
        const name = readName();
        if (name !== el.name) fail(`</${name}> closes <${el.name}>`);
        skipWs();
        if (src[i] !== '>') fail('> expected');
        i++;
        return el;
      }
      if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
        continue;
      }
      el.children.push(readElement());
    }
  };
  const root = readElement();
  skipWs();
  if (i !== src.length) fail('content after the root element');
  return root;
}

export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    if (e.name === name) out.push(e);
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

let python: boolean | undefined;

/** Second opinion from a real XML parser (python3's minidom) when one is installed; false if none. */
/** Our strict reader always; python's minidom too where asked (it costs a process per call). */
export function parseMpdXml(xml: string, python = false): XmlElement {
  const root = parseXml(xml);
  if (python) wellFormedByPython(xml);
  return root;
}

/** The SegmentTemplate that applies to a Representation: its own, else its AdaptationSet's. */
export function templateOf(set: XmlElement, rep: XmlElement): XmlElement {
  const t = child(rep, 'SegmentTemplate') ?? child(set, 'SegmentTemplate');
  if (!t) throw new Error(`no SegmentTemplate for ${rep.attrs.id}`);
  return t;
}

export function wellFormedByPython(xml: string): boolean {
  if (python === undefined) {
    try {
      execFileSync('python3', ['-c', 'import xml.dom.minidom'], { stdio: 'ignore' });
      python = true;
    } catch {
      python = false;
    }
  }
  if (!python) return false;
  // throws (test fails) when minidom rejects the document
  execFileSync('python3', ['-c', 'import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())'], {
    input: xml,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  return true;
}

/** Expand a SegmentTemplate's SegmentTimeline into (t, d) per segment. */
export function expandTimeline(template: XmlElement): Array<{ t: number; d: number }> {
  const tl = child(template, 'SegmentTimeline');
  if (!tl) throw new Error('no SegmentTimeline');
  const out: Array<{ t: number; d: number }> = [];
  let next = 0;
  for (const s of tl.children) {
    if (s.name !== 'S') throw new Error(`unexpected ${s.name}`);
    const d = Number(s.attrs.d);
    let t = s.attrs.t === undefined ? next : Number(s.attrs.t);
    const r = s.attrs.r === undefined ? 0 : Number(s.attrs.r);
    for (let k = 0; k <= r; k++) {
      out.push({ t, d });
      t += d;
    }
    next = t;
  }
  return out;
}
