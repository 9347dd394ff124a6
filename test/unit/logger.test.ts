// Table tests for the log helpers: secret query values redacted from URLs, control characters escaped.

import { expect } from 'chai';
import { createLogger, escapeControl, hasJwt, isCredentialName, redactUrl } from '../../src/logger.js';

// A JWS and a JWE as they appear on the wire (compact serialisation), and an unsecured JWT (empty signature).
const JWS = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhIiwiZXhwIjoxfQ.c2lnbmF0dXJlLWJ5dGVz_-x';
const JWE = 'eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVydGV4dA.dGFn';
const UNSECURED = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.';
// Headers written with a space or a line break after "{" begin "eyA" and "ewo".
const SPACED = 'eyAiYWxnIjoiSFMyNTYifQ.eyJzdWIiOiJhIn0.c2ln';
const NEWLINE = 'ewogImFsZyI6IkhTMjU2In0.eyJzdWIiOiJhIn0.c2ln';

describe('redactUrl', () => {
  const cases: Array<[string, string, string]> = [
    ['no query', '/api/download', '/api/download'],
    ['a query without secrets', '/api/download?filepath=a%2Fb.mp4&fstype=media', '/api/download?filepath=a%2Fb.mp4&fstype=media'],
    ['filegate\'s own parameters', '/api/list?path=a&type=video&sort=name&order=asc&limit=5&cursor=abc.def.ghi&q=x', '/api/list?path=a&type=video&sort=name&order=asc&limit=5&cursor=abc.def.ghi&q=x'],
    ['a signed URL keeps expires, kid and sub', '/api/packages/p/download?sub=alice&expires=1700000000&kid=k1&sig=deadbeef', '/api/packages/p/download?sub=alice&expires=1700000000&kid=k1&sig=[REDACTED]'],
    ['token', '/api/download?filepath=a&token=eyJhbGciOi.x.y', '/api/download?filepath=a&token=[REDACTED]'],
    ['token first', '/api/download?token=abc&filepath=a', '/api/download?token=[REDACTED]&filepath=a'],
    ['sig', '/api/download?filepath=a&expires=1700000000&kid=k1&sig=deadbeef', '/api/download?filepath=a&expires=1700000000&kid=k1&sig=[REDACTED]'],
    ['a percent-encoded name "%74oken"', '/x?%74oken=abc&a=1', '/x?%74oken=[REDACTED]&a=1'],
    ['a percent-encoded name "%73%69%67"', '/x?%73%69%67=abc', '/x?%73%69%67=[REDACTED]'],
    ['case-insensitive "TOKEN"', '/x?TOKEN=abc', '/x?TOKEN=[REDACTED]'],
    ['case-insensitive "Sig"', '/x?Sig=abc', '/x?Sig=[REDACTED]'],
    ['repeated token', '/x?token=a&token=b', '/x?token=[REDACTED]&token=[REDACTED]'],
    ['a token with no value', '/x?token', '/x?token=[REDACTED]'],
    ['a token value with "=" and "%"', '/x?token=a=b%3D', '/x?token=[REDACTED]'],
    ['an undecodable name is kept as sent', '/x?%E0%A4%A=1&token=s', '/x?%E0%A4%A=1&token=[REDACTED]'],
    ['an empty query', '/x?', '/x?'],
    ['an empty pair', '/x?a=1&&token=s', '/x?a=1&&token=[REDACTED]'],
    // Names that only begin with or contain a credential word are not credentials.
    ['"tokens", "tokenizer", "keys", "signed", "authors"', '/x?tokens=1&tokenizer=2&keys=3&signed=4&authors=5', '/x?tokens=1&tokenizer=2&keys=3&signed=4&authors=5'],
  ];
  for (const [what, url, expected] of cases) {
    it(`${what}: ${url}`, () => expect(redactUrl(url)).to.equal(expected));
  }

  describe('credential names, whatever the case, separators or percent-encoding', () => {
    const names = [
      'token', 'access_token', 'id_token', 'refresh_token', 'auth_token', 'private_token', 'session_token',
      'jwt', 'auth', 'oauth', 'authorization', 'bearer',
      'api_key', 'apikey', 'api-key', 'X-API-Key', 'key', 'secret_key', 'access_key', 'private_key',
      'secret', 'client_secret', 'password', 'passwd', 'pwd', 'db_password',
      'sig', 'signature', 'Signature', 'X-Amz-Signature', 'x-goog-signature',
      'X-Amz-Credential', 'X-Amz-Security-Token', 'x-goog-credential', 'credentials',
      'client_assertion', 'sessionid', 'PHPSESSID',
      'access%5Ftoken', 'access%5ftoken', 'ACCESS_TOKEN', 'accessToken', 'auth[token]', 'auth.token', 'x%2Damz%2Dsignature', 'api+key',
    ];
    for (const name of names) {
      it(`${name}`, () => {
        expect(isCredentialName(name)).to.equal(true);
        expect(redactUrl(`/x?a=1&${name}=opaque-secret-value`)).to.equal(`/x?a=1&${name}=[REDACTED]`);
      });
    }
  });

  describe('JWTs under any name, and in path segments', () => {
    const cases: Array<[string, string, string]> = [
      ['a JWS under a name filegate does not know', `/x?next=1&q2=${JWS}`, '/x?next=1&q2=[REDACTED]'],
      ['a JWE (five parts)', `/x?blob=${JWE}`, '/x?blob=[REDACTED]'],
      ['an unsecured JWT (empty signature)', `/x?u=${UNSECURED}`, '/x?u=[REDACTED]'],
      ['a header with a space after "{"', `/x?u=${SPACED}`, '/x?u=[REDACTED]'],
      ['a header with a line break after "{"', `/x?u=${NEWLINE}`, '/x?u=[REDACTED]'],
      ['dots percent-encoded', `/x?u=${JWS.replace(/\./g, '%2E')}`, '/x?u=[REDACTED]'],
      ['lower-case "%2e" and an encoded first letter', `/x?u=%65${JWS.slice(1).replace(/\./g, '%2e')}`, '/x?u=[REDACTED]'],
      ['inside another URL given as a value', `/x?redirect=https%3A%2F%2Fa.example%2F%3Fx%3D${JWS}`, '/x?redirect=[REDACTED]'],
      ['after "Bearer "', `/x?h=Bearer+${JWS}`, '/x?h=[REDACTED]'],
      ['as a parameter name', `/x?${JWS}`, '/x?[REDACTED]'],
      ['as a path segment', `/download/video/${JWS}/x.mp4?a=1`, '/download/video/[REDACTED]/x.mp4?a=1'],
      ['as a path segment, percent-encoded', `/d/${JWS.replace(/\./g, '%2E')}`, '/d/[REDACTED]'],
    ];
    for (const [what, url, expected] of cases) {
      it(`${what}`, () => expect(redactUrl(url)).to.equal(expected));
    }
  });

  describe('values that are not JWTs stay', () => {
    const kept = [
      'report.final.pdf', 'archive.tar.gz', 'eyes.of.march.txt', 'ewe.and.lamb', 'a/b.c.d/e.f',
      'eyJhbGciOiJIUzI1NiJ9', // a lone header, no dots
      'eyJhbGciOiJIUzI1NiJ9.payload', // two parts
      'x.eyJhbGciOiJIUzI1NiJ9', 'v1.2.3', '%E0%A4%A.b.c',
    ];
    for (const value of kept) {
      it(`${value}`, () => {
        expect(hasJwt(value)).to.equal(false);
        expect(redactUrl(`/x?filepath=${value}`)).to.equal(`/x?filepath=${value}`);
        expect(redactUrl(`/d/${value}`)).to.equal(`/d/${value}`);
      });
    }
  });

  it('leaves no secret value anywhere in the result', () => {
    const secret = 'SECRET-VALUE-123';
    const url = `/api/download?filepath=a&%74oken=${secret}&TOKEN=${secret}&sig=${secret}&%53IG=${secret}&access%5Ftoken=${secret}&X-Amz-Signature=${secret}`;
    expect(redactUrl(url)).to.not.include(secret);
    const [, payload, signature] = JWS.split('.');
    for (const url of [`/x?anything=${JWS}`, `/x/${JWS}`, `/x?y=${JWS.replace(/\./g, '%2E')}`]) {
      expect(redactUrl(url)).to.not.include(payload).and.not.include(signature);
    }
  });
});

describe('escapeControl', () => {
  const cases: Array<[string, string, string]> = [
    ['plain text', 'GET /api/download a.mp4', 'GET /api/download a.mp4'],
    ['unicode text', 'café 日本語 😀', 'café 日本語 😀'],
    ['a backslash stays', 'a\\nb', 'a\\nb'],
    ['newline', 'a\nb', 'a\\u000ab'],
    ['CR', 'a\rb', 'a\\u000db'],
    ['CRLF forging a line', 'x\r\n{"level":50}', 'x\\u000d\\u000a{"level":50}'],
    ['NUL', 'a\u0000b', 'a\\u0000b'],
    ['tab', 'a\tb', 'a\\u0009b'],
    ['ESC (terminal escapes)', '\u001b[31m', '\\u001b[31m'],
    ['DEL', '\u007f', '\\u007f'],
    ['C1 NEL', '\u0085', '\\u0085'],
    ['U+2028 line separator', 'a\u2028b', 'a\\u2028b'],
    ['U+2029 paragraph separator', 'a\u2029b', 'a\\u2029b'],
  ];
  for (const [what, input, expected] of cases) {
    it(`${what}: ${JSON.stringify(input)}`, () => {
      const escaped = escapeControl(input);
      expect(escaped).to.equal(expected);
      expect(escaped).to.not.match(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    });
  }
});

describe('createLogger: what is written at once', () => {
  it('flushes its destination after a warning or an error, and not after an info line', () => {
    const written: string[] = [];
    let flushes = 0;
    const destination = {
      write(line: string) {
        written.push(line);
      },
      flush() {
        flushes += 1;
      },
    };
    const logger = createLogger('info', destination);
    logger.info('one');
    logger.info({ reqId: 'x' }, 'request');
    expect(flushes).to.equal(0);
    logger.warn('careful');
    expect(flushes).to.equal(1);
    logger.error('failed');
    expect(flushes).to.equal(2);
    expect(written).to.have.length(4);
  });

  it('stamps every line with the ISO time of its own millisecond', async () => {
    const written: string[] = [];
    const logger = createLogger('info', { write: (line: string) => written.push(line) });
    logger.info('one');
    logger.info('two');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const before = Date.now();
    logger.info('three');
    const times = written.map((line) => (JSON.parse(line) as { time: string }).time);
    for (const time of times) expect(time).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(times[2]!)).to.be.at.least(before);
    expect(Date.parse(times[2]!)).to.be.greaterThan(Date.parse(times[0]!));
  });
});
