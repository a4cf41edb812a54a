/**
 * DRM-specific init data (FORMATS.md §6): the Widevine pssh (protobuf WidevinePsshData), the PlayReady
 * Object (WRMHEADER 4.0 for cenc, 4.3 for cbcs) and its pssh, and a reader for the whole pssh boxes key
 * servers return (so the same bytes go into the init segment, the MPD and the HLS key lines).
 */
import { createCipheriv } from 'node:crypto';
import { psshBox, type PsshBox } from '../mux/fmp4/init.js';
import { type CencScheme, encryptionError } from './types.js';

export type DrmSystem = 'widevine' | 'playready' | 'fairplay' | 'clearkey';
export const DRM_SYSTEMS: readonly DrmSystem[] = ['widevine', 'playready', 'fairplay', 'clearkey'];

/** System IDs as dashed UUIDs (the `clearkey` entry is the W3C common pssh system). */
export const DRM_SYSTEM_IDS: Readonly<Record<DrmSystem, string>> = {
  widevine: 'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed',
  playready: '9a04f079-9840-4286-ab92-e65be0885f95',
  fairplay: '94ce86fb-07ff-4f43-adb8-93d2fa968ca2',
  clearkey: '1077efec-c0b2-4d02-ace3-3c1e52e2fb4b',
};

export function systemIdBytes(system: DrmSystem): Uint8Array {
  return Uint8Array.from(Buffer.from(DRM_SYSTEM_IDS[system].replaceAll('-', ''), 'hex'));
}

/** The system a SystemID (bytes or dashed/undashed UUID, any case) names, if one of ours. */
export function systemOf(systemId: Uint8Array | string): DrmSystem | undefined {
  const hex = typeof systemId === 'string' ? systemId.replaceAll('-', '').toLowerCase() : Buffer.from(systemId).toString('hex');
  return DRM_SYSTEMS.find((s) => DRM_SYSTEM_IDS[s].replaceAll('-', '') === hex);
}

/** protection_scheme (field 9) of WidevinePsshData: the scheme's 4CC as a big-endian uint32. */
function fourcc(s: CencScheme): number {
  return Buffer.from(s, 'latin1').readUInt32BE(0);
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** WidevinePsshData: key_id (field 2) per KID, then protection_scheme (field 9). */
export function widevinePsshData(kids: readonly Uint8Array[], scheme: CencScheme): Uint8Array {
  const bytes: number[] = [];
  for (const kid of kids) {
    if (kid.length !== 16) throw encryptionError(`KID must be 16 bytes, got ${kid.length}`);
    bytes.push(0x12, 0x10, ...kid);
  }
  bytes.push(0x48, ...varint(fourcc(scheme)));
  return Uint8Array.from(bytes);
}

/** A version 0 Widevine pssh (what shaka-packager emits): 56 bytes for one KID. */
export function widevinePssh(kids: readonly Uint8Array[], scheme: CencScheme): PsshBox {
  return { systemId: systemIdBytes('widevine'), data: widevinePsshData(kids, scheme) };
}

/** A KID in the little-endian GUID order PlayReady uses (bytes 0-3, 4-5, 6-7 swapped). */
export function leGuid(kid: Uint8Array): Uint8Array {
  if (kid.length !== 16) throw encryptionError(`KID must be 16 bytes, got ${kid.length}`);
  const b = kid;
  return Uint8Array.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}

/** CHECKSUM of WRMHEADER 4.0: the first 8 bytes of AES-128-ECB(key, LE KID). */
export function playreadyChecksum(kid: Uint8Array, key: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return Uint8Array.from(c.update(leGuid(kid)).subarray(0, 8));
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const WRM_NS = 'http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader';

/**
 * The WRMHEADER XML: 4.0.0.0 (AESCTR, with CHECKSUM when the key is known) for cenc, 4.3.0.0 (AESCBC in
 * KIDS) for cbcs. LA_URL when given.
 */
export function wrmHeader(kid: Uint8Array, scheme: CencScheme, opts: { key?: Uint8Array; laUrl?: string } = {}): string {
  const b64kid = Buffer.from(leGuid(kid)).toString('base64');
  const la = opts.laUrl ? `<LA_URL>${xmlEscape(opts.laUrl)}</LA_URL>` : '';
  if (scheme === 'cenc') {
    const sum = opts.key ? `<CHECKSUM>${Buffer.from(playreadyChecksum(kid, opts.key)).toString('base64')}</CHECKSUM>` : '';
    return (
      `<WRMHEADER xmlns="${WRM_NS}" version="4.0.0.0"><DATA><PROTECTINFO><KEYLEN>16</KEYLEN><ALGID>AESCTR</ALGID></PROTECTINFO>` +
      `<KID>${b64kid}</KID>${sum}${la}</DATA></WRMHEADER>`
    );
  }
  return (
    `<WRMHEADER xmlns="${WRM_NS}" version="4.3.0.0"><DATA><PROTECTINFO><KIDS><KID ALGID="AESCBC" VALUE="${b64kid}"></KID></KIDS></PROTECTINFO>` +
    `${la}</DATA></WRMHEADER>`
  );
}

/** PlayReady Object: u32 length, u16 record count (1), record type 1 (u16), u16 length, UTF-16LE XML. */
export function playreadyObject(header: string): Uint8Array {
  const xml = Buffer.from(header, 'utf16le');
  const out = Buffer.alloc(10 + xml.length);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(1, 4);
  out.writeUInt16LE(1, 6);
  out.writeUInt16LE(xml.length, 8);
  xml.copy(out, 10);
  return Uint8Array.from(out);
}

/** The WRMHEADER XML inside a PlayReady Object (undefined when it holds no type-1 record). */
export function wrmHeaderOf(pro: Uint8Array): string | undefined {
  const b = Buffer.from(pro.buffer, pro.byteOffset, pro.byteLength);
  if (b.length < 6) return undefined;
  const count = b.readUInt16LE(4);
  let at = 6;
  for (let i = 0; i < count && at + 4 <= b.length; i++) {
    const type = b.readUInt16LE(at);
    const len = b.readUInt16LE(at + 2);
    if (type === 1 && at + 4 + len <= b.length) return b.subarray(at + 4, at + 4 + len).toString('utf16le');
    at += 4 + len;
  }
  return undefined;
}

export function playreadyPssh(pro: Uint8Array): PsshBox {
  return { systemId: systemIdBytes('playready'), data: pro };
}

/**
 * Reads one whole pssh box (as key servers return it, base64-decoded). Throws on anything that is not
 * exactly one well-formed box.
 */
export function parsePsshBox(bytes: Uint8Array): PsshBox {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 32 || b.readUInt32BE(0) !== b.length || b.toString('latin1', 4, 8) !== 'pssh') {
    throw encryptionError('not a pssh box');
  }
  const version = b[8]!;
  if (version > 1) throw encryptionError(`pssh version ${version} is not supported`);
  const systemId = Uint8Array.from(b.subarray(12, 28));
  let at = 28;
  let kids: Uint8Array[] | undefined;
  if (version === 1) {
    const n = b.readUInt32BE(at);
    at += 4;
    if (at + 16 * n + 4 > b.length) throw encryptionError('pssh KID list runs past the box');
    kids = [];
    for (let i = 0; i < n; i++, at += 16) kids.push(Uint8Array.from(b.subarray(at, at + 16)));
  }
  const size = b.readUInt32BE(at);
  at += 4;
  if (at + size !== b.length) throw encryptionError('pssh data size does not match the box');
  const data = Uint8Array.from(b.subarray(at));
  return kids ? { systemId, kids, data } : { systemId, data };
}

export function psshBase64(p: PsshBox): string {
  return Buffer.from(psshBox(p)).toString('base64');
}
