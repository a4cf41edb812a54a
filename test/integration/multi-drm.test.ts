// Multi-DRM end to end against local stand-ins (127.0.0.1) of the KeyOS packager key API, a SPEKE v2 /
// CPIX key server and a licence server: what the packager sends them (UserKey, KeyID, systems, secrets
// only where they belong), what it emits (the vendor's PSSH in the MPD and the init, the HLS key lines,
// parsed back byte for byte), the licence proxy, and every key-server failure answering 503 without
// media. No secret may appear in any log line.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startTestServer, rawRequest, FIXTURES, type TestServer } from '../helpers/server.js';
import { startCpixStandIn, startKeyosStandIn, startLicenseStandIn, vendorPro, vendorWidevinePssh, type StandIn } from './drm-standins.js';
import { parseXml, findAll, findFirst } from '../../src/keys/cpix-xml.js';
import { psshBox } from '../../src/mux/fmp4/init.js';
import { licenseProxySettings } from '../../src/http/license-proxy.js';

const USERKEY = 'UK-SECRET-123';
const SERVERKEY = 'SK-SECRET-456';
const APIKEY = 'APIKEY-789';
const TOKEN_SECRET = 'a-token-secret-that-is-long-enough-0123';
const KID_A = '11111111222233334444555555555555';
const KID_B = '22222222333344445555666666666666';
const KID_C = '33333333444455556666777777777777'; // B overridden by the CPIX server
const KID_T = '44444444555566667777888888888888';
const KEYS: Record<string, string> = {
  [KID_A]: '0123456789abcdef0123456789abcdef',
  [KID_C]: 'fedcba9876543210fedcba9876543210',
  [KID_T]: '00112233445566778899aabbccddeeff',
};
const uuid = (h: string): string => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
const kidBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

let server: TestServer;
let keyos: StandIn;
let cpix: StandIn;
let licence: StandIn;
const bad: Record<string, StandIn> = {};
let downUrl: string;

async function lib(dir: string, kid: string): Promise<string> {
  const p = join(server.dir, dir);
  await mkdir(p);
  await copyFile(join(FIXTURES, 'bframes.mp4'), join(p, 'bframes.mp4'));
  await writeFile(join(p, 'bframes.mp4.keyos_id'), `${uuid(kid)}\n`);
  return p;
}

beforeAll(async () => {
  [server, keyos, cpix, licence] = await Promise.all([
    startTestServer('http 8080;\n'),
    startKeyosStandIn(KEYS),
    startCpixStandIn(KEYS, { [KID_B]: KID_C }),
    startLicenseStandIn(),
  ]);
  for (const mode of ['4xx', 'malformed', 'slow']) {
    bad[mode] = await startKeyosStandIn(KEYS);
    bad[mode]!.mode = mode;
  }
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  downUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/pck/`;
  await new Promise<void>((r) => closed.close(() => r()));
  const libA = await lib('a', KID_A);
  const libB = await lib('b', KID_B);
  const libT = await lib('t', KID_T);
  const fpCert = join(server.dir, 'fp.der');
  await writeFile(fpCert, Buffer.from('FAIRPLAY-APP-CERT'));
  const kos = (url: string, extra = ''): string => `drm keyos userkey=${USERKEY} server_key=${SERVERKEY} url=${url} ${extra}`;
  await writeFile(
    server.configPath,
    [
      'http 8080;',
      `secret_file ${join(server.dir, 'secret')};`,
      `file clear { path ${libA}; }`,
      `file keyos { path ${libA}; ${kos(`${keyos.url}/pck/`, `la_url_widevine=${licence.url}/wv la_url_playready=${licence.url}/pr la_url_fairplay=${licence.url}/fp license_auth="AUTH-{kid}-{system}" fairplay_cert=${fpCert}`)}; }`,
      `file cpix { path ${libB}; drm cpix url=${cpix.url}/speke/v2 header X-Api-Key=${APIKEY} la_url_widevine=${licence.url}/wv license_header=x-keyos-authorization license_auth_url=${licence.url}/auth; }`,
      `file tok { path ${libT}; token_secret ${TOKEN_SECRET}; ${kos(`${keyos.url}/pck/`)}; }`,
      `file k4xx { path ${libA}; ${kos(`${bad['4xx']!.url}/pck/`)}; }`,
      `file kmal { path ${libA}; ${kos(`${bad.malformed!.url}/pck/`)}; }`,
      `file kslow { path ${libA}; ${kos(`${bad.slow!.url}/pck/`, 'timeout=0.3 retries=1')}; }`,
      `file kdown { path ${libA}; ${kos(downUrl, 'retries=1')}; }`,
      `file c422 { path ${libB}; drm cpix url=${cpix.url}/fail; }`,
      '',
    ].join('\n'),
  );
  expect(await server.reload()).toBe(true);
}, 30_000);

afterAll(async () => {
  await Promise.allSettled([server?.stop(), keyos?.close(), cpix?.close(), licence?.close(), ...Object.values(bad).map((b) => b.close())]);
});

const get = (path: string, method = 'GET', headers: Record<string, string> = {}) => rawRequest(server.url, path, method, headers);

describe('drm keyos', () => {
  it('asks the KeyOS API once per KeyID, with the UserKey, ServerKey, KeyID and the systems, secrets in the body only', async () => {
    const before = keyos.requests.length;
    const results = await Promise.all([
      get('/keyos/bframes.mp4/index.mpd'),
      get('/keyos/bframes.mp4/dash/v1/init.mp4'),
      get('/keyos/bframes.mp4/dash/v1/1.m4s'),
      get('/keyos/bframes.mp4/index.fmp4.m3u8'),
    ]);
    for (const r of results) expect(r.status).toBe(200);
    const sent = keyos.requests.slice(before);
    expect(sent).toHaveLength(1);
    const req = sent[0]!;
    expect(req.url).toBe('/pck/');
    expect(req.headers.soapaction).toBe('"http://tempuri.org/ISmoothPackager/RequestEncryptionInfo"');
    const env = parseXml(req.body.toString());
    expect(findFirst(env, 'ServerKey')!.text).toBe(SERVERKEY);
    const inner = parseXml(findFirst(env, 'RequestXml')!.text);
    expect(findFirst(inner, 'UserKey')!.text).toBe(USERKEY);
    expect(findFirst(inner, 'KeyID')!.text).toBe(uuid(KID_A));
    expect(findFirst(inner, 'APIVersion')!.text).toBe('5.0.0.2');
    expect(findFirst(inner, 'fl_GenerateWVHeader')!.text).toBe('true');
    expect(findFirst(inner, 'fl_GeneratePRHeader')!.text).toBe('true');
    expect(findFirst(inner, 'DRMType')!.text).toBe('widevine,playready,fairplay');
    const outside = JSON.stringify(req.headers) + req.url;
    expect(outside).not.toContain(USERKEY);
    expect(outside).not.toContain(SERVERKEY);
  });

  it("writes the vendor's Widevine pssh and PlayReady Object into the MPD and the init, byte for byte", async () => {
    const mpd = (await get('/keyos/bframes.mp4/index.mpd')).body.toString();
    const wv = Buffer.from(vendorWidevinePssh(kidBytes(KID_A)));
    const pro = Buffer.from(vendorPro(kidBytes(KID_A)));
    const prBox = Buffer.from(psshBox({ systemId: Uint8Array.from(Buffer.from('9a04f07998404286ab92e65be0885f95', 'hex')), data: pro }));
    const doc = parseXml(mpd);
    const cps = findAll(doc, 'ContentProtection').filter((c) => c.attrs.schemeIdUri !== undefined);
    const by = (id: string) => cps.find((c) => c.attrs.schemeIdUri === `urn:uuid:${id}`);
    expect(cps.find((c) => c.attrs.schemeIdUri === 'urn:mpeg:dash:mp4protection:2011')!.attrs.default_KID).toBe(uuid(KID_A));
    const wvCp = by('edef8ba9-79d6-4ace-a3c8-27dcd51d21ed')!;
    expect(Buffer.from(findFirst(wvCp, 'pssh')!.text, 'base64').equals(wv)).toBe(true);
    expect(findFirst(wvCp, 'Laurl')!.text).toBe(`${server.url}/license/widevine?kid=${uuid(KID_A)}`);
    const prCp = by('9a04f079-9840-4286-ab92-e65be0885f95')!;
    expect(Buffer.from(findFirst(prCp, 'pro')!.text, 'base64').equals(pro)).toBe(true);
    expect(Buffer.from(findFirst(prCp, 'pssh')!.text, 'base64').equals(prBox)).toBe(true);
    // No ClearKey: this location signals commercial DRM only.
    expect(by('e2719d58-a985-b3c9-781a-b030af78d30e')).toBeUndefined();
    const init = (await get('/keyos/bframes.mp4/dash/v1/init.mp4')).body;
    expect(init.indexOf(wv)).toBeGreaterThan(0);
    expect(init.indexOf(prBox)).toBeGreaterThan(0);
    expect(init.indexOf(Buffer.from(KID_A, 'hex'))).toBeGreaterThan(0);
  });

  it('writes FairPlay, Widevine and PlayReady key lines in the HLS playlists, and session keys in the master', async () => {
    const media = (await get('/keyos/bframes.mp4/hls/v1.m3u8')).body.toString();
    const keys = media.split('\n').filter((l) => l.startsWith('#EXT-X-KEY:'));
    expect(keys).toHaveLength(3);
    // In the order of systems= (default widevine,playready,fairplay).
    expect(keys[2]).toBe(`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://${uuid(KID_A)}",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"`);
    const wvUri = /URI="data:text\/plain;base64,([^"]+)",KEYID=0x([0-9a-f]{32}),KEYFORMAT="urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",KEYFORMATVERSIONS="1"/.exec(keys[0]!);
    expect(wvUri).not.toBeNull();
    expect(Buffer.from(wvUri![1]!, 'base64').equals(Buffer.from(vendorWidevinePssh(kidBytes(KID_A))))).toBe(true);
    expect(wvUri![2]).toBe(KID_A);
    const prUri = /^#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text\/plain;charset=UTF-16;base64,([^"]+)",KEYFORMAT="com.microsoft.playready",KEYFORMATVERSIONS="1"$/.exec(keys[1]!);
    expect(Buffer.from(prUri![1]!, 'base64').equals(Buffer.from(vendorPro(kidBytes(KID_A))))).toBe(true);
    const master = (await get('/keyos/bframes.mp4/index.fmp4.m3u8')).body.toString();
    const session = master.split('\n').filter((l) => l.startsWith('#EXT-X-SESSION-KEY:'));
    expect(session.map((l) => l.slice('#EXT-X-SESSION-KEY:'.length))).toEqual(keys.map((l) => l.slice('#EXT-X-KEY:'.length)));
  });

  it('never hands out the raw key of a location that does not signal ClearKey', async () => {
    expect((await get(`/keys/${uuid(KID_A)}`)).status).toBe(404);
    const res = await fetch(`${server.url}/license/clearkey`, { method: 'POST', body: JSON.stringify({ kids: [Buffer.from(KID_A, 'hex').toString('base64url')] }) });
    expect(res.status).toBe(404);
  });
});

describe('drm cpix', () => {
  it('sends a CPIX 2.3 document with the KID and the systems, and the configured header', async () => {
    const before = cpix.requests.length;
    expect((await get('/cpix/bframes.mp4/index.mpd')).status).toBe(200);
    const req = cpix.requests.slice(before).find((r) => r.url === '/speke/v2')!;
    expect(req.headers['x-speke-version']).toBe('2.0');
    expect(req.headers['x-api-key']).toBe(APIKEY);
    const doc = parseXml(req.body.toString());
    expect(doc.name).toBe('CPIX');
    expect(doc.attrs.contentId).toBe('bframes.mp4');
    expect(findFirst(doc, 'ContentKey')!.attrs.kid).toBe(uuid(KID_B));
    expect(findAll(doc, 'DRMSystem').map((d) => d.attrs.systemId)).toEqual([
      'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed',
      '9a04f079-9840-4286-ab92-e65be0885f95',
      '94ce86fb-07ff-4f43-adb8-93d2fa968ca2',
    ]);
  });

  it("honours the server's KID override in the MPD, the init (tenc and pssh) and the key lines, and uses its HLSSignalingData", async () => {
    const mpd = (await get('/cpix/bframes.mp4/index.mpd')).body.toString();
    expect(mpd).toContain(`cenc:default_KID="${uuid(KID_C)}"`);
    expect(mpd).not.toContain(uuid(KID_B));
    const init = (await get('/cpix/bframes.mp4/dash/v1/init.mp4')).body;
    expect(init.indexOf(Buffer.from(KID_C, 'hex'))).toBeGreaterThan(0);
    expect(init.indexOf(Buffer.from(KID_B, 'hex'))).toBe(-1);
    expect(init.indexOf(Buffer.from(vendorWidevinePssh(kidBytes(KID_C))))).toBeGreaterThan(0);
    const media = (await get('/cpix/bframes.mp4/hls/v1.m3u8')).body.toString();
    expect(media).toContain(`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://vendor-${KID_C}",KEYFORMAT="com.apple.streamingkeydelivery"`);
    expect(media).toContain(`KEYID=0x${KID_C}`);
  });

  it("answers 503 with no media on a 4xx, and logs the key server's message", async () => {
    for (const path of ['/c422/bframes.mp4/index.mpd', '/c422/bframes.mp4/dash/v1/init.mp4', '/c422/bframes.mp4/dash/v1/1.m4s']) {
      const r = await get(path);
      expect(r.status).toBe(503);
      expect(r.body.toString()).toBe('service unavailable\n');
    }
    expect(server.logs.some((l) => l.includes('Non compliant ContentKey@commonEncryptionScheme combination'))).toBe(true);
  });
});

describe('key server failures answer 503 and never media', () => {
  it.each([
    ['k4xx', 'Invalid UserKey'],
    ['kmal', 'not well-formed XML'],
    ['kslow', 'did not answer within 300 ms'],
    ['kdown', 'is unreachable'],
  ])('%s', async (loc, logged) => {
    for (const path of [`/${loc}/bframes.mp4/index.mpd`, `/${loc}/bframes.mp4/hls/v1/init.mp4`, `/${loc}/bframes.mp4/dash/v1/2.m4s`, `/${loc}/bframes.mp4/index.m3u8`]) {
      const r = await get(path);
      expect(r.status, path).toBe(503);
      expect(r.body.toString()).toBe('service unavailable\n');
      expect(r.headers['cache-control']).toBe('no-store');
    }
    expect(server.logs.some((l) => l.includes(logged)), logged).toBe(true);
  }, 15_000);
});

describe('licence proxy', () => {
  it('forwards a Widevine challenge unmodified with the authentication header, and returns the licence unmodified', async () => {
    await get('/keyos/bframes.mp4/index.mpd');
    const challenge = Buffer.from([0x08, 0x01, 0x12, 0xff, 0x00, 0x80, 0x7f]);
    const before = licence.requests.length;
    const res = await fetch(`${server.url}/license/widevine?kid=${uuid(KID_A)}`, { method: 'POST', body: challenge, headers: { 'Content-Type': 'application/octet-stream' } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.concat([Buffer.from('LICENCE:'), challenge]))).toBe(true);
    const up = licence.requests[before]!;
    expect(up.url).toBe('/wv');
    expect(up.body.equals(challenge)).toBe(true);
    expect(up.headers.customdata).toBe(`AUTH-${uuid(KID_A)}-widevine`);
    const all = JSON.stringify(up.headers) + up.body.toString('latin1');
    expect(all).not.toContain(USERKEY);
    expect(all).not.toContain(SERVERKEY);
  });

  it('forwards PlayReady (SOAPAction kept) and FairPlay (KID from assetId) to their servers', async () => {
    const before = licence.requests.length;
    const pr = await fetch(`${server.url}/license/playready?kid=${uuid(KID_A)}`, {
      method: 'POST',
      body: '<soap:Envelope>challenge</soap:Envelope>',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"http://schemas.microsoft.com/DRM/2007/03/protocols/AcquireLicense"' },
    });
    expect(pr.status).toBe(200);
    const fp = await fetch(`${server.url}/license/fairplay`, { method: 'POST', body: `spc=AAAA&assetId=${uuid(KID_A)}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(fp.status).toBe(200);
    expect(await fp.text()).toBe(`LICENCE:spc=AAAA&assetId=${uuid(KID_A)}`);
    const [prUp, fpUp] = licence.requests.slice(before);
    expect(prUp!.url).toBe('/pr');
    expect(prUp!.headers.soapaction).toBe('"http://schemas.microsoft.com/DRM/2007/03/protocols/AcquireLicense"');
    expect(prUp!.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(fpUp!.url).toBe('/fp');
    expect(fpUp!.headers.customdata).toBe(`AUTH-${uuid(KID_A)}-fairplay`);
  });

  it('takes the authentication value from license_auth_url', async () => {
    await get('/cpix/bframes.mp4/index.mpd');
    const before = licence.requests.length;
    const res = await fetch(`${server.url}/license/widevine?kid=${uuid(KID_C)}`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(200);
    const [auth, up] = licence.requests.slice(before);
    expect(auth!.url).toBe('/auth');
    expect(JSON.parse(auth!.body.toString())).toMatchObject({ kid: uuid(KID_C), system: 'widevine', location: 'cpix' });
    expect(up!.headers['x-keyos-authorization']).toBe(`AUTHXML-${uuid(KID_C)}`);
  });

  it('checks the viewer as for keys: 401 without a token on a guarded location', async () => {
    const res = await fetch(`${server.url}/license/widevine?kid=${uuid(KID_T)}`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(401);
  });

  it('refuses unknown KIDs as a guarded one would be (401 before 404), 404 for missing upstreams and GET', async () => {
    // An unknown (or missing) KID takes the strictest guard of the server: `tok` needs a token.
    expect((await fetch(`${server.url}/license/widevine?kid=${uuid('99999999999999999999999999999999')}`, { method: 'POST', body: 'x' })).status).toBe(401);
    expect((await fetch(`${server.url}/license/widevine`, { method: 'POST', body: 'x' })).status).toBe(401);
    // cpix has no la_url_playready (and no KeyOS default).
    expect((await fetch(`${server.url}/license/playready?kid=${uuid(KID_C)}`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await fetch(`${server.url}/license/widevine`)).status).toBe(404);
  });

  it('maps upstream errors to 502 and timeouts to 504', async () => {
    licence.mode = '500';
    try {
      const r = await fetch(`${server.url}/license/widevine?kid=${uuid(KID_A)}`, { method: 'POST', body: 'x' });
      expect(r.status).toBe(502);
      expect(await r.text()).toBe('the widevine licence server answered 500\n');
      licence.mode = 'slow';
      licenseProxySettings.timeoutMs = 300;
      const t = await fetch(`${server.url}/license/widevine?kid=${uuid(KID_A)}`, { method: 'POST', body: 'x' });
      expect(t.status).toBe(504);
    } finally {
      licence.mode = 'ok';
      licenseProxySettings.timeoutMs = 10_000;
    }
  });

  it('serves the FairPlay application certificate', async () => {
    const r = await fetch(`${server.url}/license/fairplay/certificate?kid=${uuid(KID_A)}`);
    expect(r.status).toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).toString()).toBe('FAIRPLAY-APP-CERT');
  });
});

describe('secrets', () => {
  it('never appear in a log line', () => {
    expect(server.logs.length).toBeGreaterThan(10);
    for (const line of server.logs) {
      for (const secret of [USERKEY, SERVERKEY, APIKEY, 'AUTH-', 'AUTHXML-', ...Object.values(KEYS)]) expect(line).not.toContain(secret);
    }
  });
});
