// Static keys at rest: `packager wrap-key` wraps a key under a key-encryption key, the server unwraps it at
// start (kek_file or PACKAGER_KEK) and serves it; a plain key still works but is warned about; a wrapped
// key without its KEK, or under another KEK, stops the server with the position of the drm directive. No
// key appears in a log line.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer } from '../../src/http/server.js';
import { createLogger } from '../../src/http/logger.js';
import { createKekFile } from '../../src/keys/wrap.js';
import { library, send } from './access-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'packager.js');
const KEY = '8899aabbccddeeff0011223344556677';
const KID = 'e1e1e1e1-1111-4222-8333-444444444401';
const run = promisify(execFile);

let dir: string;
let lib: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'packager-static-'));
  lib = await library(join(dir, 'lib'), KID);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function serve(config: string): Promise<{ url: string; logs: string[]; close: () => Promise<void> }> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.conf`);
  await writeFile(path, config);
  const logs: string[] = [];
  const s = await startServer({ configPath: path, listen: '127.0.0.1:0', log: createLogger('debug', (l) => logs.push(l)), watch: false });
  return { url: s.url, logs, close: () => s.close() };
}

async function wrap(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('node', [BIN, 'wrap-key', ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input ?? '');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

describe('packager wrap-key and drm static key=v1:…', () => {
  it('wraps (creating the KEK file 0600), and the server serves the unwrapped key', async () => {
    const kekFile = join(dir, 'kek');
    const w = await wrap([KEY, '--kek-file', kekFile]);
    expect(w.code).toBe(0);
    expect(w.stderr).toContain('created the key-encryption key file');
    expect((await stat(kekFile)).mode & 0o777).toBe(0o600);
    const wrapped = w.stdout.trim().split('\n').at(-1)!;
    expect(wrapped).toMatch(/^v1:[\w-]{64}$/);
    expect(w.stdout + w.stderr).not.toContain(KEY);

    const s = await serve(`http 8080;\nkek_file ${kekFile};\nfile s { path ${lib}; drm static key=${wrapped} kid=${KID}; }\n`);
    try {
      const r = await send(s.url, `/keys/${KID}`);
      expect(r.status).toBe(200);
      expect(r.body.toString('hex')).toBe(KEY);
      expect((await send(s.url, '/s/bframes.mp4/ts/v1/1.ts')).status).toBe(200);
      expect(s.logs.join('\n')).not.toContain(KEY);
      expect(s.logs.some((l) => l.includes('plain text'))).toBe(false);
    } finally {
      await s.close();
    }

    // The key read from stdin (kept out of the shell history), with the KEK file named by a config.
    const confPath = join(dir, 'kek.conf');
    await writeFile(confPath, `kek_file ${kekFile};\n`);
    const again = await wrap(['-', '--config', confPath], `${KEY}\n`);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).not.toBe(wrapped);
  });

  it('a plain static key works but is warned about, without the key', async () => {
    const s = await serve(`http 8080;\nfile s {\n  path ${lib};\n  drm static key=${KEY} kid=${KID};\n}\n`);
    try {
      expect((await send(s.url, `/keys/${KID}`)).body.toString('hex')).toBe(KEY);
      const warning = s.logs.find((l) => l.includes('static key stored in plain text; wrap it with packager wrap-key'));
      expect(warning).toMatch(/\.conf:4:3: drm static/);
      expect(s.logs.join('\n')).not.toContain(KEY);
    } finally {
      await s.close();
    }
  });

  it('a wrapped key without its KEK, or under another KEK, stops the server at the drm directive', async () => {
    const kekFile = join(dir, 'kek2');
    await createKekFile(kekFile);
    const wrapped = (await wrap([KEY, '--kek-file', kekFile])).stdout.trim();
    const noKek = serve(`http 8080;\nfile s {\n  path ${lib};\n  drm static key=${wrapped};\n}\n`);
    await expect(noKek).rejects.toThrow(/\.conf:4:3: the static key is wrapped: give the key-encryption key in PACKAGER_KEK or with kek_file/);
    const otherKek = join(dir, 'kek3');
    await createKekFile(otherKek);
    const wrong = serve(`http 8080;\nkek_file ${otherKek};\nfile s {\n  path ${lib};\n  drm static key=${wrapped};\n}\n`);
    await expect(wrong).rejects.toThrow(/\.conf:5:3: the key was wrapped under another key-encryption key \(id [0-9a-f]{8}; this server's is [0-9a-f]{8}\)/);
  });

  it('refuses a key that is not 32 hex digits, and says where a KEK can come from', async () => {
    const bad = await wrap(['0011']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('32 hex digits');
    const none = await run('node', [BIN, 'wrap-key', KEY], { cwd: ROOT, env: { ...process.env, PACKAGER_KEK: '' } }).catch((e: { code: number; stderr: string }) => e);
    expect((none as { code: number }).code).toBe(1);
  });
});
