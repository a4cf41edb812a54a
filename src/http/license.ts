import type { Context } from 'koa';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { kidFromB64url, kidToB64url, parseKid } from '../keys/kid.js';
import { authorizeKeys, rateLimit, type AccessDeps } from './access.js';

/** The key and licence endpoints' view of the server: which KIDs it protects, with what, and who may ask. */
export type KeyLookup = AccessDeps;

/** A KeyID that cannot be one: checked like an unknown KeyID (so the answer does not tell them apart). */
const NO_KID = new Uint8Array(16);

/** A ClearKey licence request is a few KIDs; anything larger is not one. */
const MAX_BODY = 16 * 1024;
const MAX_KIDS = 64;

/**
 * W3C ClearKey licence: `{"kids":[b64url…],"type":…}` → JWK set `{"keys":[{kty:"oct",kid,k}],"type":…}`.
 * Only KIDs this server protects content with are answered; a request naming none of them is refused.
 * Rate limits first, then the access checks (access.ts) for every KID: the token's `sub` must cover each
 * one, or the whole request is refused.
 */
export async function serveClearKeyLicense(ctx: Context, lookup: KeyLookup): Promise<void> {
  rateLimit(ctx, lookup);
  const body = await readBody(ctx, MAX_BODY);
  let request: unknown;
  try {
    request = JSON.parse(body.toString('utf8'));
  } catch {
    throw new PackagerError(ErrorCode.BAD_REQUEST, 'licence request is not JSON');
  }
  const kids = (request as { kids?: unknown }).kids;
  if (!Array.isArray(kids) || kids.length === 0 || kids.length > MAX_KIDS || !kids.every((k) => typeof k === 'string')) {
    throw new PackagerError(ErrorCode.BAD_REQUEST, 'licence request needs "kids": [base64url KID, …]');
  }
  const type = (request as { type?: unknown }).type === 'persistent-license' ? 'persistent-license' : 'temporary';
  const parsed = (kids as string[]).map((encoded) => {
    try {
      return kidFromB64url(encoded);
    } catch {
      throw new PackagerError(ErrorCode.BAD_REQUEST, 'a KID in the licence request is not 16 bytes of base64url');
    }
  });
  const targets = await authorizeKeys(ctx, lookup, parsed, 'license');
  const keys: Array<{ kty: 'oct'; kid: string; k: string }> = [];
  for (const { kid, protection } of targets) {
    // A location that does not signal ClearKey (a commercial DRM) never hands out raw keys.
    if (!protection || !protection.servesClearKeys()) continue;
    const { key } = await protection.provider.getKey(kid, { contentId: '' });
    keys.push({ kty: 'oct', kid: kidToB64url(kid), k: Buffer.from(key).toString('base64url') });
  }
  if (keys.length === 0) throw new PackagerError(ErrorCode.KEY_NOT_FOUND, 'no key for the requested KIDs');
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/json';
  ctx.body = JSON.stringify({ keys, type });
}

/**
 * `GET /keys/{kid}`: the 16 raw bytes of a content key, for HLS `identity` keys (AES-128, SAMPLE-AES,
 * cbcs). Rate limits, then access checks (401/403), and only then whether the key exists (404).
 */
export async function serveRawKey(ctx: Context, kidText: string, lookup: KeyLookup): Promise<void> {
  rateLimit(ctx, lookup);
  let kid: Uint8Array | undefined;
  try {
    kid = parseKid(kidText);
  } catch {
    kid = undefined;
  }
  const [target] = await authorizeKeys(ctx, lookup, [kid ?? NO_KID], 'key');
  const found = kid === undefined ? undefined : target?.protection;
  const protection = found?.servesClearKeys() ? found : undefined;
  if (!protection || kid === undefined) throw new PackagerError(ErrorCode.KEY_NOT_FOUND, 'no such key');
  const { key } = await protection.provider.getKey(kid, { contentId: '' });
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/octet-stream';
  ctx.body = Buffer.from(key);
}

export async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > limit) throw new PackagerError(ErrorCode.BAD_REQUEST, 'request body too large', { status: 413 });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new PackagerError(ErrorCode.BAD_REQUEST, 'request body too large', { status: 413 });
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
