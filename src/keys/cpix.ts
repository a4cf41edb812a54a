/**
 * `drm cpix url=… [header NAME=VALUE …]`: a SPEKE v2 / CPIX 2.3 client (FORMATS.md §7). Per KeyID it
 * POSTs a CPIX document naming the KID, the scheme and a DRMSystem per system the location signals,
 * and reads back (by local element name) the key (`Data/Secret/PlainValue`), the PSSH, the
 * ContentProtectionData and the HLSSignalingData per system. A key server may override the KID: the
 * returned ContentKey then carries the server's KID, which the HTTP layer writes everywhere.
 *
 * Header values (API keys, tokens) are sent only to the key server: never logged. Errors are
 * KeySourceErrors with the server's own message.
 */
import { kidToUuid } from './kid.js';
import { CONTENT_KEY_BYTES, KeySourceError, type ContentKey, type DrmData, type DrmSystemName, type KeyContext, type KeyProvider } from './provider.js';
import { findAll, findFirst, parseXml, xmlEscape, XmlError, type XmlElement } from './cpix-xml.js';
import { answerMessage, postToKeyServer, safeUrl, type KeyFetchOptions } from './keyos-fetch.js';

const SYSTEM_IDS: Readonly<Record<DrmSystemName, string>> = {
  widevine: 'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed',
  playready: '9a04f079-9840-4286-ab92-e65be0885f95',
  fairplay: '94ce86fb-07ff-4f43-adb8-93d2fa968ca2',
  clearkey: '1077efec-c0b2-4d02-ace3-3c1e52e2fb4b',
};

function systemNamed(id: string | undefined): DrmSystemName | undefined {
  const norm = (id ?? '').toLowerCase().replace(/^urn:uuid:/, '');
  return (Object.keys(SYSTEM_IDS) as DrmSystemName[]).find((s) => SYSTEM_IDS[s] === norm);
}

export interface CpixOptions extends KeyFetchOptions {
  url: string;
  headers: Readonly<Record<string, string>>;
  /** Systems the location signals; ClearKey needs nothing from a key server and is not asked for. */
  systems: readonly DrmSystemName[];
  /** commonEncryptionScheme sent (one per request, SPEKE v2 rule). */
  scheme: 'cenc' | 'cbcs';
}

export class CpixKeyProvider implements KeyProvider {
  readonly kind = 'cpix';

  constructor(private readonly opts: CpixOptions) {}

  async getKey(kid: Uint8Array, ctx: KeyContext): Promise<ContentKey> {
    const res = await postToKeyServer(
      this.opts.url,
      { ...this.opts.headers, 'Content-Type': 'application/xml', 'X-Speke-Version': '2.0' },
      cpixRequest(kid, ctx.contentId, this.opts),
      'the CPIX key server',
      this.opts,
    );
    if (res.status !== 200) {
      const msg = answerMessage(res.body);
      throw new KeySourceError(`the CPIX key server at ${safeUrl(this.opts.url)} refused the request (${res.status})${msg ? `: ${msg}` : ''}`);
    }
    return parseCpixAnswer(res.body, kid);
  }
}

/** The CPIX 2.3 request document. */
export function cpixRequest(kid: Uint8Array, contentId: string, opts: Pick<CpixOptions, 'systems' | 'scheme'>): string {
  const k = kidToUuid(kid);
  const systems = opts.systems.filter((s) => s !== 'clearkey');
  const drm = systems
    .map((s) => {
      const pssh = s === 'fairplay' ? '' : '<cpix:PSSH/><cpix:ContentProtectionData/>';
      return (
        `<cpix:DRMSystem kid="${k}" systemId="${SYSTEM_IDS[s]}">${pssh}` +
        `<cpix:HLSSignalingData playlist="media"/><cpix:HLSSignalingData playlist="master"/></cpix:DRMSystem>`
      );
    })
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<cpix:CPIX contentId="${xmlEscape(contentId || k)}" version="2.3" xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc">` +
    `<cpix:ContentKeyList><cpix:ContentKey kid="${k}" commonEncryptionScheme="${opts.scheme}"/></cpix:ContentKeyList>` +
    `<cpix:DRMSystemList>${drm}</cpix:DRMSystemList>` +
    `<cpix:ContentKeyUsageRuleList><cpix:ContentKeyUsageRule kid="${k}" intendedTrackType="ALL_TRACKS"/></cpix:ContentKeyUsageRuleList>` +
    `</cpix:CPIX>`
  );
}

function kidOfAttr(v: string | undefined): Uint8Array | undefined {
  const hex = (v ?? '').replaceAll('-', '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(hex) ? Uint8Array.from(Buffer.from(hex, 'hex')) : undefined;
}

function b64(el: XmlElement | undefined): Buffer | undefined {
  const t = el?.text.replace(/\s+/g, '') ?? '';
  return t === '' ? undefined : Buffer.from(t, 'base64');
}

/**
 * The key for `asked` in a CPIX answer: the ContentKey with that KID, or, when the answer holds exactly
 * one ContentKey with another KID, that one (a KID override).
 */
export function parseCpixAnswer(body: string, asked: Uint8Array): ContentKey {
  let doc: XmlElement;
  try {
    doc = parseXml(body);
  } catch (e) {
    throw new KeySourceError(`the CPIX answer is not well-formed XML (${e instanceof XmlError ? e.message : 'parse error'})`);
  }
  if (doc.name !== 'CPIX') throw new KeySourceError(`the CPIX answer's root element is <${doc.name}>, not <CPIX>`);
  const keys = findAll(doc, 'ContentKey');
  const askedHex = Buffer.from(asked).toString('hex');
  const match = keys.find((k) => Buffer.from(kidOfAttr(k.attrs.kid) ?? []).toString('hex') === askedHex) ?? (keys.length === 1 ? keys[0] : undefined);
  if (!match) throw new KeySourceError(`the CPIX answer has no ContentKey for KeyID ${kidToUuid(asked)}`);
  const kid = kidOfAttr(match.attrs.kid);
  if (!kid) throw new KeySourceError('the CPIX answer has a ContentKey without a valid kid');
  if (findFirst(match, 'EncryptedValue')) throw new KeySourceError('the CPIX answer holds an encrypted key (DeliveryDataList), which this packager does not request');
  const plain = b64(findFirst(match, 'PlainValue'));
  if (!plain) throw new KeySourceError(`the CPIX answer has no key (Data/Secret/PlainValue) for KeyID ${kidToUuid(kid)}`);
  if (plain.length !== CONTENT_KEY_BYTES) throw new KeySourceError(`the CPIX key for KeyID ${kidToUuid(kid)} is ${plain.length} bytes, not ${CONTENT_KEY_BYTES}`);

  const pssh: Partial<Record<DrmSystemName, Uint8Array>> = {};
  const cpd: Partial<Record<DrmSystemName, string>> = {};
  const hls: Partial<Record<DrmSystemName, { media?: string; master?: string }>> = {};
  const kidHex = Buffer.from(kid).toString('hex');
  for (const sys of findAll(doc, 'DRMSystem')) {
    const system = systemNamed(sys.attrs.systemId);
    const sysKid = kidOfAttr(sys.attrs.kid);
    if (!system || (sysKid && Buffer.from(sysKid).toString('hex') !== kidHex)) continue;
    const box = b64(findFirst(sys, 'PSSH'));
    if (box) {
      if (box.length < 32 || box.toString('latin1', 4, 8) !== 'pssh' || box.readUInt32BE(0) !== box.length) {
        throw new KeySourceError(`the CPIX answer's ${system} PSSH is not a pssh box`);
      }
      pssh[system] = Uint8Array.from(box);
    }
    const data = b64(findFirst(sys, 'ContentProtectionData'));
    if (data) cpd[system] = data.toString('utf8');
    for (const h of findAll(sys, 'HLSSignalingData')) {
      const lines = b64(h)?.toString('utf8').trim();
      if (!lines) continue;
      const which = h.attrs.playlist === 'master' ? 'master' : 'media';
      (hls[system] ??= {})[which] = lines;
    }
  }
  const drm: DrmData = {
    ...(Object.keys(pssh).length ? { pssh } : {}),
    ...(Object.keys(cpd).length ? { contentProtectionData: cpd } : {}),
    ...(Object.keys(hls).length ? { hls } : {}),
  };
  return { kid, key: Uint8Array.from(plain), ...(Object.keys(drm).length ? { drm } : {}) };
}
