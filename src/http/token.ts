/**
 * Access tokens: compact JWS/JWT with HMAC-SHA256 (`alg: HS256`), so an upstream application can mint
 * them with any JWT library — `jwt.sign({ sub, exp }, secret)` — or with ten lines of code:
 *
 *   header  = base64url('{"alg":"HS256","typ":"JWT"}')
 *   payload = base64url(JSON.stringify({ sub: CONTENT, exp: UNIX_SECONDS }))
 *   token   = header + '.' + payload + '.' + base64url(HMAC-SHA256(secret, header + '.' + payload))
 *
 * The secret is the `token_secret` text as UTF-8 bytes. Verification: the header must say HS256 (any other
 * `alg`, `none` included, is refused: the algorithm is never taken from the token), the signature is
 * compared in constant time against every configured secret, then `exp` (required) and `nbf` (optional)
 * are checked, then `sub` against the content asked for (see subjectMatches). Nothing of a token is logged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { normalizeUuid } from '../config/validate.js';
import { kidToUuid } from '../keys/kid.js';

/** Longer than any real token: refused before any work is done on it. */
export const MAX_TOKEN_LENGTH = 4096;

const HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
const B64URL = /^[A-Za-z0-9_-]+$/;
const SIGNATURE_BYTES = 32;

export interface TokenClaims {
  /** The content the token opens: a KeyID (UUID), `location/path/of/file.mp4`, or a stream name. */
  readonly sub: string;
  /** Expiry, Unix seconds. */
  readonly exp: number;
  /** Not before, Unix seconds (optional). */
  readonly nbf?: number;
  readonly [claim: string]: unknown;
}

export type TokenProblem = 'malformed' | 'signature' | 'expired' | 'not-yet-valid';

export type TokenCheck = { readonly ok: true; readonly claims: TokenClaims; readonly secretIndex: number } | { readonly ok: false; readonly problem: TokenProblem };

/** Signs claims (sub and exp at least) with the secret: what `packager token` prints. */
export function signToken(claims: TokenClaims, secret: string | Uint8Array): string {
  if (typeof claims.sub !== 'string' || claims.sub === '') throw new TypeError('a token needs a sub');
  if (!Number.isFinite(claims.exp)) throw new TypeError('a token needs an exp');
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${hmac(secret, input).toString('base64url')}`;
}

/**
 * Checks a token against the secrets (any one may have signed it) at `nowSeconds`. Whether `sub` fits the
 * request is for the caller (subjectMatches): it depends on what is asked for.
 */
export function verifyToken(token: string, secrets: ReadonlyArray<string | Uint8Array>, nowSeconds = Date.now() / 1000): TokenCheck {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, problem: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, problem: 'malformed' };
  const [h, p, s] = parts as [string, string, string];
  if (!B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) return { ok: false, problem: 'malformed' };
  const header = parseJson(h);
  if (header === undefined || header['alg'] !== 'HS256' || 'crit' in header) return { ok: false, problem: 'malformed' };
  const given = Buffer.from(s, 'base64url');
  // Buffer's decoder skips junk silently: only the canonical encoding of 32 bytes is a signature.
  if (given.length !== SIGNATURE_BYTES || given.toString('base64url') !== s) return { ok: false, problem: 'signature' };
  const input = `${h}.${p}`;
  let secretIndex = -1;
  // Every secret is tried (no early exit): the time taken does not tell which one matched.
  secrets.forEach((secret, i) => {
    if (timingSafeEqual(hmac(secret, input), given) && secretIndex < 0) secretIndex = i;
  });
  if (secretIndex < 0) return { ok: false, problem: 'signature' };
  const claims = parseJson(p);
  if (claims === undefined || typeof claims['sub'] !== 'string' || claims['sub'] === '' || typeof claims['exp'] !== 'number' || !Number.isFinite(claims['exp'])) {
    return { ok: false, problem: 'malformed' };
  }
  if (claims['exp'] <= nowSeconds) return { ok: false, problem: 'expired' };
  const nbf = claims['nbf'];
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds)) return { ok: false, problem: 'not-yet-valid' };
  return { ok: true, claims: claims as unknown as TokenClaims, secretIndex };
}

/** What a request is for, in the terms a token's `sub` may name it. */
export interface Content {
  /** The KeyID of the content (a key, or a protected title). */
  readonly kid?: Uint8Array;
  /** `location/path/of/file.mp4` (decoded, `/`-separated) for a VOD title. */
  readonly path?: string;
  /** A live stream's name. */
  readonly stream?: string;
}

/**
 * Whether `sub` names the content: the KeyID (a UUID in any case, with or without dashes), or the title's
 * `location/path` (a leading `/` is ignored), or the stream name. Exact matches only: no prefixes, no
 * wildcards.
 */
export function subjectMatches(sub: string, content: Content): boolean {
  if (content.kid !== undefined) {
    const uuid = normalizeUuid(sub);
    if (uuid !== undefined && uuid === kidToUuid(content.kid)) return true;
  }
  const path = sub.replace(/^\/+/, '');
  if (content.path !== undefined && path === content.path) return true;
  return content.stream !== undefined && sub === content.stream;
}

/** The KeyID a `sub` names, if it is one (as a lowercase dashed UUID). */
export function subjectKid(sub: string): string | undefined {
  return normalizeUuid(sub);
}

function hmac(secret: string | Uint8Array, input: string): Buffer {
  return createHmac('sha256', secret).update(input).digest();
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
