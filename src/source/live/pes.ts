/**
 * PES packet header (ISO/IEC 13818-1 §2.4.3.6): start code, stream_id, PES_packet_length, and the
 * optional header carrying the 33-bit PTS/DTS. Pure.
 */

export interface PesPacket {
  readonly streamId: number;
  /** 33-bit raw values (not unwrapped); undefined when absent. DTS defaults to nothing, not to PTS. */
  readonly pts?: number;
  readonly dts?: number;
  /** The elementary-stream bytes after the PES header (a view into the input). */
  readonly payload: Uint8Array;
}

/** Stream ids without the optional PES header (§2.4.3.7 table 2-21). */
const NO_OPTIONAL_HEADER = new Set([0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xff, 0xf2, 0xf8]);

function readTimestamp(b: Uint8Array, at: number): number {
  // 3 + 15 + 15 bits with marker bits between them; multiplication keeps bit 32 out of int32 math.
  return (
    ((b[at]! >> 1) & 0x07) * 0x40000000 +
    ((b[at + 1]! << 22) | ((b[at + 2]! >> 1) << 15) | (b[at + 3]! << 7) | (b[at + 4]! >> 1))
  );
}

/**
 * Parses one complete PES packet. Returns null when the bytes are not a PES packet (no 00 00 01
 * prefix, or a header longer than the data).
 */
export function parsePes(data: Uint8Array): PesPacket | null {
  if (data.length < 6 || data[0] !== 0 || data[1] !== 0 || data[2] !== 1) return null;
  const streamId = data[3]!;
  const declared = (data[4]! << 8) | data[5]!;
  const end = declared === 0 ? data.length : Math.min(data.length, 6 + declared);
  if (NO_OPTIONAL_HEADER.has(streamId)) return { streamId, payload: data.subarray(6, end) };
  if (data.length < 9) return null;
  const flags = data[7]!;
  const headerEnd = 9 + data[8]!;
  if (headerEnd > end) return null;
  let pts: number | undefined;
  let dts: number | undefined;
  if (flags & 0x80 && headerEnd >= 14) pts = readTimestamp(data, 9);
  if ((flags & 0xc0) === 0xc0 && headerEnd >= 19) dts = readTimestamp(data, 14);
  const payload = data.subarray(headerEnd, end);
  return pts === undefined ? { streamId, payload } : dts === undefined ? { streamId, pts, payload } : { streamId, pts, dts, payload };
}
