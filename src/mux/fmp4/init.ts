import type { Track } from '../../media/track.js';
import { BoxWriter, muxError } from './box-writer.js';
import * as ftyp from './boxes/ftyp.js';
import type { FtypFields } from './boxes/ftyp.js';
import * as moov from './boxes/moov.js';
import type { MoovFields } from './boxes/moov.js';
import * as pssh from './boxes/pssh.js';
import type { SampleEntryFields } from './boxes/sample-entry.js';
import type { TencFields } from './boxes/tenc.js';

/** How the track's samples are protected, as signalled in the init segment (sinf/tenc, pssh). */
export interface InitProtection {
  readonly scheme: 'cenc' | 'cbcs';
  /** 16 bytes, big-endian UUID order (the MPD's cenc:default_KID). */
  readonly kid: Uint8Array;
  /** 0 only with a constant IV (cbcs); cenc needs per-sample IVs. */
  readonly perSampleIvSize: 0 | 8 | 16;
  /** 16 (or 8) bytes, required when perSampleIvSize is 0. */
  readonly constantIv?: Uint8Array | undefined;
  /** cbcs pattern: 1:9 for video, 0:0 for audio. Ignored for cenc (tenc v0 has no pattern). */
  readonly cryptByteBlock: number;
  readonly skipByteBlock: number;
  /** Appended to moov after mvex, in this order. May be empty (DRM data only in the manifest). */
  readonly pssh: readonly PsshBox[];
}

export interface PsshBox {
  /** 16 bytes. */
  readonly systemId: Uint8Array;
  /** 16 bytes each; when present the box is version 1. */
  readonly kids?: readonly Uint8Array[] | undefined;
  readonly data: Uint8Array;
}

const utf8 = new TextEncoder();

export interface InitOptions {
  readonly protection?: InitProtection | undefined;
}

/** A CMAF header (ftyp + moov) for one track. */
export function buildInit(track: Track, opts: InitOptions = {}): Uint8Array {
  const ftypFields = ftypFor(track);
  const moovFields = moovFor(track, opts.protection);
  const total = ftyp.size(ftypFields) + moov.size(moovFields);
  const buf = new Uint8Array(total);
  const w = new BoxWriter(buf);
  ftyp.write(w, ftypFields);
  moov.write(w, moovFields);
  w.finish(total);
  return buf;
}

/** One whole pssh box; the DASH MPD (cenc:pssh) and HLS Widevine URIs embed it in base64. */
export function psshBox(p: PsshBox): Uint8Array {
  checkPssh(p);
  const n = pssh.size(p);
  const buf = new Uint8Array(n);
  const w = new BoxWriter(buf);
  pssh.write(w, p);
  w.finish(n);
  return buf;
}

function ftypFor(track: Track): FtypFields {
  // cmfc claims CMAF conformance, which requires parameter sets in the sample entry: not avc3/hev1.
  const inBandParameterSets = track.sampleEntryType === 'avc3' || track.sampleEntryType === 'hev1';
  const brands = inBandParameterSets
    ? ['iso6', 'dash', 'mp41', 'iso8', 'isom']
    : ['iso6', 'cmfc', 'dash', 'mp41', 'iso8', 'isom'];
  // iso6: ISO brands are cumulative, and readers claiming a recent one handle tfdt,
  // default-base-is-moof and signed (version 1) trun offsets, all of which the fragments use.
  return { majorBrand: 'iso6', minorVersion: 0, compatibleBrands: brands };
}

function moovFor(track: Track, protection: InitProtection | undefined): MoovFields {
  checkU32(track.id, 'track id');
  if (track.id === 0 || track.id === 0xffffffff) throw muxError(`track id ${track.id} is not usable`);
  checkU32(track.timescale, 'timescale');
  if (track.timescale === 0) throw muxError('timescale is 0');
  const video = track.kind === 'video';
  const name = track.name !== '' ? track.name : video ? 'VideoHandler' : 'SoundHandler';
  return {
    mvhd: { timescale: track.timescale, nextTrackId: track.id + 1 },
    trak: {
      tkhd: {
        trackId: track.id,
        volume: video ? 0 : 0x0100,
        width: video ? fixed16(track.width) : 0,
        height: video ? fixed16(track.height) : 0,
      },
      mdia: {
        mdhd: { timescale: track.timescale, language: track.language },
        // hdlr names are NUL-terminated: a NUL inside would cut the name short for readers.
        hdlr: { handlerType: video ? 'vide' : 'soun', name: utf8.encode(name.replaceAll('\0', '')) },
        minf: { kind: track.kind, sampleEntry: sampleEntryFor(track, protection) },
      },
    },
    trex: { trackId: track.id },
    pssh: checkedPssh(protection?.pssh ?? []),
  };
}

function sampleEntryFor(track: Track, protection: InitProtection | undefined): SampleEntryFields {
  const source = track.sampleEntry;
  if (source.length < 8) throw muxError('sample entry shorter than a box header');
  const declared = new DataView(source.buffer, source.byteOffset, source.byteLength).getUint32(0);
  // size 0/1 (to end of file / 64-bit) never occurs for a sample entry and would break the rewrite.
  if (declared !== source.length) {
    throw muxError(`sample entry declares ${declared} bytes but has ${source.length}`);
  }
  if (!protection) return { source };
  // frma takes the type actually in the bytes, which is what a decrypting reader restores.
  const originalFormat = String.fromCharCode(source[4]!, source[5]!, source[6]!, source[7]!);
  return {
    source,
    protection: {
      type: track.kind === 'video' ? 'encv' : 'enca',
      sinf: { originalFormat, schemeType: protection.scheme, tenc: tencFor(protection) },
    },
  };
}

function tencFor(p: InitProtection): TencFields {
  if (p.kid.length !== 16) throw muxError('KID must be 16 bytes');
  if (p.scheme === 'cenc' && p.perSampleIvSize === 0) throw muxError('cenc needs per-sample IVs');
  if (p.perSampleIvSize === 0) {
    if (!p.constantIv || (p.constantIv.length !== 16 && p.constantIv.length !== 8)) {
      throw muxError('a constant IV of 8 or 16 bytes is required when perSampleIvSize is 0');
    }
  }
  const cbcs = p.scheme === 'cbcs';
  if (cbcs && !(inNibble(p.cryptByteBlock) && inNibble(p.skipByteBlock))) {
    throw muxError('cryptByteBlock and skipByteBlock must be 0..15');
  }
  return {
    version: cbcs ? 1 : 0,
    cryptByteBlock: cbcs ? p.cryptByteBlock : 0,
    skipByteBlock: cbcs ? p.skipByteBlock : 0,
    perSampleIvSize: p.perSampleIvSize,
    defaultKid: p.kid,
    constantIv: p.perSampleIvSize === 0 ? p.constantIv : undefined,
  };
}

function checkPssh(p: PsshBox): void {
  if (p.systemId.length !== 16) throw muxError('pssh SystemID must be 16 bytes');
  if (p.kids && p.kids.some((k) => k.length !== 16)) throw muxError('pssh KIDs must be 16 bytes');
}

function inNibble(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 15;
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw muxError(`${what} ${v} does not fit 32 bits`);
}

/** 16.16 fixed point; tkhd sizes are unsigned 32-bit so anything past 65535 px cannot be stated. */
function fixed16(px: number): number {
  if (!(px >= 0 && px < 65536)) throw muxError(`dimension ${px} out of range`);
  return Math.round(px * 65536) >>> 0;
}

function checkedPssh(list: readonly PsshBox[]): readonly PsshBox[] {
  for (const p of list) checkPssh(p);
  return list;
}
