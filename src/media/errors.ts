/**
 * One error type for every stage. Pure layers throw it with a code; only http/ maps it to a response.
 * `expose` says whether the message may be shown to a client (never true for anything that could carry
 * a secret or a server path).
 */
export enum ErrorCode {
  CONFIG_INVALID = 'configInvalid',
  SOURCE_NOT_FOUND = 'sourceNotFound',
  SOURCE_INVALID = 'sourceInvalid',
  PATH_OUTSIDE_LOCATION = 'pathOutsideLocation',
  UNSUPPORTED_CODEC = 'unsupportedCodec',
  TRACK_NOT_FOUND = 'trackNotFound',
  SEGMENT_OUT_OF_RANGE = 'segmentOutOfRange',
  BAD_REQUEST = 'badRequest',
  MUX_FAILURE = 'muxFailure',
  ENCRYPTION_FAILURE = 'encryptionFailure',
  KEY_UNAVAILABLE = 'keyUnavailable',
  /** A protected title whose KeyID cannot be had (sidecar missing, empty, malformed or unreadable). */
  KID_UNAVAILABLE = 'kidUnavailable',
  /** A key or licence request for a KID this server does not protect anything with. */
  KEY_NOT_FOUND = 'keyNotFound',
}

const DEFAULT_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.CONFIG_INVALID]: 500,
  [ErrorCode.SOURCE_NOT_FOUND]: 404,
  [ErrorCode.SOURCE_INVALID]: 422,
  [ErrorCode.PATH_OUTSIDE_LOCATION]: 400,
  [ErrorCode.UNSUPPORTED_CODEC]: 415,
  [ErrorCode.TRACK_NOT_FOUND]: 404,
  [ErrorCode.SEGMENT_OUT_OF_RANGE]: 404,
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.MUX_FAILURE]: 500,
  [ErrorCode.ENCRYPTION_FAILURE]: 500,
  [ErrorCode.KEY_UNAVAILABLE]: 503,
  // Fails closed like a missing key, and a 5xx is neither cached by a CDN nor mistaken for a missing file.
  [ErrorCode.KID_UNAVAILABLE]: 503,
  [ErrorCode.KEY_NOT_FOUND]: 404,
};

export class PackagerError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;

  constructor(code: ErrorCode, message: string, opts: { status?: number; expose?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PackagerError';
    this.code = code;
    this.status = opts.status ?? DEFAULT_STATUS[code];
    this.expose = opts.expose ?? this.status < 500;
  }
}

export function isPackagerError(e: unknown): e is PackagerError {
  return e instanceof PackagerError;
}
