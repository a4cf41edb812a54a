import { describe, expect, it } from 'vitest';
import { buildInit, psshBox } from '../../../src/mux/fmp4/init.js';
import { commonPssh, initProtection } from '../../../src/protect/init-protection.js';
import { schemeParams } from '../../../src/protect/types.js';
import { loadTrack } from './helpers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const from = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const KID = from('00112233445566778899aabbccddeeff');
const IV = from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');

describe('commonPssh', () => {
  it('is the 52-byte W3C common pssh of FORMATS.md §1.3', () => {
    expect(hex(psshBox(commonPssh([KID])))).toBe(
      '00000034 70737368 01000000 1077efecc0b24d02ace33c1e52e2fb4b 00000001 00112233445566778899aabbccddeeff 00000000'.replace(/ /g, ''),
    );
  });
  it('lists several KIDs', () => {
    expect(psshBox(commonPssh([KID, KID])).length).toBe(52 + 16);
  });
});

describe('schemeParams (the per-scheme table)', () => {
  it('cenc: 8-byte per-sample IVs, no pattern, no constant IV, video and audio alike', () => {
    for (const kind of ['video', 'audio'] as const) {
      expect(schemeParams('cenc', kind, IV)).toEqual({ scheme: 'cenc', perSampleIvSize: 8, cryptByteBlock: 0, skipByteBlock: 0 });
    }
  });
  it('cbcs: constant IV; 1:9 for video, 0:0 (every whole block) for audio', () => {
    expect(schemeParams('cbcs', 'video', IV)).toEqual({ scheme: 'cbcs', perSampleIvSize: 0, cryptByteBlock: 1, skipByteBlock: 9, constantIv: IV });
    expect(schemeParams('cbcs', 'audio', IV)).toEqual({ scheme: 'cbcs', perSampleIvSize: 0, cryptByteBlock: 0, skipByteBlock: 0, constantIv: IV });
    expect(() => schemeParams('cbcs', 'video')).toThrow(/constant IV/);
    expect(() => schemeParams('cbcs', 'video', IV.subarray(0, 8))).toThrow(/constant IV/);
  });
});

describe('initProtection', () => {
  it('gives buildInit a tenc v1 with pattern 1:9 and the constant IV for cbcs video', async () => {
    const t = await loadTrack('fixtures/vod/bframes.mp4', 'video');
    const p = initProtection(t.track, 'cbcs', KID, IV, [commonPssh([KID])]);
    expect(p).toMatchObject({ scheme: 'cbcs', perSampleIvSize: 0, cryptByteBlock: 1, skipByteBlock: 9, constantIv: IV });
    const init = hex(buildInit(t.track, { protection: p }));
    // tenc: size 49, version 1, reserved, pattern 0x19, isProtected 1, IV size 0, KID, IV size 16, IV.
    expect(init).toContain(`00000031${hex(new TextEncoder().encode('tenc'))}01000000 0019 01 00 ${hex(KID)} 10 ${hex(IV)}`.replace(/ /g, ''));
    expect(init).toContain(hex(psshBox(commonPssh([KID]))));
  });

  it('gives a tenc v0 with 8-byte IVs for cenc audio', async () => {
    const t = await loadTrack('fixtures/vod/bframes.mp4', 'audio');
    const init = hex(buildInit(t.track, { protection: initProtection(t.track, 'cenc', KID, undefined, []) }));
    expect(init).toContain(`00000020${hex(new TextEncoder().encode('tenc'))}00000000 0000 01 08 ${hex(KID)}`.replace(/ /g, ''));
  });

  it('refuses a KID that is not 16 bytes', async () => {
    const t = await loadTrack('fixtures/vod/bframes.mp4', 'audio');
    expect(() => initProtection(t.track, 'cenc', KID.subarray(1), undefined, [])).toThrow(/KID/);
    expect(() => commonPssh([KID.subarray(1)])).toThrow(/KID/);
  });
});
