/**
 * The auth backend (Flussonic `auth`, nginx `auth_request`): before a playlist, a key or a licence of a
 * location with `auth URL;` is served, the server asks
 *
 *   GET URL?name=…&ip=…&token=…&proto=hls|dash&type=playlist|key|license[&kid=…]&location=…
 *
 * (parameters added to any query the URL already has; headers X-Original-URI, X-Real-IP and the client's
 * User-Agent and Referer as X-Original-User-Agent / X-Original-Referer). A 2xx answer allows; anything
 * else — another status, a redirect, a network error, no answer within the timeout — denies (403): it
 * fails closed. Decisions are cached (allow 30 s, deny 5 s) per backend, request type, protocol, content,
 * client address and token, and identical checks in flight share one backend request.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from './logger.js';

export type AuthRequestType = 'playlist' | 'key' | 'license';

export interface AuthQuery {
  /** The backend URL (`auth` directive). */
  readonly url: string;
  /** What is asked for: `location/path/of/file.mp4` (or the stream name; for a key, its title when known). */
  readonly name: string;
  readonly location: string;
  readonly ip: string;
  /** The access token of the request, '' when it has none (the backend decides). */
  readonly token: string;
  readonly proto: 'hls' | 'dash';
  readonly type: AuthRequestType;
  /** The KeyID asked for (keys and licences), lowercase dashed UUID. */
  readonly kid?: string;
  /** The request's path (no query: it may hold the token). */
  readonly uri: string;
  readonly userAgent?: string;
  readonly referer?: string;
}

export interface AuthBackendOptions {
  readonly log: Logger;
  /** No answer within this denies (default 2000 ms). */
  readonly timeoutMs?: number;
  readonly allowTtlMs?: number;
  readonly denyTtlMs?: number;
  readonly max?: number;
}

export const AUTH_TIMEOUT_MS = 2000;
export const AUTH_ALLOW_TTL_MS = 30_000;
export const AUTH_DENY_TTL_MS = 5_000;

export class AuthBackend {
  private readonly decisions: LRUCache<string, boolean>;
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly timeoutMs: number;
  private readonly allowTtlMs: number;
  private readonly denyTtlMs: number;
  private readonly log: Logger;
  /** Backend requests made (not answered from the cache): for tests and the status API. */
  requests = 0;

  constructor(opts: AuthBackendOptions) {
    this.log = opts.log;
    this.timeoutMs = opts.timeoutMs ?? AUTH_TIMEOUT_MS;
    this.allowTtlMs = opts.allowTtlMs ?? AUTH_ALLOW_TTL_MS;
    this.denyTtlMs = opts.denyTtlMs ?? AUTH_DENY_TTL_MS;
    this.decisions = new LRUCache<string, boolean>({ max: opts.max ?? 100_000, ttl: this.allowTtlMs, ttlAutopurge: false });
  }

  /** Resolves true when the backend allows. Never rejects: every failure is a denial. */
  check(q: AuthQuery): Promise<boolean> {
    const key = JSON.stringify([q.url, q.type, q.proto, q.location, q.name, q.kid ?? '', q.ip, q.token]);
    const cached = this.decisions.get(key);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.ask(q).then((allowed) => {
        this.decisions.set(key, allowed, { ttl: allowed ? this.allowTtlMs : this.denyTtlMs });
        this.inFlight.delete(key);
        return allowed;
      });
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async ask(q: AuthQuery): Promise<boolean> {
    this.requests++;
    const url = new URL(q.url);
    const params: Array<[string, string]> = [
      ['name', q.name],
      ['location', q.location],
      ['ip', q.ip],
      ['token', q.token],
      ['proto', q.proto],
      ['type', q.type],
    ];
    if (q.kid !== undefined) params.push(['kid', q.kid]);
    for (const [k, v] of params) url.searchParams.append(k, v);
    const headers: Record<string, string> = { 'X-Original-URI': q.uri, 'X-Real-IP': q.ip, 'User-Agent': 'packager-auth/1' };
    if (q.userAgent) headers['X-Original-User-Agent'] = q.userAgent;
    if (q.referer) headers['X-Original-Referer'] = q.referer;
    const started = performance.now();
    try {
      const res = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      // The body is not used; it is discarded so the connection can be reused.
      await res.body?.cancel().catch(() => undefined);
      const allowed = res.status >= 200 && res.status < 300;
      this.log.debug('auth backend answered', { backend: describe(q.url), type: q.type, name: q.name, status: res.status, allowed });
      return allowed;
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      this.log.warn(timedOut ? 'auth backend did not answer in time; denied' : 'auth backend unreachable; denied', {
        backend: describe(q.url),
        type: q.type,
        name: q.name,
        ms: Math.round(performance.now() - started),
        ...(timedOut ? {} : { error: causeOf(e) }),
      });
      return false;
    }
  }
}

/** The backend for logs: origin and path only (the configured URL may carry credentials or a query). */
function describe(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}
