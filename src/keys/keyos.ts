/**
 * `drm keyos userkey=… [server_key=…] [url=…]`: a client of BuyDRM's KeyOS packager key API (SOAP
 * `RequestEncryptionInfo`, KEYOS.md). Per KeyID it asks for the content key and, for the systems the
 * location signals, the Widevine header (PSSH data) and the PlayReady header.
 *
 * The UserKey and ServerKey travel in the request body only: never in a URL, a header, a log line or an
 * error message. Errors are KeySourceErrors (safe to log); CachedKeyProvider shares concurrent calls,
 * caches answers and turns failures into 503s.
 */
import { kidToUuid } from './kid.js';
import { CONTENT_KEY_BYTES, KeySourceError, type ContentKey, type DrmData, type DrmSystemName, type KeyContext, type KeyProvider } from './provider.js';
import { findFirst, parseXml, xmlEscape, XmlError, type XmlElement } from './cpix-xml.js';
import { answerMessage, postToKeyServer, safeUrl, type KeyFetchOptions } from './keyos-fetch.js';
import { playreadyObject } from '../protect/pssh.js';

export const KEYOS_DEFAULT_URL = 'https://packager.licensekeyserver.com/pck/';
export const KEYOS_SOAP_ACTION = 'http://tempuri.org/ISmoothPackager/RequestEncryptionInfo';
export const KEYOS_API_VERSION = '5.0.0.2';
const ENCODER_VERSION = 'packager-0.1';

export interface KeyosOptions extends KeyFetchOptions {
  userkey: string;
  serverKey?: string;
  url?: string;
  /** Systems the location signals: decides which headers are asked for. */
  systems: readonly DrmSystemName[];
}

export class KeyosKeyProvider implements KeyProvider {
  readonly kind = 'keyos';
  private readonly url: string;

  constructor(private readonly opts: KeyosOptions) {
    this.url = opts.url ?? KEYOS_DEFAULT_URL;
  }

  async getKey(kid: Uint8Array, ctx: KeyContext): Promise<ContentKey> {
    const body = keyosRequest(kid, ctx.contentId, this.opts);
    const res = await postToKeyServer(
      this.url,
      { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${KEYOS_SOAP_ACTION}"` },
      body,
      'the KeyOS key API',
      this.opts,
    );
    if (res.status !== 200) {
      const msg = faultOf(res.body) ?? answerMessage(res.body);
      throw new KeySourceError(`the KeyOS key API at ${safeUrl(this.url)} refused the request (${res.status})${msg ? `: ${scrub(msg, this.opts)}` : ''}`);
    }
    return parseKeyosAnswer(res.body, kid, this.opts);
  }
}

/** The SOAP envelope of RequestEncryptionInfo: ServerKey, and the request XML (escaped) as RequestXml. */
export function keyosRequest(kid: Uint8Array, contentId: string, opts: Pick<KeyosOptions, 'userkey' | 'serverKey' | 'systems'>): string {
  const wantPr = opts.systems.includes('playready');
  const wantWv = opts.systems.includes('widevine');
  const drmType = opts.systems.filter((s) => s !== 'clearkey').join(',') || 'clearkey';
  const inner =
    `<KeyOSEncryptionInfoRequest>` +
    `<APIVersion>${KEYOS_API_VERSION}</APIVersion>` +
    `<DRMType>${xmlEscape(drmType)}</DRMType>` +
    `<EncoderVersion>${ENCODER_VERSION}</EncoderVersion>` +
    `<UserKey>${xmlEscape(opts.userkey)}</UserKey>` +
    `<KeyID>${kidToUuid(kid)}</KeyID>` +
    `<ContentID>${xmlEscape(contentId)}</ContentID>` +
    `<MediaID>${xmlEscape(contentId)}</MediaID>` +
    `<fl_GeneratePRHeader>${wantPr}</fl_GeneratePRHeader>` +
    `<fl_GenerateWVHeader>${wantWv}</fl_GenerateWVHeader>` +
    `</KeyOSEncryptionInfoRequest>`;
  return (
    `<?xml version="1.0" encoding="utf-8"?>` +
    `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
    `<RequestEncryptionInfo xmlns="http://tempuri.org/">` +
    `<ServerKey>${xmlEscape(opts.serverKey ?? '')}</ServerKey>` +
    `<RequestXml>${xmlEscape(inner)}</RequestXml>` +
    `</RequestEncryptionInfo></soap:Body></soap:Envelope>`
  );
}

/** Never let a secret through into a message, even if a server echoes it back. */
function scrub(msg: string, opts: Pick<KeyosOptions, 'userkey' | 'serverKey'>): string {
  let out = msg;
  for (const secret of [opts.userkey, opts.serverKey]) if (secret) out = out.split(secret).join('[secret]');
  return out;
}

function faultOf(body: string): string | undefined {
  try {
    const doc = parseXml(body);
    const f = findFirst(doc, 'faultstring') ?? findFirst(doc, 'Text');
    return f?.text.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The answer: the KeyOSEncryptionInfoResponse either nested as elements or escaped as the text of
 * RequestEncryptionInfoResult. Fields read by local name: ContentKey (base64, 16 bytes), the Widevine
 * header (WVHeader / WidevineHeader: a whole pssh box or the PSSH data) and the PlayReady header
 * (PRHeader / PlayReadyHeader: a PlayReady Object or the WRMHEADER XML); a Status other than 0/OK with a
 * Message is an error.
 */
export function parseKeyosAnswer(body: string, kid: Uint8Array, opts: Pick<KeyosOptions, 'userkey' | 'serverKey'> = { userkey: '' }): ContentKey {
  let doc: XmlElement;
  try {
    doc = parseXml(body);
  } catch (e) {
    throw new KeySourceError(`the KeyOS answer is not well-formed XML (${e instanceof XmlError ? e.message : 'parse error'})`);
  }
  const fault = findFirst(doc, 'Fault');
  if (fault) throw new KeySourceError(`the KeyOS key API answered a fault: ${scrub(findFirst(fault, 'faultstring')?.text.trim() ?? 'no message', opts)}`);
  let info = findFirst(doc, 'KeyOSEncryptionInfoResponse') ?? (doc.name === 'KeyOSEncryptionInfoResponse' ? doc : undefined);
  if (!info) {
    const result = findFirst(doc, 'RequestEncryptionInfoResult');
    const inner = result?.text.trim();
    if (inner) {
      try {
        info = parseXml(inner);
      } catch (e) {
        throw new KeySourceError(`the KeyOS answer's result is not well-formed XML (${e instanceof XmlError ? e.message : 'parse error'})`);
      }
    }
  }
  if (!info) throw new KeySourceError('the KeyOS answer has no KeyOSEncryptionInfoResponse');
  const status = findFirst(info, 'Status')?.text.trim();
  if (status !== undefined && status !== '' && status !== '0' && status.toLowerCase() !== 'ok' && status.toLowerCase() !== 'success') {
    const msg = findFirst(info, 'Message')?.text.trim() ?? findFirst(info, 'ErrorMessage')?.text.trim() ?? '';
    throw new KeySourceError(`the KeyOS key API refused the KeyID ${kidToUuid(kid)} (status ${status})${msg ? `: ${scrub(msg, opts)}` : ''}`);
  }
  const keyText = findFirst(info, 'ContentKey')?.text.trim();
  if (!keyText) throw new KeySourceError(`the KeyOS answer has no ContentKey for KeyID ${kidToUuid(kid)}`);
  const key = Buffer.from(keyText, 'base64');
  if (key.length !== CONTENT_KEY_BYTES) throw new KeySourceError(`the KeyOS ContentKey is ${key.length} bytes, not ${CONTENT_KEY_BYTES}`);
  const drm: { pssh?: Partial<Record<DrmSystemName, Uint8Array>>; playreadyObject?: Uint8Array } = {};
  const wv = (findFirst(info, 'WVHeader') ?? findFirst(info, 'WidevineHeader'))?.text.trim();
  if (wv) (drm.pssh ??= {}).widevine = widevinePsshFrom(Buffer.from(wv, 'base64'));
  const pr = (findFirst(info, 'PRHeader') ?? findFirst(info, 'PlayReadyHeader'))?.text.trim();
  if (pr) drm.playreadyObject = playreadyObjectFrom(Buffer.from(pr, 'base64'));
  const out: ContentKey = { kid, key: Uint8Array.from(key), ...(drm.pssh || drm.playreadyObject ? { drm: drm as DrmData } : {}) };
  return out;
}

/** A whole pssh box as returned, or the Widevine PSSH data wrapped in a version 0 box. */
function widevinePsshFrom(b: Buffer): Uint8Array {
  if (b.length >= 32 && b.toString('latin1', 4, 8) === 'pssh' && b.readUInt32BE(0) === b.length) return Uint8Array.from(b);
  const box = Buffer.alloc(32 + b.length);
  box.writeUInt32BE(box.length, 0);
  box.write('pssh', 4, 'latin1');
  Buffer.from('edef8ba979d64acea3c827dcd51d21ed', 'hex').copy(box, 12);
  box.writeUInt32BE(b.length, 28);
  b.copy(box, 32);
  return Uint8Array.from(box);
}

/** A PlayReady Object as returned, or the WRMHEADER XML (UTF-16LE or UTF-8) wrapped in one. */
function playreadyObjectFrom(b: Buffer): Uint8Array {
  if (b.length >= 10 && b.readUInt32LE(0) === b.length) return Uint8Array.from(b);
  const xml = b.length >= 2 && b[1] === 0 ? b.toString('utf16le') : b.toString('utf8');
  return playreadyObject(xml.replace(/^\uFEFF/, ''));
}
