// The one error type of filegate: a closed set of codes, each with one HTTP status.

/** Every code a response can carry; docs/errors.md lists the same set. */
export const ERROR_STATUS = {
  UNAUTHORIZED: 401,
  BAD_REQUEST: 400,
  UNKNOWN_FSTYPE: 400,
  FORBIDDEN: 403,
  FSTYPE_UNAVAILABLE: 412,
  PATH_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  NOT_A_FILE: 403,
  NOT_READABLE: 403,
  TYPE_NOT_ALLOWED: 403,
  FILE_EMPTY: 412,
  FILE_TOO_LARGE: 413,
  ARCHIVE_TOO_LARGE: 413,
  PRECONDITION_FAILED: 412,
  RANGE_NOT_SATISFIABLE: 416,
  NOT_READY: 409,
  METHOD_NOT_ALLOWED: 405,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FilegateErrorOptions {
  /** Extra response headers, e.g. `WWW-Authenticate` or `Allow`. */
  headers?: Record<string, string>;
  /** The underlying failure; logged, never sent. */
  cause?: unknown;
}

/**
 * A failure with a code from the closed union. Its message is written for the
 * person who must act and is sent as is, so it must never hold an absolute
 * server path, an errno or a stack.
 */
export class FilegateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Koa convention: the message may be shown to the client. */
  readonly expose = true;

  constructor(code: ErrorCode, message: string, options: FilegateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FilegateError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.headers = options.headers ?? {};
  }
}

export function isFilegateError(value: unknown): value is FilegateError {
  return value instanceof FilegateError;
}

/** Shorthand for the common case of a code and a message. */
export function fail(code: ErrorCode, message: string, options?: FilegateErrorOptions): never {
  throw new FilegateError(code, message, options);
}
