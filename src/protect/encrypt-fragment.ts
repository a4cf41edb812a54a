/**
 * The one entry point per segment: maps, then encrypts, the samples of one fragment in place and
 * returns the auxiliary information the fMP4 writer puts in senc/saiz/saio.
 *
 * Order of work for the caller (the moof's size depends on the maps, the maps on the sample bytes):
 * read the samples into the segment buffer at an offset that leaves room for the moof, call
 * protectSamples, then fragmentLayout/writeFragment with the returned FragmentProtection.
 */
import type { Track } from '../media/track.js';
import type { FragmentProtection } from '../mux/fmp4/fragment.js';
import { encryptCbcs } from './cbcs-cipher.js';
import { encryptCenc } from './cenc-cipher.js';
import { writeSampleIv } from './iv.js';
import type { SampleRanges, SubsampleEntries } from './ranges.js';
import { sliceHeaderScanner } from './slice-headers.js';
import { SubsampleMap, sampleSubsamples } from './subsamples.js';
import { type CencScheme, encryptionError, maxSubsamples, schemeParams } from './types.js';

export interface ProtectInput {
  readonly track: Track;
  /** Samples [start, end) of track.samples. */
  readonly start: number;
  readonly end: number;
  /** The samples' bytes back to back at data[at ...]; encrypted in place. */
  readonly data: Uint8Array;
  readonly at: number;
  readonly scheme: CencScheme;
  /** AES-128 content key, 16 bytes. */
  readonly key: Uint8Array;
  /** cenc: 8 bytes (cencIvBase); sample i of the track gets ivBase + i. */
  readonly ivBase?: Uint8Array | undefined;
  /** cbcs: the 16-byte constant IV written in tenc (cbcsConstantIv). */
  readonly constantIv?: Uint8Array | undefined;
  /**
   * Video: the subsample map these very samples got under this scheme before (the `subsamples` of an
   * earlier result), to skip the NAL walk and slice-header parse. It depends on the sample bytes and
   * the scheme only, never on the key. Checked against the sample sizes (and cenc's 16-byte rule)
   * before anything is encrypted.
   */
  readonly subsamples?: SubsampleEntries | undefined;
}

export interface ProtectResult extends FragmentProtection {
  /** Video: the map used, to hand back as ProtectInput.subsamples for the same samples and scheme. */
  readonly subsamples?: SubsampleEntries | undefined;
}

export function protectSamples(input: ProtectInput): ProtectResult {
  const { track, start, end, data, at, scheme, key } = input;
  const s = track.samples;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > s.count || start >= end) {
    throw encryptionError(`bad sample range [${start}, ${end}) of ${s.count} samples`);
  }
  if (key.length !== 16) throw encryptionError(`AES-128 key must be 16 bytes, got ${key.length}`);
  const sizes = s.size.subarray(start, end);
  let payload = 0;
  for (let k = 0; k < sizes.length; k++) payload += sizes[k]!;
  if (!Number.isInteger(at) || at < 0 || at + payload > data.length) {
    throw encryptionError(`samples need ${payload} bytes at ${at}, the buffer has ${data.length}`);
  }
  const params = schemeParams(scheme, track.kind, input.constantIv);
  const n = end - start;

  // Step 1: the maps (video: by NAL units and slice headers; audio: whole samples, no map).
  let subsamples: SubsampleEntries | undefined;
  if (track.kind === 'video') {
    const limit = maxSubsamples(params.perSampleIvSize);
    if (input.subsamples) {
      checkGivenMap(input.subsamples, sizes, scheme, limit);
      subsamples = input.subsamples;
    } else {
      const map = new SubsampleMap(n);
      const scanner = sliceHeaderScanner(track);
      let pos = at;
      for (let k = 0; k < n; k++) {
        sampleSubsamples(data, pos, pos + sizes[k]!, scanner, scheme, limit, map);
        pos += sizes[k]!;
      }
      subsamples = { index: map.index, clearBytes: map.clearBytes.subarray(0, map.count), protectedBytes: map.protectedBytes.subarray(0, map.count) };
    }
  }
  const ranges: SampleRanges = { data, at, sizes, subsamples };

  // Step 2: the cipher.
  if (params.scheme === 'cenc') {
    const base = input.ivBase;
    if (!base || base.length !== 8) throw encryptionError('cenc needs an 8-byte IV base');
    const ivs = new Uint8Array(8 * n);
    for (let k = 0; k < n; k++) writeSampleIv(base, start + k, ivs, 8 * k);
    encryptCenc(ranges, key, ivs);
    return { perSampleIvSize: 8, ivs, subsamples, ...subsampleFields(subsamples) };
  }
  encryptCbcs(ranges, key, params.constantIv!, params);
  return { perSampleIvSize: 0, subsamples, ...subsampleFields(subsamples) };
}

/**
 * A map from elsewhere must describe exactly these samples under this scheme: a map of other samples
 * would encrypt the wrong bytes (and leave slice headers or whole NALs unprotected) before the writer's
 * own check could refuse it.
 */
function checkGivenMap(m: SubsampleEntries, sizes: Uint32Array, scheme: CencScheme, limit: number): void {
  const n = sizes.length;
  if (m.index.length !== n + 1 || m.index[0] !== 0 || m.index[n] !== m.clearBytes.length || m.clearBytes.length !== m.protectedBytes.length) {
    throw encryptionError(`the given subsample map is for ${m.index.length - 1} samples, not ${n}`);
  }
  for (let k = 0; k < n; k++) {
    const from = m.index[k]!;
    const to = m.index[k + 1]!;
    if (to < from || to - from > limit) throw encryptionError(`the given subsample map has ${to - from} entries for sample ${k}`);
    let sum = 0;
    for (let j = from; j < to; j++) {
      const prot = m.protectedBytes[j]!;
      if (scheme === 'cenc' && prot % 16 !== 0) throw encryptionError('the given subsample map is not a cenc one');
      sum += m.clearBytes[j]! + prot;
    }
    if (sum !== sizes[k]) throw encryptionError(`the given subsample map covers ${sum} bytes of sample ${k}, which has ${sizes[k]}`);
  }
}

function subsampleFields(sub: SampleRanges['subsamples']): Partial<FragmentProtection> {
  return sub ? { subsampleIndex: sub.index, clearBytes: sub.clearBytes, protectedBytes: sub.protectedBytes } : {};
}
