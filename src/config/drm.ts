import { ConfigError } from './errors.js';
import type { CencScheme, DrmConfig, DrmKind, DrmSystemName, SourcePos, TsMethod } from './model.js';
import type { Directive } from './syntax.js';
import type { Token } from './tokenizer.js';
import { parseDuration, parseHeaderName, parseHttpUrl, parseNonEmpty, parseStaticKey, parseUuid, splitOption } from './validate.js';

type OptionCheck = (t: Token, value: string, key: string) => string;

interface DrmKindSpec {
  usage: string;
  /** Every option the kind accepts, with its check; any other key is an error. */
  options: Readonly<Record<string, OptionCheck>>;
  required: readonly string[];
  /** Whether `header NAME=VALUE` pairs are accepted. */
  headers: boolean;
}

const scheme: OptionCheck = (t, value, key) => {
  if (value !== 'cenc' && value !== 'cbcs') throw new ConfigError(t, `${key}= must be cenc or cbcs, not '${value}'`);
  return value;
};
const tsMethod: OptionCheck = (t, value, key) => {
  if (value !== 'aes-128' && value !== 'sample-aes') throw new ConfigError(t, `${key}= must be aes-128 or sample-aes, not '${value}'`);
  return value;
};
const nonEmpty: OptionCheck = (t, value, key) => parseNonEmpty(t, value, key);
const httpUrl: OptionCheck = (t, value, key) => parseHttpUrl(t, value, key);
/** Key server timeout per attempt, in seconds (0.1 to 60). */
const seconds: OptionCheck = (t, value, key) => {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n >= 0.1 && n <= 60)) throw new ConfigError(t, `${key}= must be a number of seconds from 0.1 to 60, not '${value}'`);
  return value;
};
const retryCount: OptionCheck = (t, value, key) => {
  if (!/^[0-5]$/.test(value)) throw new ConfigError(t, `${key}= must be a whole number from 0 to 5, not '${value}'`);
  return value;
};
const DRM_SYSTEM_NAMES: readonly DrmSystemName[] = ['widevine', 'playready', 'fairplay', 'clearkey'];
const systemsList: OptionCheck = (t, value, key) => {
  const names = value.split(',').map((s) => s.trim().toLowerCase());
  for (const n of names) {
    if (!(DRM_SYSTEM_NAMES as readonly string[]).includes(n)) {
      throw new ConfigError(t, `${key}= takes a comma-separated list of ${DRM_SYSTEM_NAMES.join(', ')}, not '${n}'`);
    }
  }
  if (new Set(names).size !== names.length) throw new ConfigError(t, `${key}= names a system twice`);
  return names.join(',');
};
const certSource: OptionCheck = (t, value, key) => {
  if (/^https?:/i.test(value)) return parseHttpUrl(t, value, key);
  if (!value.startsWith('/')) throw new ConfigError(t, `${key}= must be an absolute file path or an http(s) URL, not '${value}'`);
  return value;
};
const headerName: OptionCheck = (t, value) => parseHeaderName(t, value);
/** Key period of a live stream: a duration of at least a minute (10m, 1h, 600). Normalised to seconds. */
const rotatePeriod: OptionCheck = (t, value, key) => {
  const seconds = parseDuration({ ...t, value });
  if (!(seconds >= 60) || !Number.isInteger(seconds)) throw new ConfigError(t, `${key}= must be a whole number of seconds of at least 60 (e.g. 10m), not '${value}'`);
  return String(seconds);
};
const segmentCount: OptionCheck = (t, value, key) => {
  if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new ConfigError(t, `${key}= must be a whole number of segments from 1 to 999999, not '${value}'`);
  return value;
};
/**
 * Options every drm kind takes: the scheme of each output (Common Encryption for CMAF, TS method), the
 * DRM systems signalled, and the licence proxy's upstreams (see drmSignalling()).
 */
const SCHEME_OPTIONS: Readonly<Record<string, OptionCheck>> = {
  dash: scheme,
  hls: scheme,
  ts: tsMethod,
  systems: systemsList,
  la_url_widevine: httpUrl,
  la_url_playready: httpUrl,
  la_url_fairplay: httpUrl,
  fairplay_cert: certSource,
  license_header: headerName,
  license_auth: nonEmpty,
  license_auth_url: httpUrl,
  // Live streams only (checked by the stream block): a new KeyID per key period.
  rotate: rotatePeriod,
  rotate_segments: segmentCount,
};

/** KeyOS's licence servers (KEYOS.md): the licence proxy's upstreams by default for `drm keyos`. */
export const KEYOS_LICENSE_URLS = {
  widevine: 'https://wv-keyos.licensekeyserver.com/',
  playready: 'https://pr-keyos.licensekeyserver.com/core/rightsmanager.asmx',
  fairplay: 'https://fp-keyos.licensekeyserver.com/getkey',
} as const;
/** The header KeyOS licence servers read the customer's authentication XML from (KEYOS.md). */
export const KEYOS_AUTH_HEADER = 'customdata';

/** What a protected location signals and where its licence proxy forwards to. */
export interface DrmSignalling {
  /** In the order written (or the default order). */
  systems: DrmSystemName[];
  /** Upstream licence servers per system (the licence proxy forwards there). */
  licenseUrls: Partial<Record<'widevine' | 'playready' | 'fairplay', string>>;
  /** FairPlay application certificate: absolute path or URL. */
  fairplayCert?: string;
  /** Header added to upstream licence requests, with its value template or the URL that produces it. */
  licenseAuth?: { header: string; template?: string; url?: string };
}

/**
 * The signalling of a `drm` directive, from its options with the defaults applied: `systems=` (default
 * clearkey for local and static; widevine,playready,fairplay for keyos and cpix), `la_url_*=` (KeyOS's
 * licence servers by default for keyos), `fairplay_cert=`, `license_header=` (default `customdata` for
 * keyos) with `license_auth=TEMPLATE` or `license_auth_url=URL`.
 */
export function drmSignalling(drm: DrmConfig): DrmSignalling {
  const o = drm.options;
  const remote = drm.kind === 'keyos' || drm.kind === 'cpix';
  const systems = (o.systems ? o.systems.split(',') : remote ? ['widevine', 'playready', 'fairplay'] : ['clearkey']) as DrmSystemName[];
  const keyos = drm.kind === 'keyos';
  const licenseUrls: DrmSignalling['licenseUrls'] = {};
  for (const s of ['widevine', 'playready', 'fairplay'] as const) {
    const url = o[`la_url_${s}`] ?? (keyos ? KEYOS_LICENSE_URLS[s] : undefined);
    if (url !== undefined) licenseUrls[s] = url;
  }
  const header = o.license_header ?? (keyos ? KEYOS_AUTH_HEADER : undefined);
  const auth = header !== undefined && (o.license_auth !== undefined || o.license_auth_url !== undefined)
    ? { header, ...(o.license_auth !== undefined ? { template: o.license_auth } : {}), ...(o.license_auth_url !== undefined ? { url: o.license_auth_url } : {}) }
    : undefined;
  return { systems, licenseUrls, ...(o.fairplay_cert ? { fairplayCert: o.fairplay_cert } : {}), ...(auth ? { licenseAuth: auth } : {}) };
}


const DRM_KINDS: Readonly<Record<DrmKind, DrmKindSpec>> = {
  local: { usage: 'drm local [dash=cenc|cbcs] [hls=cbcs|cenc] [ts=aes-128|sample-aes]', options: {}, required: [], headers: false },
  static: {
    usage: 'drm static key=HEX32|v1:WRAPPED [kid=UUID]',
    options: { key: (t, v) => parseStaticKey(t, v, 'key'), kid: (t, v) => parseUuid(t, v, 'kid') },
    required: ['key'],
    headers: false,
  },
  keyos: {
    usage: 'drm keyos userkey=USERKEY [server_key=KEY] [url=URL]',
    options: { userkey: nonEmpty, server_key: nonEmpty, url: httpUrl, timeout: seconds, retries: retryCount },
    required: ['userkey'],
    headers: false,
  },
  cpix: {
    usage: 'drm cpix url=URL [header NAME=VALUE ...]',
    options: { url: httpUrl, timeout: seconds, retries: retryCount },
    required: ['url'],
    headers: true,
  },
};

const KIND_NAMES = Object.keys(DRM_KINDS) as DrmKind[];

function parseKind(t: Token): DrmKind {
  const kind = KIND_NAMES.find((k) => k === t.value);
  if (kind === undefined) {
    throw new ConfigError(t, `unknown drm kind '${t.value}': expected ${KIND_NAMES.join(', ')}`);
  }
  return kind;
}

interface DrmArgs {
  options: Map<string, string>;
  headers: Map<string, string>;
}

function readHeader(header: Token, pair: Token | undefined, headers: Map<string, string>): void {
  if (pair === undefined) throw new ConfigError(header, "missing value: expected 'header NAME=VALUE'");
  const { key, value } = splitOption(pair);
  const name = parseHeaderName(pair, key);
  // Header names are case-insensitive on the wire, so two spellings would be one header sent twice.
  const lower = name.toLowerCase();
  if ([...headers.keys()].some((n) => n.toLowerCase() === lower)) {
    throw new ConfigError(pair, `header '${name}' is given twice`);
  }
  headers.set(name, value);
}

function readOption(t: Token, kind: DrmKind, spec: DrmKindSpec, options: Map<string, string>): void {
  const { key, value } = splitOption(t);
  const check = Object.hasOwn(spec.options, key) ? spec.options[key] : Object.hasOwn(SCHEME_OPTIONS, key) ? SCHEME_OPTIONS[key] : undefined;
  if (check === undefined) {
    const known = [...Object.keys(spec.options), ...Object.keys(SCHEME_OPTIONS)];
    const expected = known.length === 0 ? 'it takes no options' : `expected ${known.join(', ')}`;
    throw new ConfigError(t, `unknown option '${key}' for drm ${kind}: ${expected}`);
  }
  if (options.has(key)) throw new ConfigError(t, `option '${key}' is given twice`);
  options.set(key, check(t, value, key));
}

function readArgs(args: Token[], kind: DrmKind, spec: DrmKindSpec): DrmArgs {
  const out: DrmArgs = { options: new Map(), headers: new Map() };
  for (let i = 0; i < args.length; i++) {
    const t = args[i];
    if (t === undefined) break;
    if (spec.headers && t.kind === 'word' && t.value === 'header') {
      readHeader(t, args[i + 1], out.headers);
      i++;
    } else {
      readOption(t, kind, spec, out.options);
    }
  }
  return out;
}

function build(kind: DrmKind, args: DrmArgs, pos: SourcePos): DrmConfig {
  const get = (key: string): string => args.options.get(key) ?? '';
  // fromEntries defines own properties, so a key like __proto__ cannot reach the prototype.
  const options = Object.fromEntries(args.options);
  const schemes = {
    dash: (args.options.get('dash') ?? 'cenc') as CencScheme,
    hls: (args.options.get('hls') ?? 'cbcs') as CencScheme,
    ts: (args.options.get('ts') ?? 'aes-128') as TsMethod,
  };
  switch (kind) {
    case 'local':
      return { kind, options, pos, schemes };
    case 'static': {
      const kid = args.options.get('kid');
      return kid === undefined ? { kind, key: get('key'), options, pos, schemes } : { kind, key: get('key'), kid, options, pos, schemes };
    }
    case 'keyos': {
      const serverKey = args.options.get('server_key');
      const url = args.options.get('url');
      return {
        kind,
        userkey: get('userkey'),
        ...(serverKey === undefined ? {} : { serverKey }),
        ...(url === undefined ? {} : { url }),
        options,
        pos,
        schemes,
      };
    }
    case 'cpix':
      return { kind, url: get('url'), headers: Object.fromEntries(args.headers), options, pos, schemes };
  }
}

/** `drm KIND [key=value ...]`; `pos` is the `drm` keyword. */
export function parseDrm(d: Directive, pos: SourcePos): DrmConfig {
  const [kindToken, ...rest] = d.args;
  if (kindToken === undefined) {
    throw new ConfigError(d.end, `missing value: expected drm ${KIND_NAMES.join('|')} [key=value ...]`);
  }
  const kind = parseKind(kindToken);
  const spec = DRM_KINDS[kind];
  const args = readArgs(rest, kind, spec);
  const missing = spec.required.find((key) => !args.options.has(key));
  if (missing !== undefined) throw new ConfigError(kindToken, `drm ${kind} needs ${missing}=...: expected ${spec.usage}`);
  if (args.options.has('license_auth') && args.options.has('license_auth_url')) {
    throw new ConfigError(kindToken, 'give license_auth= (a template) or license_auth_url= (a URL that returns the value), not both');
  }
  if ((args.options.has('license_auth') || args.options.has('license_auth_url')) && kind !== 'keyos' && !args.options.has('license_header')) {
    throw new ConfigError(kindToken, 'license_auth= and license_auth_url= need license_header=NAME (the header the licence server reads)');
  }
  if (args.options.has('rotate') && args.options.has('rotate_segments')) {
    throw new ConfigError(kindToken, 'give rotate= (a key period) or rotate_segments= (segments per key), not both');
  }
  if ((args.options.has('rotate') || args.options.has('rotate_segments')) && kind === 'static') {
    throw new ConfigError(kindToken, 'key rotation needs keys per KeyID: drm local, keyos or cpix, not static');
  }
  return build(kind, args, pos);
}

/** Seconds per key period (`rotate=`), segments per key (`rotate_segments=`), or undefined: no rotation. */
export function keyRotation(drm: DrmConfig): { seconds: number } | { segments: number } | undefined {
  if (drm.options.rotate !== undefined) return { seconds: Number(drm.options.rotate) };
  if (drm.options.rotate_segments !== undefined) return { segments: Number(drm.options.rotate_segments) };
  return undefined;
}
