/**
 * `packager wrap-key HEX32|- [--kek-file FILE] [--config FILE]`: wraps a static content key under the
 * key-encryption key, for `drm static key=v1:…`. The KEK comes from --kek-file (created, 32 random bytes,
 * mode 0600, when it does not exist), else PACKAGER_KEK, else the config's kek_file. `-` reads the key from
 * stdin (keeps it out of the shell history and the process list). The wrapped key alone goes to stdout.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/parse.js';
import { createKekFile, KEK_ENV, kekIdOf, loadKek, readKekFile, wrapKey } from '../keys/wrap.js';

const USAGE = 'usage: packager wrap-key HEX32|- [--kek-file FILE] [--config FILE]\n';

/** Returns the exit code: 0 printed, 1 no KEK or unreadable, 2 bad usage. */
export async function wrapKeyCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  let values: { 'kek-file'?: string | undefined; config?: string | undefined; help?: boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { 'kek-file': { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    err.write(`packager wrap-key: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  const given = positionals[0];
  if (given === undefined || positionals.length > 1) {
    err.write(USAGE);
    return 2;
  }
  const hex = (given === '-' ? await readAll(stdin) : given).trim();
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) {
    // Never echo what was given: it is meant to be a key.
    err.write('packager wrap-key: the key must be 32 hex digits (16 bytes)\n');
    return 2;
  }

  let kek: Uint8Array | undefined;
  try {
    const kekFile = values['kek-file'];
    if (kekFile !== undefined) {
      kek = await readKekFile(resolve(kekFile)).catch(async (e: unknown) => {
        if (!/ENOENT/.test(e instanceof Error ? e.message : '')) throw e;
        const created = await createKekFile(resolve(kekFile));
        err.write(`created the key-encryption key file ${kekFile} (mode 0600): keep it apart from the config, back it up\n`);
        return created;
      });
    } else {
      const config = values.config === undefined ? undefined : await loadConfig(resolve(values.config));
      kek = await loadKek({ ...(config?.kekFile ? { kekFile: config.kekFile } : {}), env: process.env });
    }
  } catch (e) {
    err.write(`packager wrap-key: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  if (kek === undefined) {
    err.write(`packager wrap-key: no key-encryption key: give --kek-file FILE (created if missing), ${KEK_ENV}, or --config with kek_file\n`);
    return 1;
  }
  const wrapped = wrapKey(Uint8Array.from(Buffer.from(hex, 'hex')), kek);
  err.write(`wrapped under the key-encryption key ${kekIdOf(kek)}; in the config: drm static key=${wrapped} [kid=UUID];\n`);
  out.write(`${wrapped}\n`);
  return 0;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}
