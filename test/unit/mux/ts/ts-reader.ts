/** Test-only: splits a TS buffer into packets with their header fields, adaptation field and payload. */

export interface TsPacket {
  readonly index: number;
  readonly pid: number;
  readonly unitStart: boolean;
  readonly cc: number;
  /** adaptation_field_control: 1 payload, 2 AF only, 3 both. */
  readonly afc: number;
  /** The adaptation field after its length byte (empty when the length is 0), or undefined. */
  readonly af: Uint8Array | undefined;
  readonly payload: Uint8Array;
}

export function readPackets(buf: Uint8Array): TsPacket[] {
  if (buf.length % 188 !== 0) throw new Error(`TS length ${buf.length} is not a multiple of 188`);
  const out: TsPacket[] = [];
  for (let at = 0, index = 0; at < buf.length; at += 188, index++) {
    if (buf[at] !== 0x47) throw new Error(`packet ${index}: no sync byte`);
    const pid = ((buf[at + 1]! & 0x1f) << 8) | buf[at + 2]!;
    const afc = (buf[at + 3]! >> 4) & 3;
    let p = at + 4;
    let af: Uint8Array | undefined;
    if (afc & 2) {
      const len = buf[p]!;
      af = buf.subarray(p + 1, p + 1 + len);
      p += 1 + len;
      if (p > at + 188) throw new Error(`packet ${index}: adaptation field overruns the packet`);
    }
    out.push({
      index,
      pid,
      unitStart: (buf[at + 1]! & 0x40) !== 0,
      cc: buf[at + 3]! & 0x0f,
      afc,
      af,
      payload: afc & 1 ? buf.subarray(p, at + 188) : new Uint8Array(0),
    });
  }
  return out;
}

/** PCR base (90 kHz) of an adaptation field with the PCR flag, else undefined. */
export function pcrOf(af: Uint8Array | undefined): number | undefined {
  if (af === undefined || af.length < 7 || (af[0]! & 0x10) === 0) return undefined;
  return af[1]! * 2 ** 25 + af[2]! * 2 ** 17 + af[3]! * 2 ** 9 + af[4]! * 2 + (af[5]! >> 7);
}

/** Reads a 5-byte PTS/DTS field. */
export function readTimestamp(b: Uint8Array, at: number): number {
  return (
    ((b[at]! >> 1) & 7) * 2 ** 30 +
    b[at + 1]! * 2 ** 22 +
    (b[at + 2]! >> 1) * 2 ** 15 +
    b[at + 3]! * 2 ** 7 +
    (b[at + 4]! >> 1)
  );
}

export interface Pes {
  readonly pid: number;
  readonly streamId: number;
  readonly packetLength: number;
  readonly pts: number;
  readonly dts: number;
  readonly dataAligned: boolean;
  /** Packets of this PES, in order. */
  readonly packets: TsPacket[];
  /** Elementary-stream bytes after the PES header. */
  readonly data: Uint8Array;
}

/** Reassembles the PESs of one PID. */
export function readPes(packets: readonly TsPacket[], pid: number): Pes[] {
  const groups: TsPacket[][] = [];
  for (const p of packets) {
    if (p.pid !== pid) continue;
    if (p.unitStart) groups.push([p]);
    else groups[groups.length - 1]!.push(p);
  }
  return groups.map((g) => {
    let size = 0;
    for (const p of g) size += p.payload.length;
    const b = new Uint8Array(size);
    let o = 0;
    for (const p of g) {
      b.set(p.payload, o);
      o += p.payload.length;
    }
    if (b[0] !== 0 || b[1] !== 0 || b[2] !== 1) throw new Error('no PES start code');
    const flags = b[7]!;
    const pts = readTimestamp(b, 9);
    const dts = flags & 0x40 ? readTimestamp(b, 14) : pts;
    return {
      pid,
      streamId: b[3]!,
      packetLength: (b[4]! << 8) | b[5]!,
      pts,
      dts,
      dataAligned: (b[6]! & 0x04) !== 0,
      packets: g,
      data: b.subarray(9 + b[8]!),
    };
  });
}
