/**
 * Program Specific Information: the PAT and PMT that open every segment, each one section in one packet
 * (ISO/IEC 13818-1 2.4.4). The PMT is data-driven (stream types and ES descriptors come from the
 * caller) so that SAMPLE-AES can signal 0xDB/0xCF with its private_data_indicator and `apad`
 * descriptors without another writer.
 */

import { ErrorCode, PackagerError } from '../../media/errors.js';
import { crc32Mpeg } from './crc32.js';
import { TS_PACKET_SIZE, writePacketHeader } from './packetizer.js';

export const PAT_PID = 0x0000;
export const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
export const AUDIO_PID = 0x101;

export const STREAM_TYPE_H264 = 0x1b;
export const STREAM_TYPE_HEVC = 0x24;
export const STREAM_TYPE_AAC_ADTS = 0x0f;
/** HLS SAMPLE-AES (Apple's MPEG-2 Stream Encryption Format): encrypted H.264 and ADTS AAC. */
export const STREAM_TYPE_H264_SAMPLE_AES = 0xdb;
export const STREAM_TYPE_AAC_SAMPLE_AES = 0xcf;

const TABLE_ID_PAT = 0x00;
const TABLE_ID_PMT = 0x02;
const PROGRAM_NUMBER = 1;
const TRANSPORT_STREAM_ID = 1;
const CRC_SIZE = 4;
/** Bytes before the section: 4-byte packet header and pointer_field. */
const SECTION_AT = 5;
/** table_id + the two bytes holding section_length. */
const SECTION_HEAD = 3;
/** The largest section_length that still fits in one packet. */
const MAX_SECTION_LENGTH = TS_PACKET_SIZE - SECTION_AT - SECTION_HEAD;

export interface PmtStream {
  readonly streamType: number;
  readonly pid: number;
  /** ES_info descriptors, already encoded (tag, length, body...); empty for none. */
  readonly descriptors: Uint8Array;
}

export interface Pmt {
  readonly pcrPid: number;
  readonly streams: readonly PmtStream[];
  /** program_info descriptors; none by default. */
  readonly programInfo?: Uint8Array;
  /** version_number (5 bits); 0 by default. A clear-lead switch to encrypted types bumps it. */
  readonly version?: number;
}

/** Writes one PAT packet (program 1 -> pmtPid) at `at`. */
export function writePat(out: Uint8Array, at: number, cc: number, pmtPid = PMT_PID): void {
  const s = beginSection(out, at, PAT_PID, cc, TABLE_ID_PAT, 5 + 4 + CRC_SIZE, TRANSPORT_STREAM_ID, 0);
  out[s] = PROGRAM_NUMBER >> 8;
  out[s + 1] = PROGRAM_NUMBER & 0xff;
  out[s + 2] = 0xe0 | ((pmtPid >> 8) & 0x1f);
  out[s + 3] = pmtPid & 0xff;
  endSection(out, at, s + 4);
}

/** Writes one PMT packet on `pid` at `at`; throws MUX_FAILURE if the section does not fit in a packet. */
export function writePmt(out: Uint8Array, at: number, cc: number, pmt: Pmt, pid = PMT_PID): void {
  const programInfo = pmt.programInfo ?? new Uint8Array(0);
  let length = 5 + 4 + programInfo.length + CRC_SIZE;
  for (const st of pmt.streams) length += 5 + st.descriptors.length;
  if (length > MAX_SECTION_LENGTH) {
    throw new PackagerError(ErrorCode.MUX_FAILURE, `PMT section of ${length} bytes does not fit in one TS packet`);
  }
  let p = beginSection(out, at, pid, cc, TABLE_ID_PMT, length, PROGRAM_NUMBER, pmt.version ?? 0);
  out[p++] = 0xe0 | ((pmt.pcrPid >> 8) & 0x1f);
  out[p++] = pmt.pcrPid & 0xff;
  out[p++] = 0xf0 | (programInfo.length >> 8);
  out[p++] = programInfo.length & 0xff;
  out.set(programInfo, p);
  p += programInfo.length;
  for (const st of pmt.streams) {
    out[p++] = st.streamType;
    out[p++] = 0xe0 | ((st.pid >> 8) & 0x1f);
    out[p++] = st.pid & 0xff;
    out[p++] = 0xf0 | (st.descriptors.length >> 8);
    out[p++] = st.descriptors.length & 0xff;
    out.set(st.descriptors, p);
    p += st.descriptors.length;
  }
  endSection(out, at, p);
}

/**
 * Packet header, pointer_field, then the long-form section header up to last_section_number.
 * Returns the offset of the table body.
 */
function beginSection(
  out: Uint8Array,
  at: number,
  pid: number,
  cc: number,
  tableId: number,
  sectionLength: number,
  idExtension: number,
  version: number,
): number {
  writePacketHeader(out, at, pid, true, false, cc);
  const s = at + 4;
  out[s] = 0; // pointer_field: the section starts right here
  out[s + 1] = tableId;
  // section_syntax_indicator 1, '0', reserved '11'
  out[s + 2] = 0xb0 | ((sectionLength >> 8) & 0x0f);
  out[s + 3] = sectionLength & 0xff;
  out[s + 4] = idExtension >> 8;
  out[s + 5] = idExtension & 0xff;
  out[s + 6] = 0xc1 | ((version & 0x1f) << 1); // reserved '11', version, current_next_indicator 1
  out[s + 7] = 0; // section_number
  out[s + 8] = 0; // last_section_number
  return s + 9;
}

/** Appends the CRC (table_id .. last body byte) and fills the rest of the packet with 0xFF. */
function endSection(out: Uint8Array, at: number, end: number): void {
  const crc = crc32Mpeg(out, at + SECTION_AT, end);
  out[end] = crc >>> 24;
  out[end + 1] = (crc >>> 16) & 0xff;
  out[end + 2] = (crc >>> 8) & 0xff;
  out[end + 3] = crc & 0xff;
  out.fill(0xff, end + CRC_SIZE, at + TS_PACKET_SIZE);
}
