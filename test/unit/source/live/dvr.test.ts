import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DvrArchive, type DvrLog } from '../../../../src/source/live/dvr.js';
import { decodeSegment, encodeSegment, liveSegmentInfo } from '../../../../src/source/live/segment-codec.js';
import { makeSegment } from './segment-fixture.js';

/** 25 frames at 25 fps: every fixture segment below lasts exactly 1 s. */
const ONE_SECOND = { frames: 25 };

let dir: string;
let logs: { level: string; msg: string; fields?: object }[];
const log: DvrLog = (level, msg, fields) => logs.push({ level, msg, fields });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dvr-test-'));
  logs = [];
});
afterEach(async () => {
  await chmod(dir, 0o755).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

async function files(): Promise<string[]> {
  return (await readdir(dir)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b));
}

async function filled(numbers: readonly number[], depthSeconds = 3600): Promise<DvrArchive> {
  const a = await DvrArchive.open(dir, { depthSeconds, log });
  for (const n of numbers) await a.append(makeSegment(n, ONE_SECOND));
  return a;
}

describe('DvrArchive: storing and reopening', () => {
  it('creates its directory, then lists, reads and after a reopen lists and reads the same', async () => {
    dir = join(dir, 'deep', 'stream-a');
    const a = await filled([3, 4, 5, 9]);
    const expected = [3, 4, 5, 9].map((n) => liveSegmentInfo(makeSegment(n, ONE_SECOND)));
    expect(a.list()).toEqual(expected);
    expect(a.lastNumber()).toBe(9);
    expect(a.list()[0]).not.toHaveProperty('data'); // the index holds no media
    expect(await a.read(4)).toEqual(makeSegment(4, ONE_SECOND));
    expect(await a.read(6)).toBeUndefined();
    await a.close();
    expect(await files()).toEqual(['3.seg', '4.seg', '5.seg', '9.seg']);

    const b = await DvrArchive.open(dir, { depthSeconds: 3600, log, now: () => 1000 });
    expect(b.list()).toEqual(expected);
    expect(b.lastNumber()).toBe(9);
    for (const n of [3, 4, 5, 9]) {
      const seg = await b.read(n);
      expect(seg).toEqual(makeSegment(n, ONE_SECOND));
      expect(encodeSegment(seg!).equals(await readFile(join(dir, `${n}.seg`)))).toBe(true);
    }
    expect(logs).toContainEqual({ level: 'info', msg: 'DVR archive opened', fields: { dir, segments: 4, pruned: 0, tmpRemoved: 0, corrupt: 0, scanMs: 0 } });
    await b.close();
  });

  it('an empty directory is an empty archive; other files are left alone', async () => {
    await writeFile(join(dir, 'notes.txt'), 'hello');
    await writeFile(join(dir, '007.seg'), 'not ours: leading zero');
    const a = await DvrArchive.open(dir, { depthSeconds: 10 });
    expect(a.list()).toEqual([]);
    expect(a.lastNumber()).toBeUndefined();
    await a.close();
    expect(await files()).toEqual(['007.seg', 'notes.txt']);
  });

  it('rejects a depth that is not a positive number', async () => {
    await expect(DvrArchive.open(dir, { depthSeconds: 0 })).rejects.toThrow(/DVR depth/);
    await expect(DvrArchive.open(dir, { depthSeconds: Number.NaN })).rejects.toThrow(/DVR depth/);
  });
});

describe('DvrArchive: appends', () => {
  it('keeps call order for concurrent appends and rejects a number not above the last one', async () => {
    const a = await DvrArchive.open(dir, { depthSeconds: 3600 });
    const results = await Promise.allSettled([1, 2, 2, 3, 0, 4].map((n) => a.append(makeSegment(n))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(results[2]).toMatchObject({ reason: expect.objectContaining({ message: expect.stringMatching(/segment 2 is not after segment 2/) }) });
    expect(a.list().map((s) => s.number)).toEqual([1, 2, 3, 4]);
    await a.close();
    expect(await files()).toEqual(['1.seg', '2.seg', '3.seg', '4.seg']);
  });

  it('a failed write rejects, leaves the index unchanged and no temp file, and the number stays free', async () => {
    const a = await filled([1]);
    // A directory squatting on the final name makes the rename fail, even for root.
    await mkdir(join(dir, '2.seg'));
    await expect(a.append(makeSegment(2, ONE_SECOND))).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST|EPERM/);
    expect(a.list().map((s) => s.number)).toEqual([1]);
    expect(a.lastNumber()).toBe(1);
    expect(await files()).toEqual(['1.seg', '2.seg']);
    await rm(join(dir, '2.seg'), { recursive: true });
    await a.append(makeSegment(2, ONE_SECOND));
    expect(a.list().map((s) => s.number)).toEqual([1, 2]);
    await a.close();
  });

  it.skipIf(process.getuid?.() === 0)('EACCES on a read-only directory rejects with the index unchanged', async () => {
    const a = await filled([1]);
    await chmod(dir, 0o555);
    await expect(a.append(makeSegment(2, ONE_SECOND))).rejects.toThrow(/EACCES/);
    await chmod(dir, 0o755);
    expect(a.list().map((s) => s.number)).toEqual([1]);
    expect(await files()).toEqual(['1.seg']);
    await a.close();
  });

  it('an invalid segment (a track without samples) is refused before anything is written', async () => {
    const a = await filled([1]);
    const seg = makeSegment(2);
    const empty = { count: 0, dts: new Float64Array(0), cto: new Int32Array(0), duration: new Uint32Array(0), size: new Uint32Array(0), offset: new Float64Array(0), sync: new Uint8Array(0) };
    const bad = { ...seg, data: [seg.data[0]!, { track: { ...seg.data[1]!.track, samples: empty }, data: new Uint8Array(0) }] };
    await expect(a.append(bad)).rejects.toThrow(/no samples/);
    expect(await files()).toEqual(['1.seg']);
    await a.close();
  });

  it('refuses appends and reads after close, once queued appends have finished', async () => {
    const a = await DvrArchive.open(dir, { depthSeconds: 3600 });
    const queued = a.append(makeSegment(1));
    await a.close();
    await queued;
    expect(await files()).toEqual(['1.seg']);
    await expect(a.append(makeSegment(2))).rejects.toThrow(/closed/);
    await expect(a.read(1)).rejects.toThrow(/closed/);
  });
});

describe('DvrArchive: depth', () => {
  it('deletes the segments that ended more than depthSeconds before the newest one ended', async () => {
    const a = await filled([0, 1, 2, 3], 3);
    expect(a.list().map((s) => s.number)).toEqual([0, 1, 2, 3]);
    await a.append(makeSegment(4, ONE_SECOND));
    // End of 4 minus 3 s = end of 1: segment 0 ended before it, segment 1 exactly at it.
    expect(a.list().map((s) => s.number)).toEqual([1, 2, 3, 4]);
    for (const n of [5, 6, 7, 8, 9]) await a.append(makeSegment(n, ONE_SECOND));
    expect(a.list().map((s) => s.number)).toEqual([6, 7, 8, 9]);
    expect(await files()).toEqual(['6.seg', '7.seg', '8.seg', '9.seg']);
    expect(await a.read(5)).toBeUndefined();
    expect(await a.read(6)).toEqual(makeSegment(6, ONE_SECOND));
    await a.close();
  });

  it('measures the depth on the segments wall clocks, and a smaller depth at open prunes at once', async () => {
    // Segment 3 follows an hour-long gap: with a depth just under an hour, only what ended a full
    // depth before segment 3's end goes (segment 1), not segment 2 (ended exactly at the boundary).
    const a = await DvrArchive.open(dir, { depthSeconds: 3599 });
    await a.append(makeSegment(1, { ...ONE_SECOND, wallClock: 1_000_000 }));
    await a.append(makeSegment(2, { ...ONE_SECOND, wallClock: 1_001_000 }));
    await a.append(makeSegment(3, { ...ONE_SECOND, wallClock: 4_600_000 }));
    expect(a.list().map((s) => s.number)).toEqual([2, 3]);
    await a.close();
    const b = await DvrArchive.open(dir, { depthSeconds: 0.5, log });
    expect(b.list().map((s) => s.number)).toEqual([3]);
    expect(b.lastNumber()).toBe(3);
    expect(await files()).toEqual(['3.seg']);
    await b.close();
  });
});

describe('DvrArchive: damage on disk', () => {
  it('deletes leftover temp files at open', async () => {
    await (await filled([1, 2])).close();
    await writeFile(join(dir, '3.seg.tmp'), encodeSegment(makeSegment(3)).subarray(0, 1000));
    await writeFile(join(dir, 'stray.tmp'), '');
    const a = await DvrArchive.open(dir, { depthSeconds: 3600, log });
    expect(a.list().map((s) => s.number)).toEqual([1, 2]);
    expect(a.lastNumber()).toBe(2);
    expect(await files()).toEqual(['1.seg', '2.seg']);
    expect(logs.at(-1)?.fields).toMatchObject({ tmpRemoved: 2, corrupt: 0 });
    await a.append(makeSegment(3));
    await a.close();
  });

  it('moves truncated, foreign and misnamed .seg files aside with a warning and serves the rest', async () => {
    await (await filled([1, 2, 3, 4, 5])).close();
    await truncate(join(dir, '2.seg'), 5000);
    await writeFile(join(dir, '3.seg'), 'GIF89a, not a segment');
    await writeFile(join(dir, '4.seg'), '');
    await writeFile(join(dir, '7.seg'), await readFile(join(dir, '5.seg'))); // holds segment 5
    logs = [];
    const a = await DvrArchive.open(dir, { depthSeconds: 3600, log });
    expect(a.list().map((s) => s.number)).toEqual([1, 5]);
    expect(await a.read(1)).toEqual(makeSegment(1, ONE_SECOND));
    expect(await a.read(2)).toBeUndefined();
    expect(await files()).toEqual(['1.seg', '2.seg.corrupt', '3.seg.corrupt', '4.seg.corrupt', '5.seg', '7.seg.corrupt']);
    const warnings = logs.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(4);
    expect(warnings.map((w) => String((w.fields as { error: string }).error))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/2\.seg: invalid live segment: 5000 bytes, its header describes \d+/),
        expect.stringMatching(/3\.seg: invalid live segment: bad magic/),
        expect.stringMatching(/4\.seg: invalid live segment: truncated at 0 bytes/),
        expect.stringMatching(/7\.seg: invalid live segment: holds segment 5/),
      ]),
    );
    expect(logs.at(-1)?.fields).toMatchObject({ segments: 2, corrupt: 4 });
    // A segment number of a moved-aside file may be written again.
    await a.append(makeSegment(6, ONE_SECOND));
    await a.close();
  });

  it('damage inside the media (not visible in the header) is caught on read: moved aside, dropped from the list', async () => {
    const a = await filled([1, 2, 3]);
    const path = join(dir, '2.seg');
    const bytes = await readFile(path);
    bytes[bytes.length - 50]! ^= 0x01;
    await writeFile(path, bytes);
    expect(await a.read(2)).toBeUndefined();
    expect(a.list().map((s) => s.number)).toEqual([1, 3]);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ error: expect.stringMatching(/checksum mismatch/) }) }));
    expect(await files()).toEqual(['1.seg', '2.seg.corrupt', '3.seg']);
    expect(a.lastNumber()).toBe(3);
    await a.close();
  });
});

describe('DvrArchive: kill -9 while appending', () => {
  const script = join(import.meta.dirname, 'dvr-writer.child.ts');
  const FRAME_BYTES = 40_000; // ≈ 1.1 MB segments: the write + fsync is most of each append

  /** Runs the writer until it has acknowledged `atLeast` more segments, SIGKILLs it a moment later. */
  async function runAndKill(atLeast: number, delayMs: number): Promise<number[]> {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, dir, String(FRAME_BYTES)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let stderr = '';
    let pending = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (b: Buffer) => {
          pending += b.toString();
          const lines = pending.split('\n');
          pending = lines.pop()!;
          acked.push(...lines.map(Number));
          if (acked.length >= atLeast) resolve();
        });
        void exited.then(() => reject(new Error(`writer exited early: ${stderr}`)));
      });
      await new Promise((r) => setTimeout(r, delayMs));
    } finally {
      // Also when the test fails or times out: no writer may outlive it.
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    return acked;
  }

  it('leaves only complete, decodable segments with increasing numbers, every acknowledged one among them', async () => {
    const everAcked: number[] = [];
    let tmpSeen = 0;
    let kills = 0;
    // A kill lands between a write and its rename roughly one time in five here: keep killing (up to
    // 15 times) until that case has been seen at least once, without failing when it was not.
    while (kills < 5 || (tmpSeen === 0 && kills < 15)) {
      everAcked.push(...(await runAndKill(3, [0, 3, 7, 13, 25][kills % 5]!)));
      kills++;
      const tmps = (await readdir(dir)).filter((f) => f.endsWith('.tmp')).length;
      if (tmps > 0) tmpSeen++;

      logs = [];
      const a = await DvrArchive.open(dir, { depthSeconds: 1e9, log });
      expect(logs.at(-1)?.fields).toMatchObject({ tmpRemoved: tmps, corrupt: 0 });
      const numbers = a.list().map((s) => s.number);
      // Each run continues after the last archived number: 0, 1, 2, ... with no gap and no repeat.
      expect(numbers).toEqual(numbers.map((_, i) => i));
      for (const n of everAcked) expect(numbers).toContain(n);
      // At most one segment past the last acknowledgement: renamed, killed before it could print.
      expect(numbers.length - 1).toBeLessThanOrEqual(Math.max(...everAcked) + 1);
      for (const n of numbers) {
        const bytes = await readFile(join(dir, `${n}.seg`));
        expect(bytes.equals(encodeSegment(makeSegment(n, { frames: 25, frameBytes: FRAME_BYTES })))).toBe(true);
        expect(decodeSegment(bytes).number).toBe(n);
      }
      expect((await readdir(dir)).filter((f) => !f.endsWith('.seg'))).toEqual([]);
      expect(logs.filter((l) => l.level === 'warn')).toEqual([]);
      await a.close();
    }
    // Not asserted (timing-dependent), but reported: how often the kill landed between write and rename.
    console.info(`dvr kill -9: ${everAcked.length} acknowledged appends over ${kills} kills, ${tmpSeen} kills left a .tmp`);
  });
});
