/**
 * Which bytes of each NAL unit of a video sample must stay clear: all of a non-VCL NAL (SPS, PPS, SEI,
 * AUD...), and the NAL header + slice header of a slice. Parameter sets come from the track's avcC/hvcC
 * and are replaced by any met in band (avc3/hev1, live), in sample order.
 */
import { AVC_NAL_IDR, AVC_NAL_PPS, AVC_NAL_SLICE, AVC_NAL_SPS, AvcParameterSets, readAvcSliceHeader } from '../media/codec/avc-slice.js';
import { parseAvcPps, parseAvcSps } from '../media/codec/avc-parameter-sets.js';
import { parseAvcC } from '../media/codec/avc.js';
import { RbspReader } from '../media/codec/bit-reader.js';
import { HEVC_NAL_PPS, HEVC_NAL_SPS, HevcParameterSets, nuhLayerId, readHevcSliceHeader } from '../media/codec/hevc-slice.js';
import { parseHevcPps, parseHevcSps } from '../media/codec/hevc-parameter-sets.js';
import { parseHvcC } from '../media/codec/hevc.js';
import { ErrorCode, PackagerError } from '../media/errors.js';
import type { Track } from '../media/track.js';

/** Returned for a NAL unit that is never encrypted. */
export const ALL_CLEAR = -1;

export interface SliceHeaderScanner {
  readonly nalLengthSize: number;
  /**
   * For the NAL unit at buf[start, end) (header first, no length prefix): the number of leading bytes
   * (NAL header + slice header, emulation-prevention bytes included) to keep clear, or ALL_CLEAR.
   * Parameter sets are taken in as they pass, so NAL units must be given in stream order.
   */
  clearLeader(buf: Uint8Array, start: number, end: number): number;
}

// Parsed once per track configuration; each scanner works on a copy it may update from in-band sets.
const avcConfigs = new WeakMap<Uint8Array, AvcParameterSets>();
const hevcConfigs = new WeakMap<Uint8Array, HevcParameterSets>();

export function sliceHeaderScanner(track: Track): SliceHeaderScanner {
  switch (track.sampleEntryType) {
    case 'avc1':
    case 'avc3':
      return avcScanner(track);
    case 'hvc1':
    case 'hev1':
      return hevcScanner(track);
    default:
      throw new PackagerError(ErrorCode.UNSUPPORTED_CODEC, `no subsample encryption for ${track.sampleEntryType}`);
  }
}

function avcScanner(track: Track): SliceHeaderScanner {
  let base = avcConfigs.get(track.codecConfig);
  if (!base) {
    base = AvcParameterSets.fromConfig(parseAvcC(track.codecConfig));
    avcConfigs.set(track.codecConfig, base);
  }
  const params = base.copy();
  const r = new RbspReader();
  return {
    nalLengthSize: track.nalLengthSize,
    clearLeader(buf, start, end) {
      if (end <= start) return ALL_CLEAR;
      const type = buf[start]! & 0x1f;
      if (type === AVC_NAL_SLICE || type === AVC_NAL_IDR) {
        readAvcSliceHeader(r.reset(buf, start, end), params);
        return r.storedLength;
      }
      if (type === AVC_NAL_SPS) params.addSps(parseAvcSps(buf.subarray(start, end), r));
      else if (type === AVC_NAL_PPS) params.addPps(parseAvcPps(buf.subarray(start, end), r));
      // Data partitions (2-4) and the SVC/MVC slice types stay clear: no player decrypts them.
      return ALL_CLEAR;
    },
  };
}

function hevcScanner(track: Track): SliceHeaderScanner {
  let base = hevcConfigs.get(track.codecConfig);
  if (!base) {
    base = HevcParameterSets.fromConfig(parseHvcC(track.codecConfig));
    hevcConfigs.set(track.codecConfig, base);
  }
  const params = base.copy();
  const r = new RbspReader();
  return {
    nalLengthSize: track.nalLengthSize,
    clearLeader(buf, start, end) {
      if (end - start < 2) return ALL_CLEAR;
      const type = (buf[start]! >> 1) & 0x3f;
      if (type < 32) {
        readHevcSliceHeader(r.reset(buf, start, end), params);
        return r.storedLength;
      }
      // Parameter sets of higher layers have another syntax; their slices are refused anyway.
      if (nuhLayerId(buf, start) !== 0) return ALL_CLEAR;
      if (type === HEVC_NAL_SPS) params.addSps(parseHevcSps(buf.subarray(start, end), r));
      else if (type === HEVC_NAL_PPS) params.addPps(parseHevcPps(buf.subarray(start, end), r));
      return ALL_CLEAR;
    },
  };
}
