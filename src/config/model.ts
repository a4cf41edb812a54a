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

interface DrmBase {
  /** Every `key=value` option as written (validated), including those copied into typed fields. */
  options: Record<string, string>;
  /** The `drm` keyword. */
  pos: SourcePos;
  /** Common Encryption scheme per output (`dash=` and `hls=` options): DASH cenc, HLS fMP4 cbcs by default. */
  schemes: { dash: CencScheme; hls: CencScheme };
}

export type CencScheme = 'cenc' | 'cbcs';

/** Keys derived from the server secret (the embedded default). */
export interface LocalDrm extends DrmBase {
  kind: 'local';
}

export interface StaticDrm extends DrmBase {
  kind: 'static';
  /** 32 lowercase hex digits. */
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

export type TopLevelDirective = 'http' | 'secret_file' | 'file' | 'stream';
export type FileDirective = 'path' | 'protocols' | 'segment_duration' | 'drm';
export type StreamDirective = 'input' | 'protocols' | 'resource_id' | 'drm' | 'dvr' | 'segment_duration';

/** A VOD location: URL prefix `/{name}/`, files below `path`. */
export interface FileLocation {
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
export interface StreamConfig {
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

export interface Config {
  /** Absolute path of the config file. */
  file: string;
  /** Defaults to port 8080 on all interfaces when there is no `http` directive. */
  http: HttpConfig;
  /** Absolute. */
  secretFile?: string;
  files: FileLocation[];
  streams: StreamConfig[];
  /** Where each top-level directive was written (`file`/`stream`: the first one; see each block's pos). */
  at: Partial<Record<TopLevelDirective, SourcePos>>;
}
