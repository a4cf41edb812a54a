/**
 * The KIDs this server protects content with, so `POST /license/clearkey` hands out keys only for
 * those: without it, anyone could ask a `drm local` server for the key of any KID and get a valid one.
 */
import { LRUCache } from 'lru-cache';
import { kidToHex } from './kid.js';

export interface KnownKid {
  /** The location (or stream) whose provider holds the key. */
  readonly location: string;
  /**
   * Other locations that served or scanned the same KID before (a misconfiguration the caller warns
   * about): access control takes the strictest of all of them, so an open location cannot open a key a
   * guarded one protects.
   */
  readonly alsoIn?: readonly string[];
  /** The media file whose sidecar named it, when it came from one. */
  readonly mediaPath?: string;
}

/**
 * Filled by the HTTP layer whenever it resolves a title's KID (sidecar or `kid=`), and by scanSidecars
 * at start. Bounded, because titles come and go over a long uptime; an evicted KID is learnt again by
 * the next manifest or segment request for its title, which a player makes before asking for a licence.
 */
export class KnownKids {
  private readonly byKid: LRUCache<string, KnownKid>;

  constructor(max = 1_000_000) {
    this.byKid = new LRUCache<string, KnownKid>({ max });
  }

  /**
   * Records that `kid` belongs to `location`. Returns the other location that held it before, if any: two
   * protected locations on one folder with different providers would give one KID two keys, which the
   * caller should log.
   */
  add(kid: Uint8Array, location: string, mediaPath?: string): string | undefined {
    const hex = kidToHex(kid);
    const before = this.byKid.get(hex);
    // Every segment request of a protected title lands here: when nothing changes, the get() above has
    // already refreshed its recency and there is nothing to rebuild.
    if (before !== undefined && before.location === location && before.mediaPath === mediaPath) return undefined;
    const also = new Set(before ? [...(before.alsoIn ?? []), before.location] : []);
    also.delete(location);
    this.byKid.set(hex, {
      location,
      ...(mediaPath === undefined ? {} : { mediaPath }),
      ...(also.size > 0 ? { alsoIn: [...also] } : {}),
    });
    return before !== undefined && before.location !== location ? before.location : undefined;
  }

  get(kid: Uint8Array): KnownKid | undefined {
    return this.byKid.get(kidToHex(kid));
  }

  has(kid: Uint8Array): boolean {
    return this.byKid.has(kidToHex(kid));
  }

  delete(kid: Uint8Array): boolean {
    return this.byKid.delete(kidToHex(kid));
  }

  /** For a config reload that drops or changes a location. Returns how many KIDs were forgotten. */
  removeLocation(location: string): number {
    const gone: string[] = [];
    const trimmed: Array<[string, KnownKid]> = [];
    for (const [hex, known] of this.byKid.entries()) {
      if (known.location === location) gone.push(hex);
      else if (known.alsoIn?.includes(location)) {
        const alsoIn = known.alsoIn.filter((l) => l !== location);
        const { alsoIn: _dropped, ...rest } = known;
        trimmed.push([hex, alsoIn.length > 0 ? { ...rest, alsoIn } : rest]);
      }
    }
    for (const hex of gone) this.byKid.delete(hex);
    for (const [hex, known] of trimmed) this.byKid.set(hex, known, { noUpdateTTL: true });
    return gone.length;
  }

  get size(): number {
    return this.byKid.size;
  }
}
