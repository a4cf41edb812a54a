/**
 * Parses a live UDP input URL, Flussonic's syntax: `udp://[IFACE@]HOST:PORT[?options]`. Pure: the
 * interface NAME is only checked for shape here; it is resolved to an address when the socket opens
 * (udp-input.ts), so a config can be validated on a machine without that interface.
 *
 *   HOST     IPv4 unicast, IPv4 multicast (224.0.0.0/4) or 0.0.0.0 (all interfaces); IPv6 in brackets.
 *   IFACE    the local interface to join the group on (or, with 0.0.0.0, to receive on): an IPv4
 *            address or an interface name such as eth0.
 *   options  rcvbuf=BYTES[k|K|m|M]  socket receive buffer (default 16 MiB; 64 KiB..1 GiB)
 *            source=IPv4            source-specific multicast (only with an IPv4 multicast HOST)
 *            program=N              MPTS program_number to take (1..65535)
 *            iface=IFACE            the same as IFACE@ (not both)
 *            rtp=auto|on|off        RTP unwrapping (default auto: per datagram, by its first byte)
 *
 * Anything else — another scheme, a host name, a missing port, an unknown or repeated option — is an
 * error whose message names the problem: a typo in an input must not become a silently dead stream.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface UdpInputSpec {
  /** The URL as written. */
  readonly url: string;
  /** IPv4 dotted quad or IPv6 (without brackets). */
  readonly host: string;
  readonly port: number;
  /** HOST is a multicast group (IPv4 224.0.0.0/4 or IPv6 ff00::/8). */
  readonly multicast: boolean;
  /** IPv4 address or interface name (from `IFACE@` or `iface=`). */
  readonly iface?: string;
  /** Source-specific multicast sender (IPv4). */
  readonly source?: string;
  /** Requested SO_RCVBUF in bytes. */
  readonly rcvbuf: number;
  /** MPTS program_number to take; absent: the first program. */
  readonly program?: number;
  readonly rtp: 'auto' | 'on' | 'off';
}

const KIB = 1024;
const MIB = 1024 * KIB;
export const DEFAULT_RCVBUF = 16 * MIB;
export const MIN_RCVBUF = 64 * KIB;
export const MAX_RCVBUF = 1024 * MIB;

const SYNTAX = 'expected udp://[IFACE@]HOST:PORT[?options]';
const OPTIONS = ['rcvbuf', 'source', 'program', 'iface', 'rtp'] as const;
type OptionName = (typeof OPTIONS)[number];

// Linux names: at most 15 bytes (IFNAMSIZ - 1), no '/', whitespace or '@'; VLANs (eth0.100) and aliases
// (eth0:1) included. A leading letter keeps a mistyped address ("10.0.0") from passing as a name.
const IFACE_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,14}$/;
const DOTTED_QUAD = /^\d+\.\d+\.\d+\.\d+$/;
const RCVBUF = /^(\d+)([kKmM]?)$/;
const DECIMAL = /^\d+$/;

/** Parses `text`; throws an Error whose message names what is wrong. */
export function parseUdpUrl(text: string): UdpInputSpec {
  const fail: Fail = (reason) => {
    throw new Error(`invalid input '${text}': ${reason}`);
  };

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text);
  if (scheme === null) fail(SYNTAX);
  if (scheme[1]!.toLowerCase() !== 'udp') fail(`unsupported scheme '${scheme[1]}:' (only udp is supported); ${SYNTAX}`);
  if (!text.startsWith('//', 4)) fail(`missing '//' after 'udp:'; ${SYNTAX}`);
  if (text.includes('#')) fail(`a fragment ('#…') is not allowed; ${SYNTAX}`);

  const rest = text.slice(6);
  const q = rest.indexOf('?');
  let authority = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? undefined : rest.slice(q + 1);
  // A single trailing slash is harmless (udp://239.0.0.1:1234/); any other path is a mistake.
  if (authority.endsWith('/')) authority = authority.slice(0, -1);
  if (authority.includes('/')) fail(`a path is not allowed after HOST:PORT; ${SYNTAX}`);

  let ifaceAt: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    ifaceAt = authority.slice(0, at);
    authority = authority.slice(at + 1);
    if (ifaceAt === '') fail(`empty interface before '@'; ${SYNTAX}`);
    checkIface(ifaceAt, fail);
  }

  const { host, portText } = splitHostPort(authority, fail);
  const port = parsePort(portText, fail);
  const multicast = isIPv4(host) ? isIPv4Multicast(host) : host.toLowerCase().startsWith('ff');

  const opts = parseQuery(query, fail);
  if (opts.iface !== undefined) {
    if (ifaceAt !== undefined) fail(`the interface is given twice ('${ifaceAt}@' and 'iface=${opts.iface}'); use one`);
    checkIface(opts.iface, fail);
  }
  const iface = ifaceAt ?? opts.iface;

  // The interface selects where to join a group, or which local address a 0.0.0.0 input listens on;
  // with a specific unicast HOST the socket is already bound to one address, so it could only conflict.
  if (iface !== undefined && !multicast && host !== '0.0.0.0') {
    fail(`an interface only applies to a multicast group or to 0.0.0.0, not to the unicast address ${host}`);
  }
  if (iface !== undefined && isIPv6(host) && isIPv4(iface)) {
    fail(`an IPv6 group needs an interface name, not the IPv4 address ${iface}`);
  }

  let source: string | undefined;
  if (opts.source !== undefined) {
    source = opts.source;
    if (!isIPv4(source) || !DOTTED_QUAD.test(source)) fail(`source '${source}' is not an IPv4 address`);
    if (isIPv4Multicast(source) || source === '0.0.0.0') fail(`source '${source}' must be a unicast sender address`);
    if (!multicast || !isIPv4(host)) fail(`source= (source-specific multicast) needs an IPv4 multicast HOST, not ${host}`);
  }

  return {
    url: text,
    host,
    port,
    multicast,
    ...(iface !== undefined ? { iface } : {}),
    ...(source !== undefined ? { source } : {}),
    rcvbuf: opts.rcvbuf === undefined ? DEFAULT_RCVBUF : parseRcvbuf(opts.rcvbuf, fail),
    ...(opts.program !== undefined ? { program: parseProgram(opts.program, fail) } : {}),
    rtp: opts.rtp === undefined ? 'auto' : parseRtp(opts.rtp, fail),
  };
}

type Fail = (reason: string) => never;

export function isIPv4Multicast(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

function splitHostPort(authority: string, fail: Fail): { host: string; portText: string } {
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) fail(`unclosed '[' in the IPv6 host; ${SYNTAX}`);
    const host = authority.slice(1, close);
    if (!isIPv6(host)) fail(`'${host}' is not an IPv6 address`);
    const after = authority.slice(close + 1);
    if (!after.startsWith(':') || after === ':') fail(`missing port after [${host}]; ${SYNTAX}`);
    return { host, portText: after.slice(1) };
  }
  const colon = authority.lastIndexOf(':');
  if (colon < 0) fail(`missing port; ${SYNTAX}`);
  const host = authority.slice(0, colon);
  if (host === '') fail(`missing host (use 0.0.0.0 to receive on every interface); ${SYNTAX}`);
  if (host.includes(':')) fail(`an IPv6 host must be in brackets, e.g. udp://[${host}]:PORT`);
  // DOTTED_QUAD as well as isIPv4: refuse shorthand forms some resolvers accept (127.1, 0x7f.0.0.1).
  if (!isIPv4(host) || !DOTTED_QUAD.test(host)) fail(`host '${host}' is not an IPv4 address (host names are not resolved)`);
  return { host, portText: authority.slice(colon + 1) };
}

function parsePort(text: string, fail: Fail): number {
  if (text === '') fail(`missing port; ${SYNTAX}`);
  const port = DECIMAL.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) fail(`port '${text}' is not a number in 1..65535`);
  return port;
}

function checkIface(iface: string, fail: Fail): void {
  if (DOTTED_QUAD.test(iface)) {
    if (!isIPv4(iface)) fail(`interface '${iface}' is not a valid IPv4 address`);
    if (isIPv4Multicast(iface) || iface === '0.0.0.0') fail(`interface '${iface}' must be the unicast address of a local interface`);
    return;
  }
  if (!IFACE_NAME.test(iface)) fail(`interface '${iface}' is neither an IPv4 address nor an interface name`);
}

function parseQuery(query: string | undefined, fail: Fail): Partial<Record<OptionName, string>> {
  const out: Partial<Record<OptionName, string>> = {};
  if (query === undefined) return out;
  if (query === '') fail(`empty option list after '?'`);
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) fail(`option '${pair}' is not key=value`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!(OPTIONS as readonly string[]).includes(key)) fail(`unknown option '${key}' (known: ${OPTIONS.join(', ')})`);
    if (value === '') fail(`empty value for option '${key}'`);
    const name = key as OptionName;
    if (out[name] !== undefined) fail(`option '${key}' is given twice`);
    out[name] = value;
  }
  return out;
}

function parseRcvbuf(text: string, fail: Fail): number {
  const m = RCVBUF.exec(text);
  if (m === null) fail(`rcvbuf '${text}' is not a byte count (digits, optionally followed by k or m)`);
  const unit = m[2]!.toLowerCase();
  const bytes = Number(m[1]) * (unit === 'k' ? KIB : unit === 'm' ? MIB : 1);
  if (bytes < MIN_RCVBUF || bytes > MAX_RCVBUF) fail(`rcvbuf '${text}' is outside 64k..1024m`);
  return bytes;
}

function parseProgram(text: string, fail: Fail): number {
  const n = DECIMAL.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) fail(`program '${text}' is not a program_number in 1..65535`);
  return n;
}

function parseRtp(text: string, fail: Fail): 'auto' | 'on' | 'off' {
  if (text !== 'auto' && text !== 'on' && text !== 'off') fail(`rtp '${text}' must be auto, on or off`);
  return text as 'auto' | 'on' | 'off';
}
