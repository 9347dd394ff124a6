// Table tests for the log helpers: secret query values redacted from URLs, control characters escaped.

import { expect } from 'chai';
import { escapeControl, redactUrl } from '../../src/logger.js';

describe('redactUrl', () => {
  const cases: Array<[string, string, string]> = [
    ['no query', '/api/download', '/api/download'],
    ['a query without secrets', '/api/download?filepath=a%2Fb.mp4&fstype=media', '/api/download?filepath=a%2Fb.mp4&fstype=media'],
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
    ['names that only contain the word', '/x?tokens=1&my_token=2&signature=3', '/x?tokens=1&my_token=2&signature=3'],
    ['an undecodable name is kept as sent', '/x?%E0%A4%A=1&token=s', '/x?%E0%A4%A=1&token=[REDACTED]'],
    ['an empty query', '/x?', '/x?'],
  ];
  for (const [what, url, expected] of cases) {
    it(`${what}: ${url}`, () => expect(redactUrl(url)).to.equal(expected));
  }

  it('leaves no secret value anywhere in the result', () => {
    const secret = 'SECRET-VALUE-123';
    const url = `/api/download?filepath=a&%74oken=${secret}&TOKEN=${secret}&sig=${secret}&%53IG=${secret}`;
    expect(redactUrl(url)).to.not.include(secret);
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
