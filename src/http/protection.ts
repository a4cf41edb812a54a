import type { CencScheme, Config, DrmConfig, Location, TsMethod } from '../config/model.js';
import { formatAt } from '../config/errors.js';
import { isWrappedKey } from '../keys/wrap.js';
import { createKeyProvider } from '../keys/registry.js';
import { CachedKeyProvider } from '../keys/cache.js';
import type { KeyProvider } from '../keys/provider.js';
import { readSidecarKid } from '../keys/sidecar.js';
import { scanSidecars } from '../keys/scan.js';
import { parseKid } from '../keys/kid.js';
import type { KnownKids } from '../keys/known-kids.js';
import type { Logger } from './logger.js';
import { drmSignalling, keyRotation, type DrmSignalling } from '../config/drm.js';
import type { KeyRotation } from '../keys/rotation.js';

/** Everything a protected location needs to encrypt a title: resolved before any media is built. */
export interface TitleKey {
  readonly kid: Uint8Array;
  readonly key: Uint8Array;
  /** Identity of the content for deterministic IVs: the location-relative path (same on every origin). */
  readonly contentId: string;
}

/** The protection of one location: its key provider (cached) and the schemes of its outputs. */
export class LocationProtection {
  constructor(
    readonly location: string,
    readonly drm: DrmConfig,
    readonly provider: KeyProvider,
    /** A KID fixed by the config (`drm static … kid=`), used instead of the sidecars. */
    readonly fixedKid: Uint8Array | undefined,
  ) {
    this.signalling = drmSignalling(drm);
    this.rotation = keyRotation(drm);
  }

  /** Live streams: a new KeyID per key period (`rotate=`, `rotate_segments=`). */
  readonly rotation: KeyRotation | undefined;

  /** The DRM systems signalled, the licence proxy's upstreams (from the `drm` options). */
  readonly signalling: DrmSignalling;

  /** Whether raw keys may be handed out (`/keys`, `/license/clearkey`): only when ClearKey is signalled. */
  servesClearKeys(): boolean {
    return this.signalling.systems.includes('clearkey');
  }

  /** Common Encryption scheme of the CMAF outputs: DASH, HLS fMP4. */
  scheme(output: 'dash' | 'hls'): CencScheme {
    return this.drm.schemes[output];
  }

  /** Encryption of the HLS MPEG-TS output. */
  tsMethod(): TsMethod {
    return this.drm.schemes.ts;
  }

  /** The KID of a file: the fixed one, or its sidecar `<file>.keyos_id`. Throws (never falls back to clear). */
  async kidOf(mediaPath: string): Promise<Uint8Array> {
    return this.fixedKid ?? readSidecarKid(mediaPath);
  }
}

/** Key cache lifetime: keys derived locally never change; a remote key server's answers may. */
const KEY_TTL_MS = 10 * 60 * 1000;

/**
 * Which location a KID belongs to, for the key and licence endpoints: KIDs met while serving, plus those
 * of every sidecar found by a scan (a player may ask for a licence after a restart, with the init
 * segment served from a CDN cache).
 */
export async function rememberLocationKids(protection: LocationProtection, root: string, known: KnownKids, log: Logger): Promise<void> {
  if (protection.fixedKid) {
    known.add(protection.fixedKid, protection.location);
    return;
  }
  const count = await scanSidecars(root, (kid, mediaPath) => known.add(kid, protection.location, mediaPath), {
    onSkip: (path, error) => log.warn('unusable sidecar skipped', { location: protection.location, path, error: error instanceof Error ? error.message : String(error) }),
  });
  log.info('sidecars scanned', { location: protection.location, kids: count });
}

/** Whether a config has a wrapped static key, i.e. needs the key-encryption key. */
export function needsKek(config: Config): boolean {
  return [...config.files, ...config.streams].some((l) => l.drm?.kind === 'static' && isWrappedKey(l.drm.key));
}

/**
 * Builds the protection of every protected location of a config. `kek` unwraps `drm static key=v1:…`; a
 * plain static key is accepted with a warning (never the key itself in the log).
 */
export function buildProtections(config: Config, secret: () => Promise<Uint8Array>, log: Logger, kek?: Uint8Array): Map<string, LocationProtection> {
  const out = new Map<string, LocationProtection>();
  for (const loc of [...config.files, ...config.streams]) {
    if (!loc.drm) continue;
    out.set(loc.name, protectionFor(loc, loc.drm, secret, log, kek));
  }
  return out;
}

function protectionFor(loc: Location, drm: DrmConfig, secret: () => Promise<Uint8Array>, log: Logger, kek: Uint8Array | undefined): LocationProtection {
  if (drm.kind === 'static' && !isWrappedKey(drm.key)) {
    log.warn('static key stored in plain text; wrap it with packager wrap-key', { location: loc.name, at: formatAt(drm.pos, 'drm static') });
  }
  const inner = createKeyProvider(drm, kek === undefined ? { secret } : { secret, kek });
  const provider = new CachedKeyProvider(inner, { ttlMs: KEY_TTL_MS, max: 10_000 });
  // A live stream's KeyID is its resource_id (validated by the config parser); a file's, its sidecar.
  const streamKid = loc.kind === 'stream' && loc.resourceId !== undefined ? parseKid(loc.resourceId) : undefined;
  const fixedKid = inner.fixedKid ?? (drm.kind === 'static' && drm.kid ? parseKid(drm.kid) : streamKid);
  log.info('protected location', { location: loc.name, drm: drm.kind, dash: drm.schemes.dash, hls: drm.schemes.hls, ts: drm.schemes.ts, systems: drmSignalling(drm).systems.join(',') });
  return new LocationProtection(loc.name, drm, provider, fixedKid);
}
