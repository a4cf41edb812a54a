import { ErrorCode, PackagerError } from '../media/errors.js';
import type { SourcePos } from './model.js';

/** `FILE:LINE:COLUMN: message` — the shape editors and CI annotators turn into a link. */
export function formatAt(pos: SourcePos, message: string): string {
  return `${pos.file}:${pos.line}:${pos.column}: ${message}`;
}

/**
 * A config file that cannot be accepted. `message` is the full `FILE:LINE:COLUMN: reason` line;
 * `reason` is the part after the position. Not exposed to HTTP clients: it names server paths.
 */
export class ConfigError extends PackagerError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(pos: SourcePos, reason: string) {
    super(ErrorCode.CONFIG_INVALID, formatAt(pos, reason), { expose: false });
    this.name = 'ConfigError';
    this.file = pos.file;
    this.line = pos.line;
    this.column = pos.column;
    this.reason = reason;
  }
}

export function isConfigError(e: unknown): e is ConfigError {
  return e instanceof ConfigError;
}
