// A tampering HTTP proxy for negative player tests: sits in front of the packager on 127.0.0.1:0,
// forwards every request, and lets a test rewrite response bodies (corrupt mdat bytes, truncate a
// segment, drop a response…) to prove that the player harness notices broken media.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';

export interface TamperingProxy {
  /** Origin of the proxy: use it in place of the packager's `url`. */
  readonly url: string;
  /** Paths requested so far, in order. */
  readonly requests: string[];
  stop(): Promise<void>;
}

/**
 * Returns the body to send, or `null` to answer 404 and nothing else. Called for every response with
 * status 200 (other statuses pass through untouched).
 */
export type Tamper = (path: string, body: Buffer, res: IncomingMessage) => Buffer | null;

export interface ProxyOptions {
  /** Requests for which this returns true are never answered (until stop()): a stalled server. */
  hold?: (path: string) => boolean;
}

export async function startTamperingProxy(target: string, tamper: Tamper, opts: ProxyOptions = {}): Promise<TamperingProxy> {
  const upstream = new URL(target);
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    if (opts.hold?.(path)) return;
    const headers = { ...req.headers, host: upstream.host };
    delete headers['accept-encoding'];
    const up = request({ host: upstream.hostname, port: upstream.port, path, method: req.method, headers }, (ur) => {
      const chunks: Buffer[] = [];
      ur.on('data', (c: Buffer) => chunks.push(c));
      ur.on('error', () => res.destroy());
      ur.on('end', () => {
        let body: Buffer | null = Buffer.concat(chunks);
        if (ur.statusCode === 200) body = tamper(path, body, ur);
        const out = { ...ur.headers };
        delete out['content-length'];
        delete out['transfer-encoding'];
        delete out['etag'];
        if (body === null) {
          res.writeHead(404, { 'access-control-allow-origin': '*' }).end();
          return;
        }
        res.writeHead(ur.statusCode ?? 502, { ...out, 'content-length': String(body.length) }).end(body);
      });
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('proxy: no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Offset and size of the first top-level box of `type` (32-bit or 64-bit sizes), or null. */
export function findBox(buf: Buffer, type: string): { start: number; header: number; size: number } | null {
  let pos = 0;
  while (pos + 8 <= buf.length) {
    let size = buf.readUInt32BE(pos);
    let header = 8;
    if (size === 1 && pos + 16 <= buf.length) {
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    } else if (size === 0) {
      size = buf.length - pos;
    }
    if (size < header) return null;
    if (buf.toString('latin1', pos + 4, pos + 8) === type) return { start: pos, header, size };
    pos += size;
  }
  return null;
}

/**
 * A copy of a media segment with `length` bytes in the middle of its mdat payload inverted (XOR 0xff):
 * sample data is garbage while every box stays well-formed, as a broken encryptor would leave it.
 */
export function corruptMdat(segment: Buffer, length = 4096): Buffer {
  const mdat = findBox(segment, 'mdat');
  if (!mdat) return segment;
  const out = Buffer.from(segment);
  const payload = mdat.size - mdat.header;
  const n = Math.min(length, payload);
  const from = mdat.start + mdat.header + Math.floor((payload - n) / 2);
  for (let i = from; i < from + n; i++) out[i] = out[i]! ^ 0xff;
  return out;
}
