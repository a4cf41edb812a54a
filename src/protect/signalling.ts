/**
 * What players read to find out how a title is protected: DASH ContentProtection elements and HLS
 * EXT-X-KEY / EXT-X-SESSION-KEY lines. Pure strings; the caller supplies the URLs.
 */
import type { CencScheme } from './types.js';
import type { PsshBox } from '../mux/fmp4/init.js';
import type { DrmData, DrmSystemName } from '../keys/provider.js';
import { commonPssh } from './init-protection.js';
import { DRM_SYSTEM_IDS, parsePsshBox, playreadyObject, playreadyPssh, psshBase64, widevinePssh, wrmHeader } from './pssh.js';

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
  mspr: 'urn:microsoft:playready',
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

/** Everything the multi-DRM signalling of one title needs. */
export interface DrmSignallingInput {
  readonly scheme: CencScheme;
  readonly kid: Uint8Array;
  /** For the PlayReady 4.0 CHECKSUM when the packager builds the header. */
  readonly key: Uint8Array;
  /** In the order to signal them. */
  readonly systems: readonly DrmSystemName[];
  /** What the key server returned, used instead of what would be built. */
  readonly drm?: DrmData | undefined;
}

/** The pssh box of a system for this title: the key server's, else built (none for FairPlay). */
export function systemPssh(input: DrmSignallingInput, system: DrmSystemName): PsshBox | undefined {
  const vendor = input.drm?.pssh?.[system];
  if (vendor) return parsePsshBox(vendor);
  switch (system) {
    case 'clearkey':
      return commonPssh([input.kid]);
    case 'widevine':
      return widevinePssh([input.kid], input.scheme);
    case 'playready':
      return playreadyPssh(playreadyProOf(input));
    case 'fairplay':
      return undefined;
  }
}

/** The PlayReady Object: from the key server's pssh or header, else built (4.0 cenc / 4.3 cbcs). */
export function playreadyProOf(input: DrmSignallingInput): Uint8Array {
  const vendor = input.drm?.pssh?.playready;
  if (vendor) return parsePsshBox(vendor).data;
  if (input.drm?.playreadyObject) return input.drm.playreadyObject;
  return playreadyObject(wrmHeader(input.kid, input.scheme, { key: input.key }));
}

/** The pssh boxes of the init segment: one per signalled system that has one, in the systems' order. */
export function initPsshBoxes(input: DrmSignallingInput): PsshBox[] {
  return input.systems.flatMap((s) => {
    const box = systemPssh(input, s);
    return box ? [box] : [];
  });
}

/** Licence URLs the player is given (this server's endpoints: the licence proxy, the ClearKey licence). */
export type PlayerLicenseUrls = Partial<Record<DrmSystemName, string>>;

/**
 * The ContentProtection elements of a multi-DRM AdaptationSet: mp4protection (scheme, default_KID), then
 * one per signalled system in order — Widevine (cenc:pssh), PlayReady (cenc:pssh + mspr:pro), ClearKey
 * (Laurl) — each with `dashif:Laurl` when a licence URL is known. A key server's ContentProtectionData
 * replaces the built children of its system.
 */
export function dashMultiDrmProtection(input: DrmSignallingInput, urls: PlayerLicenseUrls): string {
  let out = `<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="${input.scheme}" cenc:default_KID="${uuid(input.kid)}"/>`;
  for (const system of input.systems) {
    const url = urls[system];
    const laurl = url ? `<dashif:Laurl>${xmlEscape(url)}</dashif:Laurl>` : '';
    const vendorData = input.drm?.contentProtectionData?.[system];
    switch (system) {
      case 'clearkey': {
        if (!url) break;
        const u = xmlEscape(url);
        out +=
          `<ContentProtection schemeIdUri="urn:uuid:${SYSTEM_IDS.clearkeyDash}" value="ClearKey1.0">` +
          `<dashif:Laurl>${u}</dashif:Laurl><clearkey:Laurl Lic_type="EME-1.0">${u}</clearkey:Laurl></ContentProtection>`;
        break;
      }
      case 'widevine': {
        const inner = vendorData ?? `<cenc:pssh>${psshBase64(systemPssh(input, 'widevine')!)}</cenc:pssh>`;
        out += `<ContentProtection schemeIdUri="urn:uuid:${DRM_SYSTEM_IDS.widevine}" value="Widevine">${inner}${laurl}</ContentProtection>`;
        break;
      }
      case 'playready': {
        const inner =
          vendorData ??
          `<cenc:pssh>${psshBase64(systemPssh(input, 'playready')!)}</cenc:pssh><mspr:pro>${Buffer.from(playreadyProOf(input)).toString('base64')}</mspr:pro>`;
        out += `<ContentProtection schemeIdUri="urn:uuid:${DRM_SYSTEM_IDS.playready}" value="MSPR 2.0">${inner}${laurl}</ContentProtection>`;
        break;
      }
      case 'fairplay':
        // FairPlay is not used with DASH.
        break;
    }
  }
  return out;
}

/** Only the lines of a key server's HLSSignalingData that are single tags of the expected kind. */
function vendorLines(text: string | undefined, tag: string): string[] | undefined {
  if (!text) return undefined;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith(`${tag}:`));
  return lines.length > 0 ? lines : undefined;
}

/**
 * The key tag attributes of each signalled system for an fMP4 HLS playlist, in order: FairPlay
 * (`skd://<content id>`, cbcs only), Widevine (pssh data URI + KEYID), PlayReady (PRO data URI), and
 * `identity` for ClearKey (the raw key at `identityUri`). A key server's HLSSignalingData replaces the
 * built line of its system.
 */
export function hlsMultiDrmLines(input: DrmSignallingInput, tag: '#EXT-X-KEY' | '#EXT-X-SESSION-KEY', opts: { identityUri: string; fairplayUri: string }): string[] {
  const method = input.scheme === 'cbcs' ? 'SAMPLE-AES' : 'SAMPLE-AES-CTR';
  const out: string[] = [];
  for (const system of input.systems) {
    const vendor = vendorLines(input.drm?.hls?.[system]?.[tag === '#EXT-X-KEY' ? 'media' : 'master'], tag);
    if (vendor) {
      out.push(...vendor);
      continue;
    }
    switch (system) {
      case 'clearkey':
        out.push(`${tag}:${hlsKeyAttributes(input.scheme, opts.identityUri)}`);
        break;
      case 'fairplay':
        if (input.scheme === 'cbcs') {
          out.push(`${tag}:METHOD=SAMPLE-AES,URI="${opts.fairplayUri.replace(/"/g, '%22')}",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"`);
        }
        break;
      case 'widevine':
        out.push(
          `${tag}:METHOD=${method},URI="data:text/plain;base64,${psshBase64(systemPssh(input, 'widevine')!)}",KEYID=0x${Buffer.from(input.kid).toString('hex')},` +
            `KEYFORMAT="urn:uuid:${DRM_SYSTEM_IDS.widevine}",KEYFORMATVERSIONS="1"`,
        );
        break;
      case 'playready':
        out.push(
          `${tag}:METHOD=${method},URI="data:text/plain;charset=UTF-16;base64,${Buffer.from(playreadyProOf(input)).toString('base64')}",` +
            `KEYFORMAT="com.microsoft.playready",KEYFORMATVERSIONS="1"`,
        );
        break;
    }
  }
  return out;
}

/** The FairPlay key URI: the asset id (here the KeyID) as the host, as KeyOS's FairPlay server expects. */
export function fairplayUri(kid: Uint8Array): string {
  return `skd://${uuid(kid)}`;
}
