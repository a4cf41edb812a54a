/** Finds every sidecar below a location's folder, so its KIDs are known before any title is requested. */
import { readdir, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { SIDECAR_SUFFIX, readSidecarKid } from './sidecar.js';

export interface ScanOptions {
  /** A sidecar (or folder) that could not be used, with why: for a log line. The scan goes on. */
  onSkip?: (path: string, error: Error) => void;
  /** Folders deeper than this below the root are not entered (default 32). */
  maxDepth?: number;
}

/**
 * Walks `root` for `*.keyos_id` files and calls `onKid` with each KID and the media path it belongs to
 * (real paths, as the HTTP layer resolves them). Symlinked folders are never entered (no loops, no
 * leaving the root); a symlinked sidecar is read only when it points inside the root. Returns how many
 * sidecars gave a KID. Sidecars are read through the shared sidecar cache, so the first requests after
 * a scan are hits.
 */
export async function scanSidecars(
  root: string,
  onKid: (kid: Uint8Array, mediaPath: string) => void,
  opts: ScanOptions = {},
): Promise<number> {
  const rootReal = await realpath(root);
  const maxDepth = opts.maxDepth ?? 32;
  const skip = (path: string, e: unknown): void => opts.onSkip?.(path, e instanceof Error ? e : new Error(String(e)));
  let found = 0;

  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      skip(dir, e);
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth < maxDepth) await walk(path, depth + 1);
        else skip(path, new Error(`deeper than ${maxDepth} folders below ${rootReal}: not scanned`));
        continue;
      }
      if (!entry.name.endsWith(SIDECAR_SUFFIX) || entry.name === SIDECAR_SUFFIX) continue;
      if (entry.isSymbolicLink()) {
        const target = await realpath(path).catch(() => undefined);
        if (target === undefined || !target.startsWith(rootReal + sep)) {
          skip(path, new Error('symlink to outside the location folder (or dangling): not read'));
          continue;
        }
      } else if (!entry.isFile()) {
        continue;
      }
      let kid: Uint8Array;
      try {
        kid = await readSidecarKid(path.slice(0, -SIDECAR_SUFFIX.length));
      } catch (e) {
        skip(path, e);
        continue;
      }
      found++;
      onKid(kid, path.slice(0, -SIDECAR_SUFFIX.length));
    }
  };

  await walk(rootReal, 0);
  return found;
}
