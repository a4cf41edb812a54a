/**
 * Helpers of the live integration tests (test/integration/live*.test.ts): UDP ports, stream configs,
 * polling the status API, fetching and checking live playlists and MPDs, downloading segments into one
 * file and checking what ffmpeg decodes of it against the source's frames, and a UDP fan-out so several
 * streams (or servers) ingest the very same datagrams.
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Manifest, Segment } from 'm3u8-parser';
import { frameHashes, tool } from './ffmpeg.js';
import { TsPacer, type TsPacerOptions } from './live-source.js';
import { startTestServer, type TestServer } from './server.js';
import { findAll, parseM3u8, parseXml, type XmlElement } from '../unit/manifest/helpers.js';

export const VIDEO = 'v256';
export const AUDIO = 'a257';
export const FPS = 25;

// ---------------------------------------------------------------------------------------------
// Ports, configs, waiting

/** A UDP port free on 127.0.0.1 right now (bound to port 0, read, closed). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

export interface StreamSpec {
  name: string;
  port: number;
  /** Extra directives inside the block, each without its ';'. */
  extra?: string[];
  segmentDuration?: number;
}

/** `stream NAME { input udp://127.0.0.1:PORT; segment_duration N; … }` */
export function streamBlock(s: StreamSpec): string {
  const lines = [`input udp://127.0.0.1:${s.port}`, `segment_duration ${s.segmentDuration ?? 2}`, ...(s.extra ?? [])];
  return `stream ${s.name} {\n${lines.map((l) => `  ${l};\n`).join('')}}\n`;
}

export const RESOURCE_ID = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';

/** The directives of a protected stream: resource_id and `drm local …`. */
export function drmDirectives(drmOptions = 'systems=clearkey rotate_segments=2'): string[] {
  return [`resource_id ${RESOURCE_ID}`, `drm local ${drmOptions}`];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns something other than undefined/false; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 40_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > until) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// What a test starts

export interface Stoppable {
  stop(): Promise<unknown>;
}

export interface TestResources {
  /** Stopped (newest first) after the test (or the block), whatever happened. */
  track<T extends Stoppable>(x: T): T;
  /** A test server, stopped with the rest. */
  server(config: string): Promise<TestServer>;
  /** A TsPacer sending `file` in real time (× speed), stopped with the rest. */
  pace(file: string, opts: TsPacerOptions): Promise<TsPacer>;
  /** The file's scratch folder (made before its tests, removed after them). */
  readonly scratch: Scratch;
}

/**
 * Call at the top of a test file or describe block: registers the hooks that make a scratch folder and
 * stop what was started, after each test (default) or after all the tests of the block.
 */
export function testResources(stopAfter: 'each' | 'all' = 'each'): TestResources {
  const started: Stoppable[] = [];
  let scratch: Scratch | undefined;
  beforeAll(async () => {
    scratch = await scratchDir();
  });
  (stopAfter === 'each' ? afterEach : afterAll)(async () => {
    for (const r of started.splice(0).reverse()) await r.stop();
  });
  afterAll(async () => scratch?.remove());
  const track = <T extends Stoppable>(x: T): T => {
    started.push(x);
    return x;
  };
  return {
    track,
    server: async (config) => track(await startTestServer(config)),
    pace: async (file, opts) => track(new TsPacer(await readFile(file), opts).start()),
    get scratch() {
      if (!scratch) throw new Error('scratch folder used outside a test');
      return scratch;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

export async function getOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return res;
}

export async function getText(url: string): Promise<string> {
  return (await getOk(url)).text();
}

export async function getBytes(url: string): Promise<Buffer> {
  return Buffer.from(await (await getOk(url)).arrayBuffer());
}

/** What /api/streams/NAME tells (the fields these tests read). */
export interface StreamStatus {
  input: { state: string; datagrams: number; bytes: number; garbageDatagrams: number; bitrate: number };
  demux: Record<string, number>;
  segmenter: Record<string, number>;
  window: { segments: number; first?: number; last?: number; seconds: number; inMemory: number; newest: Array<{ number: number; discontinuity: boolean }> };
  dvr: { path: string; depthSeconds: number; writeErrors: number } | null;
}

export async function streamStatus(base: string, name: string): Promise<StreamStatus> {
  return JSON.parse(await getText(`${base}/api/streams/${name}`)) as StreamStatus;
}

/** Waits until the stream lists at least `count` segments; returns its status then. */
export function waitForSegments(base: string, name: string, count: number, timeoutMs = 45_000): Promise<StreamStatus> {
  return waitFor(`${count} segments of ${name}`, async () => {
    const s = await streamStatus(base, name);
    return s.window.segments >= count && s;
  }, timeoutMs);
}

/** Waits until the stream's segmenter has made at least `count` segments (listed or since trimmed). */
export function waitForMade(base: string, name: string, count: number, timeoutMs = 45_000): Promise<StreamStatus> {
  return waitFor(`${count} segments made by ${name}`, async () => {
    const s = await streamStatus(base, name);
    return s.segmenter['segments']! >= count && s;
  }, timeoutMs, 250);
}

// ---------------------------------------------------------------------------------------------
// Playlists

export { parseM3u8 };

export interface ListedSegment {
  /** Absolute URL. */
  url: string;
  number: number;
  duration: number;
  discontinuity: boolean;
  /** Absolute key URL (EXT-X-KEY URI), if any. */
  keyUrl?: string;
  keyMethod?: string;
  programDateTime?: number;
  mapUrl?: string;
}

export interface MediaPlaylist {
  text: string;
  manifest: Manifest;
  mediaSequence: number;
  targetDuration: number;
  ended: boolean;
  segments: ListedSegment[];
}

/** The segment number in a segment URI (`…/{n}.ts|m4s`). */
export function numberOf(uri: string): number {
  const m = /\/(\d+)\.(?:ts|m4s)(?:\?|$)/.exec(uri);
  if (!m) throw new Error(`no segment number in ${uri}`);
  return Number(m[1]);
}

function listed(s: Segment, base: string): ListedSegment {
  return {
    url: new URL(s.uri, base).href,
    number: numberOf(s.uri),
    duration: s.duration,
    discontinuity: s.discontinuity === true,
    ...(s.key ? { keyUrl: new URL(s.key.uri, base).href, keyMethod: s.key.method } : {}),
    ...(s.programDateTime !== undefined ? { programDateTime: s.programDateTime } : {}),
    ...(s.map ? { mapUrl: new URL(s.map.uri, base).href } : {}),
  };
}

/** Fetches and parses a media playlist; fails on any m3u8-parser warning. */
export async function mediaPlaylist(url: string): Promise<MediaPlaylist> {
  const text = await getText(url);
  const { manifest, warnings } = parseM3u8(text);
  expect(warnings, `${url}\n${text}`).toEqual([]);
  return {
    text,
    manifest,
    mediaSequence: manifest.mediaSequence ?? 0,
    targetDuration: manifest.targetDuration ?? 0,
    ended: manifest.endList === true,
    segments: manifest.segments.map((s) => listed(s, url)),
  };
}

/**
 * A valid media playlist (live, or finished with `ended`): segments listed, consecutive numbers from
 * MEDIA-SEQUENCE, PROGRAM-DATE-TIME on each, every EXTINF rounded within the target duration.
 */
export function checkMediaPlaylist(pl: MediaPlaylist, ended = false): void {
  expect(pl.ended, pl.text).toBe(ended);
  expect(pl.segments.length, pl.text).toBeGreaterThan(0);
  expect(pl.mediaSequence, pl.text).toBe(pl.segments[0]!.number);
  pl.segments.forEach((s, i) => {
    expect(s.number, pl.text).toBe(pl.mediaSequence + i);
    expect(s.programDateTime, pl.text).toBeTypeOf('number');
    expect(Math.round(s.duration), pl.text).toBeLessThanOrEqual(pl.targetDuration);
    expect(s.duration).toBeGreaterThan(0);
  });
}

export function listedSeconds(segments: readonly ListedSegment[]): number {
  return segments.reduce((sum, s) => sum + s.duration, 0);
}

/**
 * A timeshift range (whole unix seconds) overlapping exactly `segments` (consecutive, about 2 s each):
 * from just after the first one's PROGRAM-DATE-TIME (so the segment before, which ends there, is out)
 * to just after the last one's (so the one after, starting a segment later, is out).
 */
export function rangeOf(segments: readonly ListedSegment[]): { from: number; duration: number } {
  const first = segments[0]!.programDateTime!;
  const last = segments.at(-1)!.programDateTime!;
  const from = Math.ceil(first / 1000 + 0.001);
  return { from, duration: Math.max(1, Math.floor(last / 1000) + 1 - from) };
}

// ---------------------------------------------------------------------------------------------
// MPD

export interface MpdPeriod {
  id: string;
  start: string;
  element: XmlElement;
  /** Segment numbers of each Representation id (startNumber + position in the SegmentTimeline). */
  numbers: Map<string, number[]>;
  /** The initialization URL template of each Representation, with $RepresentationID$ filled in. */
  inits: Map<string, string>;
  /** cenc:default_KID values of the Period's ContentProtection elements. */
  defaultKids: string[];
}

export interface Mpd {
  text: string;
  root: XmlElement;
  periods: MpdPeriod[];
}

function timelineCount(template: XmlElement): number {
  return findAll(template, 'S').reduce((n, s) => n + 1 + Number(s.attrs['r'] ?? 0), 0);
}

export function parseMpd(text: string): Mpd {
  const root = parseXml(text);
  expect(root.name).toBe('MPD');
  const periods = findAll(root, 'Period').map((p) => {
    const numbers = new Map<string, number[]>();
    const inits = new Map<string, string>();
    for (const set of findAll(p, 'AdaptationSet')) {
      for (const rep of findAll(set, 'Representation')) {
        // Shared by the set, or the Representation's own.
        const template = (findAll(rep, 'SegmentTemplate')[0] ?? set.children.find((c) => c.name === 'SegmentTemplate'))!;
        const start = Number(template.attrs['startNumber']);
        numbers.set(rep.attrs['id']!, Array.from({ length: timelineCount(template) }, (_, i) => start + i));
        inits.set(rep.attrs['id']!, template.attrs['initialization']!.replace('$RepresentationID$', rep.attrs['id']!));
      }
    }
    const defaultKids = findAll(p, 'ContentProtection').flatMap((c) => (c.attrs['cenc:default_KID'] ? [c.attrs['cenc:default_KID']] : []));
    return { id: p.attrs['id']!, start: p.attrs['start']!, element: p, numbers, inits, defaultKids };
  });
  return { text, root, periods };
}

// ---------------------------------------------------------------------------------------------
// Downloads and decoding

export interface Scratch {
  dir: string;
  /** Writes the concatenation of the bodies of `urls` to a new file; returns its path. */
  concat(name: string, urls: readonly string[]): Promise<string>;
  remove(): Promise<void>;
}

export async function scratchDir(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'packager-live-'));
  return {
    dir,
    async concat(name, urls) {
      const parts: Buffer[] = [];
      for (const u of urls) parts.push(await getBytes(u));
      const path = join(dir, name);
      await writeFile(path, Buffer.concat(parts));
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** ffmpeg's complaints (-v error) decoding all of `input`; '' when it decodes cleanly. Rejects when ffmpeg fails. */
export async function decodeErrors(input: string, extra: string[] = []): Promise<string> {
  const { stderr } = await tool('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', ...extra, '-i', input, '-f', 'null', '-']);
  return stderr.trim();
}

/** Frames decoded from the first video stream of a file or URL. */
export function videoHashes(input: string, extra: string[] = []): Promise<string[]> {
  return frameHashes(input, '0:v:0', extra);
}

/** Frames decoded from the first audio stream. */
export function audioFrameCount(input: string, extra: string[] = []): Promise<number> {
  return frameHashes(input, '0:a:0', extra).then((h) => h.length);
}

/**
 * Video frames ffmpeg decrypts (-decryption_key) and decodes from fMP4 bytes. Piped: ffmpeg 5.1 applies
 * the last fragment's sample auxiliary data to every fragment of a seekable file.
 */
export function decryptedVideoHashes(data: Buffer, keyHex: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const ff = spawn('ffmpeg', ['-v', 'error', '-decryption_key', keyHex, '-i', 'pipe:0', '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'framemd5', '-']);
    let out = '';
    let err = '';
    ff.stdout.on('data', (d: Buffer) => (out += d.toString()));
    ff.stderr.on('data', (d: Buffer) => (err += d.toString()));
    ff.stdin.on('error', () => undefined);
    ff.on('error', reject);
    ff.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ffmpeg -decryption_key exited ${code}: ${err}`));
      resolve(out.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim()));
    });
    ff.stdin.end(data);
  });
}

/** The content key of a KeyID (dashed UUID) from the ClearKey licence endpoint, hex. */
export async function clearKeyLicence(base: string, kidUuid: string): Promise<string> {
  const kid = Buffer.from(kidUuid.replace(/-/g, ''), 'hex').toString('base64url');
  const res = await fetch(`${base}/license/clearkey`, { method: 'POST', body: JSON.stringify({ kids: [kid], type: 'temporary' }) });
  expect(res.status).toBe(200);
  const j = (await res.json()) as { keys: Array<{ kid: string; k: string }> };
  expect(j.keys[0]!.kid).toBe(kid);
  return Buffer.from(j.keys[0]!.k, 'base64url').toString('hex');
}

const sourceCache = new Map<string, Promise<string[]>>();

/** The decoded video frames of a source TS file (cached per path). */
export function sourceHashes(path: string): Promise<string[]> {
  let p = sourceCache.get(path);
  if (!p) sourceCache.set(path, (p = videoHashes(path)));
  return p;
}

/**
 * `out` is a run of consecutive frames of `src` (a frame-exact copy of the source's pictures): the
 * first frame is found in the source (it must occur once), and everything after follows. Returns the
 * index in the source.
 */
export function expectSourceFrames(out: readonly string[], src: readonly string[]): number {
  expect(out.length).toBeGreaterThan(0);
  const at = src.indexOf(out[0]!);
  expect(at, 'the first decoded frame is a frame of the source').toBeGreaterThanOrEqual(0);
  expect(src.indexOf(out[0]!, at + 1), 'the first frame is unique in the source').toBe(-1);
  expect(out.length, 'no more frames than the source has from there').toBeLessThanOrEqual(src.length - at);
  const mismatch = out.findIndex((h, i) => h !== src[at + i]);
  expect(mismatch, `frame ${mismatch} after source frame ${at} differs`).toBe(-1);
  return at;
}

/** About FPS frames per listed second (a frame of slack at each segment edge). */
export function expectFrameCount(frames: number, seconds: number, segments: number): void {
  expect(Math.abs(frames - seconds * FPS), `${frames} frames for ${seconds.toFixed(3)} s`).toBeLessThanOrEqual(Math.max(2, segments));
}

// ---------------------------------------------------------------------------------------------
// UDP fan-out

/** Listens on 127.0.0.1 (ephemeral port) and sends every datagram it gets to each target port. */
export class UdpFanOut {
  private sock: Socket | undefined;
  received = 0;

  constructor(private readonly targets: readonly number[]) {}

  get port(): number {
    if (!this.sock) throw new Error('UdpFanOut not started');
    return this.sock.address().port;
  }

  async start(): Promise<this> {
    const sock = createSocket('udp4');
    this.sock = sock;
    sock.on('message', (msg) => {
      this.received++;
      // A target not listening yet (a server started later) just loses the datagram, as on a network.
      for (const port of this.targets) sock.send(msg, port, '127.0.0.1', () => undefined);
    });
    sock.on('error', () => undefined);
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const sock = this.sock;
    this.sock = undefined;
    if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

