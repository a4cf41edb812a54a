// A minimal PNG decoder (no dependencies) for comparing screenshots: 8-bit greyscale, grey+alpha,
// RGB and RGBA, non-interlaced — what Chromium's page screenshots are. Returns RGB(A) pixels.
import { inflateSync } from 'node:zlib';

export interface DecodedPng {
  width: number;
  height: number;
  /** Samples per pixel in `data`: 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** Unfiltered samples, row after row, `width * channels` bytes per row. */
  data: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

export function decodePng(png: Buffer): DecodedPng {
  if (png.length < 8 || !png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (pos + 8 <= png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const body = png.subarray(pos + 8, pos + 8 + len);
    pos += 12 + len;
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      const colour = body[9] ?? -1;
      const interlace = body[12];
      if (depth !== 8) throw new Error(`PNG bit depth ${depth} not supported`);
      if (interlace !== 0) throw new Error('interlaced PNG not supported');
      const ch = CHANNELS[colour];
      if (!ch) throw new Error(`PNG colour type ${colour} not supported`);
      channels = ch;
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      break;
    }
  }
  if (!width || !channels) throw new Error('PNG without IHDR');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) throw new Error('truncated PNG data');
  const data = Buffer.alloc(height * stride);
  const bpp = channels;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    const prev = dst - stride;
    for (let x = 0; x < stride; x++) {
      const v = raw[src + x]!;
      const a = x >= bpp ? data[dst + x - bpp]! : 0;
      const b = y > 0 ? data[prev + x]! : 0;
      const c = x >= bpp && y > 0 ? data[prev + x - bpp]! : 0;
      let out: number;
      switch (filter) {
        case 0: out = v; break;
        case 1: out = v + a; break;
        case 2: out = v + b; break;
        case 3: out = v + ((a + b) >> 1); break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          out = v + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default: throw new Error(`bad PNG filter ${filter} on row ${y}`);
      }
      data[dst + x] = out & 0xff;
    }
  }
  return { width, height, channels, data };
}

/** Colour samples (alpha dropped, grey expanded) as RGB triplets. */
function rgb(img: DecodedPng): Buffer {
  if (img.channels === 3) return img.data;
  const n = img.width * img.height;
  const out = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) {
    const s = i * img.channels;
    if (img.channels >= 3) {
      out[i * 3] = img.data[s]!;
      out[i * 3 + 1] = img.data[s + 1]!;
      out[i * 3 + 2] = img.data[s + 2]!;
    } else {
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = img.data[s]!;
    }
  }
  return out;
}

/**
 * Compares two PNGs pixel by pixel on their RGB samples (alpha ignored). `psnr` is in dB over 8-bit
 * samples: Infinity when identical, 0 when the sizes differ.
 */
export function compareFrames(a: Buffer, b: Buffer): { identical: boolean; psnr: number } {
  const A = decodePng(a);
  const B = decodePng(b);
  if (A.width !== B.width || A.height !== B.height) return { identical: false, psnr: 0 };
  const x = rgb(A);
  const y = rgb(B);
  if (x.equals(y)) return { identical: true, psnr: Infinity };
  let se = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    se += d * d;
  }
  const mse = se / x.length;
  return { identical: false, psnr: 10 * Math.log10((255 * 255) / mse) };
}

/** Mean and spread of the luma-ish grey level: tells a black or flat frame from a picture. */
export function frameStats(png: Buffer): { mean: number; stddev: number } {
  const img = rgb(decodePng(png));
  let sum = 0;
  let sum2 = 0;
  const n = img.length / 3;
  for (let i = 0; i < img.length; i += 3) {
    const g = (img[i]! * 299 + img[i + 1]! * 587 + img[i + 2]! * 114) / 1000;
    sum += g;
    sum2 += g * g;
  }
  const mean = sum / n;
  return { mean, stddev: Math.sqrt(Math.max(0, sum2 / n - mean * mean)) };
}
