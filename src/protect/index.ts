/** Common Encryption of fMP4 samples (cenc, cbcs): subsample maps, ciphers, IVs and init signalling. */
export { protectSamples, type ProtectInput } from './encrypt-fragment.js';
export { commonPssh, initProtection, COMMON_SYSTEM_ID } from './init-protection.js';
export { cbcsConstantIv, cencIvBase, writeSampleIv } from './iv.js';
export { sampleSubsamples, SubsampleMap } from './subsamples.js';
export { sliceHeaderScanner, ALL_CLEAR, type SliceHeaderScanner } from './slice-headers.js';
export { encryptCenc } from './cenc-cipher.js';
export { encryptCbcs, type CbcsPattern } from './cbcs-cipher.js';
export type { SampleRanges, SubsampleEntries } from './ranges.js';
export { schemeParams, maxSubsamples, type CencScheme, type SchemeParams } from './types.js';
