/**
 * What the live video elementary-stream parsers share once NAL units are split out: the MP4 sample
 * form of an access unit, and the byte comparison that tells a repeated parameter set from a new one.
 */

/** NAL units as one sample, each after a 4-byte big-endian length (the avcC/hvcC lengthSizeMinusOne 3). */
export function lengthPrefixed(nals: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const n of nals) size += 4 + n.length;
  const data = new Uint8Array(size);
  let p = 0;
  for (const n of nals) {
    data[p] = n.length >>> 24;
    data[p + 1] = (n.length >> 16) & 0xff;
    data[p + 2] = (n.length >> 8) & 0xff;
    data[p + 3] = n.length & 0xff;
    data.set(n, p + 4);
    p += 4 + n.length;
  }
  return data;
}

export function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
