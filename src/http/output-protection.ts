/**
 * The protection of one output (DASH, HLS fMP4, HLS TS) of protected content, shared by the VOD and live
 * handlers: its key and scheme from the location's key source, the IVs and key tags of the TS outputs,
 * and the signalling players are given (DRM systems, licence URLs).
 */
import { createHmac } from 'node:crypto';
import type { TsMethod } from '../config/model.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { kidEquals, kidToUuid } from '../keys/kid.js';
import type { DrmData, DrmSystemName } from '../keys/provider.js';
import { fairplayUri, initPsshBoxes, type DrmSignallingInput } from '../protect/signalling.js';
import type { PsshBox } from '../mux/fmp4/init.js';
import { appendQuery } from '../manifest/paths.js';
import type { CencParams } from './build-segment.js';
import type { LocationProtection } from './protection.js';
import type { AccessDeps } from './access.js';

/** One protected output of a title: the key, and how that output is encrypted. */
export interface Encryption extends CencParams {
  /** For ETags: the CMAF scheme, or the TS method. */
  readonly tag: string;
  /** Set for the MPEG-TS output. */
  readonly tsMethod?: TsMethod;
  /** The DRM systems signalled, in order. */
  readonly systems: readonly DrmSystemName[];
  /** What the key server returned (pssh, headers, signalling data). */
  readonly drm?: DrmData;
}

/**
 * The key and scheme of one output of protected content, given its KID (a file's sidecar, a stream's
 * resource_id or key period KID). `where` names the content in logs.
 */
export async function encryptionFor(
  protection: LocationProtection,
  kid: Uint8Array,
  contentId: string,
  output: 'dash' | 'hls' | 'ts',
  deps: Pick<AccessDeps, 'knownKids' | 'log'>,
  where: Record<string, string>,
  mediaPath?: string,
): Promise<Encryption> {
  const got = await protection.provider.getKey(kid, { contentId });
  // A key server may override the KID: its KID is the one written in tenc, the MPD and the key tags.
  if (!kidEquals(got.kid, kid)) {
    deps.knownKids.add(got.kid, protection.location, mediaPath);
    deps.log.info('the key server overrode the KeyID', { location: protection.location, ...where, asked: kidToUuid(kid), kid: kidToUuid(got.kid) });
  }
  const systems = protection.signalling.systems;
  const common = { kid: got.kid, key: got.key, contentId, systems, ...(got.drm ? { drm: got.drm } : {}) };
  if (output === 'ts') {
    const tsMethod = protection.tsMethod();
    if (tsMethod === 'aes-128' && !systems.includes('clearkey')) {
      // AES-128 keys are fetched in the clear: a location signalling only commercial DRM has no such output.
      throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'the MPEG-TS output of this location needs clearkey in systems= or ts=sample-aes with fairplay');
    }
    // `scheme` is unused by the TS writers; it keeps the CMAF shape of the key parameters.
    return { scheme: protection.scheme('hls'), ...common, tsMethod, tag: tsMethod };
  }
  const scheme = protection.scheme(output);
  // Only an init segment carries pssh boxes; a segment request (nearly all of them) never reads them.
  let pssh: readonly PsshBox[] | undefined;
  return {
    scheme,
    ...common,
    get pssh(): readonly PsshBox[] {
      return (pssh ??= initPsshBoxes({ scheme, ...common }));
    },
    tag: scheme,
  };
}

/**
 * The one SAMPLE-AES IV of a title: HMAC-SHA256(key, 'sample-aes-iv' 0 contentId)[0..16], written once in
 * the media playlist's EXT-X-KEY. SAMPLE-AES restarts the CBC chain with this IV for every NAL unit and
 * audio frame anyway, so an IV per segment would add nothing — and ffmpeg applies the IV of the segment
 * current when its parser releases a frame, which for the last frame of a segment is the next one's.
 */
export function sampleAesIv(key: Uint8Array, contentId: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(`sample-aes-iv\0${contentId}`, 'utf8').digest().subarray(0, 16));
}

/** `#EXT-X-KEY` of one TS segment: the method, the key URI and the segment's explicit IV. */
export function tsKeyLine(method: TsMethod, uri: string, iv: Uint8Array): string {
  return `#EXT-X-KEY:METHOD=${method === 'aes-128' ? 'AES-128' : 'SAMPLE-AES'},URI="${uri.replace(/"/g, '%22')}",IV=0x${Buffer.from(iv).toString('hex')}`;
}

/** Key tags of a SAMPLE-AES TS playlist: identity (ClearKey) and FairPlay (legacy), with the title's IV. */
export function tsSampleAesLines(enc: Encryption, identityUri: string): string[] {
  const iv = sampleAesIv(enc.key, enc.contentId);
  const lines: string[] = [];
  for (const s of enc.systems) {
    if (s === 'clearkey') lines.push(tsKeyLine('sample-aes', identityUri, iv));
    if (s === 'fairplay') {
      lines.push(`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="${fairplayUri(enc.kid)}",IV=0x${Buffer.from(iv).toString('hex')},KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"`);
    }
  }
  if (lines.length === 0) throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, 'the SAMPLE-AES MPEG-TS output needs clearkey or fairplay in systems=');
  return lines;
}

/** What the signalling writers need of an output's protection. */
export function signallingOf(e: Encryption): DrmSignallingInput {
  return { scheme: e.scheme, kid: e.kid, key: e.key, systems: e.systems, drm: e.drm };
}

/** The licence URLs players are given: this server's ClearKey licence and licence proxy. */
export function playerLicenseUrls(origin: string, kid: Uint8Array, query: string | undefined): Partial<Record<DrmSystemName, string>> {
  const proxy = (system: string): string => appendQuery(`${origin}/license/${system}?kid=${kidToUuid(kid)}`, query);
  return {
    clearkey: appendQuery(`${origin}/license/clearkey`, query),
    widevine: proxy('widevine'),
    playready: proxy('playready'),
    fairplay: proxy('fairplay'),
  };
}
