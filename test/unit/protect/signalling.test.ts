/**
 * Multi-DRM signalling (FORMATS.md §3.4, §4, §6): the DASH ContentProtection elements and the HLS key
 * lines, checked by decoding what they carry (whole pssh boxes, PlayReady Objects) with readers written
 * here, independent of src/.
 */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DrmData, DrmSystemName } from '../../../src/keys/provider.js';
import { psshBox } from '../../../src/mux/fmp4/init.js';
import {
  DASH_PROTECTION_NAMESPACES,
  SYSTEM_IDS,
  dashContentProtection,
  dashMultiDrmProtection,
  fairplayUri,
  hlsKeyAttributes,
  hlsKeyLine,
  hlsMultiDrmLines,
  hlsSessionKeyLine,
  initPsshBoxes,
  playreadyProOf,
  systemPssh,
  type DrmSignallingInput,
} from '../../../src/protect/signalling.js';
import type { CencScheme } from '../../../src/protect/types.js';

const KID_HEX = '00112233445566778899aabbccddeeff';
const KID_UUID = '00112233-4455-6677-8899-aabbccddeeff';
const KID = Uint8Array.from(Buffer.from(KID_HEX, 'hex'));
const KEY = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
/** FORMATS.md §6: the KID in little-endian GUID order, base64. */
const KID_LE_B64 = 'MyIRAFVEd2aImaq7zN3u/w==';

const WIDEVINE = 'edef8ba979d64acea3c827dcd51d21ed';
const PLAYREADY = '9a04f07998404286ab92e65be0885f95';
const COMMON = '1077efecc0b24d02ace33c1e52e2fb4b';
const PROTECTION_SCHEME = { cenc: 'e3dc959b06', cbcs: 'f3c6899b06' } as const;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

function input(scheme: CencScheme, systems: readonly DrmSystemName[], drm?: DrmData): DrmSignallingInput {
  return { scheme, kid: KID, key: KEY, systems, drm };
}

/** An ISO BMFF pssh box, read byte by byte. */
function readPssh(bytes: Uint8Array): { version: number; systemId: string; kids: string[]; data: Buffer } {
  const b = Buffer.from(bytes);
  expect(b.readUInt32BE(0), 'box size').toBe(b.length);
  expect(b.toString('latin1', 4, 8)).toBe('pssh');
  const version = b[8]!;
  expect(b.readUIntBE(9, 3), 'flags').toBe(0);
  const systemId = hex(b.subarray(12, 28));
  let at = 28;
  const kids: string[] = [];
  if (version === 1) {
    const n = b.readUInt32BE(at);
    at += 4;
    for (let i = 0; i < n; i++, at += 16) kids.push(hex(b.subarray(at, at + 16)));
  }
  const size = b.readUInt32BE(at);
  at += 4;
  expect(at + size, 'data size').toBe(b.length);
  return { version, systemId, kids, data: b.subarray(at) };
}

/** A PlayReady Object: u32 LE length, u16 LE count, then (type, length, UTF-16LE XML) records. */
function readPro(bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  expect(b.readUInt32LE(0), 'PRO length').toBe(b.length);
  expect(b.readUInt16LE(4), 'record count').toBe(1);
  expect(b.readUInt16LE(6), 'record type').toBe(1);
  const len = b.readUInt16LE(8);
  expect(10 + len).toBe(b.length);
  return b.subarray(10).toString('utf16le');
}

function widevineData(scheme: CencScheme): string {
  return `1210${KID_HEX}48${PROTECTION_SCHEME[scheme]}`;
}

function checksum(): string {
  const le = Buffer.from(KID_LE_B64, 'base64');
  const c = createCipheriv('aes-128-ecb', KEY, null);
  c.setAutoPadding(false);
  return c.update(le).subarray(0, 8).toString('base64');
}

/** Checks a PRO's WRMHEADER: 4.0.0.0 AESCTR with KID and CHECKSUM for cenc, 4.3.0.0 AESCBC for cbcs. */
function expectWrm(xml: string, scheme: CencScheme): void {
  expect(xml).toMatch(/^<WRMHEADER xmlns="http:\/\/schemas\.microsoft\.com\/DRM\/2007\/03\/PlayReadyHeader" /);
  if (scheme === 'cenc') {
    expect(xml).toContain('version="4.0.0.0"');
    expect(xml).toContain('<ALGID>AESCTR</ALGID>');
    expect(xml).toContain(`<KID>${KID_LE_B64}</KID>`);
    expect(xml).toContain(`<CHECKSUM>${checksum()}</CHECKSUM>`);
  } else {
    expect(xml).toContain('version="4.3.0.0"');
    expect(xml).toContain(`<KID ALGID="AESCBC" VALUE="${KID_LE_B64}">`);
  }
}

/** The top-level ContentProtection elements of a fragment, in order. */
function contentProtections(xml: string): { attrs: Record<string, string>; inner: string }[] {
  const out: { attrs: Record<string, string>; inner: string }[] = [];
  const re = /<ContentProtection((?:\s+[\w:]+="[^"]*")*)\s*(?:\/>|>([\s\S]*?)<\/ContentProtection>)/g;
  let last = 0;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    expect(m.index, 'nothing between elements').toBe(last);
    last = re.lastIndex;
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([\w:]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    out.push({ attrs, inner: m[2] ?? '' });
  }
  expect(last, 'whole fragment consumed').toBe(xml.length);
  return out;
}

function child(inner: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([^<]*)</${name}>`).exec(inner);
  return m?.[1];
}

/** An HLS tag line: its name and attribute list (quoted strings kept quoted; RFC 8216 §4.2). */
function hlsTag(line: string): { tag: string; attrs: Record<string, string>; order: string[] } {
  const colon = line.indexOf(':');
  const tag = line.slice(0, colon);
  const rest = line.slice(colon + 1);
  const attrs: Record<string, string> = {};
  const order: string[] = [];
  const re = /([A-Z0-9-]+)=("[^"\r\n]*"|[^",\r\n]*)(,|$)/gy;
  let consumed = 0;
  for (let m = re.exec(rest); m && m[0] !== ''; m = re.exec(rest)) {
    attrs[m[1]!] = m[2]!;
    order.push(m[1]!);
    consumed = re.lastIndex;
  }
  expect(consumed, `attribute list of ${line}`).toBe(rest.length);
  return { tag, attrs, order };
}

const unquote = (v: string | undefined): string => {
  expect(v).toMatch(/^".*"$/);
  return v!.slice(1, -1);
};

describe('constants', () => {
  it('namespaces are those Shaka and ExoPlayer look for (FORMATS.md §4)', () => {
    expect(DASH_PROTECTION_NAMESPACES).toStrictEqual({
      cenc: 'urn:mpeg:cenc:2013',
      dashif: 'https://dashif.org/CPS',
      clearkey: 'http://dashif.org/guidelines/clearKey',
      mspr: 'urn:microsoft:playready',
    });
  });
  it('system ids: W3C common pssh and the DASH-IF ClearKey scheme', () => {
    expect(SYSTEM_IDS.common).toBe('1077efec-c0b2-4d02-ace3-3c1e52e2fb4b');
    expect(SYSTEM_IDS.clearkeyDash).toBe('e2719d58-a985-b3c9-781a-b030af78d30e');
  });
});

describe('fairplayUri', () => {
  it('is skd:// with the KID as a lower-case dashed UUID', () => {
    expect(fairplayUri(KID)).toBe(`skd://${KID_UUID}`);
    expect(fairplayUri(Uint8Array.from(Buffer.from('ABCDEF0123456789ABCDEF0123456789', 'hex')))).toBe('skd://abcdef01-2345-6789-abcd-ef0123456789');
  });
});

describe('dashContentProtection (ClearKey only)', () => {
  it('is mp4protection with default_KID, then ClearKey with both Laurl spellings', () => {
    const xml = dashContentProtection('cenc', KID, 'https://lic.example/clearkey');
    expect(xml).toBe(
      `<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="${KID_UUID}"/>` +
        '<ContentProtection schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e" value="ClearKey1.0">' +
        '<dashif:Laurl>https://lic.example/clearkey</dashif:Laurl>' +
        '<clearkey:Laurl Lic_type="EME-1.0">https://lic.example/clearkey</clearkey:Laurl>' +
        '</ContentProtection>',
    );
  });
  it('signals cbcs in the mp4protection value', () => {
    const [mp4] = contentProtections(dashContentProtection('cbcs', KID, 'https://x/'));
    expect(mp4!.attrs).toStrictEqual({ schemeIdUri: 'urn:mpeg:dash:mp4protection:2011', value: 'cbcs', 'cenc:default_KID': KID_UUID });
  });
  it('escapes the licence URL as XML text', () => {
    const xml = dashContentProtection('cenc', KID, 'https://lic.example/ck?a=1&b="<2>"');
    const esc = 'https://lic.example/ck?a=1&amp;b=&quot;&lt;2&gt;&quot;';
    expect(child(xml, 'dashif:Laurl')).toBe(esc);
    expect(child(xml, 'clearkey:Laurl')).toBe(esc);
    expect(xml).not.toContain('&b=');
  });
});

describe('hlsKeyLine / hlsSessionKeyLine (identity)', () => {
  it('uses SAMPLE-AES for cbcs and SAMPLE-AES-CTR for cenc, no IV', () => {
    expect(hlsKeyLine('cbcs', 'https://h/key')).toBe('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="https://h/key",KEYFORMAT="identity",KEYFORMATVERSIONS="1"');
    expect(hlsKeyLine('cenc', 'https://h/key')).toBe('#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI="https://h/key",KEYFORMAT="identity",KEYFORMATVERSIONS="1"');
    expect(hlsSessionKeyLine('cbcs', 'https://h/key')).toBe('#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="https://h/key",KEYFORMAT="identity",KEYFORMATVERSIONS="1"');
    expect(hlsKeyAttributes('cenc', 'k')).not.toContain('IV=');
  });
  it('percent-encodes a double quote in the URI so the quoted string stays closed', () => {
    const line = hlsKeyLine('cbcs', 'https://h/key?x="y"');
    const { attrs } = hlsTag(line);
    expect(unquote(attrs.URI)).toBe('https://h/key?x=%22y%22');
  });
});

describe('initPsshBoxes / systemPssh', () => {
  it('gives one box per system that has one, in the configured order (none for FairPlay)', () => {
    const boxes = initPsshBoxes(input('cenc', ['playready', 'fairplay', 'clearkey', 'widevine']));
    expect(boxes.map((b) => hex(b.systemId))).toStrictEqual([PLAYREADY, COMMON, WIDEVINE]);
    expect(initPsshBoxes(input('cenc', ['widevine', 'playready'])).map((b) => hex(b.systemId))).toStrictEqual([WIDEVINE, PLAYREADY]);
    expect(initPsshBoxes(input('cbcs', ['fairplay']))).toStrictEqual([]);
    expect(initPsshBoxes(input('cbcs', []))).toStrictEqual([]);
  });
  it('ClearKey: version 1 common pssh listing the KID, no data (52 bytes)', () => {
    const box = psshBox(systemPssh(input('cenc', ['clearkey']), 'clearkey')!);
    expect(box.length).toBe(52);
    expect(readPssh(box)).toStrictEqual({ version: 1, systemId: COMMON, kids: [KID_HEX], data: Buffer.alloc(0) });
  });
  it.each(['cenc', 'cbcs'] as const)('Widevine (%s): version 0, WidevinePsshData with key_id and protection_scheme', (scheme) => {
    const p = readPssh(psshBox(systemPssh(input(scheme, ['widevine']), 'widevine')!));
    expect(p.version).toBe(0);
    expect(p.systemId).toBe(WIDEVINE);
    expect(p.kids).toStrictEqual([]);
    expect(hex(p.data)).toBe(widevineData(scheme));
  });
  it.each(['cenc', 'cbcs'] as const)('PlayReady (%s): pssh data is the PlayReady Object', (scheme) => {
    const i = input(scheme, ['playready']);
    const p = readPssh(psshBox(systemPssh(i, 'playready')!));
    expect(p.systemId).toBe(PLAYREADY);
    expect(hex(p.data)).toBe(hex(playreadyProOf(i)));
    expectWrm(readPro(p.data), scheme);
  });
  it("uses the key server's pssh box verbatim when given", () => {
    const vendorData = Buffer.from('1210' + KID_HEX + '1a0576656e646f72', 'hex'); // + provider "vendor"
    const vendor = psshBox({ systemId: Uint8Array.from(Buffer.from(WIDEVINE, 'hex')), data: vendorData });
    const boxes = initPsshBoxes(input('cenc', ['widevine'], { pssh: { widevine: vendor } }));
    expect(boxes).toHaveLength(1);
    expect(hex(psshBox(boxes[0]!))).toBe(hex(vendor));
  });
  it("PlayReady Object: from the server's pssh, else its PRO, else built", () => {
    const pro = Buffer.from('vendor PRO bytes');
    expect(hex(playreadyProOf(input('cenc', ['playready'], { playreadyObject: pro })))).toBe(hex(pro));
    const vendorBox = psshBox({ systemId: Uint8Array.from(Buffer.from(PLAYREADY, 'hex')), data: Buffer.from('from pssh') });
    expect(Buffer.from(playreadyProOf(input('cenc', ['playready'], { pssh: { playready: vendorBox }, playreadyObject: pro }))).toString()).toBe('from pssh');
  });
});

describe('dashMultiDrmProtection', () => {
  const URLS = { widevine: 'https://lic/wv', playready: 'https://lic/pr', clearkey: 'https://lic/ck' };

  it.each(['cenc', 'cbcs'] as const)('%s: mp4protection first, then Widevine, PlayReady, ClearKey as configured', (scheme) => {
    const i = input(scheme, ['widevine', 'playready', 'fairplay', 'clearkey']);
    const els = contentProtections(dashMultiDrmProtection(i, URLS));
    expect(els.map((e) => e.attrs.schemeIdUri)).toStrictEqual([
      'urn:mpeg:dash:mp4protection:2011',
      'urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed',
      'urn:uuid:9a04f079-9840-4286-ab92-e65be0885f95',
      'urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e',
    ]);
    const [mp4, wv, pr, ck] = els;
    expect(mp4!.attrs).toStrictEqual({ schemeIdUri: 'urn:mpeg:dash:mp4protection:2011', value: scheme, 'cenc:default_KID': KID_UUID });
    expect(mp4!.inner).toBe('');

    // Widevine: cenc:pssh = base64 of the whole box; dashif:Laurl.
    const wvPssh = readPssh(b64(child(wv!.inner, 'cenc:pssh')!));
    expect(wvPssh.systemId).toBe(WIDEVINE);
    expect(hex(wvPssh.data)).toBe(widevineData(scheme));
    expect(child(wv!.inner, 'dashif:Laurl')).toBe('https://lic/wv');

    // PlayReady: value="MSPR 2.0", cenc:pssh whose data is mspr:pro.
    expect(pr!.attrs.value).toBe('MSPR 2.0');
    const prPssh = readPssh(b64(child(pr!.inner, 'cenc:pssh')!));
    expect(prPssh.systemId).toBe(PLAYREADY);
    const pro = b64(child(pr!.inner, 'mspr:pro')!);
    expect(hex(prPssh.data)).toBe(hex(pro));
    expectWrm(readPro(pro), scheme);
    expect(child(pr!.inner, 'dashif:Laurl')).toBe('https://lic/pr');

    // ClearKey: both Laurl spellings.
    expect(ck!.attrs.value).toBe('ClearKey1.0');
    expect(ck!.inner).toBe('<dashif:Laurl>https://lic/ck</dashif:Laurl><clearkey:Laurl Lic_type="EME-1.0">https://lic/ck</clearkey:Laurl>');
  });

  it('follows the configured order, not a fixed one', () => {
    const els = contentProtections(dashMultiDrmProtection(input('cenc', ['clearkey', 'playready', 'widevine']), URLS));
    expect(els.map((e) => e.attrs.schemeIdUri)).toStrictEqual([
      'urn:mpeg:dash:mp4protection:2011',
      'urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e',
      'urn:uuid:9a04f079-9840-4286-ab92-e65be0885f95',
      'urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed',
    ]);
  });

  it('leaves out Laurl without a URL, ClearKey without a URL, and FairPlay always', () => {
    const xml = dashMultiDrmProtection(input('cenc', ['widevine', 'playready', 'clearkey', 'fairplay']), {});
    const els = contentProtections(xml);
    expect(els).toHaveLength(3);
    expect(xml).not.toContain('Laurl');
    expect(xml).not.toContain('94ce86fb');
    expect(contentProtections(dashMultiDrmProtection(input('cbcs', ['fairplay']), URLS))).toHaveLength(1);
  });

  it('escapes licence URLs as XML text', () => {
    const url = 'https://lic/x?a=1&b=<2>"';
    const xml = dashMultiDrmProtection(input('cenc', ['widevine', 'playready', 'clearkey']), { widevine: url, playready: url, clearkey: url });
    const esc = 'https://lic/x?a=1&amp;b=&lt;2&gt;&quot;';
    for (const el of contentProtections(xml).slice(1)) expect(child(el.inner, 'dashif:Laurl')).toBe(esc);
    expect(child(xml, 'clearkey:Laurl')).toBe(esc);
    expect(xml).not.toContain('&b=');
  });

  it("uses the key server's pssh boxes and PRO, and its ContentProtectionData in place of the built children", () => {
    const wvBox = psshBox({ systemId: Uint8Array.from(Buffer.from(WIDEVINE, 'hex')), data: Buffer.from('wv-vendor') });
    const pro = Buffer.from('pro-vendor');
    const i = input('cenc', ['widevine', 'playready'], { pssh: { widevine: wvBox }, playreadyObject: pro });
    const [, wv, pr] = contentProtections(dashMultiDrmProtection(i, {}));
    expect(b64(child(wv!.inner, 'cenc:pssh')!).toString('hex')).toBe(hex(wvBox));
    expect(b64(child(pr!.inner, 'mspr:pro')!).toString()).toBe('pro-vendor');
    expect(readPssh(b64(child(pr!.inner, 'cenc:pssh')!)).data.toString()).toBe('pro-vendor');

    const cpd = '<cenc:pssh>VENDOR</cenc:pssh>';
    const j = input('cenc', ['widevine', 'playready'], { contentProtectionData: { widevine: cpd } });
    const [, wv2, pr2] = contentProtections(dashMultiDrmProtection(j, { widevine: 'https://lic/wv' }));
    expect(wv2!.inner).toBe(`${cpd}<dashif:Laurl>https://lic/wv</dashif:Laurl>`);
    expect(child(pr2!.inner, 'mspr:pro')).toBeDefined();
  });
});

describe('hlsMultiDrmLines', () => {
  const OPTS = { identityUri: 'https://h/key', fairplayUri: fairplayUri(KID) };

  it('cbcs: FairPlay, Widevine, PlayReady, identity in the configured order, all METHOD=SAMPLE-AES', () => {
    const lines = hlsMultiDrmLines(input('cbcs', ['fairplay', 'widevine', 'playready', 'clearkey']), '#EXT-X-KEY', OPTS);
    expect(lines).toHaveLength(4);
    const [fp, wv, pr, ck] = lines.map(hlsTag);
    for (const t of [fp, wv, pr, ck]) {
      expect(t!.tag).toBe('#EXT-X-KEY');
      expect(t!.attrs.METHOD).toBe('SAMPLE-AES');
    }
    expect(fp!.attrs).toStrictEqual({
      METHOD: 'SAMPLE-AES',
      URI: `"skd://${KID_UUID}"`,
      KEYFORMAT: '"com.apple.streamingkeydelivery"',
      KEYFORMATVERSIONS: '"1"',
    });

    const wvUri = unquote(wv!.attrs.URI);
    expect(wvUri.startsWith('data:text/plain;base64,')).toBe(true);
    const wvPssh = readPssh(b64(wvUri.slice('data:text/plain;base64,'.length)));
    expect(wvPssh.systemId).toBe(WIDEVINE);
    expect(hex(wvPssh.data)).toBe(widevineData('cbcs'));
    expect(wv!.attrs.KEYID).toBe(`0x${KID_HEX}`);
    expect(wv!.attrs.KEYFORMAT).toBe('"urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"');
    expect(wv!.attrs.KEYFORMATVERSIONS).toBe('"1"');

    const prUri = unquote(pr!.attrs.URI);
    const prefix = 'data:text/plain;charset=UTF-16;base64,';
    expect(prUri.startsWith(prefix)).toBe(true);
    expectWrm(readPro(b64(prUri.slice(prefix.length))), 'cbcs');
    expect(pr!.attrs.KEYFORMAT).toBe('"com.microsoft.playready"');
    expect(pr!.attrs.KEYFORMATVERSIONS).toBe('"1"');

    expect(ck!.attrs).toStrictEqual({ METHOD: 'SAMPLE-AES', URI: '"https://h/key"', KEYFORMAT: '"identity"', KEYFORMATVERSIONS: '"1"' });
  });

  it('cenc: SAMPLE-AES-CTR, and no FairPlay line', () => {
    const lines = hlsMultiDrmLines(input('cenc', ['widevine', 'fairplay', 'playready', 'clearkey']), '#EXT-X-KEY', OPTS);
    const tags = lines.map(hlsTag);
    expect(tags.map((t) => t.attrs.KEYFORMAT)).toStrictEqual(['"urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"', '"com.microsoft.playready"', '"identity"']);
    for (const t of tags) expect(t.attrs.METHOD).toBe('SAMPLE-AES-CTR');
    expect(lines.join('\n')).not.toContain('streamingkeydelivery');
    const wvUri = unquote(tags[0]!.attrs.URI);
    expect(hex(readPssh(b64(wvUri.slice('data:text/plain;base64,'.length))).data)).toBe(widevineData('cenc'));
    const prUri = unquote(tags[1]!.attrs.URI);
    expectWrm(readPro(b64(prUri.slice('data:text/plain;charset=UTF-16;base64,'.length))), 'cenc');
    expect(hlsMultiDrmLines(input('cenc', ['fairplay']), '#EXT-X-KEY', OPTS)).toStrictEqual([]);
  });

  it('follows the configured order', () => {
    const lines = hlsMultiDrmLines(input('cbcs', ['clearkey', 'playready', 'widevine', 'fairplay']), '#EXT-X-KEY', OPTS);
    expect(lines.map((l) => hlsTag(l).attrs.KEYFORMAT)).toStrictEqual([
      '"identity"',
      '"com.microsoft.playready"',
      '"urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"',
      '"com.apple.streamingkeydelivery"',
    ]);
  });

  it('EXT-X-SESSION-KEY lines carry the same attributes as EXT-X-KEY', () => {
    const i = input('cbcs', ['fairplay', 'widevine', 'playready', 'clearkey']);
    const media = hlsMultiDrmLines(i, '#EXT-X-KEY', OPTS);
    const master = hlsMultiDrmLines(i, '#EXT-X-SESSION-KEY', OPTS);
    expect(master).toStrictEqual(media.map((l) => l.replace(/^#EXT-X-KEY:/, '#EXT-X-SESSION-KEY:')));
  });

  it('percent-encodes double quotes in the FairPlay and identity URIs', () => {
    const lines = hlsMultiDrmLines(input('cbcs', ['fairplay', 'clearkey']), '#EXT-X-KEY', { identityUri: 'https://h/k?a="1"', fairplayUri: 'skd://a"b' });
    const [fp, ck] = lines.map(hlsTag);
    expect(unquote(fp!.attrs.URI)).toBe('skd://a%22b');
    expect(unquote(ck!.attrs.URI)).toBe('https://h/k?a=%221%22');
  });

  it("uses the key server's HLSSignalingData lines of the right tag, else builds the line", () => {
    const vendorMedia = '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://vendor",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"';
    const vendorMaster = '#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="skd://vendor",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"';
    const drm: DrmData = {
      hls: {
        fairplay: { media: `#EXTM3U\r\n  ${vendorMedia}  \n#EXT-X-VERSION:6\n${vendorMaster}`, master: vendorMaster },
        widevine: { media: '#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="x"' }, // wrong tag: ignored
      },
    };
    const i = input('cbcs', ['fairplay', 'widevine'], drm);
    const media = hlsMultiDrmLines(i, '#EXT-X-KEY', OPTS);
    expect(media[0]).toBe(vendorMedia);
    expect(media).toHaveLength(2);
    expect(hlsTag(media[1]!).attrs.KEYFORMAT).toBe('"urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"');
    const master = hlsMultiDrmLines(i, '#EXT-X-SESSION-KEY', OPTS);
    expect(master[0]).toBe(vendorMaster);
    expect(hlsTag(master[1]!).tag).toBe('#EXT-X-SESSION-KEY');
  });

  it("puts the key server's Widevine pssh into the data URI byte for byte", () => {
    const vendor = psshBox({ systemId: Uint8Array.from(Buffer.from(WIDEVINE, 'hex')), kids: [KID], data: Buffer.from('22047465737448f3c6899b06', 'hex') });
    const [wv] = hlsMultiDrmLines(input('cbcs', ['widevine'], { pssh: { widevine: vendor } }), '#EXT-X-KEY', OPTS);
    const uri = unquote(hlsTag(wv!).attrs.URI);
    expect(b64(uri.slice('data:text/plain;base64,'.length)).toString('hex')).toBe(hex(vendor));
  });
});
