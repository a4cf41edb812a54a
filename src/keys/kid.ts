/**
 * KeyIDs: 16 bytes, written as a UUID in sidecars, configs and manifests, as hex in `tenc`/pssh dumps and
 * as unpadded base64url in ClearKey licence requests (W3C EME).
 */
import { PackagerError, ErrorCode } from '../media/errors.js';

export const KID_BYTES = 16;

const HEX32 = /^[0-9a-fA-F]{32}$/;
const DASHED = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const EXPECTED = 'expected a UUID: 32 hex digits, with or without dashes (5d6e1c3a-2f1b-4d8e-9a6b-0c1d2e3f4a5b)';

/**
 * Parses a KeyID as written by people and tools: dashed or not, any case, surrounding whitespace (a
 * trailing newline, CRLF, a BOM from a Windows editor) ignored. Anything else is refused rather than
 * guessed at, because a wrong KID encrypts with a key nobody can license. The nil UUID is refused too:
 * it is the placeholder of templates, and with derived keys every title carrying it would share a key.
 * Throws PackagerError(BAD_REQUEST) with a message that never echoes the input (callers add context).
 */
export function parseKid(text: string): Uint8Array {
  const t = text.trim();
  let hex: string;
  if (HEX32.test(t)) hex = t;
  else if (DASHED.test(t)) hex = t.replaceAll('-', '');
  else throw new PackagerError(ErrorCode.BAD_REQUEST, `not a KeyID: ${describeProblem(t)}; ${EXPECTED}`);
  const kid = Uint8Array.from(Buffer.from(hex, 'hex'));
  if (kid.every((b) => b === 0)) {
    throw new PackagerError(ErrorCode.BAD_REQUEST, 'not a KeyID: the nil UUID (all zeros) is a placeholder, not a KeyID');
  }
  return kid;
}

function describeProblem(t: string): string {
  if (t === '') return 'empty';
  if (/[^0-9a-fA-F-]/.test(t)) return 'it holds characters other than hex digits and dashes';
  const digits = t.replaceAll('-', '').length;
  if (digits !== 32) return `it has ${digits} hex digits, not 32`;
  return 'its dashes are not in the 8-4-4-4-12 places of a UUID';
}

/** Lowercase dashed UUID: the form sidecars, configs and DASH `cenc:default_KID` use. */
export function kidToUuid(kid: Uint8Array): string {
  const h = kidToHex(kid);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** 32 lowercase hex digits: the map key used wherever KIDs are looked up. */
export function kidToHex(kid: Uint8Array): string {
  assertKid(kid);
  return Buffer.from(kid.buffer, kid.byteOffset, kid.byteLength).toString('hex');
}

/** Unpadded base64url, as in a ClearKey licence request or response (`kids`, `kid`). */
export function kidToB64url(kid: Uint8Array): string {
  assertKid(kid);
  return Buffer.from(kid.buffer, kid.byteOffset, kid.byteLength).toString('base64url');
}

/**
 * Reads a KID from a ClearKey licence request. EME says unpadded base64url; some players pad it or use
 * the standard alphabet, which is unambiguous, so both are taken. Buffer's decoder skips junk silently,
 * so the text is checked to be the canonical encoding of exactly 16 bytes.
 */
export function kidFromB64url(s: string): Uint8Array {
  const url = s.trim().replace(/={1,2}$/, '').replaceAll('+', '-').replaceAll('/', '_');
  if (/^[A-Za-z0-9_-]{22}$/.test(url)) {
    const bytes = Buffer.from(url, 'base64url');
    if (bytes.length === KID_BYTES && bytes.toString('base64url') === url) return Uint8Array.from(bytes);
  }
  throw new PackagerError(ErrorCode.BAD_REQUEST, 'not a KeyID: expected 16 bytes in base64url (22 characters)');
}

export function kidEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function assertKid(kid: Uint8Array): void {
  if (kid.length !== KID_BYTES) throw new TypeError(`a KeyID has ${KID_BYTES} bytes, not ${kid.length}`);
}
