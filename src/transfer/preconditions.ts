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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept.
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC_850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * Parses an HTTP date in one of RFC 9110's three forms to whole seconds, or
 * returns null for anything else (ISO 8601, a bare number, a typo): such a
 * value must be ignored, not guessed at, as Go's `http.ParseTime` does.
 */
export function parseHttpDateSeconds(value: string): number | null {
  const text = value.trim();
  let parts: [day: string, month: string, year: string, hour: string, minute: string, second: string] | null = null;
  let match = IMF_FIXDATE.exec(text);
  if (match) parts = [match[1]!, match[2]!, match[3]!, match[4]!, match[5]!, match[6]!];
  else if ((match = RFC_850.exec(text))) {
    // Two-digit years: RFC 9110 §5.6.7 reads a year more than 50 years ahead as the past century's.
    const short = Number(match[3]);
    const thisYear = new Date().getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + short;
    if (year > thisYear + 50) year -= 100;
    parts = [match[1]!, match[2]!, String(year), match[4]!, match[5]!, match[6]!];
  } else if ((match = ASCTIME.exec(text))) parts = [match[2]!.trim(), match[1]!, match[6]!, match[3]!, match[4]!, match[5]!];
  if (parts === null) return null;
  const [day, month, year, hour, minute, second] = parts.map((part, index) => (index === 1 ? MONTHS.indexOf(part) : Number(part)));
  if (month! < 0 || day! < 1 || day! > 31 || hour! > 23 || minute! > 59 || second! > 60) return null;
  const ms = Date.UTC(year!, month!, day!, hour!, minute!, second!);
  // Date.UTC rolls 31 February over into March; a day that does not exist is no date.
  if (new Date(ms).getUTCDate() !== day) return null;
  return Math.floor(ms / 1000);
}

/**
 * True when a list of entity tags (or "*") holds one equal to `etag` under
 * the given comparison (RFC 9110 §8.8.3.2). Empty list elements are skipped
 * (§5.6.1); a malformed list matches nothing. Tags are scanned, not split on
 * commas, because a comma is a valid character inside an entity tag.
 */
export function matchesAny(list: string, etag: string, comparison: 'strong' | 'weak'): boolean {
  if (list.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  let index = 0;
  while (index < list.length) {
    const char = list[index];
    if (char === ' ' || char === '\t' || char === ',') {
      index += 1;
      continue;
    }
    const weak = list.startsWith('W/', index);
    if (weak) index += 2;
    if (list[index] !== '"') return false;
    const close = list.indexOf('"', index + 1);
    if (close === -1) return false;
    const tag = list.slice(index, close + 1);
    index = close + 1;
    if (index < list.length && !' \t,'.includes(list[index]!)) return false;
    if (tag === opaque && (comparison === 'weak' || (!weak && !isWeak(etag)))) return true;
  }
  return false;
}

function isWeak(tag: string): boolean {
  return tag.startsWith('W/');
}
