// DRM init data against the byte sequences of FORMATS.md §6 (shaka-packager's output).
import { describe, it, expect } from 'vitest';
import { createCipheriv } from 'node:crypto';
import { psshBox } from '../../../src/mux/fmp4/init.js';
import { commonPssh } from '../../../src/protect/init-protection.js';
import {
  leGuid,
  parsePsshBox,
  playreadyChecksum,
  playreadyObject,
  playreadyPssh,
  widevinePssh,
  wrmHeader,
  wrmHeaderOf,
  systemOf,
} from '../../../src/protect/pssh.js';

const KID = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const KEY = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('Widevine pssh', () => {
  it('is the 56-byte box of FORMATS.md §6 for one KID, cenc', () => {
    const box = psshBox(widevinePssh([KID], 'cenc'));
    expect(box.length).toBe(56);
    expect(hex(box)).toBe(
      '00000038' + '70737368' + '00000000' + 'edef8ba979d64acea3c827dcd51d21ed' + '00000018' + '1210' + '00112233445566778899aabbccddeeff' + '48e3dc959b06',
    );
  });
  it('carries protection_scheme cbcs as f3 c6 89 9b 06', () => {
    expect(hex(widevinePssh([KID], 'cbcs').data)).toBe('121000112233445566778899aabbccddeeff48f3c6899b06');
  });
  it('lists every KID', () => {
    const k2 = Uint8Array.from(Buffer.alloc(16, 0xaa));
    expect(hex(widevinePssh([KID, k2], 'cenc').data)).toBe(`1210${hex(KID)}1210${hex(k2)}48e3dc959b06`);
  });
});

describe('common pssh', () => {
  it('is the 52-byte v1 box of FORMATS.md §1.3', () => {
    expect(hex(psshBox(commonPssh([KID])))).toBe('0000003470737368010000001077efecc0b24d02ace33c1e52e2fb4b0000000100112233445566778899aabbccddeeff00000000');
  });
});

describe('PlayReady', () => {
  it('writes the KID in little-endian GUID order', () => {
    expect(Buffer.from(leGuid(KID)).toString('base64')).toBe('MyIRAFVEd2aImaq7zN3u/w==');
    expect(hex(leGuid(KID))).toBe('33221100554477668899aabbccddeeff');
  });
  it('computes CHECKSUM as the first 8 bytes of AES-ECB(key, LE KID)', () => {
    const c = createCipheriv('aes-128-ecb', KEY, null);
    const want = c.update(Buffer.from('33221100554477668899aabbccddeeff', 'hex')).subarray(0, 8);
    expect(hex(playreadyChecksum(KID, KEY))).toBe(want.toString('hex'));
  });
  it('builds WRMHEADER 4.0 (AESCTR, CHECKSUM) for cenc and 4.3 (AESCBC) for cbcs', () => {
    const v40 = wrmHeader(KID, 'cenc', { key: KEY });
    expect(v40).toContain('version="4.0.0.0"');
    expect(v40).toContain('<KID>MyIRAFVEd2aImaq7zN3u/w==</KID>');
    expect(v40).toContain(`<CHECKSUM>${Buffer.from(playreadyChecksum(KID, KEY)).toString('base64')}</CHECKSUM>`);
    expect(v40).toContain('<ALGID>AESCTR</ALGID>');
    const v43 = wrmHeader(KID, 'cbcs');
    expect(v43).toContain('version="4.3.0.0"');
    expect(v43).toContain('<KID ALGID="AESCBC" VALUE="MyIRAFVEd2aImaq7zN3u/w=="></KID>');
    expect(v43).not.toContain('CHECKSUM');
  });
  it('wraps the header in a PlayReady Object: LE length, one record of type 1, UTF-16LE', () => {
    const xml = wrmHeader(KID, 'cenc', { key: KEY });
    const pro = Buffer.from(playreadyObject(xml));
    expect(pro.readUInt32LE(0)).toBe(pro.length);
    expect(pro.readUInt16LE(4)).toBe(1);
    expect(pro.readUInt16LE(6)).toBe(1);
    expect(pro.readUInt16LE(8)).toBe(xml.length * 2);
    expect(pro.subarray(10).toString('utf16le')).toBe(xml);
    expect(wrmHeaderOf(pro)).toBe(xml);
    const box = Buffer.from(psshBox(playreadyPssh(pro)));
    expect(box.subarray(12, 28).toString('hex')).toBe('9a04f07998404286ab92e65be0885f95');
    expect(box.subarray(32).equals(pro)).toBe(true);
  });
});

describe('parsePsshBox', () => {
  it('reads back v0 and v1 boxes byte for byte', () => {
    for (const p of [widevinePssh([KID], 'cbcs'), commonPssh([KID])]) {
      const bytes = psshBox(p);
      expect(hex(psshBox(parsePsshBox(bytes)))).toBe(hex(bytes));
    }
    expect(systemOf(parsePsshBox(psshBox(widevinePssh([KID], 'cenc'))).systemId)).toBe('widevine');
  });
  it('refuses what is not exactly one pssh box', () => {
    const bytes = psshBox(widevinePssh([KID], 'cenc'));
    expect(() => parsePsshBox(bytes.subarray(0, 40))).toThrow();
    const bad = Uint8Array.from(bytes);
    bad[4] = 0x78;
    expect(() => parsePsshBox(bad)).toThrow(/not a pssh/);
  });
});
