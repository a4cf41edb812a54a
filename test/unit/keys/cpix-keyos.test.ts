// Parsing key server answers by local name, whatever the prefixes; errors name the problem.
import { describe, it, expect } from 'vitest';
import { parseCpixAnswer, cpixRequest } from '../../../src/keys/cpix.js';
import { parseKeyosAnswer, keyosRequest } from '../../../src/keys/keyos.js';
import { parseXml, findFirst } from '../../../src/keys/cpix-xml.js';
import { psshBox } from '../../../src/mux/fmp4/init.js';
import { widevinePssh } from '../../../src/protect/pssh.js';

const KID = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const KEY = Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex');
const WV = Buffer.from(psshBox(widevinePssh([KID], 'cenc')));

describe('parseCpixAnswer', () => {
  const answer = (kid: string, inner = `<Data><Secret><PlainValue>${KEY.toString('base64')}</PlainValue></Secret></Data>`) =>
    `<?xml version="1.0"?><!-- c --><x:CPIX xmlns:x="urn:dashif:org:cpix" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">` +
    `<x:ContentKeyList><x:ContentKey kid="${kid}" explicitIV="AAAAAAAAAAAAAAAAAAAAAA==">${inner.replace(/<(\/?)Data>/g, '<$1x:Data>')}</x:ContentKey></x:ContentKeyList>` +
    `<x:DRMSystemList><x:DRMSystem kid="${kid}" systemId="EDEF8BA9-79D6-4ACE-A3C8-27DCD51D21ED"><x:PSSH>\n${WV.toString('base64')}\n</x:PSSH>` +
    `<x:ContentProtectionData>${Buffer.from('<cenc:pssh>abc</cenc:pssh>').toString('base64')}</x:ContentProtectionData>` +
    `<x:HLSSignalingData playlist="master">${Buffer.from('#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES').toString('base64')}</x:HLSSignalingData></x:DRMSystem></x:DRMSystemList></x:CPIX>`;

  it('reads the key, PSSH, ContentProtectionData and HLSSignalingData by local name', () => {
    const k = parseCpixAnswer(answer('00112233-4455-6677-8899-aabbccddeeff'), KID);
    expect(Buffer.from(k.key).equals(KEY)).toBe(true);
    expect(Buffer.from(k.drm!.pssh!.widevine!).equals(WV)).toBe(true);
    expect(k.drm!.contentProtectionData!.widevine).toBe('<cenc:pssh>abc</cenc:pssh>');
    expect(k.drm!.hls!.widevine!.master).toBe('#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES');
  });
  it('takes the KID the server returns when it overrides it', () => {
    const k = parseCpixAnswer(answer('ffffffff-4455-6677-8899-aabbccddeeff'), KID);
    expect(Buffer.from(k.kid).toString('hex')).toBe('ffffffff445566778899aabbccddeeff');
  });
  it('reports a missing key, an encrypted key, malformed XML and a wrong root clearly', () => {
    expect(() => parseCpixAnswer(answer('00112233-4455-6677-8899-aabbccddeeff', ''), KID)).toThrow(/no key \(Data\/Secret\/PlainValue\)/);
    expect(() => parseCpixAnswer(answer('00112233-4455-6677-8899-aabbccddeeff', '<Data><Secret><EncryptedValue/></Secret></Data>'), KID)).toThrow(/encrypted key/);
    expect(() => parseCpixAnswer('<CPIX><ContentKeyList>', KID)).toThrow(/not well-formed XML/);
    expect(() => parseCpixAnswer('<html/>', KID)).toThrow(/root element is <html>/);
  });
  it('builds a request naming the KID, scheme and systems (not ClearKey)', () => {
    const doc = parseXml(cpixRequest(KID, 'vod/a.mp4', { systems: ['widevine', 'clearkey'], scheme: 'cbcs' }));
    expect(doc.attrs.contentId).toBe('vod/a.mp4');
    expect(findFirst(doc, 'ContentKey')!.attrs).toMatchObject({ kid: '00112233-4455-6677-8899-aabbccddeeff', commonEncryptionScheme: 'cbcs' });
    expect(findFirst(doc, 'DRMSystem')!.attrs.systemId).toBe('edef8ba9-79d6-4ace-a3c8-27dcd51d21ed');
  });
});

describe('parseKeyosAnswer', () => {
  it('reads a nested response (Widevine PSSH data wrapped in a box, WRMHEADER wrapped in a PRO)', () => {
    const wvData = Buffer.from(widevinePssh([KID], 'cenc').data);
    const xml = `<r><KeyOSEncryptionInfoResponse><ContentKey>${KEY.toString('base64')}</ContentKey><WVHeader>${wvData.toString('base64')}</WVHeader><PRHeader>${Buffer.from('<WRMHEADER/>', 'utf16le').toString('base64')}</PRHeader></KeyOSEncryptionInfoResponse></r>`;
    const k = parseKeyosAnswer(xml, KID);
    expect(Buffer.from(k.key).equals(KEY)).toBe(true);
    expect(Buffer.from(k.drm!.pssh!.widevine!).equals(WV)).toBe(true);
    expect(Buffer.from(k.drm!.playreadyObject!).subarray(10).toString('utf16le')).toBe('<WRMHEADER/>');
  });
  it('reports faults and error statuses without the secrets', () => {
    expect(() => parseKeyosAnswer('<Envelope><Body><Fault><faultstring>bad key SECRETUSER</faultstring></Fault></Body></Envelope>', KID, { userkey: 'SECRETUSER' })).toThrow(
      'the KeyOS key API answered a fault: bad key [secret]',
    );
    expect(() => parseKeyosAnswer('<KeyOSEncryptionInfoResponse><Status>3</Status><Message>Unknown KeyID</Message></KeyOSEncryptionInfoResponse>', KID)).toThrow(/status 3\): Unknown KeyID/);
    expect(() => parseKeyosAnswer('<KeyOSEncryptionInfoResponse/>', KID)).toThrow(/no ContentKey/);
  });
  it('puts the UserKey in RequestXml and the ServerKey in its own element', () => {
    const env = parseXml(keyosRequest(KID, 'vod/a&b.mp4', { userkey: 'U<1>', serverKey: 'S&2', systems: ['playready'] }));
    expect(findFirst(env, 'ServerKey')!.text).toBe('S&2');
    const inner = parseXml(findFirst(env, 'RequestXml')!.text);
    expect(findFirst(inner, 'UserKey')!.text).toBe('U<1>');
    expect(findFirst(inner, 'ContentID')!.text).toBe('vod/a&b.mp4');
    expect(findFirst(inner, 'fl_GeneratePRHeader')!.text).toBe('true');
    expect(findFirst(inner, 'fl_GenerateWVHeader')!.text).toBe('false');
  });
});
