// The DVR archive end to end: segments written as files, the archive surviving a SIGKILLed server
// (the real CLI, restarted on the same config) and served as timeshift, depth pruning; and two origins
// fed the same input serving byte-identical segments, clear and protected.
import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeLiveTs } from '../helpers/live-source.js';
import type { TestServer } from '../helpers/server.js';
import {
  AUDIO,
  VIDEO,
  checkMediaPlaylist,
  decodeErrors,
  drmDirectives,
  expectSourceFrames,
  freeUdpPort,
  getBytes,
  mediaPlaylist,
  parseM3u8,
  parseMpd,
  getText,
  rangeOf,
  sourceHashes,
  streamBlock,
  streamStatus,
  videoHashes,
  waitFor,
  waitForMade,
  waitForSegments,
  UdpFanOut,
  testResources,
} from '../helpers/live-harness.js';
import { killProcess, serveProcess, type ServeProcess } from '../helpers/serve-process.js';

const res = testResources();

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'packager-dvr-'));
  res.track({ stop: () => rm(dir, { recursive: true, force: true }) });
  return dir;
}

/** Segment numbers of the `.seg` files of a stream's archive, ascending; and any other names. */
async function archiveFiles(dir: string): Promise<{ numbers: number[]; others: string[] }> {
  const names = await readdir(dir);
  const numbers = names.flatMap((n) => (/^\d+\.seg$/.test(n) ? [Number.parseInt(n, 10)] : [])).sort((a, b) => a - b);
  return { numbers, others: names.filter((n) => !/^\d+\.seg$/.test(n)) };
}

/** An in-process server recording stream `name` (`dvr TMP DEPTH`), fed `seconds` of source at `speed`. */
async function recording(name: string, depth: string, seconds: number, speed: number): Promise<{ server: TestServer; dvr: string }> {
  const port = await freeUdpPort();
  const dvr = await tempDir();
  const server = await res.server(streamBlock({ name, port, extra: [`dvr ${dvr} ${depth}`] }));
  await res.pace(await makeLiveTs({ seconds }), { port, speed });
  return { server, dvr };
}

describe('DVR', () => {
  it('writes each listed segment as a file of the archive', async () => {
    const { server, dvr } = await recording('rec', '1h', 20, 2);
    const st = await waitForSegments(server.url, 'rec', 4);
    expect(st.dvr).toMatchObject({ path: dvr, depthSeconds: 3600, writeErrors: 0 });
    const pl = await mediaPlaylist(`${server.url}/rec/ts/${VIDEO}.m3u8`);
    const { numbers, others } = await archiveFiles(join(dvr, 'rec'));
    for (const s of pl.segments) expect(numbers).toContain(s.number);
    expect(others.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('holds only the live edge in memory and serves older segments from the archive, byte for byte the same', async () => {
    const { server } = await recording('edge', '1h', 90, 10);
    // The oldest segments, fetched while they are still in memory.
    const first = await waitForSegments(server.url, 'edge', 3);
    const early = first.window.first!;
    const urls = [`${server.url}/edge/dash/${VIDEO}/${early}.m4s`, `${server.url}/edge/ts/${VIDEO}/${early}.ts`];
    const fromMemory = await Promise.all(urls.map(getBytes));
    const st = await waitFor('the window to outgrow memory', async () => {
      const s = await streamStatus(server.url, 'edge');
      return s.window.seconds > 60 && s;
    }, 50_000, 300);
    expect(st.window.first).toBe(early);
    // MEMORY_WITH_DVR_SECONDS (30) of 2 s segments, one more while the oldest is measured out.
    expect(st.window.inMemory).toBeGreaterThanOrEqual(5);
    expect(st.window.inMemory).toBeLessThanOrEqual(17);
    expect(st.window.segments).toBeGreaterThan(st.window.inMemory);
    const fromArchive = await Promise.all(urls.map(getBytes));
    fromArchive.forEach((b, i) => expect(Buffer.compare(b, fromMemory[i]!), urls[i]).toBe(0));
  }, 90_000);

  it('keeps the archive of a server killed with SIGKILL and serves it as timeshift after a restart', async () => {
    const source = await makeLiveTs({ seconds: 60 });
    const port = await freeUdpPort();
    const dir = await tempDir();
    const configPath = join(dir, 'packager.conf');
    await writeFile(configPath, streamBlock({ name: 'arch', port, extra: [`dvr ${join(dir, 'dvr')} 1h`] }));
    const archive = join(dir, 'dvr', 'arch');
    let first: ServeProcess | undefined;
    let second: ServeProcess | undefined;
    try {
      first = await serveProcess(configPath);
      // Real time: the segments' wall clocks are the times they arrived.
      await res.pace(source, { port, speed: 1 });
      await waitForSegments(first.url, 'arch', 4);
      const before = await mediaPlaylist(`${first.url}/arch/ts/${VIDEO}.m3u8`);
      checkMediaPlaylist(before);
      const kept = before.segments.at(-1)!;
      const keptBytes = await getBytes(kept.url);
      first.child.kill('SIGKILL');
      await first.exit;
      // What a crash in the middle of an append leaves: a temp file, never to be served.
      const planted = 99_999_999;
      await writeFile(join(archive, `${planted}.seg.tmp`), Buffer.alloc(5000, 7));

      // What the crash left on disk, read before the restart: the new server appends to it at once.
      const { numbers } = await archiveFiles(archive);
      second = await serveProcess(configPath);
      const old = before.segments.map((s) => s.number);
      // The archive is listed at once; new segments follow, numbered above the archive's.
      const { others } = await archiveFiles(archive);
      const st = await waitForMade(second.url, 'arch', 1);
      expect(st.window.first).toBeLessThanOrEqual(old[0]!);
      expect(st.window.last).toBeGreaterThan(numbers.at(-1)!);
      // The planted leftover is gone (an append in flight may show its own .tmp meanwhile).
      expect(others.filter((n) => !/^\d+\.seg\.tmp$/.test(n) || n === `${planted}.seg.tmp`)).toEqual([]);
      expect(numbers).toEqual(expect.arrayContaining(old));
      expect((await fetch(`${second.url}/arch/ts/${VIDEO}/${planted}.ts`)).status).toBe(404);

      // The old range as timeshift: a finished presentation of exactly the old segments, same bytes.
      const { from, duration } = rangeOf(before.segments);
      const master = parseM3u8(await getText(`${second.url}/arch/index-${from}-${duration}.m3u8`));
      expect(master.warnings).toEqual([]);
      expect(master.manifest.playlists?.map((p) => p.uri)).toEqual([`ts/${VIDEO}-${from}-${duration}.m3u8`]);
      const piece = await mediaPlaylist(`${second.url}/arch/ts/${VIDEO}-${from}-${duration}.m3u8`);
      checkMediaPlaylist(piece, true);
      expect(piece.segments.map((s) => s.number)).toEqual(old);
      expect((await getBytes(`${second.url}/arch/ts/${VIDEO}/${kept.number}.ts`)).equals(keptBytes)).toBe(true);
      const file = await res.scratch.concat('archived.ts', piece.segments.map((s) => s.url));
      expect(await decodeErrors(file)).toBe('');
      expectSourceFrames(await videoHashes(file), await sourceHashes(source));
      // The same piece as a static MPD: one Period of the old numbers, decoding to the same frames.
      const mpd = parseMpd(await getText(`${second.url}/arch/index-${from}-${duration}.mpd`));
      expect(mpd.root.attrs['type']).toBe('static');
      expect(mpd.periods).toHaveLength(1);
      expect(mpd.periods[0]!.numbers.get(VIDEO)).toEqual(old);
      const archived = `${second.url}/arch`;
      const dash = await res.scratch.concat('archived.mp4', [`${archived}/${mpd.periods[0]!.inits.get(VIDEO)!}`, ...old.map((n) => `${archived}/dash/${VIDEO}/${n}.m4s`)]);
      expect(await videoHashes(dash)).toEqual(await videoHashes(file));
      const audio = await mediaPlaylist(`${second.url}/arch/ts/${AUDIO}-${from}-${duration}.m3u8`);
      expect(audio.segments.map((s) => s.number)).toEqual(old);
      expect(await decodeErrors(await res.scratch.concat('archived-a.ts', audio.segments.map((s) => s.url)))).toBe('');
    } finally {
      await killProcess(first);
      await killProcess(second);
    }
  }, 90_000);

  it('deletes segments older than the depth (dvr PATH 10s) as new ones arrive', async () => {
    const { server, dvr } = await recording('short', '10s', 40, 4);
    const early = await waitForSegments(server.url, 'short', 1);
    const oldest = early.window.first!;
    const st = await waitForMade(server.url, 'short', 12);
    // 10 s of 2-s segments: 5 or 6 are kept (a segment is kept while any of it is within the depth).
    const { numbers } = await waitFor('the archive to settle', async () => {
      const files = await archiveFiles(join(dvr, 'short'));
      return files.numbers.length <= 7 && files;
    }, 10_000);
    expect(numbers[0]).toBeGreaterThan(oldest);
    expect(numbers.at(-1)).toBeGreaterThanOrEqual(st.window.last!);
    expect(numbers.length).toBeGreaterThanOrEqual(4);
    expect((await fetch(`${server.url}/short/ts/${VIDEO}/${oldest}.ts`)).status).toBe(404);
    const pl = await mediaPlaylist(`${server.url}/short/ts/${VIDEO}.m3u8`);
    checkMediaPlaylist(pl);
    for (const s of pl.segments) expect(numbers).toContain(s.number);
  }, 60_000);
});

/** The tags of segment n in a TS media playlist (from after the previous URI), without its PROGRAM-DATE-TIME. */
function segmentLines(text: string, n: number): string[] {
  const lines = text.split('\n');
  const at = lines.indexOf(`${VIDEO}/${n}.ts`);
  expect(at).toBeGreaterThan(0);
  let start = at;
  while (start > 0 && !lines[start - 1]!.endsWith('.ts')) start--;
  return lines.slice(start, at + 1).filter((l) => !l.startsWith('#EXT-X-PROGRAM-DATE-TIME') && !l.startsWith('#EXT-X-MEDIA-SEQUENCE'));
}

describe('two origins fed the same input', () => {
  it('serve byte-identical segments for every number both list, clear and protected', async () => {
    const source = await makeLiveTs({ seconds: 30 });
    const dir = await tempDir();
    const secretFile = join(dir, 'secret');
    await writeFile(secretFile, `${'5e'.repeat(32)}\n`, { mode: 0o600 });
    const ports = await Promise.all([0, 1, 2, 3].map(() => freeUdpPort()));
    const config = (clear: number, drm: number): string =>
      `secret_file ${secretFile};\n` + streamBlock({ name: 'clear', port: clear }) + streamBlock({ name: 'drm', port: drm, extra: drmDirectives() });
    const fan = res.track(await new UdpFanOut(ports).start());
    const a = await res.server(config(ports[0]!, ports[1]!));
    await res.pace(source, { port: fan.port, speed: 2 });
    await waitForSegments(a.url, 'drm', 2);
    // The second origin joins a few seconds later.
    const b = await res.server(config(ports[2]!, ports[3]!));
    await waitForSegments(b.url, 'drm', 4);
    await waitForSegments(b.url, 'clear', 4);

    for (const name of ['clear', 'drm']) {
      const [la, lb] = await Promise.all([a.url, b.url].map((u) => mediaPlaylist(`${u}/${name}/ts/${VIDEO}.m3u8`)));
      const inB = new Set(lb!.segments.map((s) => s.number));
      const common = la!.segments.map((s) => s.number).filter((n) => inB.has(n));
      expect(common.length, name).toBeGreaterThanOrEqual(3);
      for (const n of common) {
        for (const path of [`ts/${VIDEO}/${n}.ts`, `ts/${AUDIO}/${n}.ts`, `hls/${VIDEO}/${n}.m4s`, `dash/${VIDEO}/${n}.m4s`, `dash/${AUDIO}/${n}.m4s`]) {
          const [ba, bb] = await Promise.all([a.url, b.url].map((u) => getBytes(`${u}/${name}/${path}`)));
          expect(ba!.equals(bb!), `${name}/${path}`).toBe(true);
        }
      }
      // The same key lines (KeyIDs, IVs) and durations for the same segments. (Not the same
      // PROGRAM-DATE-TIMEs: wall clocks are arrival times, and at speed 2 the media runs ahead of them.)
      for (const n of common.slice(1)) expect(segmentLines(la!.text, n), `${name} ${n}`).toEqual(segmentLines(lb!.text, n));
    }
    // Init segments of a period both list.
    const [ma, mb] = await Promise.all([a.url, b.url].map((u) => getText(`${u}/drm/index.mpd`)));
    const init = /init-([0-9a-f]{12}k\d+)\.mp4/.exec(mb!)![0];
    expect(ma).toContain(init);
    const [ia, ib] = await Promise.all([a.url, b.url].map((u) => getBytes(`${u}/drm/dash/${VIDEO}/${init}`)));
    expect(ia!.equals(ib!)).toBe(true);
  }, 60_000);
});
