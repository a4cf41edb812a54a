/** Where the protected bytes of each sample are: the input of the ciphers. */
export interface SubsampleEntries {
  /** Sample k (0-based) owns entries index[k] .. index[k + 1] - 1. */
  readonly index: Uint32Array;
  readonly clearBytes: Uint16Array | Uint32Array;
  readonly protectedBytes: Uint32Array;
}

/**
 * The samples to encrypt, back to back at data[at ...]: sizes[k] bytes each. Without subsamples every
 * sample is one protected range (audio); with them, each sample is its (clear, protected) pairs.
 */
export interface SampleRanges {
  readonly data: Uint8Array;
  readonly at: number;
  readonly sizes: ArrayLike<number>;
  readonly subsamples?: SubsampleEntries | undefined;
}

/** Protected bytes of sample k. */
export function protectedSize(r: SampleRanges, k: number): number {
  const sub = r.subsamples;
  if (!sub) return r.sizes[k]!;
  let n = 0;
  for (let j = sub.index[k]!; j < sub.index[k + 1]!; j++) n += sub.protectedBytes[j]!;
  return n;
}
