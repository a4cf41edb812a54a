// PORT in the environment overrides the config's `http` port (the way containers and PaaS set it).
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

describe('PORT', () => {
  it('overrides the port of the config', async () => {
    const port = await freePort();
    const child = spawn('node', [join(ROOT, 'bin', 'packager.js'), 'serve', '--config', 'config/packager.conf'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port) },
    });
    try {
      const out = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error(`not listening: ${buf}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('listening on')) {
            clearTimeout(timer);
            resolve(buf);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${buf}`)));
      });
      expect(out).toContain(`:${port}`);
      const res = await fetch(`http://127.0.0.1:${port}/vod/bframes.mp4/index.mpd`);
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
