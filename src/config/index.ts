export { ConfigError, formatAt, isConfigError } from './errors.js';
export type * from './model.js';
export { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, loadConfig, parseConfig } from './parse.js';
export { drmSignalling, KEYOS_LICENSE_URLS, KEYOS_AUTH_HEADER, type DrmSignalling } from './drm.js';
export { unsupportedFeatures, type UnsupportedFeature } from './stage.js';
export { tokenize, type Token, type TokenKind } from './tokenizer.js';
export { RESERVED_NAMES, normalizeUuid } from './validate.js';
