// The closed set of ways an S3 engine request can fail, and the one table that sorts an engine's answer into it.

/**
 * What the layer needs to know about a failure, and nothing more:
 * - `not-found`: no such object (NOT_FOUND);
 * - `not-readable`: the engine refuses this object: access denied, an archived
 *   storage class not restored (NOT_READABLE);
 * - `unavailable`: the engine or bucket cannot be used at all: connection, DNS,
 *   timeout, credentials, no such bucket (FSTYPE_UNAVAILABLE);
 * - `slow-down`: the engine asks for fewer requests (503 UNAVAILABLE with `retryAfterSeconds`);
 * - `precondition-failed`: an If-Match / If-None-Match sent to the engine did not hold;
 * - `other`: anything else (INTERNAL).
 */
export type EngineErrorKind = 'not-found' | 'not-readable' | 'unavailable' | 'slow-down' | 'precondition-failed' | 'other';

/** What failed, for messages: the operation and, when there is one, the key. Never credentials or signed headers. */
export interface EngineErrorDetails {
  readonly operation: 'HEAD' | 'GET' | 'LIST' | 'PUT' | 'DELETE' | 'CREATE-BUCKET' | 'CREATE-UPLOAD' | 'UPLOAD-PART' | 'COMPLETE-UPLOAD' | 'ABORT-UPLOAD';
  readonly key?: string;
  /** The engine's HTTP status; absent when no answer came (connection failure). */
  readonly status?: number;
  /** The engine's error code from its XML body (`NoSuchKey`, `SlowDown`, …), when it sent one. */
  readonly engineCode?: string;
  /** For `slow-down`: the engine's Retry-After, or 1. */
  readonly retryAfterSeconds?: number;
  /** The underlying failure (a socket error), kept for the log; never holds credentials. */
  readonly cause?: unknown;
}

/** A failed engine request. Its message names the operation, key, status and engine code only. */
export class EngineError extends Error {
  readonly kind: EngineErrorKind;
  readonly operation: EngineErrorDetails['operation'];
  readonly key: string | undefined;
  readonly status: number | undefined;
  readonly engineCode: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(kind: EngineErrorKind, details: EngineErrorDetails, reason?: string) {
    const what = details.key === undefined ? details.operation : `${details.operation} ${JSON.stringify(details.key)}`;
    const answer = details.status === undefined
      ? (reason ?? 'no answer')
      : `answered ${details.status}${details.engineCode ? ` ${details.engineCode}` : ''}`;
    super(`object store: ${what} ${answer}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'EngineError';
    this.kind = kind;
    this.operation = details.operation;
    this.key = details.key;
    this.status = details.status;
    this.engineCode = details.engineCode;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

export function isEngineError(value: unknown): value is EngineError {
  return value instanceof EngineError;
}

// Engine error codes whose meaning does not follow from the status alone
// (AWS S3 error responses; radosgw sends the same codes).
const KIND_BY_CODE: Readonly<Record<string, EngineErrorKind>> = {
  NoSuchKey: 'not-found',
  NoSuchBucket: 'unavailable',
  InvalidAccessKeyId: 'unavailable',
  SignatureDoesNotMatch: 'unavailable',
  AuthorizationHeaderMalformed: 'unavailable',
  RequestTimeTooSkewed: 'unavailable',
  ExpiredToken: 'unavailable',
  InvalidToken: 'unavailable',
  PermanentRedirect: 'unavailable',
  AccessDenied: 'not-readable',
  InvalidObjectState: 'not-readable',
  SlowDown: 'slow-down',
  ServiceUnavailable: 'slow-down',
  PreconditionFailed: 'precondition-failed',
  ConditionalRequestConflict: 'precondition-failed',
};

/**
 * The kind of an engine's error answer: by its error code when it sent one
 * (a HEAD answer has no body), else by status: 404 not-found, 403
 * not-readable, 412 precondition-failed, 503 slow-down, anything else other.
 */
export function toEngineErrorKind(status: number, engineCode: string | undefined): EngineErrorKind {
  const byCode = engineCode === undefined ? undefined : KIND_BY_CODE[engineCode];
  if (byCode !== undefined) return byCode;
  switch (status) {
    case 404: return 'not-found';
    case 403: return 'not-readable';
    case 412: return 'precondition-failed';
    case 503: return 'slow-down';
    default: return 'other';
  }
}

/** True when a GET, HEAD or LIST that failed this way may be sent again (before any body byte is handed on). */
export function isRetryable(error: EngineError): boolean {
  if (error.status === undefined) return error.kind === 'unavailable';
  return error.kind === 'slow-down' || error.status === 500 || error.status === 502 || error.status === 504;
}
