/**
 * PSI reading (ISO/IEC 13818-1 §2.4.4): a per-PID section assembler that honours pointer_field and
 * sections spanning packets, plus pure PAT and PMT parsers. CRCs are checked with CRC-32/MPEG-2.
 */
import { crc32Mpeg } from '../../mux/ts/crc32.js';

export interface PatEntry {
  readonly program: number;
  readonly pmtPid: number;
}

export interface PmtEntry {
  readonly streamType: number;
  readonly pid: number;
}

export interface ParsedPmt {
  readonly program: number;
  readonly version: number;
  readonly pcrPid: number;
  readonly streams: readonly PmtEntry[];
}

export const TABLE_ID_PAT = 0x00;
export const TABLE_ID_PMT = 0x02;

/** Long-form section header + CRC: the smallest section_length worth reading. */
const MIN_LONG_SECTION = 9;

/** True when the section (table_id .. CRC inclusive) has a valid CRC-32/MPEG-2. */
export function sectionCrcOk(section: Uint8Array): boolean {
  return crc32Mpeg(section) === 0;
}

/** Programs of a PAT section (network PID entries, program 0, are left out). */
export function parsePat(section: Uint8Array): PatEntry[] | null {
  if (section[0] !== TABLE_ID_PAT || section.length < 3 + MIN_LONG_SECTION - 1) return null;
  const out: PatEntry[] = [];
  for (let p = 8; p + 4 <= section.length - 4; p += 4) {
    const program = (section[p]! << 8) | section[p + 1]!;
    const pid = ((section[p + 2]! & 0x1f) << 8) | section[p + 3]!;
    if (program !== 0) out.push({ program, pmtPid: pid });
  }
  return out;
}

export function parsePmt(section: Uint8Array): ParsedPmt | null {
  if (section[0] !== TABLE_ID_PMT || section.length < 16) return null;
  const program = (section[3]! << 8) | section[4]!;
  const version = (section[5]! >> 1) & 0x1f;
  const pcrPid = ((section[8]! & 0x1f) << 8) | section[9]!;
  const programInfoLength = ((section[10]! & 0x0f) << 8) | section[11]!;
  const end = section.length - 4;
  const streams: PmtEntry[] = [];
  let p = 12 + programInfoLength;
  while (p + 5 <= end) {
    const streamType = section[p]!;
    const pid = ((section[p + 1]! & 0x1f) << 8) | section[p + 2]!;
    const esInfoLength = ((section[p + 3]! & 0x0f) << 8) | section[p + 4]!;
    streams.push({ streamType, pid });
    p += 5 + esInfoLength;
  }
  return { program, version, pcrPid, streams };
}

/**
 * Reassembles sections from the TS packet payloads of one PID. `push` returns the complete sections
 * (table_id .. CRC) that ended in this payload, CRC not yet checked. Stuffing (0xFF) ends a packet.
 */
export class SectionAssembler {
  private buf: Uint8Array | null = null;
  private have = 0;

  reset(): void {
    this.buf = null;
    this.have = 0;
  }

  push(payload: Uint8Array, unitStart: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    let p = 0;
    if (unitStart) {
      const pointer = payload[0] ?? 0;
      // Bytes before the pointed-to start finish the section in progress.
      if (this.buf) this.append(payload.subarray(1, Math.min(payload.length, 1 + pointer)), out);
      this.reset();
      p = 1 + pointer;
    } else if (this.buf) {
      this.append(payload, out);
      return out;
    } else {
      return out; // continuation of a section whose start was missed
    }
    while (p + 3 <= payload.length && payload[p] !== 0xff) {
      const len = 3 + (((payload[p + 1]! & 0x0f) << 8) | payload[p + 2]!);
      if (p + len <= payload.length) {
        out.push(payload.slice(p, p + len));
        p += len;
      } else {
        this.buf = new Uint8Array(len);
        this.have = 0;
        this.append(payload.subarray(p), out);
        break;
      }
    }
    return out;
  }

  private append(bytes: Uint8Array, out: Uint8Array[]): void {
    const buf = this.buf!;
    const n = Math.min(bytes.length, buf.length - this.have);
    buf.set(bytes.subarray(0, n), this.have);
    this.have += n;
    if (this.have === buf.length) {
      out.push(buf);
      this.reset();
    }
  }
}
