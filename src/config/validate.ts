/**
 * Value checks. Each takes the token the value came from and throws a ConfigError at that token, so
 * the operator is sent to the exact value to fix.
 */
import { resolve } from 'node:path';
import { ConfigError } from './errors.js';
import type { HttpConfig, Protocol } from './model.js';
import type { Directive } from './syntax.js';
import type { Token } from './tokenizer.js';
import { parseUdpUrl } from '../source/live/udp-url.js';

/** URL prefixes the server itself answers on; a location of that name would shadow them. */
export const RESERVED_NAMES: readonly string[] = ['keys', 'license', 'api', 'metrics', 'player'];

export const PROTOCOLS: readonly Protocol[] = ['hls', 'dash'];

export const DEFAULT_SEGMENT_DURATION = 4;
export const MIN_SEGMENT_DURATION = 1;
export const MAX_SEGMENT_DURATION = 60;

const NAME = /^[A-Za-z0-9_.-]+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;
const DURATION = /^(\d+(?:\.\d+)?)([smhd]?)$/;
const UUID_DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX32 = /^[0-9a-f]{32}$/i;
// RFC 9110 token: what an HTTP header name may contain.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Checks the number of arguments against a usage line such as `dvr PATH DEPTH`. */
export function expectArgs(d: Directive, min: number, max: number, usage: string): void {
  const extra = d.args[max];
  if (extra !== undefined) throw new ConfigError(extra, `unexpected '${extra.value}': expected ${usage}`);
  if (d.args.length < min) throw new ConfigError(d.end, `missing value: expected ${usage}`);
}

/** A location or stream name: it becomes the first segment of every URL below it. */
export function parseName(t: Token): string {
  const name = t.value;
  if (!NAME.test(name) || /^\.+$/.test(name)) {
    throw new ConfigError(t, `invalid name '${name}': use only letters, digits, '_', '.' and '-'`);
  }
  // Case-insensitive: @koa/router matches paths case-insensitively by default.
  if (RESERVED_NAMES.includes(name.toLowerCase())) {
    throw new ConfigError(t, `name '${name}' is reserved for the server's /${name.toLowerCase()}/ URLs`);
  }
  return name;
}

function parsePortText(text: string, t: Token): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(t, `invalid port '${text}': expected a number 1..65535`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new ConfigError(t, `port ${text} is out of range 1..65535`);
  return port;
}

/** `PORT`, `HOST:PORT` or `[IPV6]:PORT`. */
export function parseListen(t: Token): HttpConfig {
  const text = t.value;
  if (/^\d+$/.test(text)) return { host: '0.0.0.0', port: parsePortText(text, t) };
  const m = /^(?:\[([0-9A-Za-z:.%]+)\]|([A-Za-z0-9.-]+)):([^:]*)$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  if (m === null || host === undefined) {
    throw new ConfigError(t, `invalid listen address '${text}': expected PORT, HOST:PORT or [IPV6]:PORT`);
  }
  return { host, port: parsePortText(m[3] ?? '', t) };
}

export function parseProtocol(t: Token): Protocol {
  const p = PROTOCOLS.find((known) => known === t.value);
  if (p === undefined) throw new ConfigError(t, `unknown protocol '${t.value}': expected ${PROTOCOLS.join(' or ')}`);
  return p;
}

export function parseProtocols(tokens: Token[]): Protocol[] {
  const out: Protocol[] = [];
  for (const t of tokens) {
    const p = parseProtocol(t);
    if (out.includes(p)) throw new ConfigError(t, `protocol '${p}' is listed twice`);
    out.push(p);
  }
  return out;
}

export function parseSegmentDuration(t: Token): number {
  if (!DECIMAL.test(t.value)) {
    throw new ConfigError(t, `invalid segment_duration '${t.value}': expected a number of seconds`);
  }
  const seconds = Number(t.value);
  if (seconds < MIN_SEGMENT_DURATION || seconds > MAX_SEGMENT_DURATION) {
    throw new ConfigError(
      t,
      `segment_duration ${t.value} is out of range ${MIN_SEGMENT_DURATION}..${MAX_SEGMENT_DURATION} seconds`,
    );
  }
  return seconds;
}

/** `2h`, `30m`, `90s`, `1d` or plain seconds; more than zero. */
export function parseDuration(t: Token): number {
  const m = DURATION.exec(t.value);
  if (m === null) {
    throw new ConfigError(t, `invalid duration '${t.value}': expected e.g. 90s, 30m, 2h, 1d or a number of seconds`);
  }
  const seconds = Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? 1);
  if (seconds <= 0) throw new ConfigError(t, `duration '${t.value}' must be more than zero`);
  return seconds;
}

/** Lowercase dashed form of a UUID written with or without dashes, or undefined if it is not one. */
export function normalizeUuid(text: string): string | undefined {
  if (HEX32.test(text)) {
    const h = text.toLowerCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  return UUID_DASHED.test(text) ? text.toLowerCase() : undefined;
}

export function parseUuid(t: Token, text: string, what: string): string {
  const uuid = normalizeUuid(text);
  if (uuid === undefined) {
    throw new ConfigError(t, `invalid ${what} '${text}': expected a UUID (32 hex digits, dashes optional)`);
  }
  return uuid;
}

export function parseHexKey(t: Token, text: string, what: string): string {
  if (!HEX32.test(text)) throw new ConfigError(t, `invalid ${what}: expected 32 hex digits (16 bytes)`);
  return text.toLowerCase();
}

/**
 * A static key wrapped under the key-encryption key (keys/wrap.ts writes it): `v1:` and 64 base64url
 * characters (48 bytes: KEK id, GCM nonce, wrapped key, tag). Only the shape is checked here; the key is
 * unwrapped when the server starts.
 */
export const WRAPPED_KEY = /^v1:[A-Za-z0-9_-]{64}$/;

/** `drm static key=`: 32 hex digits, or a wrapped key. Messages never echo the value. */
export function parseStaticKey(t: Token, text: string, what: string): string {
  if (text.startsWith('v1:')) {
    if (!WRAPPED_KEY.test(text)) throw new ConfigError(t, `invalid wrapped ${what}: expected v1: and 64 base64url characters, as 'packager wrap-key' prints`);
    return text;
  }
  return parseHexKey(t, text, what);
}

/** Shortest token secret: 32 characters (e.g. `openssl rand -hex 16`, 128 bits). */
export const MIN_TOKEN_SECRET_LENGTH = 32;

/** A token secret as written (UTF-8 text, used as the HMAC key as is). Messages never echo it. */
export function parseTokenSecret(t: Token): string {
  const length = [...t.value].length;
  if (length < MIN_TOKEN_SECRET_LENGTH) {
    throw new ConfigError(
      t,
      `token_secret is too short (${length} characters): at least ${MIN_TOKEN_SECRET_LENGTH}, e.g. the output of 'openssl rand -hex 32'`,
    );
  }
  return t.value;
}

/** Shortest admin token: as long as a token secret. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/** `admin_token SECRET`: printable, no spaces, 32+ characters. Messages never echo it. */
export function parseAdminToken(t: Token): string {
  const length = [...t.value].length;
  if (length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError(t, `admin_token is too short (${length} characters): at least ${MIN_ADMIN_TOKEN_LENGTH}, e.g. the output of 'openssl rand -hex 32'`);
  }
  // It travels in an Authorization: Bearer header (RFC 6750 b64token characters).
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(t.value)) {
    throw new ConfigError(t, 'admin_token may use only letters, digits and - . _ ~ + / (it is sent as a Bearer token)');
  }
  return t.value;
}

export function parseOnOff(t: Token, what: string): boolean {
  if (t.value === 'on') return true;
  if (t.value === 'off') return false;
  throw new ConfigError(t, `invalid ${what} '${t.value}': expected on or off`);
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export function parseLogLevel(t: Token): (typeof LOG_LEVELS)[number] {
  const level = LOG_LEVELS.find((l) => l === t.value);
  if (level === undefined) throw new ConfigError(t, `invalid log_level '${t.value}': expected ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** A positive number (integer or decimal). */
export function parsePositive(t: Token, what: string): number {
  if (!DECIMAL.test(t.value) || Number(t.value) <= 0) throw new ConfigError(t, `invalid ${what} '${t.value}': expected a number more than zero`);
  return Number(t.value);
}

export function parseHttpUrl(t: Token, text: string, what: string): string {
  if (URL.canParse(text)) {
    const url = new URL(text);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '') return text;
  }
  throw new ConfigError(t, `invalid ${what} '${text}': expected an http:// or https:// URL`);
}

/**
 * `udp://[IFACE@]HOST:PORT[?options]`, the only input the server can take today. The whole URL (options
 * included) is checked here so a typo fails `packager check` with file:line:column instead of leaving a
 * stream silently dead at run time.
 */
export function parseUdpInput(t: Token): string {
  try {
    parseUdpUrl(t.value);
  } catch (err) {
    throw new ConfigError(t, err instanceof Error ? err.message : String(err));
  }
  return t.value;
}

export function parseNonEmpty(t: Token, text: string, what: string): string {
  if (text === '') throw new ConfigError(t, `empty ${what}`);
  return text;
}

export function parseHeaderName(t: Token, name: string): string {
  if (!HEADER_NAME.test(name)) throw new ConfigError(t, `invalid header name '${name}'`);
  return name;
}

/** Splits `key=value` at the first `=`. */
export function splitOption(t: Token): { key: string; value: string } {
  const eq = t.value.indexOf('=');
  if (eq <= 0) throw new ConfigError(t, `expected key=value, found '${t.value}'`);
  const key = t.value.slice(0, eq);
  const value = t.value.slice(eq + 1);
  if (value === '') throw new ConfigError(t, `empty value for '${key}'`);
  return { key, value };
}

/** Relative paths are taken from the config file's directory, not from wherever the server started. */
export function resolvePath(t: Token, dir: string): string {
  if (t.value === '') throw new ConfigError(t, 'empty path');
  return resolve(dir, t.value);
}

// The server asks "can this config be served?" next to "is it valid?"; the list itself lives in stage.ts.
export { unsupportedFeatures, type UnsupportedFeature } from './stage.js';
