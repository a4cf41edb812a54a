/**
 * Static keys at rest: `drm static key=v1:…` is the content key wrapped under a key-encryption key (KEK),
 * so a config file (in a repository, a backup, a ticket) never holds a usable key. The KEK lives apart from
 * the config: `PACKAGER_KEK` in the environment (hex or base64, 32 bytes) or the file named by `kek_file`
 * (mode 0600, like the server secret). Neither the KEK nor a key appears in a message or a log line.
 *
 * Format (version 1): `v1:` + base64url( kekId[4] | nonce[12] | ciphertext[16] | tag[16] ), AES-256-GCM
 * with the additional data `packager/static-key/v1` + kekId. `kekId` names the KEK (the first 4 bytes of
 * HMAC-SHA256(KEK, "packager/kek-id")), so a key wrapped under another KEK is reported as such rather than
 * as corrupt, and KEKs can be rotated by re-wrapping (`packager wrap-key`).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { decodeSecret } from './secret.js';
import { CONTENT_KEY_BYTES } from './provider.js';

export const KEK_ENV = 'PACKAGER_KEK';
/** AES-256. */
export const KEK_BYTES = 32;
export const WRAP_PREFIX = 'v1:';

const ID_BYTES = 4;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = ID_BYTES + NONCE_BYTES + CONTENT_KEY_BYTES + TAG_BYTES;
const AAD_LABEL = 'packager/static-key/v1';

/** The 4-byte name of a KEK, as hex: safe to print (it reveals nothing usable about the KEK). */
export function kekIdOf(kek: Uint8Array): string {
  return kekIdBytes(kek).toString('hex');
}

function kekIdBytes(kek: Uint8Array): Buffer {
  return createHmac('sha256', kek).update('packager/kek-id').digest().subarray(0, ID_BYTES);
}

function checkKek(kek: Uint8Array): void {
  if (kek.length !== KEK_BYTES) throw new RangeError(`a key-encryption key has ${KEK_BYTES} bytes, not ${kek.length}`);
}

export function isWrappedKey(text: string): boolean {
  return text.startsWith(WRAP_PREFIX);
}

/** Wraps a 16-byte content key: what `packager wrap-key` prints. A fresh random nonce each time. */
export function wrapKey(key: Uint8Array, kek: Uint8Array): string {
  checkKek(kek);
  if (key.length !== CONTENT_KEY_BYTES) throw new RangeError(`a content key has ${CONTENT_KEY_BYTES} bytes, not ${key.length}`);
  const id = kekIdBytes(kek);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([Buffer.from(AAD_LABEL), id]));
  const ct = Buffer.concat([cipher.update(key), cipher.final()]);
  return WRAP_PREFIX + Buffer.concat([id, nonce, ct, cipher.getAuthTag()]).toString('base64url');
}

/**
 * Unwraps `v1:…`. Throws a PackagerError (CONFIG_INVALID, not exposed) that says why — malformed, wrapped
 * under another KEK (naming both ids), or not authentic — without echoing either key.
 */
export function unwrapKey(wrapped: string, kek: Uint8Array): Uint8Array {
  checkKek(kek);
  const body = wrapped.startsWith(WRAP_PREFIX) ? wrapped.slice(WRAP_PREFIX.length) : '';
  const raw = /^[A-Za-z0-9_-]+$/.test(body) ? Buffer.from(body, 'base64url') : Buffer.alloc(0);
  if (raw.length !== WRAPPED_BYTES || raw.toString('base64url') !== body) {
    throw wrapError(`a wrapped key is ${WRAP_PREFIX} and ${Math.ceil((WRAPPED_BYTES * 4) / 3)} base64url characters, as 'packager wrap-key' prints`);
  }
  const id = raw.subarray(0, ID_BYTES);
  const ownId = kekIdBytes(kek);
  if (!id.equals(ownId)) {
    throw wrapError(`the key was wrapped under another key-encryption key (id ${id.toString('hex')}; this server's is ${ownId.toString('hex')})`);
  }
  const nonce = raw.subarray(ID_BYTES, ID_BYTES + NONCE_BYTES);
  const ct = raw.subarray(ID_BYTES + NONCE_BYTES, ID_BYTES + NONCE_BYTES + CONTENT_KEY_BYTES);
  const tag = raw.subarray(WRAPPED_BYTES - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.concat([Buffer.from(AAD_LABEL), id]));
  decipher.setAuthTag(tag);
  try {
    return new Uint8Array(Buffer.concat([decipher.update(ct), decipher.final()]));
  } catch {
    throw wrapError('the wrapped key does not authenticate under this key-encryption key (altered or truncated)');
  }
}

/** Exactly 32 bytes, in hex or base64 (as the server secret). */
export function decodeKek(text: string, where: string): Uint8Array {
  const kek = decodeSecret(text, where);
  if (kek.length !== KEK_BYTES) {
    throw wrapError(`${where} holds ${kek.length} bytes; a key-encryption key is exactly ${KEK_BYTES} (e.g. 'openssl rand -hex 32')`);
  }
  return kek;
}

export interface LoadKekOptions {
  /** `kek_file` from the config. */
  kekFile?: string;
  env?: NodeJS.ProcessEnv;
}

/** `PACKAGER_KEK` wins; otherwise the KEK file; undefined when neither is given. */
export async function loadKek(opts: LoadKekOptions): Promise<Uint8Array | undefined> {
  const fromEnv = (opts.env ?? process.env)[KEK_ENV];
  if (fromEnv !== undefined) return decodeKek(fromEnv, `${KEK_ENV} (environment)`);
  if (opts.kekFile === undefined) return undefined;
  return readKekFile(opts.kekFile);
}

/** Reads a KEK file; refused when missing, empty, or readable by group or others. */
export async function readKekFile(path: string): Promise<Uint8Array> {
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw wrapError(`the KEK file ${path} is not a regular file`);
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
        const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
        throw wrapError(`the KEK file ${path} is accessible by group or others (mode ${mode}): run 'chmod 600 ${path}' (or give the KEK in ${KEK_ENV})`);
      }
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof PackagerError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw wrapError(`cannot read the KEK file ${path}: ${code}`, e);
  }
  return decodeKek(text, `the KEK file ${path}`);
}

/** Creates a KEK file with 32 random bytes (hex, mode 0600); fails if it exists. For `packager wrap-key`. */
export async function createKekFile(path: string): Promise<Uint8Array> {
  const kek = randomBytes(KEK_BYTES);
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(`${kek.toString('hex')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return new Uint8Array(kek);
}

function wrapError(message: string, cause?: unknown): PackagerError {
  return new PackagerError(ErrorCode.CONFIG_INVALID, message, { expose: false, ...(cause === undefined ? {} : { cause }) });
}
