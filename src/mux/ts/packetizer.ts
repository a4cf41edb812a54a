/**
 * Spreads PES bytes over 188-byte transport packets, written in place into a buffer allocated once by
 * the caller. The caller decides how many packets a PES occupies (at least its natural count); the
 * packetizer fills them in order, keeping at least one payload byte for every packet still to come,
 * and absorbs the difference with adaptation-field stuffing (ISO/IEC 13818-1 2.4.3.5: stuffing in PES
 * packets is only allowed in the adaptation field).
 */

import { ErrorCode, PackagerError } from '../../media/errors.js';
import type { ByteSink } from './annexb.js';
import { writePcr } from './pes.js';

export const TS_PACKET_SIZE = 188;
export const TS_SYNC_BYTE = 0x47;
const HEADER_SIZE = 4;
/** Payload bytes of a packet with no adaptation field. */
export const TS_PAYLOAD_SIZE = TS_PACKET_SIZE - HEADER_SIZE;
/** adaptation_field_length byte + flags byte + 6-byte PCR. */
const PCR_AF_SIZE = 8;
/** adaptation_field_length byte + flags byte. */
const FLAGS_AF_SIZE = 2;

const AF_RANDOM_ACCESS = 0x40;
const AF_PCR = 0x10;

/** How the first packet of a PES is marked. */
export interface PesStart {
  /** PCR base in 90 kHz units (written modulo 2^33), or undefined for none. */
  readonly pcr: number | undefined;
  /** random_access_indicator: the PES starts a key frame (or a decodable audio frame). */
  readonly randomAccess: boolean;
}

/** Adaptation-field bytes the first packet of a PES needs before any stuffing. */
export function firstPacketOverhead(start: PesStart): number {
  if (start.pcr !== undefined) return PCR_AF_SIZE;
  return start.randomAccess ? FLAGS_AF_SIZE : 0;
}

/** The fewest packets that hold `length` PES bytes. */
export function pesPacketCount(length: number, start: PesStart): number {
  const first = TS_PAYLOAD_SIZE - firstPacketOverhead(start);
  if (length <= first) return 1;
  return 1 + Math.ceil((length - first) / TS_PAYLOAD_SIZE);
}

/**
 * Writes the 4-byte packet header. `adaptation` sets adaptation_field_control to 11 (AF + payload) or
 * 01 (payload only); every packet we write carries payload, so the continuity counter always counts.
 */
export function writePacketHeader(
  out: Uint8Array,
  at: number,
  pid: number,
  unitStart: boolean,
  adaptation: boolean,
  cc: number,
): void {
  out[at] = TS_SYNC_BYTE;
  out[at + 1] = (unitStart ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  out[at + 2] = pid & 0xff;
  out[at + 3] = (adaptation ? 0x30 : 0x10) | (cc & 0x0f);
}

/**
 * Writes the adaptation field of a packet whose payload is `stuffing` bytes shorter than it could be.
 * Returns the offset of the payload. With no flags to carry, one byte to absorb is a lone
 * adaptation_field_length of 0 (no flags byte); more is length + a zero flags byte + 0xFF fill.
 */
export function writeAdaptationField(
  out: Uint8Array,
  at: number,
  start: PesStart | undefined,
  stuffing: number,
): number {
  const pcr = start?.pcr;
  const flags = (pcr !== undefined ? AF_PCR : 0) | (start?.randomAccess === true ? AF_RANDOM_ACCESS : 0);
  if (flags === 0) {
    if (stuffing === 0) return at;
    out[at] = stuffing - 1;
    if (stuffing === 1) return at + 1;
    out[at + 1] = 0;
    out.fill(0xff, at + 2, at + stuffing);
    return at + stuffing;
  }
  const mandatory = pcr !== undefined ? PCR_AF_SIZE : FLAGS_AF_SIZE;
  out[at] = mandatory - 1 + stuffing;
  out[at + 1] = flags;
  if (pcr !== undefined) writePcr(out, at + 2, pcr);
  const fillFrom = at + mandatory;
  out.fill(0xff, fillFrom, fillFrom + stuffing);
  return fillFrom + stuffing;
}

/**
 * A ByteSink that lays one PES at a time into consecutive packets of one PID. Bytes arrive in any
 * number of write() calls (PES header, start codes, NAL bodies...) and are copied straight to their
 * final place: no intermediate PES buffer, no allocation per packet.
 */
export class PesPacketizer implements ByteSink {
  private readonly out: Uint8Array;
  private pos: number;
  private pid = 0;
  private cc = 0;
  private start: PesStart = { pcr: undefined, randomAccess: false };
  /** PES bytes not yet assigned to a packet. */
  private unassigned = 0;
  /** Packets of the current PES not yet opened. */
  private packetsLeft = 0;
  private first = false;
  /** End of the current packet's payload window. */
  private windowEnd: number;

  constructor(out: Uint8Array, offset: number) {
    this.out = out;
    this.pos = offset;
    this.windowEnd = offset;
  }

  /** Where the next packet will be written (after end(), the end of the last packet). */
  get offset(): number {
    return this.pos;
  }

  /** The continuity counter the next packet will carry. */
  get continuityCounter(): number {
    return this.cc;
  }

  /**
   * Starts a PES of exactly `length` bytes spread over exactly `packets` packets
   * (pesPacketCount(length, start) <= packets <= length).
   */
  begin(pid: number, length: number, packets: number, start: PesStart, cc: number): void {
    if (this.packetsLeft !== 0 || this.pos !== this.windowEnd) {
      throw new PackagerError(ErrorCode.MUX_FAILURE, 'TS packetizer: previous PES not finished');
    }
    if (packets < pesPacketCount(length, start) || packets > length) {
      throw new PackagerError(ErrorCode.MUX_FAILURE, `TS packetizer: ${length} PES bytes cannot fill ${packets} packets`);
    }
    this.pid = pid;
    this.cc = cc & 0x0f;
    this.start = start;
    this.unassigned = length;
    this.packetsLeft = packets;
    this.first = true;
  }

  write(src: Uint8Array, start: number, end: number): void {
    const out = this.out;
    while (start < end) {
      if (this.pos === this.windowEnd) this.openPacket();
      const n = Math.min(end - start, this.windowEnd - this.pos);
      if (n > 32) {
        out.set(src.subarray(start, start + n), this.pos);
      } else {
        for (let i = 0; i < n; i++) out[this.pos + i] = src[start + i]!;
      }
      this.pos += n;
      start += n;
    }
  }

  /** Checks that the PES filled exactly the packets announced; returns the next continuity counter. */
  end(): number {
    if (this.packetsLeft !== 0 || this.unassigned !== 0 || this.pos !== this.windowEnd) {
      throw new PackagerError(ErrorCode.MUX_FAILURE, 'TS packetizer: PES shorter than announced');
    }
    return this.cc;
  }

  private openPacket(): void {
    if (this.packetsLeft === 0 || this.unassigned < this.packetsLeft) {
      throw new PackagerError(ErrorCode.MUX_FAILURE, 'TS packetizer: PES longer than announced');
    }
    const flags = this.first ? this.start : undefined;
    const capacity = TS_PAYLOAD_SIZE - (flags === undefined ? 0 : firstPacketOverhead(flags));
    // Keep one byte for each packet still to come, so every packet carries payload (and counts in CC).
    const payload = Math.min(capacity, this.unassigned - (this.packetsLeft - 1));
    const stuffing = capacity - payload;
    const hasAf = stuffing > 0 || (flags !== undefined && firstPacketOverhead(flags) > 0);
    writePacketHeader(this.out, this.pos, this.pid, this.first, hasAf, this.cc);
    const payloadAt = hasAf ? writeAdaptationField(this.out, this.pos + 4, flags, stuffing) : this.pos + 4;
    this.pos = payloadAt;
    this.windowEnd = payloadAt + payload;
    this.unassigned -= payload;
    this.packetsLeft--;
    this.cc = (this.cc + 1) & 0x0f;
    this.first = false;
  }
}
