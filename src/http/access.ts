/**
 * Access control: who may have a playlist, a key or a licence.
 *
 * Each location has a guard: the token secrets and the auth backend that apply to it (its own
 * `token_secret` / `auth`, else the top level's, else `PACKAGER_TOKEN_SECRET`; `off` opts out). A location
 * with neither is open, as before tokens existed (development, the bundled config). Otherwise:
 *
 * - playlists (HLS masters and media playlists, MPDs): with secrets, a valid token whose `sub` is the
 *   title (`location/path`) or its KeyID is required (401 without, 403 when bad, expired or for other
 *   content); with an auth backend, the backend must allow. Segments and inits are not checked: they are
 *   immutable, cacheable by CDNs, and encrypted on a protected location — the key is the gate.
 * - keys (`GET /keys/{kid}`) and licences (`POST /license/clearkey`): rate-limited per address and per
 *   token first; then the same checks with `sub` the KeyID or a title carrying it. The location is found
 *   from the KeyID (KnownKids); a KeyID this server does not know is checked against the strictest guard
 *   of all protected locations, so a refused request looks the same whether the key exists or not: 401 or
 *   403 before any 404.
 *
 * A token presented to an open location is not checked (there is nothing to check it with) but is still
 * written into the URIs of the playlist, for CDN edge checks.
 */
import { realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import type { Context } from 'koa';
import type { AccessConfig, Config, FileLocation, Location } from '../config/model.js';
import { MIN_TOKEN_SECRET_LENGTH } from '../config/validate.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { kidEquals, kidToUuid } from '../keys/kid.js';
import type { KnownKids } from '../keys/known-kids.js';
import { resolveInside } from '../source/safe-path.js';
import type { AuthBackend } from './auth-backend.js';
import type { Logger } from './logger.js';
import type { LocationProtection } from './protection.js';
import type { KeyRateLimiter } from './rate-limit.js';
import { MAX_TOKEN_LENGTH, subjectMatches, verifyToken, type TokenClaims } from './token.js';

export const TOKEN_ENV = 'PACKAGER_TOKEN_SECRET';
/** The query parameter a token may come in (players that cannot set headers: Safari/AVPlayer). */
export const TOKEN_PARAM = 'token';

/** What applies to one location. */
export interface Guard {
  /** Token secrets; empty: no token required. */
  readonly secrets: readonly string[];
  /** Auth backend URL. */
  readonly auth?: string;
}

const OPEN: Guard = { secrets: [] };

export function isOpen(g: Guard): boolean {
  return g.secrets.length === 0 && g.auth === undefined;
}

/**
 * The guard of content reachable through several locations: a token is needed if any needs one (any of
 * their secrets verifies it), and the first auth backend is asked.
 */
export function mergeGuards(guards: readonly Guard[]): Guard {
  if (guards.length === 1) return guards[0]!;
  const secrets = [...new Set(guards.flatMap((g) => g.secrets))];
  const auth = guards.find((g) => g.auth !== undefined)?.auth;
  return auth === undefined ? { secrets } : { secrets, auth };
}

/** A request refused by access control. The response says no more than its status. */
export class Refusal extends Error {
  constructor(
    readonly status: 401 | 403 | 429,
    /** For the server's debug log only. */
    readonly reason: string,
    /** 429: seconds. */
    readonly retryAfter?: number,
  ) {
    super(reason);
    this.name = 'Refusal';
  }
}

/** The same bodies whatever the reason, so a refusal never tells more than its status. */
export const REFUSAL_BODY: Readonly<Record<Refusal['status'], string>> = {
  401: 'unauthorized\n',
  403: 'forbidden\n',
  429: 'too many requests\n',
};

/** Reads `PACKAGER_TOKEN_SECRET` (one secret, same rules as `token_secret`). */
export function envTokenSecret(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env[TOKEN_ENV];
  if (v === undefined || v === '') return undefined;
  if ([...v].length < MIN_TOKEN_SECRET_LENGTH) {
    throw new PackagerError(ErrorCode.CONFIG_INVALID, `${TOKEN_ENV} (environment) is too short: at least ${MIN_TOKEN_SECRET_LENGTH} characters`, { expose: false });
  }
  return v;
}

/** The guards of a config: swapped with it on reload. */
export class AccessPolicy {
  /** For KeyIDs of no known location: every protected location's secrets, and whether any has a backend. */
  readonly strictest: Guard;

  constructor(
    private readonly config: Config,
    private readonly envSecret: string | undefined,
  ) {
    this.strictest = mergeGuards([...config.files, ...config.streams].filter((l) => l.drm).map((l) => this.guardOf(l)));
  }

  guardOf(loc: AccessConfig): Guard {
    const secrets = loc.tokenSecrets ?? this.config.tokenSecrets ?? (this.envSecret === undefined ? [] : [this.envSecret]);
    const auth = loc.auth ?? this.config.auth ?? false;
    return auth === false ? (secrets.length === 0 ? OPEN : { secrets }) : { secrets, auth };
  }

  /** The secret `packager token` signs with for a location (or the top level): the first that applies. */
  signingSecret(loc?: AccessConfig): string | undefined {
    return this.guardOf(loc ?? {}).secrets[0];
  }
}

/** What the checks need from the server. */
export interface AccessDeps {
  readonly config: Config;
  readonly policy: AccessPolicy;
  readonly protections: ReadonlyMap<string, LocationProtection>;
  readonly knownKids: KnownKids;
  readonly authBackend: AuthBackend;
  readonly limiter: KeyRateLimiter | undefined;
  readonly log: Logger;
}

/** The request's token: `Authorization: Bearer …`, else the `token` query parameter. */
export function requestToken(ctx: Context): string | undefined {
  const auth = ctx.get('Authorization');
  const bearer = /^Bearer[ \t]+(\S+)\s*$/i.exec(auth);
  if (bearer) return bearer[1];
  const q = ctx.query[TOKEN_PARAM];
  const v = Array.isArray(q) ? q[0] : q;
  return v === undefined || v === '' ? undefined : v;
}

/** The client's address as the backend and the rate limits see it (IPv4-mapped IPv6 unwrapped). */
export function clientAddress(ctx: Context): string {
  const ip = ctx.ip || ctx.req.socket.remoteAddress || '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** 429 when the address or the token has used its burst. Runs before anything else on key requests. */
export function rateLimit(ctx: Context, deps: AccessDeps): void {
  if (!deps.limiter) return;
  const wait = deps.limiter.check(clientAddress(ctx), requestToken(ctx));
  if (wait > 0) throw new Refusal(429, 'rate limited', wait);
}

function verified(token: string | undefined, guard: Guard): TokenClaims {
  if (token === undefined) throw new Refusal(401, 'no token');
  const check = verifyToken(token, guard.secrets);
  if (!check.ok) throw new Refusal(403, `token ${check.problem}`);
  return check.claims;
}

/**
 * A playlist (or MPD) of a VOD title. Returns the token to write into the playlist's URIs (the one given,
 * once accepted), or undefined.
 */
export async function authorizePlaylist(
  ctx: Context,
  deps: AccessDeps,
  location: Location,
  contentPath: string,
  proto: 'hls' | 'dash',
  kidOf: () => Promise<Uint8Array | undefined>,
): Promise<string | undefined> {
  const token = requestToken(ctx);
  const guard = deps.policy.guardOf(location);
  if (guard.secrets.length > 0) {
    const claims = verified(token, guard);
    if (!subjectMatches(claims.sub, { path: contentPath })) {
      const kid = await kidOf().catch(() => undefined);
      if (kid === undefined || !subjectMatches(claims.sub, { kid })) throw new Refusal(403, 'token for other content');
    }
  }
  if (guard.auth !== undefined) {
    const allowed = await deps.authBackend.check({
      url: guard.auth,
      name: contentPath,
      location: location.name,
      ip: clientAddress(ctx),
      token: token ?? '',
      proto,
      type: 'playlist',
      uri: ctx.path,
      ...clientHeaders(ctx),
    });
    if (!allowed) throw new Refusal(403, 'auth backend denied');
  }
  return token !== undefined && token.length <= MAX_TOKEN_LENGTH ? token : undefined;
}

/** A KeyID asked for, and where it belongs (undefined: no protected location knows it). */
export interface KeyTarget {
  readonly kid: Uint8Array;
  readonly protection?: LocationProtection;
  readonly mediaPath?: string;
}

/**
 * Key (`GET /keys/{kid}`) and licence requests, after rateLimit(). Resolves with the targets (a caller
 * answers 404 for those without a protection); throws a Refusal otherwise. The checks of a KeyID no
 * location knows are those of the strictest guard, so they refuse exactly as for a guarded one.
 */
export async function authorizeKeys(ctx: Context, deps: AccessDeps, kids: readonly Uint8Array[], type: 'key' | 'license'): Promise<KeyTarget[]> {
  const token = requestToken(ctx);
  const locations: Location[] = [...deps.config.files, ...deps.config.streams];
  const targets: Array<KeyTarget & { guard: Guard; location?: Location }> = kids.map((kid) => {
    const known = deps.knownKids.get(kid);
    const protection = known ? deps.protections.get(known.location) : undefined;
    const location = protection ? locations.find((f) => f.name === protection.location) : undefined;
    if (!known || !protection || !location) return { kid, guard: deps.policy.strictest };
    // A KID served by several locations (warned about) takes the guards of all of them together.
    const others = (known.alsoIn ?? []).flatMap((name) => locations.filter((f) => f.name === name && f.drm));
    const guard = mergeGuards([location, ...others].map((l) => deps.policy.guardOf(l)));
    return { kid, protection, location, guard, ...(known.mediaPath === undefined ? {} : { mediaPath: known.mediaPath }) };
  });

  const guarded = targets.filter((t) => t.guard.secrets.length > 0);
  if (guarded.length > 0) {
    let claims: TokenClaims | undefined;
    // One token for all: it must verify under the secrets of every guarded target.
    const seen = new Set<readonly string[]>();
    for (const t of guarded) {
      if (seen.has(t.guard.secrets)) continue;
      seen.add(t.guard.secrets);
      claims = verified(token, t.guard);
    }
    const sub = claims!.sub;
    let pathKid: Promise<Uint8Array | undefined> | undefined;
    for (const t of guarded) {
      if (subjectMatches(sub, { kid: t.kid })) continue;
      // A live stream's token opens every key of the stream (one per key period under rotation).
      if (t.location?.kind === 'stream' && subjectMatches(sub, { stream: t.location.name })) continue;
      pathKid ??= kidOfSubjectPath(sub, deps);
      const k = await pathKid;
      if (k === undefined || !kidEquals(k, t.kid)) throw new Refusal(403, 'token for other content');
    }
  }

  const asked = new Set<string>();
  for (const t of targets) {
    if (t.guard.auth === undefined) continue;
    if (!t.protection || !t.location) {
      // Nothing to ask the backend about: refuse as a denied key would be, unless tokens already vouched.
      if (t.guard.secrets.length === 0) throw new Refusal(403, 'unknown key under an auth backend');
      continue;
    }
    const kidText = kidToUuid(t.kid);
    if (asked.has(kidText)) continue;
    asked.add(kidText);
    const allowed = await deps.authBackend.check({
      url: t.guard.auth,
      name: await titleName(t.location, t.mediaPath),
      location: t.location.name,
      ip: clientAddress(ctx),
      token: token ?? '',
      proto: type === 'key' ? 'hls' : 'dash',
      type,
      kid: kidText,
      uri: ctx.path,
      ...clientHeaders(ctx),
    });
    if (!allowed) throw new Refusal(403, 'auth backend denied');
  }
  return targets.map(({ kid, protection, mediaPath }) => ({ kid, ...(protection ? { protection } : {}), ...(mediaPath === undefined ? {} : { mediaPath }) }));
}

/**
 * The KeyID of the title a `sub` of the form `location/path/file.mp4` names, if that is a protected title
 * of this server: what lets the token of a playlist open the key its URIs name.
 */
async function kidOfSubjectPath(sub: string, deps: AccessDeps): Promise<Uint8Array | undefined> {
  const [name, ...rest] = sub.replace(/^\/+/, '').split('/');
  if (name === undefined || rest.length === 0) return undefined;
  const location = deps.config.files.find((f) => f.name === name);
  const protection = location ? deps.protections.get(location.name) : undefined;
  if (!location || !protection) return undefined;
  try {
    const real = await resolveInside(location.path, rest.map((s) => encodeURIComponent(s)));
    return await protection.kidOf(real);
  } catch {
    return undefined;
  }
}

/** `location/path` of a title for the auth backend; the location alone when the file is not known. */
async function titleName(location: Location, mediaPath: string | undefined): Promise<string> {
  if (mediaPath === undefined || location.kind === 'stream') return location.name;
  for (const root of [location.path, await realpath(location.path).catch(() => location.path)]) {
    const rel = relative(root, mediaPath);
    if (rel !== '' && !rel.startsWith('..')) return `${location.name}/${rel.split(sep).join('/')}`;
  }
  return location.name;
}

function clientHeaders(ctx: Context): { userAgent?: string; referer?: string } {
  const ua = ctx.get('User-Agent');
  const referer = ctx.get('Referer');
  return { ...(ua ? { userAgent: ua } : {}), ...(referer ? { referer } : {}) };
}
