// Helpers of the access-control integration tests: titles with their own KeyIDs, requests from a chosen
// local address, tokens minted independently of the server's code (node:crypto HMAC over the documented
// format), and a local auth backend.
import { createHmac } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/server.js';

/** A folder holding bframes.mp4 (and two-audio.mp4) whose sidecars name the given KeyIDs. */
export async function library(dir: string, kid: string, otherKid?: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await copyFile(join(FIXTURES, 'bframes.mp4'), join(dir, 'bframes.mp4'));
  await writeFile(join(dir, 'bframes.mp4.keyos_id'), `${kid}\n`);
  if (otherKid) {
    await copyFile(join(FIXTURES, 'two-audio.mp4'), join(dir, 'two-audio.mp4'));
    await writeFile(join(dir, 'two-audio.mp4.keyos_id'), `${otherKid}\n`);
  }
  return dir;
}

/**
 * A token as the README tells an upstream application to make one: a JWT with HS256, written here with
 * node:crypto alone (not the server's token.ts).
 */
export function mint(secret: string, claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export const inOneHour = (): number => Math.floor(Date.now() / 1000) + 3600;

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request; `from` picks the local address (127.0.0.x all reach a server on 127.0.0.1 on Linux). */
export function send(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; from?: string } = {}): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {}, ...(opts.from ? { localAddress: opts.from } : {}), agent: false },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Everything of a refusal a client sees but the Date header. */
export function visible(r: Reply): unknown {
  const { date: _date, ...headers } = r.headers;
  return { status: r.status, headers, body: r.body.toString('base64') };
}

export function kidB64(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

export interface BackendCall {
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
}

export interface Backend {
  readonly url: string;
  readonly calls: BackendCall[];
  stop(): Promise<void>;
}

/**
 * A local auth backend: `/allow` answers 200, `/deny` 403, `/slow` 200 after `slowMs`; every call is
 * recorded.
 */
export async function startBackend(slowMs = 3000): Promise<Backend> {
  const calls: BackendCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    calls.push({ path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers });
    if (u.pathname === '/allow') res.writeHead(200).end('ok');
    else if (u.pathname === '/slow') {
      const t = setTimeout(() => {
        timers.delete(t);
        res.writeHead(200).end('late');
      }, slowMs);
      timers.add(t);
    } else res.writeHead(403).end('no');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    async stop() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
