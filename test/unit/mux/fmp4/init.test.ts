import { describe, expect, it } from 'vitest';
import { buildInit, psshBox, type InitProtection } from '../../../../src/mux/fmp4/init.js';
import {
  avc1Entry,
  boxBytes,
  findBox,
  fromHex,
  hex,
  makeSamples,
  makeTrack,
  parseWithMp4box,
  readMp4Track,
  walkBoxes,
  type RawBox,
  expectMuxFailure,
} from './helpers.js';

const KID = fromHex('00112233445566778899aabbccddeeff');
const IV = fromHex('000102030405060708090a0b0c0d0e0f');
const COMMON_SYSTEM_ID = fromHex('1077efecc0b24d02ace33c1e52e2fb4b');
const WIDEVINE_SYSTEM_ID = fromHex('edef8ba979d64acea3c827dcd51d21ed');
const samples = makeSamples([{ duration: 512, size: 10 }]);
const video = makeTrack({ samples, id: 3, timescale: 12800, width: 1920, height: 1080, language: 'deu' });
const audio = makeTrack({ samples, kind: 'audio', id: 2, name: 'Stereo' });

function tree(boxes: readonly RawBox[]): unknown[] {
  return boxes.map((b) => (b.children.length ? { [b.type]: tree(b.children) } : b.type));
}

function u32(buf: Uint8Array, at: number): number {
  return new DataView(buf.buffer, buf.byteOffset).getUint32(at);
}

function cenc(over: Partial<InitProtection> = {}): InitProtection {
  return { scheme: 'cenc', kid: KID, perSampleIvSize: 8, cryptByteBlock: 0, skipByteBlock: 0, pssh: [], ...over };
}

function cbcs(over: Partial<InitProtection> = {}): InitProtection {
  return { scheme: 'cbcs', kid: KID, perSampleIvSize: 0, constantIv: IV, cryptByteBlock: 1, skipByteBlock: 9, pssh: [], ...over };
}

describe('buildInit (clear)', () => {
  it('has the CMAF header layout: no edts, empty sample tables, mvex/trex', () => {
    const init = buildInit(video);
    expect(tree(walkBoxes(init))).toEqual([
      'ftyp',
      {
        moov: [
          'mvhd',
          {
            trak: [
              'tkhd',
              {
                mdia: [
                  'mdhd',
                  'hdlr',
                  { minf: ['vmhd', { dinf: [{ dref: ['url '] }] }, { stbl: [{ stsd: [{ avc1: ['avcC'] }] }, 'stts', 'stsc', 'stsz', 'stco'] }] },
                ],
              },
            ],
          },
          { mvex: ['trex'] },
        ],
      },
    ]);
  });

  it('copies the sample entry verbatim', () => {
    const init = buildInit(video);
    const entry = findBox(walkBoxes(init), 'moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'avc1');
    expect(hex(init.subarray(entry.start, entry.start + entry.size))).toBe(hex(video.sampleEntry));
  });

  it('states the track in mvhd/tkhd/mdhd/hdlr/trex (read back by mp4box)', () => {
    const iso = parseWithMp4box(buildInit(video));
    const trak = iso.moov.traks[0]!;
    expect(iso.moov.mvhd.timescale).toBe(12800);
    expect(iso.moov.mvhd.duration).toBe(0);
    expect(iso.moov.mvhd.next_track_id).toBe(4);
    expect(trak.tkhd.track_id).toBe(3);
    expect(trak.tkhd.flags).toBe(3);
    expect(trak.tkhd.width).toBe(1920 * 65536);
    expect(trak.tkhd.height).toBe(1080 * 65536);
    expect(trak.tkhd.volume).toBe(0);
    expect(trak.mdia.mdhd.timescale).toBe(12800);
    expect(trak.mdia.mdhd.languageString).toBe('deu');
    expect(trak.mdia.hdlr.handler).toBe('vide');
    expect(trak.mdia.hdlr.name).toBe('VideoHandler');
    expect(trak.edts).toBeUndefined();
    expect(iso.moov.mvex?.trexs[0]).toMatchObject({ track_id: 3, default_sample_description_index: 1 });
    expect(iso.getInfo().isFragmented).toBe(true);
  });

  it('writes smhd, volume 1.0 and the track name for audio', () => {
    const init = buildInit(audio);
    const minf = findBox(walkBoxes(init), 'moov', 'trak', 'mdia', 'minf');
    expect(minf.children.map((b) => b.type)).toEqual(['smhd', 'dinf', 'stbl']);
    const trak = parseWithMp4box(init).moov.traks[0]!;
    expect(trak.tkhd.volume).toBe(1);
    expect(trak.tkhd.width).toBe(0);
    expect(trak.mdia.hdlr.handler).toBe('soun');
    expect(trak.mdia.hdlr.name).toBe('Stereo');
    expect(trak.mdia.mdhd.languageString).toBe('eng');
  });

  it.each([
    ['avc1', ['iso6', 'cmfc', 'dash', 'mp41', 'iso8', 'isom']],
    ['hvc1', ['iso6', 'cmfc', 'dash', 'mp41', 'iso8', 'isom']],
    ['mp4a', ['iso6', 'cmfc', 'dash', 'mp41', 'iso8', 'isom']],
    ['avc3', ['iso6', 'dash', 'mp41', 'iso8', 'isom']],
    ['hev1', ['iso6', 'dash', 'mp41', 'iso8', 'isom']],
  ] as const)('ftyp for %s: cmfc only with parameter sets out of band', (type, brands) => {
    const ftyp = parseWithMp4box(buildInit({ ...video, sampleEntryType: type })).ftyp!;
    expect(ftyp.major_brand).toBe('iso6');
    expect(ftyp.compatible_brands).toEqual(brands);
  });

  it('reproduces a real file\'s track as mp4box describes it', () => {
    for (const [path, handler] of [
      ['fixtures/vod/bframes.mp4', 'vide'],
      ['fixtures/vod/bframes.mp4', 'soun'],
      ['fixtures/vod/hevc.mp4', 'vide'],
    ] as const) {
      const { track, file } = readMp4Track(path, handler);
      const src = parseWithMp4box(file).getInfo().tracks.find((t) => t.id === track.id)!;
      const out = parseWithMp4box(buildInit(track)).getInfo().tracks[0]!;
      expect(out.codec).toBe(src.codec);
      expect(out.timescale).toBe(src.timescale);
      expect(out.language).toBe(src.language);
      expect(out.video).toEqual(src.video);
      expect(out.audio).toEqual(src.audio);
    }
  });

  it('refuses a sample entry whose size field disagrees with its bytes', () => {
    const bad = avc1Entry();
    bad[3]! += 1;
    expectMuxFailure(() => buildInit({ ...video, sampleEntry: bad }), /declares/);
    expectMuxFailure(() => buildInit({ ...video, sampleEntry: new Uint8Array(4) }), /shorter/);
  });
});

describe('buildInit (protected)', () => {
  it('cenc video: encv keeps every original child, appends sinf, and grows by exactly the sinf', () => {
    const init = buildInit(video, { protection: cenc() });
    const encv = findBox(walkBoxes(init), 'moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'encv');
    expect(encv.children.map((b) => b.type)).toEqual(['avcC', 'sinf']);
    const sinf = encv.children[1]!;
    expect(encv.size).toBe(video.sampleEntry.length + sinf.size);
    // Body bytes (reserved fields, dimensions, avcC) unchanged.
    expect(hex(init.subarray(encv.start + 8, sinf.start))).toBe(hex(video.sampleEntry.subarray(8)));
    expect(sinf.children.map((b) => b.type)).toEqual(['frma', 'schm', 'schi']);
    const [frma, schm, schi] = sinf.children as [RawBox, RawBox, RawBox];
    expect(hex(init.subarray(frma.start, frma.start + frma.size))).toBe('0000000c' + '66726d61' + hex(Buffer.from('avc1')));
    expect(hex(init.subarray(schm.start, schm.start + schm.size))).toBe('00000014' + '7363686d' + '00000000' + '63656e63' + '00010000');
    const tenc = findBox(schi.children, 'tenc');
    // FORMATS.md 1.3: tenc v0, reserved, reserved, isProtected 1, IV size 8, KID.
    expect(hex(init.subarray(tenc.start, tenc.start + tenc.size))).toBe(
      '00000020' + '74656e63' + '00000000' + '00' + '00' + '01' + '08' + hex(KID),
    );
    // The stsd and every ancestor were measured with the sinf in.
    const stsd = findBox(walkBoxes(init), 'moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd');
    expect(stsd.size).toBe(16 + encv.size);
    expect(u32(init, findBox(walkBoxes(init), 'moov').start)).toBe(init.length - walkBoxes(init)[0]!.size);
  });

  it('cbcs video: tenc v1, pattern byte 0x19, constant IV after the KID (49 bytes)', () => {
    const init = buildInit(video, { protection: cbcs() });
    const tenc = findBox(walkBoxes(init), 'moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'encv', 'sinf', 'schi', 'tenc');
    expect(hex(init.subarray(tenc.start, tenc.start + tenc.size))).toBe(
      '00000031' + '74656e63' + '01000000' + '00' + '19' + '01' + '00' + hex(KID) + '10' + hex(IV),
    );
    const schm = findBox(walkBoxes(init), 'moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'encv', 'sinf', 'schm');
    expect(hex(init.subarray(schm.start + 12, schm.start + 16))).toBe(hex(Buffer.from('cbcs')));
  });

  it('cbcs audio: enca, tenc v1 with pattern 0x00 (Safari needs v1 for audio too)', () => {
    const init = buildInit(audio, { protection: cbcs({ cryptByteBlock: 0, skipByteBlock: 0 }) });
    const enca = findBox(walkBoxes(init), 'moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'enca');
    expect(enca.children.map((b) => b.type)).toEqual(['esds', 'sinf']);
    const tenc = findBox(enca.children, 'sinf', 'schi', 'tenc');
    expect(hex(init.subarray(tenc.start, tenc.start + 16))).toBe('00000031' + '74656e63' + '01000000' + '00000100');
    const frma = findBox(enca.children, 'sinf', 'frma');
    expect(hex(init.subarray(frma.start + 8, frma.start + 12))).toBe(hex(Buffer.from('mp4a')));
    const entry = parseWithMp4box(init).moov.traks[0]!.mdia.minf.stbl.stsd.entries[0]!;
    expect(entry.type).toBe('enca');
  });

  it('appends pssh boxes to moov after mvex, in order', () => {
    const init = buildInit(video, {
      protection: cenc({
        pssh: [
          { systemId: COMMON_SYSTEM_ID, kids: [KID], data: new Uint8Array(0) },
          { systemId: WIDEVINE_SYSTEM_ID, data: fromHex('1210' + hex(KID)) },
        ],
      }),
    });
    const moov = findBox(walkBoxes(init), 'moov');
    expect(moov.children.map((b) => b.type)).toEqual(['mvhd', 'trak', 'mvex', 'pssh', 'pssh']);
    const psshs = parseWithMp4box(init).moov.psshs;
    expect(psshs.map((p) => [p.version, p.system_id, p.kid])).toEqual([
      [1, hex(COMMON_SYSTEM_ID), [hex(KID)]],
      [0, hex(WIDEVINE_SYSTEM_ID), []],
    ]);
  });

  it('refuses inconsistent protection', () => {
    expectMuxFailure(() => buildInit(video, { protection: cenc({ kid: new Uint8Array(15) }) }), /KID/);
    expectMuxFailure(() => buildInit(video, { protection: cenc({ perSampleIvSize: 0, constantIv: IV }) }), /cenc needs per-sample IVs/);
    expectMuxFailure(() => buildInit(video, { protection: cbcs({ constantIv: undefined }) }), /constant IV/);
    expectMuxFailure(() => buildInit(video, { protection: cbcs({ constantIv: new Uint8Array(12) }) }), /constant IV/);
    expectMuxFailure(() => buildInit(video, { protection: cbcs({ skipByteBlock: 16 }) }), /skipByteBlock/);
    expectMuxFailure(
      () => buildInit(video, { protection: cenc({ pssh: [{ systemId: new Uint8Array(4), data: new Uint8Array(0) }] }) }),
      /SystemID/,
    );
  });

  it('cbcs with per-sample IVs (16) carries no constant IV', () => {
    const init = buildInit(video, { protection: cbcs({ perSampleIvSize: 16 }) });
    const tenc = findBox(walkBoxes(init), 'moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'encv', 'sinf', 'schi', 'tenc');
    expect(tenc.size).toBe(32);
    expect(hex(init.subarray(tenc.start + 12, tenc.start + 16))).toBe('00190110');
  });
});

describe('psshBox', () => {
  it('reproduces the 52-byte Common (ClearKey) v1 example of FORMATS.md 1.3 exactly', () => {
    const box = psshBox({ systemId: COMMON_SYSTEM_ID, kids: [KID], data: new Uint8Array(0) });
    expect(hex(box)).toBe(
      '00000034' + '70737368' + '01000000' + '1077efecc0b24d02ace33c1e52e2fb4b' + '00000001' +
        '00112233445566778899aabbccddeeff' + '00000000',
    );
  });

  it('reproduces the 56-byte Widevine v0 example of FORMATS.md 6 exactly', () => {
    const data = fromHex('1210' + '00112233445566778899aabbccddeeff' + '48e3dc959b06');
    const box = psshBox({ systemId: WIDEVINE_SYSTEM_ID, data });
    expect(box.length).toBe(56);
    expect(hex(box)).toBe(
      '00000038' + '70737368' + '00000000' + 'edef8ba979d64acea3c827dcd51d21ed' + '00000018' +
        '1210' + '00112233445566778899aabbccddeeff' + '48e3dc959b06',
    );
  });

  it('is the same box the init segment embeds', () => {
    const p = { systemId: WIDEVINE_SYSTEM_ID, data: fromHex('0801') };
    const init = buildInit(video, { protection: cenc({ pssh: [p] }) });
    const inMoov = findBox(walkBoxes(init), 'moov', 'pssh');
    expect(hex(init.subarray(inMoov.start, inMoov.start + inMoov.size))).toBe(hex(psshBox(p)));
    expect(hex(psshBox({ ...p, kids: [] }))).toBe(hex(boxBytes('pssh', fromHex('01000000' + hex(WIDEVINE_SYSTEM_ID) + '00000000' + '00000002' + '0801'))));
  });
});
