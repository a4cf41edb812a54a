// The `packager` command as an operator runs it: serve (the bundled config on the fixtures), check,
// inspect; and live config reloads.
import { describe, it, expect } from 'vitest';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, FIXTURES } from '../helpers/server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'packager.js');
const run = promisify(execFile);

async function packager(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [BIN, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function tempConfig(body: string): Promise<{ path: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'packager-cli-'));
  const path = join(dir, 'bad.conf');
  await writeFile(path, body);
  return { path, done: () => rm(dir, { recursive: true, force: true }) };
}

describe('packager serve', () => {
  it('starts on the bundled config and fixtures, prints URLs to try, and serves them', async () => {
    const child = spawn('node', [BIN, 'serve', '--config', 'config/packager.conf', '--listen', '127.0.0.1:0'], { cwd: ROOT });
    try {
      const out = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error(`no URLs printed: ${buf}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (/index\.mpd/.test(buf)) {
            clearTimeout(timer);
            resolve(buf);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${buf}`)));
      });
      const url = /(http:\/\/127\.0\.0\.1:\d+\/vod\/\S+\/index\.m3u8)/.exec(out)?.[1];
      expect(url).toBeDefined();
      const res = await fetch(url!);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('#EXT-X-STREAM-INF');
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('packager check', () => {
  it('accepts the bundled config', async () => {
    const r = await packager(['check', 'config/packager.conf']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok');
  });

  it('reports a bad line as file:line:column and exits 1', async () => {
    const c = await tempConfig('http 8080;\nfile vod {\n  path /tmp;\n  protocols hls smooth;\n}\n');
    try {
      const r = await packager(['check', c.path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`${c.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:17: .*smooth`));
    } finally {
      await c.done();
    }
  });

  it('accepts a live stream and refuses a protected one without its KeyID, with positions', async () => {
    const ok = await tempConfig('http 8080;\nstream tv {\n  input udp://239.0.0.1:1234;\n}\n');
    try {
      expect((await packager(['check', ok.path])).code).toBe(0);
    } finally {
      await ok.done();
    }
    const c = await tempConfig('http 8080;\nstream tv {\n  input udp://239.0.0.1:1234;\n  drm local;\n}\n');
    try {
      const r = await packager(['check', c.path]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/:4:3: protected stream 'tv' needs 'resource_id UUID;'/);
    } finally {
      await c.done();
    }
  });
});

describe('packager inspect', () => {
  it('prints tracks, codecs, durations and the segment plan', async () => {
    const r = await packager(['inspect', join(FIXTURES, 'two-audio.mp4'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { tracks: Array<Record<string, unknown>>; segments: Array<{ count: number; durations: number[] }> };
    expect(j.tracks).toHaveLength(3);
    expect(JSON.stringify(j.tracks)).toContain('mp4a.40.2');
    expect(JSON.stringify(j.tracks)).toContain('fra');
    expect(j.segments[0]!.durations.reduce((a, b) => a + b)).toBeCloseTo(10, 1);
  });

  it('fails clearly on a file that is not an MP4', async () => {
    const r = await packager(['inspect', join(ROOT, 'package.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/package\.json: /);
  });
});

describe('config reload', () => {
  it('applies a valid change and keeps the running config on an invalid one', async () => {
    const server = await startTestServer('http 8080;\n', { watch: true });
    try {
      expect((await fetch(`${server.url}/vod/bframes.mp4/index.m3u8`)).status).toBe(404);
      await writeFile(server.configPath, `http 8080;\nfile vod { path ${FIXTURES}; protocols hls; }\n`);
      await waitFor(async () => (await fetch(`${server.url}/vod/bframes.mp4/index.m3u8`)).status === 200);
      await writeFile(server.configPath, `http 8080;\nfile vod { path ${FIXTURES}; protocols hls; bogus 1; }\n`);
      await waitFor(async () => server.logs.some((l) => l.includes('reload rejected') && l.includes(':2:')));
      expect((await fetch(`${server.url}/vod/bframes.mp4/index.m3u8`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}
