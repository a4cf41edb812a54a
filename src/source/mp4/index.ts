/** MP4 on disk -> Media: the moov index and sample byte reads. */
export { indexMp4, indexMp4Buffer, type Mp4Index } from './index-file.js';
export { readSamples } from './read-samples.js';
export { describeMedia, type MediaSummary, type TrackSummary } from './describe.js';
