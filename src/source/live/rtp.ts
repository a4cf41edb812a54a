/**
 * MPEG-TS over RTP (RFC 3550 header, RFC 2250 payload type 33 = MP2T). Pure.
 */
import { ErrorCode, PackagerError } from '../../media/errors.js';

export const RTP_PT_MP2T = 33;
const TS_SYNC = 0x47;

function invalid(what: string): PackagerError {
  return new PackagerError(ErrorCode.SOURCE_INVALID, `RTP: ${what}`);
}

/**
 * Returns the TS bytes of a datagram: the datagram itself when it starts with a TS sync byte,
 * otherwise the payload of an RTP v2 packet (after CSRCs, header extension; padding removed) of
 * payload type 33. Throws SOURCE_INVALID for anything else.
 */
export function unwrapRtp(datagram: Uint8Array): Uint8Array {
  if (datagram[0] === TS_SYNC) return datagram;
  if (datagram.length < 12 || datagram[0]! >> 6 !== 2) throw invalid('datagram is neither MPEG-TS nor RTP version 2');
  const pt = datagram[1]! & 0x7f;
  if (pt !== RTP_PT_MP2T) throw invalid(`payload type ${pt} is not MP2T (33)`);
  let start = 12 + 4 * (datagram[0]! & 0x0f);
  if (datagram[0]! & 0x10) {
    if (start + 4 > datagram.length) throw invalid('header extension runs past the datagram');
    start += 4 + 4 * ((datagram[start + 2]! << 8) | datagram[start + 3]!);
  }
  let end = datagram.length;
  if (datagram[0]! & 0x20) end -= datagram[end - 1]!;
  if (start > end) throw invalid('header runs past the datagram');
  return datagram.subarray(start, end);
}
