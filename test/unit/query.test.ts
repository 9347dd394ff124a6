// Table tests for strict query parsing: one decoding, valid UTF-8 only, repeats kept, and schema validation of single values.

import { expect } from 'chai';
import { z } from 'zod';
import { FilegateError } from '../../src/errors.js';
import { parseQuery, parseQueryWith } from '../../src/http/query.js';
import { expectFilegateError } from '../helpers/assertions.js';

const asObject = (query: ReadonlyMap<string, readonly string[]>) => Object.fromEntries(query);

describe('parseQuery', () => {
  const cases: Array<[string, string, Record<string, string[]>]> = [
    ['empty', '', {}],
    ['one pair', 'filepath=a/b.mp4', { filepath: ['a/b.mp4'] }],
    ['"+" is a space', 'filepath=my+file.txt', { filepath: ['my file.txt'] }],
    ['"+" in a name is a space too', 'a+b=1', { 'a b': ['1'] }],
    ['"%2B" is a plus sign, not a space', 'filepath=a%2Bb', { filepath: ['a+b'] }],
    ['"%20" is a space', 'filepath=a%20b', { filepath: ['a b'] }],
    ['"%2e" decoded once', 'filepath=%2e%2e/x', { filepath: ['../x'] }],
    ['"%252e" decoded once only, to "%2e"', 'filepath=%252e%252e/x', { filepath: ['%2e%2e/x'] }],
    ['"%2F" is a slash in the value', 'filepath=a%2Fb', { filepath: ['a/b'] }],
    ['UTF-8 decoded', 'filepath=caf%C3%A9/%E6%97%A5.txt', { filepath: ['café/日.txt'] }],
    ['a 4-byte character', 'q=%F0%9F%98%80', { q: ['😀'] }],
    ['an encoded NUL is decoded (refused later by the path parser)', 'filepath=a%00b', { filepath: ['a\u0000b'] }],
    ['repeats kept as an array, in order', 'path=a&path=b&path=c', { path: ['a', 'b', 'c'] }],
    ['repeats of different spellings of one name', 'path=a&pat%68=b', { path: ['a', 'b'] }],
    ['empty pairs skipped', '&&a=1&&b=2&', { a: ['1'], b: ['2'] }],
    ['a name with no "="', 'download&a=1', { download: [''], a: ['1'] }],
    ['a name with an empty value', 'a=', { a: [''] }],
    ['only the first "=" splits', 'a=b=c', { a: ['b=c'] }],
    ['an encoded "&" stays in the value', 'q=a%26b=c', { q: ['a&b=c'] }],
    ['names are case-sensitive', 'A=1&a=2', { A: ['1'], a: ['2'] }],
  ];
  for (const [what, querystring, expected] of cases) {
    it(`${what}: ${JSON.stringify(querystring)}`, () => expect(asObject(parseQuery(querystring))).to.deep.equal(expected));
  }

  const invalid: Array<[string, string]> = [
    ['an overlong "." (%C0%AE)', 'filepath=%C0%AE%C0%AE/x'],
    ['an overlong "/" (%C0%AF)', 'filepath=..%C0%AFx'],
    ['a truncated sequence (%E0%A4%A)', 'filepath=%E0%A4%A'],
    ['a truncated sequence at the end (%E0%A4)', 'filepath=a%E0%A4'],
    ['a lone continuation byte', 'filepath=%80'],
    ['%FF', 'filepath=%FF'],
    ['an encoded UTF-16 surrogate (CESU-8)', 'filepath=%ED%A0%80'],
    ['a bare "%"', 'filepath=100%'],
    ['a bad hex digit', 'filepath=%ZZ'],
    ['invalid UTF-8 in a name', '%C0%AE=1'],
    ['invalid UTF-8 in a valueless name', 'a=1&%E0%A4%A'],
  ];
  for (const [what, querystring] of invalid) {
    it(`${what}: ${JSON.stringify(querystring)} → 400 BAD_REQUEST`, () => {
      expectFilegateError(() => parseQuery(querystring), 'BAD_REQUEST', 400);
    });
  }
});

describe('parseQueryWith', () => {
  const schema = z.object({
    filepath: z.string(),
    fstype: z.string().min(1).optional(),
    disposition: z.enum(['attachment', 'inline']).default('attachment'),
  });

  it('returns the single values, with defaults', () => {
    expect(parseQueryWith(parseQuery('filepath=a/b.mp4&fstype=media'), schema)).to.deep.equal({ filepath: 'a/b.mp4', fstype: 'media', disposition: 'attachment' });
  });

  it('ignores parameters the schema does not name, even repeated ones', () => {
    expect(parseQueryWith(parseQuery('filepath=a&token=x&token=y&utm_source=z&_=1'), schema)).to.deep.equal({ filepath: 'a', disposition: 'attachment' });
  });

  const repeated: Array<[string, string]> = [
    ['filepath', 'filepath=a&filepath=b'],
    ['filepath', 'filepath=a&filepath=a'],
    ['fstype', 'filepath=a&fstype=x&fstype=y'],
    ['disposition', 'filepath=a&disposition=inline&disposition=inline'],
    ['filepath', 'filepath=a&filepat%68=..%2Fsecret'],
  ];
  for (const [name, querystring] of repeated) {
    it(`a repeated "${name}" (${querystring}) → 400 BAD_REQUEST naming it`, () => {
      const error = expectFilegateError(() => parseQueryWith(parseQuery(querystring), schema), 'BAD_REQUEST', 400);
      expect(error.message).to.include(`"${name}"`);
    });
  }

  it('a missing required parameter → 400 BAD_REQUEST saying it is required', () => {
    const error = expectFilegateError(() => parseQueryWith(parseQuery('fstype=media'), schema), 'BAD_REQUEST', 400);
    expect(error.message).to.include('"filepath"').and.include('required');
  });

  it('an invalid value → 400 BAD_REQUEST naming the parameter, not calling it missing', () => {
    const error = expectFilegateError(() => parseQueryWith(parseQuery('filepath=a&disposition=download'), schema), 'BAD_REQUEST', 400);
    expect(error.message).to.include('"disposition"').and.not.include('required');
  });

  it('an empty value of an optional parameter with a minimum length → 400 BAD_REQUEST naming it', () => {
    const error = expectFilegateError(() => parseQueryWith(parseQuery('filepath=a&fstype='), schema), 'BAD_REQUEST', 400);
    expect(error.message).to.include('"fstype"');
  });
});
