/**
 * The server secret behind `drm local`: every content key is derived from it, so every instance given
 * the same secret serves the same keys, and anyone who reads it can decrypt everything. It never appears
 * in a message, a log line or an error.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PackagerError, ErrorCode } from '../media/errors.js';

export const SECRET_ENV = 'PACKAGER_SECRET';
/** 256 bits: the HKDF-SHA256 input is then as strong as the hash. */
export const MIN_SECRET_BYTES = 32;

/** How long a reader waits for a secret file another process has just created but not yet written. */
const CREATION_WAIT_MS = 2000;
const CREATION_POLL_MS = 20;

export interface LoadSecretOptions {
  /** `secret_file` from the config; `defaultFile` when absent. */
  secretFile?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  defaultFile: string;
}

/**
 * `PACKAGER_SECRET` (hex or base64, at least 32 bytes) wins; otherwise the secret file, created with 32
 * random bytes on first start. A secret file readable or writable by group or others is refused, as ssh
 * refuses such a private key: warning and carrying on would leave every content key exposed.
 */
export async function loadSecret(opts: LoadSecretOptions): Promise<Uint8Array> {
  const fromEnv = (opts.env ?? process.env)[SECRET_ENV];
  if (fromEnv !== undefined) return decodeSecret(fromEnv, `${SECRET_ENV} (environment)`);
  return readOrCreate(opts.secretFile ?? opts.defaultFile);
}

/**
 * Hex when the text is only hex digits (so a hex secret with a digit missing is an error, not silently
 * a different base64 secret), base64 or base64url otherwise.
 */
export function decodeSecret(text: string, where: string): Uint8Array {
  const t = text.trim();
  // Empty usually means `PACKAGER_SECRET=${UNSET}`: falling back to a per-host file would silently
  // give each instance its own keys.
  if (t === '') throw secretError(`${where} is empty: put at least ${MIN_SECRET_BYTES} bytes in hex or base64 in it`);
  let bytes: Buffer;
  if (/^[0-9a-fA-F]+$/.test(t)) {
    if (t.length % 2 !== 0) throw secretError(`${where} has an odd number of hex digits`);
    bytes = Buffer.from(t, 'hex');
  } else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) {
    bytes = Buffer.from(t, 'base64');
  } else {
    throw secretError(`${where} is neither hex nor base64`);
  }
  if (bytes.length < MIN_SECRET_BYTES) {
    throw secretError(
      `${where} holds ${bytes.length} bytes; at least ${MIN_SECRET_BYTES} are needed (e.g. the output of 'openssl rand -hex 32')`,
    );
  }
  return new Uint8Array(bytes);
}

async function readOrCreate(path: string): Promise<Uint8Array> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw secretError(`cannot create the folder of the secret file ${path}: ${errnoOf(e)}`, e);
  }
  const created = await tryCreate(path);
  return created ?? readExisting(path);
}

/** Exclusive create, so of two processes starting at once exactly one writes and both read its secret. */
async function tryCreate(path: string): Promise<Uint8Array | undefined> {
  let fh;
  try {
    fh = await open(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw secretError(`cannot create the secret file ${path}: ${errnoOf(e)}`, e);
  }
  const secret = randomBytes(MIN_SECRET_BYTES);
  try {
    await fh.writeFile(`${secret.toString('hex')}\n`);
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    // An empty file left behind would make every later start fail; remove it so the next one retries.
    await unlink(path).catch(() => undefined);
    throw secretError(`cannot write the secret file ${path}: ${errnoOf(e)}`, e);
  }
  return new Uint8Array(secret);
}

async function readExisting(path: string): Promise<Uint8Array> {
  const deadline = Date.now() + CREATION_WAIT_MS;
  for (;;) {
    let text: string;
    try {
      const fh = await open(path, 'r');
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw secretError(`the secret file ${path} is not a regular file`);
        if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
          const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
          throw secretError(
            `the secret file ${path} is accessible by group or others (mode ${mode}): ` +
              `run 'chmod 600 ${path}' (or give the secret in ${SECRET_ENV})`,
          );
        }
        text = await fh.readFile('utf8');
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (e instanceof PackagerError) throw e;
      throw secretError(`cannot read the secret file ${path}: ${errnoOf(e)}`, e);
    }
    // Another process may have created the file and not yet written it.
    if (text.trim() === '' && Date.now() < deadline) {
      await sleep(CREATION_POLL_MS);
      continue;
    }
    if (text.trim() === '') {
      throw secretError(`the secret file ${path} is empty: delete it to have a new secret created, or write one in it`);
    }
    return decodeSecret(text, `the secret file ${path}`);
  }
}

function secretError(message: string, cause?: unknown): PackagerError {
  return new PackagerError(ErrorCode.CONFIG_INVALID, message, { expose: false, ...(cause === undefined ? {} : { cause }) });
}

function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException | undefined)?.code ?? (e instanceof Error ? e.message : String(e));
}
