/**
 * `packager token --config FILE --content ID [--ttl 1h] [--location NAME]`: mints an access token with the
 * config's token secret, for operators and tests. The token alone goes to stdout (its last line); what it
 * opens and until when goes to stderr. The format is documented in the README (and token.ts) so that an
 * upstream application can mint its own.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/parse.js';
import type { AccessConfig } from '../config/model.js';
import { normalizeUuid } from '../config/validate.js';
import { AccessPolicy, envTokenSecret, TOKEN_ENV } from '../http/access.js';
import { signToken } from '../http/token.js';

const USAGE = 'usage: packager token --config FILE --content ID [--ttl 1h] [--location NAME]\n' +
  '  ID: a KeyID (UUID), location/path/of/file.mp4, or a stream name\n';

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `30m`, `1h`, `1.5h`, `2d` or plain seconds. */
export function parseTtl(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  const seconds = Math.round(Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? 1));
  return seconds > 0 ? seconds : undefined;
}

/** Returns the exit code: 0 printed, 1 no secret or bad config, 2 bad usage. */
export async function tokenCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream, now = Date.now()): Promise<number> {
  let values: { config?: string | undefined; content?: string | undefined; ttl?: string | undefined; location?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string' },
        content: { type: 'string' },
        ttl: { type: 'string' },
        location: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    err.write(`packager token: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  if (!values.config || !values.content) {
    err.write(USAGE);
    return 2;
  }
  const ttl = parseTtl(values.ttl ?? '1h');
  if (ttl === undefined) {
    err.write(`packager token: --ttl '${values.ttl}': expected e.g. 90s, 30m, 1h, 1d or a number of seconds\n`);
    return 2;
  }
  const content = values.content.trim().replace(/^\/+/, '');
  if (content === '') {
    err.write(`packager token: --content is empty\n${USAGE}`);
    return 2;
  }
  const sub = normalizeUuid(content) ?? content;

  const config = await loadConfig(resolve(values.config));
  const policy = new AccessPolicy(config, envTokenSecret());
  const locations: Array<AccessConfig & { name: string }> = [...config.files, ...config.streams];
  let where: (AccessConfig & { name: string }) | undefined;
  if (values.location !== undefined) {
    where = locations.find((l) => l.name === values.location);
    if (!where) {
      err.write(`packager token: no location or stream '${values.location}' in ${values.config}\n`);
      return 1;
    }
  } else {
    // `location/path` and stream names say where they belong.
    const first = sub.split('/')[0];
    where = locations.find((l) => l.name === first);
  }
  let secret = policy.signingSecret(where);
  if (secret === undefined && where === undefined) {
    const own = [...new Set(locations.map((l) => policy.signingSecret(l)).filter((s): s is string => s !== undefined))];
    if (own.length > 1) {
      err.write('packager token: several locations have their own token_secret: name one with --location\n');
      return 1;
    }
    secret = own[0];
  }
  if (secret === undefined) {
    err.write(`packager token: no token secret applies${where ? ` to '${where.name}'` : ''}: set token_secret in ${values.config} or ${TOKEN_ENV}\n`);
    return 1;
  }
  const exp = Math.floor(now / 1000) + ttl;
  err.write(`token for ${sub}, valid until ${new Date(exp * 1000).toISOString()}${where ? ` (secret of '${where.name}')` : ''}\n`);
  out.write(`${signToken({ sub, exp }, secret)}\n`);
  return 0;
}
