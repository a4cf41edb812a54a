/**
 * Sample entry boxes for tracks that do not come from an MP4 (live MPEG-TS): `avc1` + `avcC`,
 * `hvc1` + `hvcC` and `mp4a` + `esds`, the bytes a Track carries in `sampleEntry` and init segments copy verbatim.
 * Field values follow ISO/IEC 14496-12 §12.1.3 / §12.2.3 and 14496-14 §5.6 (what FFmpeg's movenc and
 * Shaka Packager write).
 */

function box(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A VisualSampleEntry of `type` holding one decoder configuration box. */
function visualSampleEntry(type: string, width: number, height: number, config: Uint8Array): Uint8Array {
  const fields = new Uint8Array(78);
  const v = new DataView(fields.buffer);
  v.setUint16(6, 1); // data_reference_index
  v.setUint16(24, width);
  v.setUint16(26, height);
  v.setUint32(28, 0x00480000); // 72 dpi
  v.setUint32(32, 0x00480000);
  v.setUint16(40, 1); // frame_count
  v.setUint16(74, 0x0018); // depth
  v.setInt16(76, -1); // pre_defined
  return box(type, concat([fields, config]));
}

/** VisualSampleEntry `avc1` with its `avcC` (the avcC payload, no header). */
export function avc1SampleEntry(avcC: Uint8Array, width: number, height: number): Uint8Array {
  return visualSampleEntry('avc1', width, height, box('avcC', avcC));
}

/**
 * VisualSampleEntry `hvc1` with its `hvcC` (the payload, no header). `hvc1`, not `hev1`: parameter sets
 * live in the hvcC only (ISO/IEC 14496-15 §8.4.1), so samples must not carry them.
 */
export function hvc1SampleEntry(hvcC: Uint8Array, width: number, height: number): Uint8Array {
  return visualSampleEntry('hvc1', width, height, box('hvcC', hvcC));
}

/** An MPEG-4 descriptor: tag, size as four 7-bit groups (what every muxer writes), body. */
function descriptor(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  const head = Uint8Array.of(tag, 0x80 | ((n >> 21) & 0x7f), 0x80 | ((n >> 14) & 0x7f), 0x80 | ((n >> 7) & 0x7f), n & 0x7f);
  return concat([head, body]);
}

/** AudioSampleEntry `mp4a` with an `esds` carrying the AudioSpecificConfig. */
export function mp4aSampleEntry(asc: Uint8Array, channels: number, sampleRate: number): Uint8Array {
  const fields = new Uint8Array(28);
  const v = new DataView(fields.buffer);
  v.setUint16(6, 1); // data_reference_index
  v.setUint16(16, channels);
  v.setUint16(18, 16); // samplesize
  // samplerate is 16.16 and cannot hold rates above 65535 Hz; the ASC carries the real rate.
  v.setUint32(24, (sampleRate < 65536 ? sampleRate : 0) * 65536);
  const decoderConfig = new Uint8Array(13);
  const d = new DataView(decoderConfig.buffer);
  d.setUint8(0, 0x40); // objectTypeIndication: MPEG-4 Audio
  d.setUint8(1, (0x05 << 2) | 1); // streamType audio, upStream 0, reserved 1
  const es = descriptor(
    0x03,
    concat([
      Uint8Array.of(0, 0, 0), // ES_ID 0, no flags
      descriptor(0x04, concat([decoderConfig, descriptor(0x05, asc)])),
      descriptor(0x06, Uint8Array.of(0x02)),
    ]),
  );
  const esds = box('esds', concat([new Uint8Array(4), es]));
  return box('mp4a', concat([fields, esds]));
}
