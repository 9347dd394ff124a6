// Evaluates conditional request headers against a file's validators, in RFC 9110 §13.2.2's order.

/** A file's validators, derived once from its fstat. */
export interface Validators {
  /** The strong entity tag, quoted. */
  readonly etag: string;
  /** The modification time in whole seconds since the epoch (HTTP dates have no finer precision). */
  readonly lastModifiedSeconds: number;
}

/** The conditional headers of a request, as sent (absent when not sent). */
export interface ConditionalHeaders {
  readonly ifMatch?: string | undefined;
  readonly ifNoneMatch?: string | undefined;
  readonly ifModifiedSince?: string | undefined;
  readonly ifUnmodifiedSince?: string | undefined;
  readonly ifRange?: string | undefined;
}

export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/**
 * Evaluates, for a GET or HEAD of an existing file, in the RFC's order
 * (§13.2.2): If-Match (strong comparison), else If-Unmodified-Since → 412
 * when it fails; then If-None-Match (weak comparison), else If-Modified-Since
 * → 304 when the client's copy is current. A date that does not parse is
 * ignored, as the RFC requires (§13.1.3, §13.1.4).
 */
export function evaluatePreconditions(headers: ConditionalHeaders, validators: Validators): PreconditionOutcome {
  if (headers.ifMatch !== undefined) {
    if (!matchesAny(headers.ifMatch, validators.etag, 'strong')) return 'precondition-failed';
  } else if (headers.ifUnmodifiedSince !== undefined) {
    const since = parseHttpDateSeconds(headers.ifUnmodifiedSince);
    if (since !== null && validators.lastModifiedSeconds > since) return 'precondition-failed';
  }
  if (headers.ifNoneMatch !== undefined) {
    if (matchesAny(headers.ifNoneMatch, validators.etag, 'weak')) return 'not-modified';
  } else if (headers.ifModifiedSince !== undefined) {
    const since = parseHttpDateSeconds(headers.ifModifiedSince);
    if (since !== null && validators.lastModifiedSeconds <= since) return 'not-modified';
  }
  return 'proceed';
}

/**
 * True when If-Range lets the Range header stand (RFC 9110 §13.1.5): an
 * entity tag must be strong and equal to the current one (a weak tag never
 * matches); a date must equal the Last-Modified date exactly. Anything else
 * means the whole file is sent.
 */
export function isRangeFresh(ifRange: string | undefined, validators: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return !isWeak(value) && value === validators.etag;
  const date = parseHttpDateSeconds(value);
  return date !== null && date === validators.lastModifiedSeconds;
}

/** Parses an HTTP date (IMF-fixdate, RFC 850 or asctime) to whole seconds, or null. */
export function parseHttpDateSeconds(value: string): number | null {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

const ENTITY_TAG = /\s*(W\/)?("[^"]*")\s*(?:,|$)/y;

/**
 * True when a list of entity tags (or "*") holds one equal to `etag` under
 * the given comparison (RFC 9110 §8.8.3.2). A malformed list matches nothing.
 */
export function matchesAny(list: string, etag: string, comparison: 'strong' | 'weak'): boolean {
  if (list.trim() === '*') return true;
  ENTITY_TAG.lastIndex = 0;
  const opaque = etag.replace(/^W\//, '');
  while (ENTITY_TAG.lastIndex < list.length) {
    const match = ENTITY_TAG.exec(list);
    if (!match) return false;
    const weak = match[1] !== undefined;
    if (match[2] === opaque && (comparison === 'weak' || (!weak && !isWeak(etag)))) return true;
  }
  return false;
}

function isWeak(tag: string): boolean {
  return tag.startsWith('W/');
}
