/**
 * HTTP for key servers (KeyOS SOAP, CPIX): a timeout per attempt, bounded retries with backoff on
 * network errors, timeouts and 5xx (never on 4xx: the server has answered), and errors whose messages
 * are safe to log — the URL without credentials or query (KeyOS puts its auth token in the query), never
 * the request body (which carries the UserKey / ServerKey).
 */
import { KeySourceError } from './provider.js';

export interface KeyFetchOptions {
  /** Per attempt (default 5000 ms). */
  timeoutMs?: number;
  /** Further attempts after the first (default 2). */
  retries?: number;
  /** Wait before the first retry, doubled each time (default 200 ms). */
  backoffMs?: number;
}

export interface KeyFetchResult {
  status: number;
  body: string;
  headers: Headers;
}

/** Largest answer read from a key server. */
const MAX_ANSWER = 1 << 20;

/** The URL as logs may show it: scheme, host, port and path only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** What a 4xx/5xx answer says, briefly, for the log (the key server's message). */
export function answerMessage(body: string): string {
  const text = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * POSTs `body` and resolves with any answer the server gave that is not a 5xx (the caller interprets 4xx);
 * rejects with a KeySourceError when every attempt failed.
 */
export async function postToKeyServer(url: string, headers: Record<string, string>, body: string, what: string, opts: KeyFetchOptions = {}): Promise<KeyFetchResult> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const retries = opts.retries ?? 2;
  const backoffMs = opts.backoffMs ?? 200;
  let last = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep(backoffMs * 2 ** (attempt - 1));
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      const text = await readLimited(res);
      if (res.status >= 500) {
        last = `${what} at ${safeUrl(url)} answered ${res.status}${text ? `: ${answerMessage(text)}` : ''}`;
        continue;
      }
      return { status: res.status, body: text, headers: res.headers };
    } catch (e) {
      const name = (e as { name?: string }).name;
      last =
        name === 'TimeoutError' || name === 'AbortError'
          ? `${what} at ${safeUrl(url)} did not answer within ${timeoutMs} ms`
          : `${what} at ${safeUrl(url)} is unreachable (${causeCode(e)})`;
    }
  }
  throw new KeySourceError(`${last} (${retries + 1} attempts)`);
}

function causeCode(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? (e instanceof Error ? e.name : 'error');
}

async function readLimited(res: Response): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_ANSWER) throw new KeySourceError('the key server answer is too large');
  const buf = Buffer.from(await res.arrayBuffer());
  if (buf.length > MAX_ANSWER) throw new KeySourceError('the key server answer is too large');
  return buf.toString('utf8');
}
