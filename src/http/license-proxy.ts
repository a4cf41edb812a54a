/**
 * The licence proxy: `POST /license/widevine|playready|fairplay?kid=UUID`. The viewer is checked exactly
 * as for keys and the ClearKey licence (rate limits, token, auth backend: access.ts); the KID (from
 * `?kid=`, or FairPlay's `assetId` form field, the host of the playlist's `skd://` URI) names the
 * location, whose `drm … la_url_<system>=` (KeyOS's servers by default for `drm keyos`) is the upstream.
 * The player's challenge is forwarded unmodified, with the configured authentication header added
 * (`license_header=NAME` with `license_auth=TEMPLATE` or `license_auth_url=URL`), and the licence comes
 * back unmodified. Upstream timeouts answer 504, upstream failures 502, each with a clear message.
 *
 * `GET /license/fairplay/certificate[?kid=UUID|?location=NAME]` serves the FairPlay application
 * certificate (`fairplay_cert=` path or URL): public data, no access check.
 */
import { readFile } from 'node:fs/promises';
import type { Context } from 'koa';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { kidToUuid, parseKid } from '../keys/kid.js';
import { safeUrl } from '../keys/keyos-fetch.js';
import { authorizeKeys, clientAddress, rateLimit, requestToken } from './access.js';
import { readBody, type KeyLookup } from './license.js';
import type { LocationProtection } from './protection.js';

export type ProxiedSystem = 'widevine' | 'playready' | 'fairplay';
export const PROXIED_SYSTEMS: readonly ProxiedSystem[] = ['widevine', 'playready', 'fairplay'];

const MAX_CHALLENGE = 256 * 1024;
const MAX_LICENSE = 1 << 20;
/** Upstream licence request timeout (mutable for tests that run the server in-process). */
export const licenseProxySettings = { timeoutMs: 10_000 };
const AUTH_TIMEOUT_MS = 5_000;
const NO_KID = new Uint8Array(16);

function upstreamError(status: 502 | 504, message: string): PackagerError {
  return new PackagerError(ErrorCode.KEY_UNAVAILABLE, message, { status, expose: true });
}

/** The KID the request is for: `?kid=`, else FairPlay's `assetId` form field. Undefined when none parses. */
function requestedKid(ctx: Context, system: ProxiedSystem, body: Buffer): Uint8Array | undefined {
  const q = ctx.query.kid;
  let text = Array.isArray(q) ? q[0] : q;
  if (text === undefined && system === 'fairplay') {
    text = new URLSearchParams(body.toString('latin1')).get('assetId') ?? undefined;
  }
  if (text === undefined) return undefined;
  try {
    return parseKid(text);
  } catch {
    return undefined;
  }
}

export async function serveLicenseProxy(ctx: Context, system: ProxiedSystem, lookup: KeyLookup): Promise<void> {
  rateLimit(ctx, lookup);
  const body = await readBody(ctx, MAX_CHALLENGE);
  const kid = requestedKid(ctx, system, body);
  // An unparsable KID is checked like an unknown one, so the answer does not tell them apart.
  const [target] = await authorizeKeys(ctx, lookup, [kid ?? NO_KID], 'license');
  const protection = kid === undefined ? undefined : target?.protection;
  if (!protection || kid === undefined || !protection.signalling.systems.includes(system)) {
    throw new PackagerError(ErrorCode.KEY_NOT_FOUND, `no ${system} content for this KeyID`);
  }
  const upstream = protection.signalling.licenseUrls[system];
  if (upstream === undefined) throw new PackagerError(ErrorCode.KEY_NOT_FOUND, `no ${system} licence server is configured for this content`);
  const headers: Record<string, string> = {
    'Content-Type': ctx.get('Content-Type') || (system === 'fairplay' ? 'application/x-www-form-urlencoded' : 'application/octet-stream'),
  };
  const soapAction = ctx.get('SOAPAction');
  if (soapAction) headers.SOAPAction = soapAction;
  const auth = protection.signalling.licenseAuth;
  if (auth) headers[auth.header] = await authValue(ctx, lookup, protection, system, kid);

  let res: Response;
  try {
    res = await fetch(upstream, { method: 'POST', headers, body: new Uint8Array(body), signal: AbortSignal.timeout(licenseProxySettings.timeoutMs), redirect: 'error' });
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw upstreamError(504, `the ${system} licence server did not answer within ${licenseProxySettings.timeoutMs / 1000} s`);
    }
    lookup.log.error('licence server unreachable', { system, url: safeUrl(upstream), error: (e as { cause?: { code?: string } }).cause?.code ?? String(name) });
    throw upstreamError(502, `the ${system} licence server is unreachable`);
  }
  const licence = Buffer.from(await res.arrayBuffer());
  if (!res.ok) {
    lookup.log.warn('licence server refused', { system, url: safeUrl(upstream), status: res.status, kid: kidToUuid(kid) });
    throw upstreamError(502, `the ${system} licence server answered ${res.status}`);
  }
  if (licence.length > MAX_LICENSE) throw upstreamError(502, `the ${system} licence server's answer is too large`);
  ctx.set('Cache-Control', 'no-store');
  ctx.status = 200;
  ctx.type = res.headers.get('content-type') ?? 'application/octet-stream';
  ctx.body = licence;
}

/**
 * The authentication header's value: the template with `{kid}`, `{system}`, `{location}` replaced, or the
 * (trimmed) body a POST of the request's particulars to `license_auth_url` answers (200 only). Never
 * logged.
 */
async function authValue(ctx: Context, lookup: KeyLookup, protection: LocationProtection, system: ProxiedSystem, kid: Uint8Array): Promise<string> {
  const auth = protection.signalling.licenseAuth!;
  const vars: Record<string, string> = { kid: kidToUuid(kid), system, location: protection.location };
  if (auth.template !== undefined) return auth.template.replace(/\{(kid|system|location)\}/g, (_, k: string) => vars[k]!);
  const url = auth.url!;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...vars, ip: clientAddress(ctx), token: requestToken(ctx) ?? '' }),
      signal: AbortSignal.timeout(AUTH_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw upstreamError(504, 'the licence authentication service did not answer in time');
    lookup.log.error('licence authentication service unreachable', { url: safeUrl(url) });
    throw upstreamError(502, 'the licence authentication service is unreachable');
  }
  const text = (await res.text()).trim();
  if (res.status !== 200 || text === '' || /[\r\n]/.test(text)) {
    lookup.log.warn('licence authentication service refused', { url: safeUrl(url), status: res.status });
    throw upstreamError(502, `the licence authentication service answered ${res.status}`);
  }
  return text;
}

const certCache = new Map<string, Promise<Buffer>>();

/** `GET /license/fairplay/certificate`: the FairPlay application certificate of a location. */
export async function serveFairplayCertificate(ctx: Context, lookup: KeyLookup): Promise<void> {
  const pick = (): string | undefined => {
    const kidText = typeof ctx.query.kid === 'string' ? ctx.query.kid : undefined;
    const locName = typeof ctx.query.location === 'string' ? ctx.query.location : undefined;
    if (kidText !== undefined) {
      let known;
      try {
        known = lookup.knownKids.get(parseKid(kidText));
      } catch {
        known = undefined;
      }
      return known ? lookup.protections.get(known.location)?.signalling.fairplayCert : undefined;
    }
    if (locName !== undefined) return lookup.protections.get(locName)?.signalling.fairplayCert;
    const all = new Set([...lookup.protections.values()].flatMap((p) => (p.signalling.fairplayCert ? [p.signalling.fairplayCert] : [])));
    return all.size === 1 ? [...all][0] : undefined;
  };
  const source = pick();
  if (source === undefined) throw new PackagerError(ErrorCode.KEY_NOT_FOUND, 'no FairPlay certificate is configured for this content');
  let loading = certCache.get(source);
  if (!loading) {
    loading = loadCertificate(source);
    certCache.set(source, loading);
    loading.catch(() => certCache.delete(source));
  }
  const cert = await loading;
  ctx.set('Cache-Control', 'public, max-age=3600');
  ctx.type = 'application/octet-stream';
  ctx.body = cert;
}

async function loadCertificate(source: string): Promise<Buffer> {
  if (!/^https?:/i.test(source)) {
    try {
      return await readFile(source);
    } catch {
      throw upstreamError(502, 'the FairPlay certificate file cannot be read');
    }
  }
  try {
    const res = await fetch(source, { signal: AbortSignal.timeout(licenseProxySettings.timeoutMs), redirect: 'follow' });
    if (!res.ok) throw upstreamError(502, `the FairPlay certificate server answered ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  } catch (e) {
    if (e instanceof PackagerError) throw e;
    const name = (e as { name?: string }).name;
    throw name === 'TimeoutError' ? upstreamError(504, 'the FairPlay certificate server did not answer in time') : upstreamError(502, 'the FairPlay certificate server is unreachable');
  }
}
