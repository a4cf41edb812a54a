export type { Presentation, PresentationOptions, Rendition } from './types.js';
export { buildPresentation, findRendition } from './presentation.js';
export { buildMasterPlaylist, type MasterPlaylistOptions } from './hls/master.js';
export { buildMediaPlaylist, type MediaPlaylistOptions } from './hls/media.js';
export { buildMpd, type MpdOptions } from './dash/mpd.js';
export * from './paths.js';
