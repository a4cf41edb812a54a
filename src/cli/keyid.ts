/**
 * `packager keyid FILE.mp4 [--uuid U] [--force]`: gives a title its KeyID by writing FILE.mp4.keyos_id,
 * which a protected location needs before it serves the title.
 */
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { v4 } from 'uuid';
import { kidEquals, kidToUuid, parseKid } from '../keys/kid.js';
import { sidecarPathOf } from '../keys/sidecar.js';

const USAGE = 'usage: packager keyid FILE.mp4 [--uuid UUID] [--force]\n';

/** Returns the exit code: 0 written (or already there), 1 refused or failed, 2 bad usage. */
export async function keyidCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let values: { uuid?: string | undefined; force?: boolean | undefined; help?: boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { uuid: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    err.write(`packager keyid: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  const media = positionals[0];
  if (media === undefined || positionals.length > 1) {
    err.write(USAGE);
    return 2;
  }

  let kid: Uint8Array;
  if (values.uuid !== undefined) {
    try {
      kid = parseKid(values.uuid);
    } catch (e) {
      err.write(`packager keyid: --uuid '${values.uuid}': ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
  } else {
    kid = parseKid(v4());
  }
  const uuid = kidToUuid(kid);

  try {
    const st = await stat(media);
    if (!st.isFile()) {
      err.write(`packager keyid: ${media} is not a file\n`);
      return 1;
    }
  } catch (e) {
    err.write(`packager keyid: ${media}: ${errnoText(e)}\n`);
    return 1;
  }

  const sidecar = sidecarPathOf(media);
  const existing = await readExisting(sidecar);
  if (existing !== undefined && !values.force) {
    if (existing.kid !== undefined && values.uuid !== undefined && kidEquals(existing.kid, kid)) {
      // Asking again for what is already there is not a conflict: scripts can run this idempotently.
      out.write(`${uuid}\n`);
      return 0;
    }
    const now = existing.kid === undefined ? 'holds no valid KeyID' : `holds KeyID ${kidToUuid(existing.kid)}`;
    err.write(
      `packager keyid: ${sidecar} already exists and ${now}. Changing a title's KeyID makes every licence ` +
        'already issued for it useless (players and CDN caches holding segments under the old KeyID stop ' +
        'playing); pass --force to replace it anyway.\n',
    );
    return 1;
  }

  try {
    if (existing === undefined) await createExclusive(sidecar, `${uuid}\n`);
    else await replace(sidecar, `${uuid}\n`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      err.write(`packager keyid: ${sidecar} appeared while writing it; run again to see what it holds\n`);
    } else {
      err.write(`packager keyid: cannot write ${sidecar}: ${errnoText(e)}\n`);
    }
    return 1;
  }
  if (existing?.kid !== undefined && !kidEquals(existing.kid, kid)) {
    err.write(`packager keyid: replaced KeyID ${kidToUuid(existing.kid)}: licences issued for it no longer play this title\n`);
  }
  out.write(`${uuid}\n`);
  return 0;
}

/** undefined: no sidecar; `{ kid: undefined }`: a sidecar that holds no valid KID. */
async function readExisting(sidecar: string): Promise<{ kid: Uint8Array | undefined } | undefined> {
  let text: string;
  try {
    text = await readFile(sidecar, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { kid: undefined };
  }
  try {
    return { kid: parseKid(text) };
  } catch {
    return { kid: undefined };
  }
}

/** 'wx': another keyid run or an ingest tool writing the same sidecar at once is not overwritten. */
async function createExclusive(path: string, text: string): Promise<void> {
  const fh = await open(path, 'wx', 0o644);
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

/** Through a temporary file and a rename, so a running server reads the old KID or the new, never half. */
async function replace(path: string, text: string): Promise<void> {
  const tmp = `${path}.${v4().slice(0, 8)}.tmp`;
  try {
    await createExclusive(tmp, text);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (e instanceof Error ? e.message : String(e));
}
