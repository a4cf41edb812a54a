/**
 * CRC-32/MPEG-2, the checksum that ends every PSI section (PAT, PMT): polynomial 0x04C11DB7, initial
 * value 0xFFFFFFFF, MSB first (no reflection), no final XOR. Check value: "123456789" -> 0x0376E6E7.
 */

const POLYNOMIAL = 0x04c11db7;

// One table lookup per byte instead of eight shifts: PSI sections are tiny, but every segment has two.
const TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let bit = 0; bit < 8; bit++) c = c & 0x80000000 ? (c << 1) ^ POLYNOMIAL : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC of data[start, end). Over a whole section including its CRC field the result is 0. */
export function crc32Mpeg(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = (crc << 8) ^ TABLE[((crc >>> 24) ^ data[i]!) & 0xff]!;
  return crc >>> 0;
}
