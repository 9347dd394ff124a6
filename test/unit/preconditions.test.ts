// Table tests for conditional requests (RFC 9110 §13): the precondition matrix, If-Range, entity-tag lists and HTTP dates.

import { expect } from 'chai';
import {
  evaluatePreconditions,
  isRangeFresh,
  matchesAny,
  parseHttpDateSeconds,
  type ConditionalHeaders,
  type PreconditionOutcome,
  type Validators,
} from '../../src/transfer/preconditions.js';

const ETAG = '"abc-123"';
const LAST_MODIFIED_SECONDS = Date.parse('2024-03-05T06:07:08Z') / 1000;
const validators: Validators = { etag: ETAG, lastModifiedSeconds: LAST_MODIFIED_SECONDS };

// The Last-Modified second, the one before and the one after, as IMF-fixdate (RFC 9110 §5.6.7).
const AT = 'Tue, 05 Mar 2024 06:07:08 GMT';
const BEFORE = 'Tue, 05 Mar 2024 06:07:07 GMT';
const AFTER = 'Tue, 05 Mar 2024 06:07:09 GMT';
// The same second in the two obsolete formats a recipient must still accept.
const AT_RFC850 = 'Tuesday, 05-Mar-24 06:07:08 GMT';
const AT_ASCTIME = 'Tue Mar  5 06:07:08 2024';
const BEFORE_ASCTIME = 'Tue Mar  5 06:07:07 2024';

describe('evaluatePreconditions', () => {
  const cases: Array<[string, ConditionalHeaders, PreconditionOutcome]> = [
    ['no conditional header', {}, 'proceed'],

    // If-Match: strong comparison (§13.1.1).
    ['If-Match: the current strong tag', { ifMatch: ETAG }, 'proceed'],
    ['If-Match: *', { ifMatch: '*' }, 'proceed'],
    ['If-Match: a list holding the current tag', { ifMatch: `"other", ${ETAG}` }, 'proceed'],
    ['If-Match: a list without spaces holding the current tag', { ifMatch: `"other",${ETAG},"more"` }, 'proceed'],
    ['If-Match: the weak form of the current tag fails the strong comparison', { ifMatch: `W/${ETAG}` }, 'precondition-failed'],
    ['If-Match: another tag', { ifMatch: '"other"' }, 'precondition-failed'],
    ['If-Match: a list of other tags', { ifMatch: '"one", "two"' }, 'precondition-failed'],
    ['If-Match: the tag unquoted (malformed)', { ifMatch: 'abc-123' }, 'precondition-failed'],
    ['If-Match: a list holding the current tag only in weak form', { ifMatch: `"other", W/${ETAG}` }, 'precondition-failed'],
    // §5.6.1: a recipient MUST accept empty list elements and ignore them.
    ['If-Match: a list with an empty element before the current tag', { ifMatch: `"other", , ${ETAG}` }, 'proceed'],

    // If-Unmodified-Since (§13.1.4), compared at the second.
    ['If-Unmodified-Since: before Last-Modified', { ifUnmodifiedSince: BEFORE }, 'precondition-failed'],
    ['If-Unmodified-Since: at Last-Modified', { ifUnmodifiedSince: AT }, 'proceed'],
    ['If-Unmodified-Since: after Last-Modified', { ifUnmodifiedSince: AFTER }, 'proceed'],
    ['If-Unmodified-Since: at Last-Modified, RFC 850 format', { ifUnmodifiedSince: AT_RFC850 }, 'proceed'],
    ['If-Unmodified-Since: before Last-Modified, asctime format', { ifUnmodifiedSince: BEFORE_ASCTIME }, 'precondition-failed'],
    ['If-Unmodified-Since: not a date is ignored', { ifUnmodifiedSince: 'garbage' }, 'proceed'],
    ['If-Unmodified-Since: a list of dates is ignored', { ifUnmodifiedSince: `${BEFORE}, ${AFTER}` }, 'proceed'],
    // §13.1.4: a recipient MUST ignore a value that is not a valid HTTP-date.
    ['If-Unmodified-Since: a bare number is not an HTTP-date and is ignored', { ifUnmodifiedSince: '1' }, 'proceed'],
    ['If-Unmodified-Since: a bare year is not an HTTP-date and is ignored', { ifUnmodifiedSince: '2001' }, 'proceed'],
    ['If-Unmodified-Since: ignored when If-Match is present (and matches)', { ifMatch: ETAG, ifUnmodifiedSince: BEFORE }, 'proceed'],
    ['If-Unmodified-Since: ignored when If-Match is present (and fails)', { ifMatch: '"other"', ifUnmodifiedSince: AFTER }, 'precondition-failed'],

    // If-None-Match: weak comparison (§13.1.2).
    ['If-None-Match: the current tag', { ifNoneMatch: ETAG }, 'not-modified'],
    ['If-None-Match: the weak form of the current tag matches by weak comparison', { ifNoneMatch: `W/${ETAG}` }, 'not-modified'],
    ['If-None-Match: *', { ifNoneMatch: '*' }, 'not-modified'],
    ['If-None-Match: a list holding the current tag', { ifNoneMatch: `"other", ${ETAG}` }, 'not-modified'],
    ['If-None-Match: a list holding the weak form of the current tag', { ifNoneMatch: `"other", W/${ETAG}` }, 'not-modified'],
    ['If-None-Match: another tag', { ifNoneMatch: '"other"' }, 'proceed'],
    ['If-None-Match: a list of other tags', { ifNoneMatch: '"one", W/"two"' }, 'proceed'],
    ['If-None-Match: malformed', { ifNoneMatch: 'abc-123' }, 'proceed'],
    // §5.6.1: empty list elements are ignored, not a reason to miss the tag after them.
    ['If-None-Match: a list with an empty element before the current tag', { ifNoneMatch: `"other", , ${ETAG}` }, 'not-modified'],
    ['If-None-Match: a list starting with an empty element', { ifNoneMatch: `, ${ETAG}` }, 'not-modified'],

    // If-Modified-Since (§13.1.3), compared at the second.
    ['If-Modified-Since: at Last-Modified', { ifModifiedSince: AT }, 'not-modified'],
    ['If-Modified-Since: after Last-Modified', { ifModifiedSince: AFTER }, 'not-modified'],
    ['If-Modified-Since: before Last-Modified', { ifModifiedSince: BEFORE }, 'proceed'],
    ['If-Modified-Since: at Last-Modified, RFC 850 format', { ifModifiedSince: AT_RFC850 }, 'not-modified'],
    ['If-Modified-Since: at Last-Modified, asctime format', { ifModifiedSince: AT_ASCTIME }, 'not-modified'],
    ['If-Modified-Since: not a date is ignored', { ifModifiedSince: 'garbage' }, 'proceed'],
    ['If-Modified-Since: a list of dates is ignored', { ifModifiedSince: `${AT}, ${AFTER}` }, 'proceed'],
    // §13.1.3: a recipient MUST ignore a value that is not a valid HTTP-date.
    ['If-Modified-Since: a bare year is not an HTTP-date and is ignored', { ifModifiedSince: '2030' }, 'proceed'],
    ['If-Modified-Since: a word and a year is not an HTTP-date and is ignored', { ifModifiedSince: 'foo 2030' }, 'proceed'],
    ['If-Modified-Since: ignored when If-None-Match is present (and does not match)', { ifNoneMatch: '"other"', ifModifiedSince: AT }, 'proceed'],
    ['If-Modified-Since: ignored when If-None-Match is present (and matches)', { ifNoneMatch: ETAG, ifModifiedSince: BEFORE }, 'not-modified'],

    // Combined, in the order of §13.2.2: the 412 conditions come first.
    ['If-Match failing beats If-None-Match matching', { ifMatch: '"other"', ifNoneMatch: ETAG }, 'precondition-failed'],
    ['If-Unmodified-Since failing beats If-None-Match matching', { ifUnmodifiedSince: BEFORE, ifNoneMatch: ETAG }, 'precondition-failed'],
    ['If-Unmodified-Since failing beats If-Modified-Since matching', { ifUnmodifiedSince: BEFORE, ifModifiedSince: AT }, 'precondition-failed'],
    ['If-Match passing, then If-None-Match matching', { ifMatch: ETAG, ifNoneMatch: ETAG }, 'not-modified'],
    ['If-Match passing, then If-Modified-Since current', { ifMatch: '*', ifModifiedSince: AFTER }, 'not-modified'],
    ['If-Unmodified-Since passing, If-None-Match not matching', { ifUnmodifiedSince: AT, ifNoneMatch: '"other"' }, 'proceed'],
    ['all four passing', { ifMatch: ETAG, ifUnmodifiedSince: AFTER, ifNoneMatch: '"other"', ifModifiedSince: BEFORE }, 'proceed'],
    ['If-Range alone is no precondition', { ifRange: '"other"' }, 'proceed'],
  ];

  for (const [what, headers, expected] of cases) {
    it(`${what} → ${expected}`, () => expect(evaluatePreconditions(headers, validators)).to.equal(expected));
  }
});

describe('isRangeFresh', () => {
  const cases: Array<[string, string | undefined, boolean]> = [
    ['no If-Range', undefined, true],
    ['the current strong tag', ETAG, true],
    ['the current strong tag with surrounding spaces', `  ${ETAG} `, true],
    ['the weak form of the current tag (a weak tag never matches, §13.1.5)', `W/${ETAG}`, false],
    ['another tag', '"other"', false],
    ['another weak tag', 'W/"other"', false],
    ['a list holding the current tag (If-Range takes one validator)', `${ETAG}, "other"`, false],
    ['an unterminated tag', '"abc-123', false],
    ['the exact Last-Modified date', AT, true],
    ['the exact Last-Modified date, RFC 850 format', AT_RFC850, true],
    ['the exact Last-Modified date, asctime format', AT_ASCTIME, true],
    ['a date one second earlier', BEFORE, false],
    ['a date one second later', AFTER, false],
    ['garbage', 'garbage', false],
  ];
  for (const [what, ifRange, expected] of cases) {
    it(`${what} → ${expected}`, () => expect(isRangeFresh(ifRange, validators)).to.equal(expected));
  }
});

describe('matchesAny', () => {
  const cases: Array<[string, string, 'strong' | 'weak', boolean]> = [
    ['*', '"a"', 'strong', true],
    ['*', '"a"', 'weak', true],
    [' * ', '"a"', 'strong', true],
    ['"a"', '"a"', 'strong', true],
    ['"a"', '"a"', 'weak', true],
    ['"b"', '"a"', 'strong', false],
    ['"b"', '"a"', 'weak', false],
    // §8.8.3.2: strong comparison needs both tags strong; weak comparison ignores W/.
    ['W/"a"', '"a"', 'strong', false],
    ['W/"a"', '"a"', 'weak', true],
    ['"a"', 'W/"a"', 'strong', false],
    ['"a"', 'W/"a"', 'weak', true],
    ['W/"a"', 'W/"a"', 'strong', false],
    ['W/"a"', 'W/"a"', 'weak', true],
    // Lists.
    ['"b", "a"', '"a"', 'strong', true],
    ['"b","a"', '"a"', 'strong', true],
    ['  "b" ,  "a"  ', '"a"', 'strong', true],
    ['"a", "b"', '"a"', 'strong', true],
    ['"b", W/"a"', '"a"', 'weak', true],
    ['"b", W/"a"', '"a"', 'strong', false],
    ['"b", "c", "d"', '"a"', 'weak', false],
    ['"a",', '"a"', 'strong', true],
    // §5.6.1: empty list elements are ignored.
    ['"b", , "a"', '"a"', 'strong', true],
    ['"b",,"a"', '"a"', 'weak', true],
    [', "a"', '"a"', 'weak', true],
    // A comma inside the opaque tag is part of it.
    ['"a,b"', '"a,b"', 'strong', true],
    ['"a,b"', '"a"', 'strong', false],
    // Malformed lists match nothing.
    ['', '"a"', 'weak', false],
    ['a', '"a"', 'weak', false],
    ['"a', '"a"', 'weak', false],
    ['a"', '"a"', 'weak', false],
    ['garbage', '"a"', 'weak', false],
    ['"b", garbage, "a"', '"a"', 'weak', false],
    // W/ is case-sensitive (§8.8.3).
    ['w/"a"', '"a"', 'weak', false],
    // A quoted star is a tag, not the wildcard.
    ['"*"', '"a"', 'weak', false],
  ];
  for (const [list, etag, comparison, expected] of cases) {
    it(`${JSON.stringify(list)} against ${etag}, ${comparison} → ${expected}`, () => {
      expect(matchesAny(list, etag, comparison)).to.equal(expected);
    });
  }

  it('gives the same answer when called again (no state left between calls)', () => {
    expect(matchesAny('"b", "a"', '"a"', 'strong')).to.equal(true);
    expect(matchesAny('"a"', '"a"', 'strong')).to.equal(true);
    expect(matchesAny('garbage', '"a"', 'strong')).to.equal(false);
    expect(matchesAny('"a"', '"a"', 'strong')).to.equal(true);
  });
});

describe('parseHttpDateSeconds', () => {
  const SECONDS = Date.parse('1994-11-06T08:49:37Z') / 1000;
  const cases: Array<[string, number | null]> = [
    // The three formats of RFC 9110 §5.6.7, the example of the RFC.
    ['Sun, 06 Nov 1994 08:49:37 GMT', SECONDS],
    ['Sunday, 06-Nov-94 08:49:37 GMT', SECONDS],
    ['Sun Nov  6 08:49:37 1994', SECONDS],
    [AT, LAST_MODIFIED_SECONDS],
    ['Thu, 01 Jan 1970 00:00:00 GMT', 0],
    ['Thu Mar 14 12:00:00 2024', Date.parse('2024-03-14T12:00:00Z') / 1000],
    ['  Sun, 06 Nov 1994 08:49:37 GMT  ', SECONDS],
    ['', null],
    ['garbage', null],
    ['"abc-123"', null],
    [`${AT}, ${AFTER}`, null],
    // Not HTTP-dates: §13.1.3 and §13.1.4 require such values to be ignored.
    ['1', null],
    ['12345', null],
    ['2030', null],
    ['foo 2030', null],
    ['1994-11-06T08:49:37Z', null],
    ['Sun, 06 Nov 1994 08:49:37', null],
    ['Sun, 06 Nov 1994 08:49:37 +0000', null],
    ['Sun, 6 Nov 1994 08:49:37 GMT', null],
    ['Sun, 06 Foo 1994 08:49:37 GMT', null],
    ['Sun, 06 Nov 1994 24:49:37 GMT', null],
    ['Sun, 06 Nov 1994 08:60:37 GMT', null],
    // A day the month does not have is no date (Go's http.ParseTime refuses it too), not the 2nd of March.
    ['Sat, 31 Feb 2024 00:00:00 GMT', null],
    ['Sun, 00 Nov 1994 08:49:37 GMT', null],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} → ${expected}`, () => expect(parseHttpDateSeconds(value)).to.equal(expected));
  }

  it('reads an asctime date as UTC whatever the server time zone (RFC 9110 §5.6.7)', () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Asia/Tokyo';
      expect(parseHttpDateSeconds('Sun Nov  6 08:49:37 1994')).to.equal(SECONDS);
      expect(parseHttpDateSeconds('Sun, 06 Nov 1994 08:49:37 GMT')).to.equal(SECONDS);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
