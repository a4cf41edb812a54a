// Lifecycle of `packager serve` as a process: graceful shutdown on SIGTERM (a request in flight still
// gets its answer, exit 0), --workers 2 (node:cluster) serving identical bytes from two processes, and a
// worker that dies being replaced.
import { describe, it, expect } from 'vitest';
import { createServer, get, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { FIXTURES } from '../helpers/server.js';
import { serveArgs } from '../helpers/serve-process.js';

async function tempConfig(body: string): Promise<{ path: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'packager-life-'));
  const path = join(dir, 'packager.conf');
  await writeFile(path, body);
  return { path, done: () => rm(dir, { recursive: true, force: true }) };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** GET on a fresh connection (no keep-alive), so cluster's round robin sees a new connection each time. */
function fresh(url: string): Promise<{ status: number; worker: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, headers: { Connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, worker: res.headers['x-packager-worker'] as string | undefined, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * Worker PIDs answering `url`, polled until `count` distinct ones have answered (a worker starts a bit
 * later than the first under load) or 15 s have passed.
 */
async function workersAnswering(url: string, count: number): Promise<Set<string>> {
  const seen = new Set<string>();
  const until = Date.now() + 15_000;
  while (seen.size < count && Date.now() < until) {
    const r = await fresh(url);
    expect(r.status).toBe(200);
    const before = seen.size;
    seen.add(r.worker ?? 'none');
    if (seen.size === before) await new Promise((res) => setTimeout(res, 50));
  }
  return seen;
}

describe('packager serve lifecycle', () => {
  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    // An auth backend that takes 1.2 s to allow: the playlist request is in flight when SIGTERM comes.
    let asked = 0;
    const backend: Server = createServer((_req, res) => {
      asked++;
      setTimeout(() => res.writeHead(200).end(), 1200);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const cfg = await tempConfig(`file vod {\n  path ${FIXTURES};\n  auth http://127.0.0.1:${(backend.address() as AddressInfo).port}/auth;\n}\n`);
    const s = await serveArgs(['--config', cfg.path, '--listen', '127.0.0.1:0']);
    try {
      const inflight = fresh(`${s.url}/vod/bframes.mp4/index.mpd`);
      await new Promise((r) => setTimeout(r, 300));
      expect(asked).toBe(1);
      s.child.kill('SIGTERM');
      const r = await inflight;
      expect(r.status).toBe(200);
      expect(r.body.toString()).toContain('<MPD');
      expect(await s.exit).toBe(0);
      expect(s.output()).toContain('"msg":"stopped"');
      // Nothing listens any more.
      await expect(fresh(`${s.url}/vod/bframes.mp4/index.mpd`)).rejects.toThrow();
    } finally {
      s.child.kill('SIGKILL');
      backend.close();
      await cfg.done();
    }
  });

  it('--workers 2 serves identical bytes from two worker processes and stops on SIGTERM', async () => {
    const cfg = await tempConfig(`file drm {\n  path ${FIXTURES};\n  drm local;\n}\n`);
    const port = await freePort();
    const s = await serveArgs(['--config', cfg.path, '--listen', `127.0.0.1:${port}`, '--workers', '2']);
    try {
      expect(s.output()).toContain('(2 workers');
      const segment = `http://127.0.0.1:${port}/drm/bframes.mp4/dash/v1/2.m4s`;
      // Both workers must be up: the first answers may all come from the first one to listen.
      const workers = await workersAnswering(segment, 2);
      expect(workers.size).toBe(2);
      const digests = new Set<string>();
      const answering = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const r = await fresh(segment);
        expect(r.status).toBe(200);
        answering.add(r.worker ?? 'none');
        digests.add(createHash('sha256').update(r.body).digest('hex'));
      }
      // Round robin over fresh connections: both workers answer, with the same bytes.
      expect(answering.size).toBe(2);
      expect([...workers].every((w) => /^\d+$/.test(w) && Number(w) !== s.child.pid)).toBe(true);
      expect(digests.size).toBe(1);
      s.child.kill('SIGTERM');
      expect(await s.exit).toBe(0);
    } finally {
      s.child.kill('SIGKILL');
      await cfg.done();
    }
  });

  it('replaces a worker that dies, and keeps serving meanwhile', async () => {
    const cfg = await tempConfig(`file vod {\n  path ${FIXTURES};\n}\n`);
    const port = await freePort();
    const s = await serveArgs(['--config', cfg.path, '--listen', `127.0.0.1:${port}`, '--workers', '2']);
    const url = `http://127.0.0.1:${port}/vod/bframes.mp4/index.mpd`;
    const workers: string[] = [];
    try {
      const seen = await workersAnswering(url, 2);
      expect(seen.size).toBe(2);
      workers.push(...seen);
      const [victim, survivor] = [...seen];
      process.kill(Number(victim), 'SIGKILL');
      // A connection handed to the worker in the instant it died is lost (a client retries it); once
      // the primary has seen the exit, every request is answered.
      for (let i = 0; i < 100 && !s.output().includes(`worker ${victim} exited`); i++) await new Promise((res) => setTimeout(res, 100));
      expect(s.output()).toContain(`worker ${victim} exited`);
      // Until the replacement is up, the survivor answers every request.
      let replacement: string | undefined;
      for (let i = 0; i < 150 && !replacement; i++) {
        const r = await fresh(url);
        expect(r.status).toBe(200);
        expect(r.worker).not.toBe(victim);
        if (r.worker !== survivor) replacement = r.worker;
        else await new Promise((res) => setTimeout(res, 100));
      }
      expect(replacement).toMatch(/^\d+$/);
      workers.push(replacement!);
      s.child.kill('SIGTERM');
      expect(await s.exit).toBe(0);
    } finally {
      // Killing the primary alone would leave its workers behind.
      for (const pid of workers) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      s.child.kill('SIGKILL');
      await cfg.done();
    }
  }, 40_000);
});
