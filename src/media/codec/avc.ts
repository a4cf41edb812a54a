/**
 * H.264 helpers: the avcC decoder configuration record (ISO/IEC 14496-15 §5.3.3), RFC 6381 codec
 * strings and walking the length-prefixed NAL units of an MP4 sample. Pure: no I/O.
 */
import { ErrorCode, PackagerError } from '../errors.js';

export interface AvcConfig {
  profile: number;
  compatibility: number;
  level: number;
  /** Bytes of the NAL length prefix in samples: 1, 2 or 4. */
  nalLengthSize: number;
  sps: Uint8Array[];
  pps: Uint8Array[];
}

function invalid(what: string): PackagerError {
  return new PackagerError(ErrorCode.SOURCE_INVALID, `avcC: ${what}`);
}

/**
 * Parses an avcC payload (the box body, without its 8-byte header). The returned parameter sets are
 * views into `payload`; copy them if the payload's buffer must be released.
 */
export function parseAvcC(payload: Uint8Array): AvcConfig {
  if (payload.length < 7) throw invalid(`record is ${payload.length} bytes, needs at least 7`);
  if (payload[0] !== 1) throw invalid(`unsupported configurationVersion ${payload[0]}`);
  const nalLengthSize = (payload[4]! & 3) + 1;
  // lengthSizeMinusOne = 2 is reserved: no decoder accepts 3-byte NAL lengths.
  if (nalLengthSize === 3) throw invalid('NAL length size 3 is not allowed');
  let pos = 6;
  const readSets = (count: number, kind: string): Uint8Array[] => {
    const sets: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      if (pos + 2 > payload.length) throw invalid(`${kind} ${i} length runs past the record`);
      const len = (payload[pos]! << 8) | payload[pos + 1]!;
      pos += 2;
      if (pos + len > payload.length) throw invalid(`${kind} ${i} (${len} bytes) runs past the record`);
      sets.push(payload.subarray(pos, pos + len));
      pos += len;
    }
    return sets;
  };
  const sps = readSets(payload[5]! & 0x1f, 'SPS');
  if (pos >= payload.length) throw invalid('PPS count missing');
  const numPps = payload[pos++]!;
  const pps = readSets(numPps, 'PPS');
  // The High-profile extension (chroma format, bit depths, SPS extensions) that may follow is not
  // needed to package: the sample entry bytes are copied verbatim.
  return { profile: payload[1]!, compatibility: payload[2]!, level: payload[3]!, nalLengthSize, sps, pps };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** RFC 6381 codec string, e.g. `avc1.64001f` (profile_idc, constraint flags, level_idc in hex). */
export function avcCodecString(cfg: AvcConfig, entry: 'avc1' | 'avc3'): string {
  return `${entry}.${hex2(cfg.profile)}${hex2(cfg.compatibility)}${hex2(cfg.level)}`;
}

/**
 * Calls `fn(start, end)` for every length-prefixed NAL unit of `sample`, in order: `start` is the
 * first byte of the NAL header, `end` is exclusive. Empty NAL units (length 0) are reported too
 * (start === end) so a caller counting clear bytes sees every length prefix.
 */
export function forEachNal(
  sample: Uint8Array,
  lengthSize: number,
  fn: (start: number, end: number) => void,
): void {
  if (lengthSize !== 1 && lengthSize !== 2 && lengthSize !== 4) {
    throw new PackagerError(ErrorCode.SOURCE_INVALID, `NAL length size ${lengthSize} is not 1, 2 or 4`);
  }
  const n = sample.length;
  let pos = 0;
  while (pos < n) {
    if (pos + lengthSize > n) {
      throw new PackagerError(
        ErrorCode.SOURCE_INVALID,
        `NAL length prefix at byte ${pos} runs past the ${n}-byte sample`,
      );
    }
    let len: number;
    if (lengthSize === 4) {
      // Multiplication, not <<, so lengths >= 2^31 stay positive and are caught below.
      len = sample[pos]! * 0x1000000 + ((sample[pos + 1]! << 16) | (sample[pos + 2]! << 8) | sample[pos + 3]!);
    } else if (lengthSize === 2) {
      len = (sample[pos]! << 8) | sample[pos + 1]!;
    } else {
      len = sample[pos]!;
    }
    const start = pos + lengthSize;
    const end = start + len;
    if (end > n) {
      throw new PackagerError(
        ErrorCode.SOURCE_INVALID,
        `NAL unit at byte ${start} claims ${len} bytes but the sample has ${n - start} left`,
      );
    }
    fn(start, end);
    pos = end;
  }
}
