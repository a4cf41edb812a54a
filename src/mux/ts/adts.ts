/**
 * Raw AAC frames (MP4 samples) to ADTS frames for MPEG-TS (stream_type 0x0F): each frame gets the
 * 7-byte header built from the track's AudioSpecificConfig (no CRC). HE-AAC is signalled as its LC
 * core, as ADTS requires; adtsHeader handles that.
 */

import { ADTS_HEADER_SIZE, adtsHeader } from '../../media/codec/aac.js';
import type { AacConfig } from '../../media/codec/aac.js';
import type { ByteSink } from './annexb.js';

export { ADTS_HEADER_SIZE };

/** Bytes of the ADTS frame that carries a raw frame of `rawLength` bytes. */
export function adtsFrameSize(rawLength: number): number {
  return ADTS_HEADER_SIZE + rawLength;
}

/**
 * Writes header + frame to the sink. `scratch` (>= 7 bytes, reused across frames) holds the header so
 * that no per-frame buffer is allocated.
 */
export function writeAdtsFrame(
  sink: ByteSink,
  cfg: AacConfig,
  frame: Uint8Array,
  start: number,
  end: number,
  scratch: Uint8Array,
): void {
  adtsHeader(cfg, end - start, scratch, 0);
  sink.write(scratch, 0, ADTS_HEADER_SIZE);
  sink.write(frame, start, end);
}
