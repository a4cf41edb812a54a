/**
 * PES headers and the 33-bit clock fields of ISO/IEC 13818-1 (PTS, DTS, PCR).
 *
 * JavaScript bit operators work on 32 bits, and 90 kHz timestamps pass 2^32 after 13.25 hours (and
 * TS_TIME_OFFSET brings them closer), so the top bits are split off with Math.floor division and only
 * the low part (< 2^30) goes through bit operators.
 */

export const PES_STREAM_ID_VIDEO = 0xe0;
export const PES_STREAM_ID_AUDIO = 0xc0;

const TWO_POW_33 = 2 ** 33;
const TWO_POW_30 = 2 ** 30;
const TWO_POW_25 = 2 ** 25;

/** PTS_DTS_flags '10' prefix nibble of a lone PTS. */
const PREFIX_PTS_ONLY = 0x2;
/** '0011' before the PTS and '0001' before the DTS when both are present. */
const PREFIX_PTS_WITH_DTS = 0x3;
const PREFIX_DTS = 0x1;

/** Largest PES_packet_length; a longer (video) PES signals 0, "unbounded". */
export const MAX_PES_PACKET_LENGTH = 0xffff;

/** A value of the 33-bit 90 kHz clock: wraps like the decoder's counter, never negative. */
export function wrap33(t: number): number {
  const r = t % TWO_POW_33;
  return r < 0 ? r + TWO_POW_33 : r;
}

/** Writes a 5-byte PTS or DTS field with its 4-bit prefix and marker bits. */
export function writeTimestamp(out: Uint8Array, at: number, prefix: number, t: number): void {
  const v = wrap33(t);
  const high = Math.floor(v / TWO_POW_30); // bits 32..30
  const low = v - high * TWO_POW_30; // bits 29..0, safe for 32-bit operators
  out[at] = (prefix << 4) | (high << 1) | 1;
  out[at + 1] = (low >>> 22) & 0xff;
  out[at + 2] = ((low >>> 14) & 0xfe) | 1;
  out[at + 3] = (low >>> 7) & 0xff;
  out[at + 4] = ((low << 1) & 0xfe) | 1;
}

/** Writes a 6-byte PCR: 33-bit base (90 kHz), 6 reserved '1' bits, 9-bit extension 0. */
export function writePcr(out: Uint8Array, at: number, base: number): void {
  const v = wrap33(base);
  const top = Math.floor(v / TWO_POW_25); // bits 32..25
  const low = v - top * TWO_POW_25; // bits 24..0
  out[at] = top;
  out[at + 1] = (low >>> 17) & 0xff;
  out[at + 2] = (low >>> 9) & 0xff;
  out[at + 3] = (low >>> 1) & 0xff;
  out[at + 4] = ((low & 1) << 7) | 0x7e;
  out[at + 5] = 0;
}

export interface PesHeader {
  readonly streamId: number;
  /** 90 kHz. */
  readonly pts: number;
  /** 90 kHz; written only when it differs from pts. */
  readonly dts: number;
  /** Elementary-stream bytes that follow the header. */
  readonly payloadLength: number;
}

/** The longest header writePesHeader writes (PTS and DTS). */
export const MAX_PES_HEADER_LENGTH = 19;

/** Bytes of the PES header: 9 fixed + 5 (PTS) or 10 (PTS and DTS). */
export function pesHeaderLength(pts: number, dts: number): number {
  return pts === dts ? 14 : 19;
}

/** Writes the PES header; returns the offset just past it. */
export function writePesHeader(out: Uint8Array, at: number, h: PesHeader): number {
  const withDts = h.pts !== h.dts;
  const headerDataLength = withDts ? 10 : 5;
  const packetLength = 3 + headerDataLength + h.payloadLength;
  const field = packetLength > MAX_PES_PACKET_LENGTH ? 0 : packetLength;
  out[at] = 0;
  out[at + 1] = 0;
  out[at + 2] = 1;
  out[at + 3] = h.streamId;
  out[at + 4] = field >>> 8;
  out[at + 5] = field & 0xff;
  // '10' marker, no scrambling, no priority, data_alignment_indicator: every PES we write starts with
  // an access unit (AUD) or an ADTS sync word.
  out[at + 6] = 0x84;
  out[at + 7] = withDts ? 0xc0 : 0x80;
  out[at + 8] = headerDataLength;
  if (withDts) {
    writeTimestamp(out, at + 9, PREFIX_PTS_WITH_DTS, h.pts);
    writeTimestamp(out, at + 14, PREFIX_DTS, h.dts);
    return at + 19;
  }
  writeTimestamp(out, at + 9, PREFIX_PTS_ONLY, h.pts);
  return at + 14;
}
