/**
 * esds (ISO/IEC 14496-1 descriptors): ES_Descriptor (0x03) > DecoderConfigDescriptor (0x04) >
 * DecoderSpecificInfo (0x05) = the AudioSpecificConfig. Descriptor sizes use the variable-length
 * encoding (up to 4 bytes of 7 bits, high bit = more follows).
 */
import { invalid } from './box-reader.js';

export interface EsdsInfo {
  /** objectTypeIndication: 0x40 MPEG-4 Audio, 0x66..0x68 MPEG-2 AAC, 0x6B MP3, ... */
  readonly objectTypeIndication: number;
  /** DecoderSpecificInfo payload (a view into the input), or null when absent. */
  readonly decoderSpecificInfo: Uint8Array | null;
}

const ES_DESCRIPTOR = 0x03;
const DECODER_CONFIG = 0x04;
const DECODER_SPECIFIC_INFO = 0x05;

interface Descriptor {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

function readDescriptor(buf: Uint8Array, pos: number, limit: number, where: string): Descriptor {
  if (pos + 2 > limit) throw invalid(`${where}: descriptor header runs past its parent`);
  const tag = buf[pos++]!;
  let size = 0;
  for (let i = 0; ; i++) {
    if (i === 4 || pos >= limit) throw invalid(`${where}: bad size of descriptor 0x${tag.toString(16)}`);
    const b = buf[pos++]!;
    size = size * 128 + (b & 0x7f);
    if (!(b & 0x80)) break;
  }
  if (pos + size > limit) {
    throw invalid(`${where}: descriptor 0x${tag.toString(16)} of ${size} bytes runs past its parent`);
  }
  return { tag, start: pos, end: pos + size };
}

/** Finds the first descriptor with `tag` among the descriptors in [pos, limit). */
function findDescriptor(buf: Uint8Array, pos: number, limit: number, tag: number, where: string): Descriptor | null {
  while (limit - pos >= 2) {
    const d = readDescriptor(buf, pos, limit, where);
    if (d.tag === tag) return d;
    pos = d.end;
  }
  return null;
}

/** `body` is the esds box body including its 4-byte version/flags. */
export function parseEsds(body: Uint8Array, where: string): EsdsInfo {
  if (body.length < 4) throw invalid(`${where}: missing version and flags`);
  const es = findDescriptor(body, 4, body.length, ES_DESCRIPTOR, where);
  if (!es) throw invalid(`${where}: no ES_Descriptor`);
  let p = es.start + 2; // ES_ID
  if (p >= es.end) throw invalid(`${where}: ES_Descriptor is truncated`);
  const flags = body[p++]!;
  if (flags & 0x80) p += 2; // dependsOn_ES_ID
  if (flags & 0x40) {
    if (p >= es.end) throw invalid(`${where}: ES_Descriptor URL is truncated`);
    p += 1 + body[p]!; // URLlength + URLstring
  }
  if (flags & 0x20) p += 2; // OCR_ES_Id
  if (p > es.end) throw invalid(`${where}: ES_Descriptor is truncated`);
  const dc = findDescriptor(body, p, es.end, DECODER_CONFIG, where);
  if (!dc) throw invalid(`${where}: no DecoderConfigDescriptor`);
  // objectTypeIndication(1) streamType(1) bufferSizeDB(3) maxBitrate(4) avgBitrate(4)
  if (dc.end - dc.start < 13) throw invalid(`${where}: DecoderConfigDescriptor is truncated`);
  const dsi = findDescriptor(body, dc.start + 13, dc.end, DECODER_SPECIFIC_INFO, where);
  return {
    objectTypeIndication: body[dc.start]!,
    decoderSpecificInfo: dsi ? body.subarray(dsi.start, dsi.end) : null,
  };
}
