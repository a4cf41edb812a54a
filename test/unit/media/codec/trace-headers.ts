/**
 * The independent oracle for slice-header sizes: ffmpeg's trace_headers bitstream filter logs every
 * syntax element of every NAL unit with its bit position in the RBSP (NAL header included). A slice
 * header's length in bits is the end of its last element; for H.264 the cabac_alignment_one_bit
 * padding that follows is part of slice_data() and is left out. H.265 headers end with
 * byte_alignment(), which is part of slice_segment_header().
 */
import { spawnSync } from 'node:child_process';

export interface TracedSlices {
  /** RBSP bits of NAL header + slice (segment) header, for every slice in stream order. */
  readonly bits: number[];
  /** Names of the slice-header syntax elements ffmpeg met (array indices removed), with counts. */
  readonly fields: Map<string, number>;
}

/** `input` is a file; `inputFormat` ('h264', 'hevc') for raw Annex B streams. */
export function traceSliceHeaders(input: string, inputFormat?: string): TracedSlices {
  const r = spawnSync(
    'ffmpeg',
    [
      '-hide_banner', '-nostats', '-v', 'verbose', ...(inputFormat ? ['-f', inputFormat] : []), '-i', input,
      '-map', '0:v:0', '-c', 'copy', '-bsf:v', 'trace_headers', '-f', 'null', '-',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 30 },
  );
  if (r.status !== 0) throw new Error(`ffmpeg trace_headers failed: ${r.stderr.slice(-2000)}`);
  // A unit ffmpeg could not parse is dropped from the trace, which would desynchronise the lists.
  const failed = /\[trace_headers @ [^\]]+\] (.*(?:out of range|Failed to read|Invalid).*)$/m.exec(r.stderr);
  if (failed) throw new Error(`ffmpeg rejected the stream: ${failed[1]}`);
  const bits: number[] = [];
  const fields = new Map<string, number>();
  let inSlice = false;
  let end = 0;
  for (const line of r.stderr.split('\n')) {
    const m = /\[trace_headers @ [^\]]+\] (.*)$/.exec(line);
    if (!m) continue;
    const body = m[1]!;
    const field = /^(\d+)\s+(\S+)\s+([01]+) = /.exec(body);
    if (field) {
      if (inSlice && field[2] !== 'cabac_alignment_one_bit') {
        end = Math.max(end, Number(field[1]) + field[3]!.length);
        const name = field[2]!.replace(/\[.*$/, '');
        fields.set(name, (fields.get(name) ?? 0) + 1);
      }
      continue;
    }
    if (inSlice) {
      bits.push(end);
      inSlice = false;
    }
    if (body === 'Slice Header' || body === 'Slice Segment Header') {
      inSlice = true;
      end = 0;
    }
  }
  if (inSlice) bits.push(end);
  return { bits, fields };
}

/**
 * Stored bytes spanning the first `rbspBytes` RBSP bytes of a NAL unit: each 03 after two 00 bytes is
 * an emulation-prevention byte inside the span (counted as Bento4 does; written here independently of
 * src/media/codec/bit-reader.ts).
 */
export function storedSpan(nal: Uint8Array, rbspBytes: number): number {
  let zeros = 0;
  let left = rbspBytes;
  let i = 0;
  for (; i < nal.length && left > 0; i++) {
    if (zeros >= 2 && nal[i] === 3) {
      zeros = 0;
      continue;
    }
    zeros = nal[i] === 0 ? zeros + 1 : 0;
    left--;
  }
  return i;
}
