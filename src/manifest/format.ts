/**
 * Number and text formatting shared by the playlist and MPD writers. Manifests are compared byte for
 * byte by caches and by tests, so numbers are printed from integers: never exponent notation, never
 * float noise such as 4.000000000001.
 */

/** x with exactly `digits` decimals, rounded half away from zero, from a scaled integer. */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot format ${x}`);
  const scaled = Math.round(Math.abs(x) * 10 ** digits);
  return `${x < 0 && scaled !== 0 ? '-' : ''}${formatScaled(scaled, digits)}`;
}

/** A non-negative integer count of 10^-digits units as a decimal: formatScaled(4500000, 6) = '4.500000'. */
export function formatScaled(scaled: number, digits: number): string {
  const scale = 10 ** digits;
  const whole = Math.floor(scaled / scale);
  if (digits === 0) return formatInteger(whole);
  return `${formatInteger(whole)}.${String(scaled - whole * scale).padStart(digits, '0')}`;
}

/** A whole number in plain decimal (String() switches to exponent notation from 1e21). */
export function formatInteger(x: number): string {
  const n = Math.round(x);
  if (!Number.isSafeInteger(n)) {
    // BigInt prints every digit; beyond 2^53 the value is already approximate, but still no exponent.
    return BigInt(n).toString();
  }
  return String(n);
}

/** ISO 8601 duration as DASH uses it: PT<seconds>S with milliseconds, e.g. PT12.000S. */
export function isoDuration(seconds: number): string {
  return `PT${formatFixed(seconds, 3)}S`;
}

/**
 * Round a measured bitrate up to a whole number, first forgiving the float noise of the multiplication
 * (500000 * 1.1 = 550000.0000000001 must give 550000, not 550001).
 */
export function ceilBitrate(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 0;
  return Math.ceil(x - x * 1e-12);
}

export function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

// XML 1.0 forbids these characters even when escaped; they can only come from corrupt metadata.
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Escape text for an XML attribute value (double- or single-quoted) or element content. */
export function escapeXml(s: string): string {
  return s
    .replace(XML_INVALID, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
