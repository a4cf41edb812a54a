import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { startServer, type RunningServer } from '../../src/http/server.js';
import { createLogger, type Logger } from '../../src/http/logger.js';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'vod');

export interface TestServer extends RunningServer {
  readonly dir: string;
  readonly configPath: string;
  readonly logs: string[];
  stop(): Promise<void>;
}

/** Starts the real server on 127.0.0.1:0 with a config written to a temp folder. */
export async function startTestServer(configBody: string, opts: { watch?: boolean } = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'packager-test-'));
  const configPath = join(dir, 'packager.conf');
  await writeFile(configPath, configBody);
  const logs: string[] = [];
  const log: Logger = createLogger('debug', (line) => logs.push(line));
  const running = await startServer({ configPath, listen: '127.0.0.1:0', log, watch: opts.watch ?? false });
  return Object.assign(running, {
    dir,
    configPath,
    logs,
    async stop() {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request whose path is sent exactly as given (fetch would normalise `..` away). */
export function rawRequest(base: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
