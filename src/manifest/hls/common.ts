import { ErrorCode, PackagerError } from '../../media/errors.js';

/** Baseline protocol versions: 3 for decimal EXTINF (TS), 6 for EXT-X-MAP in a media playlist. */
export const BASE_VERSION = { ts: 3, fmp4: 6 } as const;

/**
 * The lowest EXT-X-VERSION the given verbatim key lines need (RFC 8216 §7): IV needs 2;
 * SAMPLE-AES, KEYFORMAT and KEYFORMATVERSIONS need 5.
 */
export function versionForKeyLines(lines: readonly string[]): number {
  let v = 1;
  for (const line of lines) {
    const attrs = line.slice(line.indexOf(':') + 1);
    if (/(^|,)\s*(KEYFORMAT|KEYFORMATVERSIONS)=/.test(attrs) || /(^|,)\s*METHOD=SAMPLE-AES/.test(attrs)) {
      v = Math.max(v, 5);
    }
    if (/(^|,)\s*IV=/.test(attrs)) v = Math.max(v, 2);
  }
  return v;
}

/**
 * Verbatim lines from another layer (keys) must be one tag each: a CR/LF inside would let them write
 * arbitrary playlist lines.
 */
export function checkTagLines(lines: readonly string[], tag: string): void {
  for (const line of lines) {
    if (!line.startsWith(`${tag}:`) || /[\r\n]/.test(line)) {
      throw new PackagerError(ErrorCode.MUX_FAILURE, `manifest: not a single ${tag} line`);
    }
  }
}

export type AttrValue = { quoted: string } | { raw: string | number };

/** An HLS attribute list; quoted values must not hold '"', CR or LF (RFC 8216 §4.2), so we drop them. */
export function attributeList(attrs: ReadonlyArray<readonly [string, AttrValue | undefined]>): string {
  const parts: string[] = [];
  for (const [name, value] of attrs) {
    if (value === undefined) continue;
    if ('quoted' in value) parts.push(`${name}="${value.quoted.replace(/["\r\n]/g, '')}"`);
    else parts.push(`${name}=${value.raw}`);
  }
  return parts.join(',');
}
