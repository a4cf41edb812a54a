/**
 * The typed configuration model, as parsed from a Flussonic-style config file.
 *
 * Every block and directive keeps the place it was written (`pos`, `at`), so any later stage (the HTTP
 * server, the live input, the key providers) can report a problem as `file:line:column: message`
 * pointing at the line the operator has to change.
 *
 * Secrets (static keys, KeyOS userkey/server_key, CPIX headers) live in this model as plain strings:
 * never log a DrmConfig as a whole.
 */

export type Protocol = 'hls' | 'dash';

/** A place in the config file; line and column are 1-based, columns count Unicode code points. */
export interface SourcePos {
  /** The config file as it was named to the parser (used verbatim in messages). */
  file: string;
  line: number;
  column: number;
}

export type DrmKind = 'local' | 'static' | 'keyos' | 'cpix';

/** The DRM systems a location can signal (`drm … systems=`). */
export type DrmSystemName = 'widevine' | 'playready' | 'fairplay' | 'clearkey';

interface DrmBase {
  /** Every `key=value` option as written (validated), including those copied into typed fields. */
  options: Record<string, string>;
  /** The `drm` keyword. */
  pos: SourcePos;
  /**
   * Scheme per output: Common Encryption for DASH (`dash=`, cenc by default) and HLS fMP4 (`hls=`, cbcs by
   * default); the HLS MPEG-TS method (`ts=`, aes-128 by default).
   */
  schemes: { dash: CencScheme; hls: CencScheme; ts: TsMethod };
}

export type CencScheme = 'cenc' | 'cbcs';

/** HLS MPEG-TS encryption: whole segments AES-128-CBC, or SAMPLE-AES (H.264 NAL units and AAC frames). */
export type TsMethod = 'aes-128' | 'sample-aes';

/** Keys derived from the server secret (the embedded default). */
export interface LocalDrm extends DrmBase {
  kind: 'local';
}

export interface StaticDrm extends DrmBase {
  kind: 'static';
  /**
   * 32 lowercase hex digits (a plain key: warned about at start), or a key wrapped under the key-encryption
   * key, `v1:<base64url>` as `packager wrap-key` prints it (see keys/wrap.ts). Never log it.
   */
  key: string;
  /** Lowercase dashed UUID. */
  kid?: string;
}

/** BuyDRM KeyOS. */
export interface KeyosDrm extends DrmBase {
  kind: 'keyos';
  userkey: string;
  serverKey?: string;
  /** Overrides the KeyOS endpoint (http or https URL). */
  url?: string;
}

/** Any SPEKE v2 / CPIX key server. */
export interface CpixDrm extends DrmBase {
  kind: 'cpix';
  url: string;
  /** Extra request headers, names as written. */
  headers: Record<string, string>;
}

export type DrmConfig = LocalDrm | StaticDrm | KeyosDrm | CpixDrm;

export type TopLevelDirective =
  | 'http'
  | 'secret_file'
  | 'kek_file'
  | 'token_secret'
  | 'auth'
  | 'key_rate_limit'
  | 'admin_token'
  | 'dev_tokens'
  | 'log_level'
  | 'access_log'
  | 'file'
  | 'stream';
export type FileDirective = 'path' | 'protocols' | 'segment_duration' | 'drm' | 'token_secret' | 'auth';
export type StreamDirective = 'input' | 'protocols' | 'resource_id' | 'drm' | 'dvr' | 'segment_duration' | 'token_secret' | 'auth';

/**
 * Access control of a location (or, at top level, the default of every location). Both absent: nothing
 * is required (development setups, the bundled config).
 */
export interface AccessConfig {
  /**
   * `token_secret SECRET [OLD_SECRET ...];`: HMAC-SHA256 secrets of the access tokens, as UTF-8 text; the
   * first signs (`packager token`), every one verifies (rotation). Empty: `token_secret off;` (no tokens
   * here even when the top level or the environment has a secret). Never log it.
   */
  tokenSecrets?: string[];
  /** `auth URL;`: the auth backend asked before a playlist, key or licence is served; false: `auth off;`. */
  auth?: string | false;
}

/** A VOD location: URL prefix `/{name}/`, files below `path`. */
export interface FileLocation extends AccessConfig {
  kind: 'file';
  name: string;
  /** Absolute (relative paths are resolved against the config file's directory). */
  path: string;
  protocols: Protocol[];
  /** Target segment duration in seconds (default 4). */
  segmentDuration: number;
  drm?: DrmConfig;
  /** The `file` keyword. */
  pos: SourcePos;
  /** Where each directive of the block was written; absent when it was not (a default applies). */
  at: Partial<Record<FileDirective, SourcePos>>;
}

export interface DvrConfig {
  /** Absolute. */
  path: string;
  depthSeconds: number;
  pos: SourcePos;
}

/** A live channel: URL prefix `/{name}/`. */
export interface StreamConfig extends AccessConfig {
  kind: 'stream';
  name: string;
  /** Input URLs in the order written (at least one; today only `udp://[IFACE@]HOST:PORT`). */
  inputs: string[];
  /** `inputPositions[i]` is where `inputs[i]` was written. */
  inputPositions: SourcePos[];
  protocols: Protocol[];
  /** Lowercase dashed UUID: the KeyID of the stream. */
  resourceId?: string;
  drm?: DrmConfig;
  dvr?: DvrConfig;
  segmentDuration: number;
  /** The `stream` keyword. */
  pos: SourcePos;
  /** Where each directive was written (`input`: its first occurrence). */
  at: Partial<Record<StreamDirective, SourcePos>>;
}

export type Location = FileLocation | StreamConfig;

export interface HttpConfig {
  port: number;
  /** Address to listen on; `0.0.0.0` unless `http HOST:PORT` names one (IPv6 without brackets). */
  host: string;
}

/** Token buckets of the key and licence endpoints, per client address and per token. */
export interface RateLimitConfig {
  /** Requests allowed at once. */
  burst: number;
  /** Refill rate, requests per second. */
  perSecond: number;
}

export interface Config extends AccessConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Defaults to port 8080 on all interfaces when there is no `http` directive. */
  http: HttpConfig;
  /** Absolute. */
  secretFile?: string;
  /** Absolute: the key-encryption key that unwraps `drm static key=v1:…` (PACKAGER_KEK overrides it). */
  kekFile?: string;
  /** `key_rate_limit BURST PER_SECOND;` (default 20 and 5); false: `key_rate_limit off;`. */
  keyRateLimit?: RateLimitConfig | false;
  /**
   * `admin_token SECRET;`: /api and /metrics (and the player's listing and dev tokens) need
   * `Authorization: Bearer SECRET`. Absent: they answer loopback clients only. Never log it.
   */
  adminToken?: string;
  /** `dev_tokens on;`: the player page may mint access tokens (GET /player/token); off by default. */
  devTokens?: boolean;
  /** `log_level debug|info|warn|error;` (default info). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** `access_log on|off;`: one JSON line per request (default on). */
  accessLog?: boolean;
  files: FileLocation[];
  streams: StreamConfig[];
  /** Where each top-level directive was written (`file`/`stream`: the first one; see each block's pos). */
  at: Partial<Record<TopLevelDirective, SourcePos>>;
}
