import { open, type FileHandle } from 'node:fs/promises';
import type { CencScheme } from '../config/model.js';
import { byteSize, type Track } from '../media/track.js';
import type { TrackCut } from '../segment/types.js';
import { readSamples } from '../source/mp4/read-samples.js';
import { buildInit, type PsshBox } from '../mux/fmp4/init.js';
import { fragmentLayout, writeFragment, type FragmentInput } from '../mux/fmp4/fragment.js';
import { buildTsSegment, type SampleAesKey } from '../mux/ts/segment.js';
import { protectSamples } from '../protect/encrypt-fragment.js';
import type { SubsampleEntries } from '../protect/ranges.js';
import { initProtection, commonPssh } from '../protect/init-protection.js';
import { keyedCbcsConstantIv, keyedCencIvBase } from '../protect/key-state.js';

/** Common Encryption of one output of a title: the key is resolved before any byte is built. */
export interface CencParams {
  readonly scheme: CencScheme;
  readonly kid: Uint8Array;
  readonly key: Uint8Array;
  readonly contentId: string;
  /** The init segment's pssh boxes (per signalled DRM system); default: the W3C common pssh only. */
  readonly pssh?: readonly PsshBox[];
}

export function initSegment(track: Track, enc?: CencParams): Uint8Array {
  if (!enc) return buildInit(track);
  const constantIv = enc.scheme === 'cbcs' ? keyedCbcsConstantIv(enc.key) : undefined;
  return buildInit(track, { protection: initProtection(track, enc.scheme, enc.kid, constantIv, enc.pssh ?? [commonPssh([enc.kid])]) });
}

/**
 * Room reserved in front of the samples for the moof: the clear moof plus, per sample, an 8-byte IV and
 * up to 8 subsamples. The samples are read once into their final place; the moof is written just in
 * front of them. A sample with more subsamples than reserved is handled by one copy (rare).
 */
function moofReserve(clear: FragmentInput, samples: number): number {
  return fragmentLayout(clear).mdatPayloadOffset + 128 + samples * (8 + 2 + 6 * 8);
}

/**
 * Copies the bytes of samples [start, end) of a track, in decode order, to dest at `at`: from the
 * file (VOD) or from memory (a live segment). Segments are built the same way from either.
 */
export type SampleReader = (track: Track, start: number, end: number, dest: Uint8Array, at: number) => Promise<void>;

/** Reads samples from an MP4 file on disk. */
export function fileSamples(path: string): SampleReader {
  return (track, start, end, dest, at) => withFile(path, (fd) => readSamples(fd, track, start, end, dest, at));
}

/** Samples held in one buffer at their `offset` (a live segment's track). */
export function memorySamples(data: Uint8Array): SampleReader {
  return async (track, start, end, dest, at) => {
    if (end <= start) return;
    const from = track.samples.offset[start]!;
    const to = track.samples.offset[end - 1]! + track.samples.size[end - 1]!;
    dest.set(data.subarray(from, to), at);
  };
}

/**
 * Subsample maps kept for the samples of one source (a title): they depend on the sample bytes and
 * the scheme only, so a repeated request under any key skips the slice-header parse. Ids are built
 * here from the track, sample range and scheme.
 */
export interface SubsampleMapStore {
  get(id: string): SubsampleEntries | undefined;
  set(id: string, map: SubsampleEntries): void;
}

export async function fmp4Segment(path: string, cut: TrackCut, index: number, sequenceNumber: number, enc?: CencParams, maps?: SubsampleMapStore): Promise<Buffer> {
  const { track, first } = cut;
  return fmp4Fragment(fileSamples(path), track, first[index]!, first[index + 1]!, sequenceNumber, enc, maps);
}

/**
 * Samples [start, end) of a track as one fMP4 fragment (moof + mdat), encrypted when `enc` is given.
 * `enc.contentId` seeds the cenc IVs of sample indices start..end-1: unique per (content, key).
 */
export async function fmp4Fragment(
  read: SampleReader,
  track: Track,
  start: number,
  end: number,
  sequenceNumber: number,
  enc?: CencParams,
  maps?: SubsampleMapStore,
): Promise<Buffer> {
  const clear: FragmentInput = { track, start, end, sequenceNumber };
  const payload = byteSize(track.samples, start, end);
  if (!enc) {
    // One buffer per segment: the samples are read straight into the mdat payload.
    const layout = fragmentLayout(clear);
    const buf = Buffer.allocUnsafe(layout.totalSize);
    await read(track, start, end, buf, layout.mdatPayloadOffset);
    writeFragment(buf, clear, layout);
    return buf;
  }
  // Encrypted: the moof's size depends on the subsample maps, which depend on the sample bytes. Read
  // the samples behind a reserved gap, encrypt them in place, then write the moof into the gap.
  const reserve = moofReserve(clear, end - start);
  const buf = Buffer.allocUnsafe(reserve + payload);
  await read(track, start, end, buf, reserve);
  const mapId = maps && track.kind === 'video' ? `${track.id}/${start}/${end}/${enc.scheme}` : undefined;
  const known = mapId === undefined ? undefined : maps!.get(mapId);
  const protection = protectSamples({
    track,
    start,
    end,
    data: buf,
    at: reserve,
    scheme: enc.scheme,
    key: enc.key,
    ...(enc.scheme === 'cenc' ? { ivBase: keyedCencIvBase(enc.key, enc.contentId, track.id) } : { constantIv: keyedCbcsConstantIv(enc.key) }),
    subsamples: known,
  });
  if (mapId !== undefined && !known && protection.subsamples) maps!.set(mapId, compactMap(protection.subsamples));
  const input: FragmentInput = { ...clear, protection };
  const layout = fragmentLayout(input);
  const headerAt = reserve - layout.mdatPayloadOffset;
  if (headerAt >= 0) {
    const out = buf.subarray(headerAt);
    writeFragment(out, input, layout);
    return out;
  }
  const out = Buffer.allocUnsafe(layout.totalSize);
  buf.copy(out, layout.mdatPayloadOffset, reserve);
  writeFragment(out, input, layout);
  return out;
}

/** A map trimmed to its entries (protectSamples' arrays have spare room), for keeping. */
function compactMap(m: SubsampleEntries): SubsampleEntries {
  return { index: m.index.slice(), clearBytes: m.clearBytes.slice(), protectedBytes: m.protectedBytes.slice() };
}

/** An MPEG-TS segment; with `sampleAes`, SAMPLE-AES encrypted (key and the IV its key tag writes). */
export async function tsSegment(path: string, cut: TrackCut, index: number, sampleAes?: SampleAesKey): Promise<Buffer> {
  const { track, first } = cut;
  return tsChunk(fileSamples(path), track, first[index]!, first[index + 1]!, index, sampleAes);
}

/** Samples [start, end) as an MPEG-TS segment; `segmentIndex` keeps continuity counters running across segments. */
export async function tsChunk(read: SampleReader, track: Track, start: number, end: number, segmentIndex: number, sampleAes?: SampleAesKey): Promise<Buffer> {
  const sampleData = Buffer.allocUnsafe(byteSize(track.samples, start, end));
  if (track.samples.count > 0) await read(track, start, end, sampleData, 0);
  const out = buildTsSegment({ track, start, end, sampleData, segmentIndex, ...(sampleAes ? { sampleAes } : {}) });
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

async function withFile<T>(path: string, fn: (fd: FileHandle) => Promise<T>): Promise<T> {
  const fd = await open(path, 'r');
  try {
    return await fn(fd);
  } finally {
    await fd.close();
  }
}
