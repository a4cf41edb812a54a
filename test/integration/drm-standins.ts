// Protocol-faithful stand-ins of the servers a multi-DRM deployment talks to, on 127.0.0.1: the KeyOS
// packager key API (SOAP RequestEncryptionInfo), a SPEKE v2 / CPIX 2.3 key server and a licence server.
// Each records what it was sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseXml, findAll, findFirst } from '../../src/keys/cpix-xml.js';
import { psshBox } from '../../src/mux/fmp4/init.js';
import { playreadyObject, leGuid } from '../../src/protect/pssh.js';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface StandIn {
  url: string;
  requests: Recorded[];
  /** What the next requests get; tests switch it. */
  mode: string;
  close(): Promise<void>;
}

async function start(handler: (req: Recorded, res: ServerResponse, self: StandIn) => void | Promise<void>): Promise<StandIn> {
  const self: StandIn = { url: '', requests: [], mode: 'ok', close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      self.requests.push(rec);
      void Promise.resolve(handler(rec, res, self)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  self.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return self;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The Widevine pssh a vendor returns: with a provider and content_id, so it differs from ours. */
export function vendorWidevinePssh(kid: Uint8Array): Uint8Array {
  const provider = Buffer.from('keyos-standin');
  const data = Buffer.concat([Buffer.from([0x12, 0x10]), kid, Buffer.from([0x1a, provider.length]), provider, Buffer.from([0x22, 4]), Buffer.from('abcd')]);
  return psshBox({ systemId: Uint8Array.from(Buffer.from('edef8ba979d64acea3c827dcd51d21ed', 'hex')), data });
}

/** The PlayReady Object a vendor returns: a WRMHEADER with its own LA_URL. */
export function vendorPro(kid: Uint8Array): Uint8Array {
  const k = Buffer.from(leGuid(kid)).toString('base64');
  return playreadyObject(
    `<WRMHEADER xmlns="http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader" version="4.0.0.0"><DATA><PROTECTINFO><KEYLEN>16</KEYLEN><ALGID>AESCTR</ALGID></PROTECTINFO><KID>${k}</KID><LA_URL>https://pr.standin/rightsmanager.asmx</LA_URL><CUSTOMATTRIBUTES><IIS_DRM_VERSION>vendor</IIS_DRM_VERSION></CUSTOMATTRIBUTES></DATA></WRMHEADER>`,
  );
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * KeyOS packager key API. `keys`: KID hex → key hex. Modes: ok, slow (3 s), 4xx (a SOAP fault with 400),
 * malformed (not XML), nokey (no ContentKey).
 */
export function startKeyosStandIn(keys: Record<string, string>): Promise<StandIn> {
  return start(async (req, res, self) => {
    if (self.mode === 'slow') await sleep(3000);
    const doc = parseXml(req.body.toString('utf8'));
    const inner = parseXml(findFirst(doc, 'RequestXml')!.text);
    const kidText = findFirst(inner, 'KeyID')!.text.trim();
    const kid = Uint8Array.from(Buffer.from(kidText.replaceAll('-', ''), 'hex'));
    if (self.mode === '4xx') {
      res.writeHead(400, { 'Content-Type': 'text/xml' });
      res.end(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>Invalid UserKey</faultstring></s:Fault></s:Body></s:Envelope>`);
      return;
    }
    if (self.mode === 'malformed') {
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end('<s:Envelope><s:Body><RequestEncryptionInfoResponse>');
      return;
    }
    const key = keys[Buffer.from(kid).toString('hex')];
    const wv = findFirst(inner, 'fl_GenerateWVHeader')?.text === 'true';
    const pr = findFirst(inner, 'fl_GeneratePRHeader')?.text === 'true';
    const result =
      `<KeyOSEncryptionInfoResponse><Status>0</Status><KeyID>${kidText}</KeyID>` +
      (key && self.mode !== 'nokey' ? `<ContentKey>${Buffer.from(key, 'hex').toString('base64')}</ContentKey>` : '') +
      (wv ? `<WVHeader>${Buffer.from(vendorWidevinePssh(kid)).toString('base64')}</WVHeader>` : '') +
      (pr ? `<PRHeader>${Buffer.from(vendorPro(kid)).toString('base64')}</PRHeader>` : '') +
      `</KeyOSEncryptionInfoResponse>`;
    res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
    res.end(
      `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` +
        `<RequestEncryptionInfoResponse xmlns="http://tempuri.org/"><RequestEncryptionInfoResult>${esc(result)}</RequestEncryptionInfoResult></RequestEncryptionInfoResponse>` +
        `</s:Body></s:Envelope>`,
    );
  });
}

/**
 * SPEKE v2 / CPIX key server. `keys`: KID hex → key hex; `overrides`: asked KID hex → KID hex returned.
 * Modes: ok, 422 (the SPEKE error answer), malformed.
 */
export function startCpixStandIn(keys: Record<string, string>, overrides: Record<string, string> = {}): Promise<StandIn> {
  return start((req, res, self) => {
    if (self.mode === '422' || req.url === '/fail') {
      res.writeHead(422, { 'Content-Type': 'text/plain' });
      res.end('Non compliant ContentKey@commonEncryptionScheme combination');
      return;
    }
    if (self.mode === 'malformed') {
      res.writeHead(200, { 'Content-Type': 'application/xml' });
      res.end('<cpix:CPIX xmlns:cpix="urn:dashif:org:cpix"><cpix:ContentKeyList>');
      return;
    }
    const doc = parseXml(req.body.toString('utf8'));
    const asked = findFirst(doc, 'ContentKey')!.attrs.kid!;
    const askedHex = asked.replaceAll('-', '');
    const hexKid = overrides[askedHex] ?? askedHex;
    const uuid = `${hexKid.slice(0, 8)}-${hexKid.slice(8, 12)}-${hexKid.slice(12, 16)}-${hexKid.slice(16, 20)}-${hexKid.slice(20)}`;
    const kid = Uint8Array.from(Buffer.from(hexKid, 'hex'));
    const systems = findAll(doc, 'DRMSystem').map((d) => d.attrs.systemId!);
    const drm = systems
      .map((sys) => {
        const pssh =
          sys === 'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed'
            ? `<cpix:PSSH>${Buffer.from(vendorWidevinePssh(kid)).toString('base64')}</cpix:PSSH>`
            : sys === '9a04f079-9840-4286-ab92-e65be0885f95'
              ? `<cpix:PSSH>${Buffer.from(psshBox({ systemId: Uint8Array.from(Buffer.from('9a04f07998404286ab92e65be0885f95', 'hex')), data: vendorPro(kid) })).toString('base64')}</cpix:PSSH>`
              : '';
        const hls =
          sys === '94ce86fb-07ff-4f43-adb8-93d2fa968ca2'
            ? `<cpix:HLSSignalingData playlist="media">${Buffer.from(`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://vendor-${hexKid}",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"`).toString('base64')}</cpix:HLSSignalingData>`
            : '';
        return `<cpix:DRMSystem kid="${uuid}" systemId="${sys}">${pssh}${hls}</cpix:DRMSystem>`;
      })
      .join('');
    const key = keys[hexKid] ?? '';
    res.writeHead(200, { 'Content-Type': 'application/xml', 'X-Speke-Version': '2.0', 'X-Speke-User-Agent': 'standin' });
    res.end(
      `<?xml version="1.0"?><cpix:CPIX xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" contentId="${findAll(doc, 'CPIX')[0]?.attrs.contentId ?? doc.attrs.contentId}" version="2.3">` +
        `<cpix:ContentKeyList><cpix:ContentKey kid="${uuid}" commonEncryptionScheme="cenc">` +
        (key ? `<cpix:Data><pskc:Secret><pskc:PlainValue>${Buffer.from(key, 'hex').toString('base64')}</pskc:PlainValue></pskc:Secret></cpix:Data>` : '') +
        `</cpix:ContentKey></cpix:ContentKeyList><cpix:DRMSystemList>${drm}</cpix:DRMSystemList></cpix:CPIX>`,
    );
  });
}

/** A licence server: answers `LICENCE:` + the challenge. Modes: ok, slow (3 s), 500. */
export function startLicenseStandIn(): Promise<StandIn> {
  return start(async (req, res, self) => {
    if (self.mode === 'slow') await sleep(3000);
    if (self.mode === '500') {
      res.writeHead(500);
      res.end('boom');
      return;
    }
    if (req.url.startsWith('/auth')) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`AUTHXML-${JSON.parse(req.body.toString()).kid}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(Buffer.concat([Buffer.from('LICENCE:'), req.body]));
  });
}
