/**
 * A small leveled logger writing one JSON object per line to stderr. Callers pass facts, never keys,
 * tokens or secrets; as a second line of defence, fields named like credentials, `token=` query values
 * and anything shaped like a JWT are redacted before a line is written.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Changes the minimum level (the config's `log_level`, applied on reload too). */
  setLevel?(level: LogLevel): void;
}

/** Field names whose values are never written. */
const SECRET_FIELD = /^(?:token|tokens|secret|secrets|key|keys|password|authorization|cookie|userkey|server_?key|admin_?token|token_?secrets?)$/i;
const TOKEN_QUERY = /([?&](?:token|access_token)=)[^&#\s"]+/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}/g;
const BEARER = /(Bearer\s+)\S+/gi;

export const REDACTED = '[redacted]';

function redactString(s: string): string {
  return s.replace(TOKEN_QUERY, `$1${REDACTED}`).replace(JWT, REDACTED).replace(BEARER, `$1${REDACTED}`);
}

/** A copy of `v` with credentials removed (see SECRET_FIELD); bounded depth. */
export function redact(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return redactString(v);
  if (v === null || typeof v !== 'object' || depth > 4) return v;
  if (Array.isArray(v)) return v.map((x) => redact(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = SECRET_FIELD.test(k) && x !== undefined ? REDACTED : redact(x, depth + 1);
  return out;
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  let min = ORDER[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < min) return;
    const safe = fields ? (redact(fields) as Record<string, unknown>) : undefined;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: redactString(msg), ...safe })}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    setLevel: (l) => {
      min = ORDER[l];
    },
  };
}
