/**
 * What players read to find out how a title is protected: DASH ContentProtection elements and HLS
 * EXT-X-KEY / EXT-X-SESSION-KEY lines. Pure strings; the caller supplies the URLs.
 */
import type { CencScheme } from './types.js';

export const SYSTEM_IDS = {
  /** W3C common PSSH (ClearKey's init data). */
  common: '1077efec-c0b2-4d02-ace3-3c1e52e2fb4b',
  /** DASH-IF ClearKey ContentProtection scheme. */
  clearkeyDash: 'e2719d58-a985-b3c9-781a-b030af78d30e',
} as const;

/** Namespaces the ContentProtection elements below use (prefixes as ExoPlayer matches them literally). */
export const DASH_PROTECTION_NAMESPACES: Readonly<Record<string, string>> = {
  cenc: 'urn:mpeg:cenc:2013',
  dashif: 'https://dashif.org/CPS',
  clearkey: 'http://dashif.org/guidelines/clearKey',
};

function uuid(kid: Uint8Array): string {
  const h = Buffer.from(kid).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The mp4protection element (scheme + default_KID, which ExoPlayer needs to build ClearKey init data)
 * and the ClearKey element with the licence URL in both spellings players look for: `dashif:Laurl`
 * (Shaka, dash.js) and `clearkey:Laurl Lic_type="EME-1.0"` (Shaka's older rule, ExoPlayer).
 */
export function dashContentProtection(scheme: CencScheme, kid: Uint8Array, clearKeyLicenseUrl: string): string {
  const url = xmlEscape(clearKeyLicenseUrl);
  return (
    `<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="${scheme}" cenc:default_KID="${uuid(kid)}"/>` +
    `<ContentProtection schemeIdUri="urn:uuid:${SYSTEM_IDS.clearkeyDash}" value="ClearKey1.0">` +
    `<dashif:Laurl>${url}</dashif:Laurl>` +
    `<clearkey:Laurl Lic_type="EME-1.0">${url}</clearkey:Laurl>` +
    `</ContentProtection>`
  );
}

/**
 * The key tag of an fMP4 HLS playlist: SAMPLE-AES for cbcs (RFC 8216), SAMPLE-AES-CTR for cenc
 * (rfc8216bis). The IVs live in the init segment (tenc) and the fragments (senc), never in the tag.
 * `identity` keys are fetched from `keyUri` as 16 raw bytes.
 */
export function hlsKeyAttributes(scheme: CencScheme, keyUri: string): string {
  const method = scheme === 'cbcs' ? 'SAMPLE-AES' : 'SAMPLE-AES-CTR';
  return `METHOD=${method},URI="${keyUri.replace(/"/g, '%22')}",KEYFORMAT="identity",KEYFORMATVERSIONS="1"`;
}

export function hlsKeyLine(scheme: CencScheme, keyUri: string): string {
  return `#EXT-X-KEY:${hlsKeyAttributes(scheme, keyUri)}`;
}

export function hlsSessionKeyLine(scheme: CencScheme, keyUri: string): string {
  return `#EXT-X-SESSION-KEY:${hlsKeyAttributes(scheme, keyUri)}`;
}
