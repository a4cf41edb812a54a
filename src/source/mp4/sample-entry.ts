/**
 * The first sample entry of a trak's stsd: which codec, its configuration record, its codec string,
 * and the picture size or audio format. Entries we cannot package come back as a skip reason rather
 * than an error: the file's other tracks may still be served.
 */
import { aacChannelCount, aacCodecString, parseAudioSpecificConfig } from '../../media/codec/aac.js';
import { avcCodecString, parseAvcC } from '../../media/codec/avc.js';
import { hevcCodecString, parseHvcC } from '../../media/codec/hevc.js';
import type { SampleEntryType, TrackKind } from '../../media/track.js';
import { type Box, children, fourcc, fullBoxVersion, invalid, need, readBoxHeader } from './box-reader.js';
import { parseEsds } from './esds.js';

export interface SampleEntryInfo {
  readonly type: SampleEntryType;
  readonly kind: TrackKind;
  /** Copied out of the moov buffer so the buffer can be collected. */
  readonly sampleEntry: Uint8Array;
  readonly codecConfig: Uint8Array;
  readonly codecString: string;
  readonly nalLengthSize: number;
  /** 0 when the entry does not say (then tkhd is used). */
  readonly width: number;
  readonly height: number;
  readonly sampleRate: number;
  readonly channels: number;
}

export type SampleEntryResult = { readonly ok: SampleEntryInfo } | { readonly skip: string };

/** Bytes of VisualSampleEntry fields before its child boxes (ISO/IEC 14496-12 §12.1.3). */
const VISUAL_FIELDS = 78;
/** AudioSampleEntry fields before child boxes, by QuickTime sound description version 0, 1, 2. */
const AUDIO_FIELDS = [28, 44, 64] as const;
/** objectTypeIndication values that carry AAC with an AudioSpecificConfig. */
const AAC_OBJECT_TYPES = new Set([0x40, 0x66, 0x67, 0x68]);

export function readSampleEntry(view: DataView, stsd: Box, kind: TrackKind): SampleEntryResult {
  fullBoxVersion(view, stsd);
  need(stsd, 8, 'entry_count');
  if (view.getUint32(stsd.bodyStart + 4) === 0) throw invalid(`${stsd.path}: no sample entries`);
  const entry = readBoxHeader(view, stsd.bodyStart + 8, stsd.end, stsd.path);
  const type = fourcc(view, entry.start + 4);
  const bytes = (b: Box): Uint8Array => new Uint8Array(view.buffer, view.byteOffset + b.bodyStart, b.end - b.bodyStart);

  switch (type) {
    case 'avc1':
    case 'avc3':
    case 'hvc1':
    case 'hev1': {
      if (kind !== 'video') return { skip: `video sample entry '${type}' in a ${kind} track` };
      need(entry, VISUAL_FIELDS, 'VisualSampleEntry fields');
      const isAvc = type === 'avc1' || type === 'avc3';
      const configType = isAvc ? 'avcC' : 'hvcC';
      const config = children(view, entry, entry.bodyStart + VISUAL_FIELDS).find((c) => c.type === configType);
      if (!config) return { skip: `'${type}' sample entry has no ${configType}` };
      const payload = bytes(config);
      let codecString: string;
      let nalLengthSize: number;
      if (isAvc) {
        const cfg = parseAvcC(payload);
        codecString = avcCodecString(cfg, type);
        nalLengthSize = cfg.nalLengthSize;
      } else {
        const cfg = parseHvcC(payload);
        codecString = hevcCodecString(cfg, type);
        nalLengthSize = cfg.nalLengthSize;
      }
      return {
        ok: {
          type,
          kind,
          sampleEntry: copy(view, entry),
          codecConfig: payload.slice(),
          codecString,
          nalLengthSize,
          width: view.getUint16(entry.bodyStart + 24),
          height: view.getUint16(entry.bodyStart + 26),
          sampleRate: 0,
          channels: 0,
        },
      };
    }
    case 'mp4a': {
      if (kind !== 'audio') return { skip: `audio sample entry 'mp4a' in a ${kind} track` };
      need(entry, AUDIO_FIELDS[0], 'AudioSampleEntry fields');
      const version = view.getUint16(entry.bodyStart + 8);
      const fields = AUDIO_FIELDS[version as 0 | 1 | 2];
      if (fields === undefined) return { skip: `'mp4a' sound description version ${version}` };
      need(entry, fields, 'AudioSampleEntry fields');
      const kids = children(view, entry, entry.bodyStart + fields);
      // QuickTime files put the esds inside a 'wave' box.
      let esds = kids.find((c) => c.type === 'esds');
      const wave = kids.find((c) => c.type === 'wave');
      if (!esds && wave) esds = children(view, wave).find((c) => c.type === 'esds');
      if (!esds) return { skip: "'mp4a' sample entry has no esds" };
      const info = parseEsds(bytes(esds), esds.path);
      if (!AAC_OBJECT_TYPES.has(info.objectTypeIndication)) {
        return { skip: `'mp4a' with objectTypeIndication 0x${info.objectTypeIndication.toString(16)} is not AAC` };
      }
      if (!info.decoderSpecificInfo) return { skip: "'mp4a' esds has no AudioSpecificConfig" };
      const asc = parseAudioSpecificConfig(info.decoderSpecificInfo);
      return {
        ok: {
          type,
          kind,
          sampleEntry: copy(view, entry),
          codecConfig: info.decoderSpecificInfo.slice(),
          codecString: aacCodecString(asc),
          nalLengthSize: 0,
          width: 0,
          height: 0,
          // The ASC is what the decoder obeys; the entry's fields are often 0 or wrong for HE-AAC.
          sampleRate: asc.sampleRate || view.getUint32(entry.bodyStart + 24) >>> 16,
          channels: aacChannelCount(asc) || view.getUint16(entry.bodyStart + 16),
        },
      };
    }
    case 'encv':
    case 'enca':
      return { skip: `encrypted sample entry '${type}'` };
    default:
      return { skip: `unsupported sample entry '${/^[\x20-\x7e]{4}$/.test(type) ? type : 'binary'}'` };
  }
}

function copy(view: DataView, box: Box): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset + box.start, box.end - box.start).slice();
}
