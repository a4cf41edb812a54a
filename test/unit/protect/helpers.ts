/**
 * Harness for the protect/ tests: real tracks through the project's own indexer and sample reader,
 * encrypted with protectSamples and written with the fMP4 writer the way the HTTP layer will (samples
 * read first at an offset that leaves room for the moof), plus ffmpeg as the independent decrypter.
 */
import { spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Track } from '../../../src/media/track.js';
import { byteSize } from '../../../src/media/track.js';
import { type FragmentProtection, fragmentLayout, writeFragment } from '../../../src/mux/fmp4/fragment.js';
import { buildInit } from '../../../src/mux/fmp4/init.js';
import { commonPssh, initProtection } from '../../../src/protect/init-protection.js';
import { cbcsConstantIv, cencIvBase } from '../../../src/protect/iv.js';
import { protectSamples } from '../../../src/protect/encrypt-fragment.js';
import type { CencScheme } from '../../../src/protect/types.js';
import { indexMp4, readSamples } from '../../../src/source/mp4/index.js';

export const KEY = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
export const WRONG_KEY = new Uint8Array(Buffer.from('00112233445566778899aabbccddeef0', 'hex'));
export const KID = new Uint8Array(Buffer.from('0123456789abcdef0123456789abcdef', 'hex'));

export interface LoadedTrack {
  readonly path: string;
  readonly track: Track;
  /** All of the track's samples, back to back, as readSamples copies them. */
  readonly samples: Uint8Array;
  /** Where sample i starts in `samples`. */
  readonly starts: Float64Array;
}

/** The nth track of a kind, indexed by indexMp4 and read with readSamples. */
export async function loadTrack(path: string, kind: 'video' | 'audio', nth = 0): Promise<LoadedTrack> {
  const media = await indexMp4(path);
  const track = media.tracks.filter((t) => t.kind === kind)[nth];
  if (!track) throw new Error(`no ${kind} track #${nth} in ${path}`);
  const s = track.samples;
  const samples = new Uint8Array(byteSize(s, 0, s.count));
  const fh = await open(path, 'r');
  try {
    await readSamples(fh, track, 0, s.count, samples, 0);
  } finally {
    await fh.close();
  }
  const starts = new Float64Array(s.count + 1);
  for (let i = 0; i < s.count; i++) starts[i + 1] = starts[i]! + s.size[i]!;
  return { path, track, samples, starts };
}

export function sampleBytes(t: LoadedTrack, start: number, end: number): Uint8Array {
  return t.samples.subarray(t.starts[start], t.starts[end]);
}

/** A new segment at the first sync sample at least minSamples after the previous cut. */
export function cutAtSync(track: Track, minSamples: number): number[] {
  const s = track.samples;
  const cuts = [0];
  for (let i = 1; i < s.count; i++) if (s.sync[i] && i - cuts[cuts.length - 1]! >= minSamples) cuts.push(i);
  cuts.push(s.count);
  return cuts;
}

export function cutEvery(track: Track, n: number): number[] {
  const cuts: number[] = [];
  for (let i = 0; i < track.samples.count; i += n) cuts.push(i);
  cuts.push(track.samples.count);
  return cuts;
}

export interface EncryptOptions {
  readonly scheme: CencScheme;
  readonly key?: Uint8Array;
  readonly contentId?: string;
}

export interface EncryptedFragment {
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array;
  readonly protection: FragmentProtection;
}

/** Room reserved in front of the samples for moof + mdat header, as the server will do; odd on purpose (no alignment assumed). */
const MOOF_RESERVE = 64 * 1024 + 3;

/** Init segment and encrypted fragments of a track, cut at `cuts`. */
export function encryptTrack(t: LoadedTrack, cuts: readonly number[], opts: EncryptOptions): { init: Uint8Array; fragments: EncryptedFragment[] } {
  const key = opts.key ?? KEY;
  const constantIv = cbcsConstantIv(key);
  const ivBase = cencIvBase(key, opts.contentId ?? t.path, t.track.id);
  const init = buildInit(t.track, {
    protection: initProtection(t.track, opts.scheme, KID, opts.scheme === 'cbcs' ? constantIv : undefined, [commonPssh([KID])]),
  });
  const fragments: EncryptedFragment[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const start = cuts[k]!;
    const end = cuts[k + 1]!;
    const payload = sampleBytes(t, start, end);
    // Samples first, at an offset that leaves room for the moof; then the maps; then the moof.
    const buf = new Uint8Array(MOOF_RESERVE + payload.length);
    buf.set(payload, MOOF_RESERVE);
    const protection = protectSamples({ track: t.track, start, end, data: buf, at: MOOF_RESERVE, scheme: opts.scheme, key, ivBase, constantIv });
    const input = { track: t.track, start, end, sequenceNumber: k + 1, protection };
    const layout = fragmentLayout(input);
    const bytes = buf.subarray(MOOF_RESERVE - layout.mdatPayloadOffset, MOOF_RESERVE + payload.length);
    writeFragment(bytes, input, layout);
    fragments.push({ start, end, bytes, protection });
  }
  return { init, fragments };
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

// --- ffmpeg --------------------------------------------------------------------------------------

export function run(cmd: string, args: string[], input?: Uint8Array): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 512 << 20, input });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

export interface HashOptions {
  /** Options before -i (the decryption key, -ignore_editlist). */
  readonly pre?: readonly string[];
  /** '0:v', '0:a'... */
  readonly map?: string;
  /** Packets as stored (-c copy) instead of decoded frames. */
  readonly copy?: boolean;
}

/**
 * framemd5 hash column of a file, or of bytes fed through stdin: a pipe is not seekable, so ffmpeg
 * reads each fragment's senc as it meets it (a seekable multi-fragment file would make ffmpeg 5.1
 * apply the last fragment's aux info to all). Throws when ffmpeg fails.
 * Lines are `stream, dts, pts, duration, size, hash[, S=n, size, hash]...`.
 */
export function frameHashes(input: string | Uint8Array, opts: HashOptions = {}): string[] {
  const stdin = typeof input !== 'string';
  const r = run(
    'ffmpeg',
    [
      '-v', 'error', ...(opts.pre ?? []), '-i', stdin ? 'pipe:0' : input,
      '-map', opts.map ?? '0', ...(opts.copy ? ['-c', 'copy'] : []), '-fps_mode', 'passthrough', '-f', 'framemd5', '-',
    ],
    stdin ? input : undefined,
  );
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    // Column 6 is the hash; packets with side data (a key frame's encryption info) append more columns.
    .map((l) => l.split(',')[5]!.trim());
}

/** Like frameHashes, but a failing ffmpeg (undecodable input) yields its error text instead. */
export function frameHashesOrError(input: Uint8Array, opts: HashOptions = {}): string[] | string {
  try {
    return frameHashes(input, opts);
  } catch (e) {
    return (e as Error).message;
  }
}

export function decryptionKey(key: Uint8Array = KEY): string[] {
  return ['-decryption_key', hex(key)];
}
