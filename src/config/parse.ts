import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCode, PackagerError } from '../media/errors.js';
import { parseDrm } from './drm.js';
import { ConfigError } from './errors.js';
import type {
  AccessConfig,
  Config,
  DrmConfig,
  FileDirective,
  FileLocation,
  Protocol,
  SourcePos,
  StreamConfig,
  StreamDirective,
  TopLevelDirective,
} from './model.js';
import { parseDirectives, type Directive, type SyntaxRules } from './syntax.js';
import { tokenize, type Token } from './tokenizer.js';
import {
  DEFAULT_SEGMENT_DURATION,
  PROTOCOLS,
  expectArgs,
  parseAdminToken,
  parseLogLevel,
  parseOnOff,
  parseDuration,
  parseListen,
  parseHttpUrl,
  parseName,
  parsePositive,
  parseProtocols,
  parseTokenSecret,
  parseSegmentDuration,
  parseUdpInput,
  parseUuid,
  resolvePath,
} from './validate.js';

export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_HTTP_HOST = '0.0.0.0';

interface Ctx {
  /** Absolute directory of the config file: the base of relative paths. */
  dir: string;
}

interface Spec<B> {
  usage: string;
  /** Allowed number of arguments, inclusive. */
  args: readonly [number, number];
  block?: boolean;
  repeatable?: boolean;
  apply(d: Directive, into: B, ctx: Ctx): void;
}

interface Context<K extends string, B> {
  label: string;
  specs: Readonly<Record<K, Spec<B>>>;
}

interface TopDraft {
  config: Config;
  /** The same object as config.at. */
  at: Config['at'];
  /** Lowercased names of files and streams: they share one URL namespace, matched case-insensitively. */
  names: Map<string, { kind: string; name: string; pos: SourcePos }>;
}

type FileDraft = Omit<FileLocation, 'path'> & { path?: string };

function posOf(t: Token): SourcePos {
  return { file: t.file, line: t.line, column: t.column };
}

function arg(d: Directive, i: number): Token {
  const t = d.args[i];
  // expectArgs ran before apply(), so this only guards against a wrong `args` range in a spec.
  if (t === undefined) throw new ConfigError(d.end, `missing value for '${d.name.value}'`);
  return t;
}

function protocolsSpec<B extends { protocols: Protocol[] }>(): Spec<B> {
  return {
    usage: `protocols ${PROTOCOLS.join(' ')}`,
    args: [1, PROTOCOLS.length],
    apply: (d, into) => {
      into.protocols = parseProtocols(d.args);
    },
  };
}

function segmentDurationSpec<B extends { segmentDuration: number }>(): Spec<B> {
  return {
    usage: 'segment_duration SECONDS',
    args: [1, 1],
    apply: (d, into) => {
      into.segmentDuration = parseSegmentDuration(arg(d, 0));
    },
  };
}

function drmSpec<B extends { drm?: DrmConfig }>(): Spec<B> {
  return {
    usage: 'drm local|static|keyos|cpix [key=value ...]',
    args: [1, Number.POSITIVE_INFINITY],
    apply: (d, into) => {
      into.drm = parseDrm(d, posOf(d.name));
    },
  };
}

/** `token_secret SECRET [OLD ...];` or `token_secret off;` into the access config `pick` returns. */
function tokenSecretSpec<B>(pick: (b: B) => AccessConfig): Spec<B> {
  return {
    usage: 'token_secret SECRET [OLD_SECRET ...] or token_secret off',
    args: [1, Number.POSITIVE_INFINITY],
    apply: (d, into) => {
      const first = arg(d, 0);
      if (first.kind === 'word' && first.value === 'off') {
        const extra = d.args[1];
        if (extra !== undefined) throw new ConfigError(extra, `unexpected '${extra.value.length > 12 ? 'value' : extra.value}': 'token_secret off' takes nothing else`);
        pick(into).tokenSecrets = [];
        return;
      }
      const secrets = d.args.map((t) => parseTokenSecret(t));
      const again = d.args.find((t, i) => secrets.indexOf(t.value) !== i);
      if (again !== undefined) throw new ConfigError(again, 'the same token_secret is given twice');
      pick(into).tokenSecrets = secrets;
    },
  };
}

/** `auth URL;` or `auth off;`. */
function authSpec<B>(pick: (b: B) => AccessConfig): Spec<B> {
  return {
    usage: 'auth URL or auth off',
    args: [1, 1],
    apply: (d, into) => {
      const t = arg(d, 0);
      pick(into).auth = t.kind === 'word' && t.value === 'off' ? false : parseHttpUrl(t, t.value, 'auth URL');
    },
  };
}

const FILE_SPECS: Readonly<Record<FileDirective, Spec<FileDraft>>> = {
  path: {
    usage: 'path PATH',
    args: [1, 1],
    apply: (d, f, ctx) => {
      f.path = resolvePath(arg(d, 0), ctx.dir);
    },
  },
  protocols: protocolsSpec(),
  segment_duration: segmentDurationSpec(),
  drm: drmSpec(),
  token_secret: tokenSecretSpec((f) => f),
  auth: authSpec((f) => f),
};

const STREAM_SPECS: Readonly<Record<StreamDirective, Spec<StreamConfig>>> = {
  input: {
    usage: 'input URL',
    args: [1, 1],
    repeatable: true,
    apply: (d, s) => {
      s.inputs.push(parseUdpInput(arg(d, 0)));
      s.inputPositions.push(posOf(d.name));
    },
  },
  protocols: protocolsSpec(),
  resource_id: {
    usage: 'resource_id UUID',
    args: [1, 1],
    apply: (d, s) => {
      s.resourceId = parseUuid(arg(d, 0), arg(d, 0).value, 'resource_id');
    },
  },
  drm: drmSpec(),
  dvr: {
    usage: 'dvr PATH DEPTH',
    args: [2, 2],
    apply: (d, s, ctx) => {
      s.dvr = { path: resolvePath(arg(d, 0), ctx.dir), depthSeconds: parseDuration(arg(d, 1)), pos: posOf(d.name) };
    },
  },
  segment_duration: segmentDurationSpec(),
  token_secret: tokenSecretSpec((s) => s),
  auth: authSpec((s) => s),
};

const FILE_CONTEXT: Context<FileDirective, FileDraft> = { label: 'a file block', specs: FILE_SPECS };
const STREAM_CONTEXT: Context<StreamDirective, StreamConfig> = { label: 'a stream block', specs: STREAM_SPECS };

/** Files and streams share the URL namespace `/{name}/`, so a name may be used once across both. */
function claimName(t: Token, kind: string, top: TopDraft): string {
  const name = parseName(t);
  const previous = top.names.get(name.toLowerCase());
  if (previous !== undefined) {
    const at = `${previous.pos.line}:${previous.pos.column}`;
    throw new ConfigError(t, `duplicate name '${name}': already used by ${previous.kind} '${previous.name}' at ${at}`);
  }
  top.names.set(name.toLowerCase(), { kind, name, pos: posOf(t) });
  return name;
}

function defaultProtocols(): Protocol[] {
  return [...PROTOCOLS];
}

function applyFile(d: Directive, top: TopDraft, ctx: Ctx): void {
  const name = claimName(arg(d, 0), 'file', top);
  const draft: FileDraft = {
    kind: 'file',
    name,
    protocols: defaultProtocols(),
    segmentDuration: DEFAULT_SEGMENT_DURATION,
    pos: posOf(d.name),
    at: {},
  };
  applyAll(d.block ?? [], FILE_CONTEXT, draft, ctx);
  const { path, ...rest } = draft;
  if (path === undefined) throw new ConfigError(d.name, `file '${name}' needs a 'path'`);
  if (draft.drm && (draft.drm.options.rotate !== undefined || draft.drm.options.rotate_segments !== undefined)) {
    throw new ConfigError(draft.drm.pos, 'key rotation (rotate=, rotate_segments=) applies to live streams, not to files');
  }
  top.config.files.push({ ...rest, path });
}

function applyStream(d: Directive, top: TopDraft, ctx: Ctx): void {
  const name = claimName(arg(d, 0), 'stream', top);
  const stream: StreamConfig = {
    kind: 'stream',
    name,
    inputs: [],
    inputPositions: [],
    protocols: defaultProtocols(),
    segmentDuration: DEFAULT_SEGMENT_DURATION,
    pos: posOf(d.name),
    at: {},
  };
  applyAll(d.block ?? [], STREAM_CONTEXT, stream, ctx);
  if (stream.inputs.length === 0) throw new ConfigError(d.name, `stream '${name}' needs at least one 'input'`);
  // A live stream's KeyID is its resource_id (or the static key's kid=): there is no sidecar to read.
  if (stream.drm && stream.resourceId === undefined && !(stream.drm.kind === 'static' && stream.drm.kid !== undefined)) {
    throw new ConfigError(stream.drm.pos, `protected stream '${name}' needs 'resource_id UUID;' (its KeyID)`);
  }
  top.config.streams.push(stream);
}

const TOP_SPECS: Readonly<Record<TopLevelDirective, Spec<TopDraft>>> = {
  http: {
    usage: 'http PORT or http HOST:PORT',
    args: [1, 1],
    apply: (d, top) => {
      top.config.http = parseListen(arg(d, 0));
    },
  },
  secret_file: {
    usage: 'secret_file PATH',
    args: [1, 1],
    apply: (d, top, ctx) => {
      top.config.secretFile = resolvePath(arg(d, 0), ctx.dir);
    },
  },
  kek_file: {
    usage: 'kek_file PATH',
    args: [1, 1],
    apply: (d, top, ctx) => {
      top.config.kekFile = resolvePath(arg(d, 0), ctx.dir);
    },
  },
  token_secret: tokenSecretSpec((top) => top.config),
  auth: authSpec((top) => top.config),
  key_rate_limit: {
    usage: 'key_rate_limit BURST PER_SECOND or key_rate_limit off',
    args: [1, 2],
    apply: (d, top) => {
      const first = arg(d, 0);
      if (d.args.length === 1 && first.kind === 'word' && first.value === 'off') {
        top.config.keyRateLimit = false;
        return;
      }
      if (!/^\d+$/.test(first.value) || Number(first.value) < 1) {
        throw new ConfigError(first, `invalid burst '${first.value}': expected a whole number of requests, at least 1`);
      }
      const rate = d.args[1];
      if (rate === undefined) throw new ConfigError(d.end, 'missing value: expected key_rate_limit BURST PER_SECOND or key_rate_limit off');
      top.config.keyRateLimit = { burst: Number(first.value), perSecond: parsePositive(rate, 'rate') };
    },
  },
  admin_token: {
    usage: 'admin_token SECRET',
    args: [1, 1],
    apply: (d, top) => {
      top.config.adminToken = parseAdminToken(arg(d, 0));
    },
  },
  dev_tokens: {
    usage: 'dev_tokens on|off',
    args: [1, 1],
    apply: (d, top) => {
      top.config.devTokens = parseOnOff(arg(d, 0), 'dev_tokens');
    },
  },
  log_level: {
    usage: 'log_level debug|info|warn|error',
    args: [1, 1],
    apply: (d, top) => {
      top.config.logLevel = parseLogLevel(arg(d, 0));
    },
  },
  access_log: {
    usage: 'access_log on|off',
    args: [1, 1],
    apply: (d, top) => {
      top.config.accessLog = parseOnOff(arg(d, 0), 'access_log');
    },
  },
  file: { usage: 'file NAME { ... }', args: [1, 1], block: true, repeatable: true, apply: applyFile },
  stream: { usage: 'stream NAME { ... }', args: [1, 1], block: true, repeatable: true, apply: applyStream },
};

const TOP_CONTEXT: Context<TopLevelDirective, TopDraft> = { label: 'top level', specs: TOP_SPECS };

const ALL_CONTEXTS: ReadonlyArray<Context<string, never>> = [TOP_CONTEXT, FILE_CONTEXT, STREAM_CONTEXT];

const SYNTAX_RULES: SyntaxRules = {
  directiveNames: new Set(ALL_CONTEXTS.flatMap((c) => Object.keys(c.specs))),
  topLevelBlocks: new Set(['file', 'stream']),
};

function unknownDirective(name: Token, where: Context<string, never>): ConfigError {
  const elsewhere = ALL_CONTEXTS.filter((c) => c !== where && Object.hasOwn(c.specs, name.value)).map((c) => c.label);
  const hint = elsewhere.length === 0 ? '' : ` (allowed in ${elsewhere.join(' or ')})`;
  const here = where === TOP_CONTEXT ? 'at top level' : `in ${where.label}`;
  return new ConfigError(name, `unknown directive '${name.value}' ${here}${hint}`);
}

function checkShape<B>(d: Directive, spec: Spec<B>): void {
  const name = d.name.value;
  if (spec.block === true && d.block === undefined) {
    throw new ConfigError(d.end, `'${name}' needs a block: expected ${spec.usage}`);
  }
  if (spec.block !== true && d.block !== undefined) {
    throw new ConfigError(d.end, `'${name}' does not take a block: expected ${spec.usage}`);
  }
  expectArgs(d, spec.args[0], spec.args[1], spec.usage);
}

function applyAll<K extends string, B extends { at: Partial<Record<K, SourcePos>> }>(
  directives: Directive[],
  context: Context<K, B>,
  into: B,
  ctx: Ctx,
): void {
  for (const d of directives) {
    const key = d.name.value as K;
    if (!Object.hasOwn(context.specs, key)) throw unknownDirective(d.name, context);
    const spec = context.specs[key];
    const first = into.at[key];
    if (first !== undefined && spec.repeatable !== true) {
      throw new ConfigError(d.name, `duplicate '${key}' (first at ${first.line}:${first.column})`);
    }
    checkShape(d, spec);
    spec.apply(d, into, ctx);
    into.at[key] ??= posOf(d.name);
  }
}

/**
 * Parses config text. Pure: `file` names the config in messages and positions, and relative paths
 * are resolved against its directory. Throws ConfigError (`FILE:LINE:COLUMN: message`) at the first
 * problem.
 */
export function parseConfig(text: string, file: string): Config {
  const absolute = resolve(file);
  const directives = parseDirectives(tokenize(text, file), SYNTAX_RULES);
  const config: Config = {
    file: absolute,
    http: { port: DEFAULT_HTTP_PORT, host: DEFAULT_HTTP_HOST },
    files: [],
    streams: [],
    at: {},
  };
  applyAll(directives, TOP_CONTEXT, { config, at: config.at, names: new Map() }, { dir: dirname(absolute) });
  return config;
}

/**
 * Reads and parses a config file. A file that cannot be read is a PackagerError (CONFIG_INVALID)
 * whose message starts with the path; a file that does not parse is a ConfigError.
 */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new PackagerError(ErrorCode.CONFIG_INVALID, `${path}: cannot read config: ${reason}`, {
      expose: false,
      cause,
    });
  }
  return parseConfig(text, path);
}
