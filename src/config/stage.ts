import type { Config, SourcePos } from './model.js';

/** Something the config asks for that this build parses but cannot serve yet. */
export interface UnsupportedFeature {
  pos: SourcePos;
  message: string;
}

interface StageRule {
  message: string;
  /** Where the feature is used in a config. */
  find(config: Config): SourcePos[];
}

/**
 * What the server cannot serve yet. The one list to edit as features land: delete a rule once the
 * feature is served end to end.
 */
const NOT_SERVED_YET: readonly StageRule[] = [];

function byPosition(a: UnsupportedFeature, b: UnsupportedFeature): number {
  return a.pos.line - b.pos.line || a.pos.column - b.pos.column;
}

/**
 * Every use of a not-yet-served feature, in file order. The server refuses to start on a config for
 * which this is not empty, printing each as `file:line:column: message` (see formatAt).
 */
export function unsupportedFeatures(config: Config): UnsupportedFeature[] {
  return NOT_SERVED_YET.flatMap((rule) => rule.find(config).map((pos) => ({ pos, message: rule.message }))).sort(
    byPosition,
  );
}
