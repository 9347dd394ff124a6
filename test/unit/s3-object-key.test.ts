// Tests for object keys: building them from segments, the 1024-byte limit, byte-by-byte encoding for the request line, and decoding listed keys.

import { expect } from 'chai';
import { checkObjectKey, decodeListedKey, encodeKeyPath, encodeQueryValue, MAX_KEY_BYTES, toObjectKey } from '../../src/layers/s3/object-key.js';
import { expectFilegateError } from '../helpers/assertions.js';

describe('encodeKeyPath', () => {
  const cases: Array<[string, string]> = [
    ['plain.txt', 'plain.txt'],
    ['a//b', 'a//b'],
    ['x/../y', 'x/../y'],
    ['./z', './z'],
    ['folder/', 'folder/'],
    ['a%2Fb', 'a%252Fb'],
    ['sp ace', 'sp%20ace'],
    ['+', '%2B'],
    ['%', '%25'],
    ['?', '%3F'],
    ['#', '%23'],
    ['ü', '%C3%BC'],
    ['u\u0308', 'u%CC%88'],
    ['ctl\u0001', 'ctl%01'],
    ['del\u007f', 'del%7F'],
    ['back\\slash', 'back%5Cslash'],
    ["star*(paren)!'", 'star%2A%28paren%29%21%27'],
    ['semi;colon&amp=', 'semi%3Bcolon%26amp%3D'],
    ['tilde~-._', 'tilde~-._'],
    ['😀', '%F0%9F%98%80'],
  ];
  for (const [key, encoded] of cases) {
    it(`${JSON.stringify(key)} → ${encoded}`, () => expect(encodeKeyPath(key)).to.equal(encoded));
  }
  it('a query value encodes "/" too', () => expect(encodeQueryValue('d/sub 1/')).to.equal('d%2Fsub%201%2F'));
});

describe('decodeListedKey (encoding-type=url)', () => {
  const cases: Array<[string, string | undefined]> = [
    ['a%2F%2Fb', 'a//b'],
    ['a//b', 'a//b'],
    ['sp+ace', 'sp ace'],
    ['sp%20ace', 'sp ace'],
    ['plus%2Bsign', 'plus+sign'],
    ['%25', '%'],
    ['100%', '100%'],
    ['%C3%BC', 'ü'],
    ['%c3%bc', 'ü'],
    ['ctl%01char', 'ctl\u0001char'],
    ['%F0%9F%98%80', '😀'],
    ['ü-literal', 'ü-literal'],
    ['%FF', undefined],
    ['%C3', undefined],
  ];
  for (const [encoded, key] of cases) {
    it(`${JSON.stringify(encoded)} → ${JSON.stringify(key)}`, () => expect(decodeListedKey(encoded)).to.equal(key));
  }
  it('decodes whatever encodeQueryValue made back to the same key', () => {
    for (const key of ['a//b', 'x/../y', 'sp ace', '+', '%', 'ü', 'ctl\u0001', '😀', "*()!'"]) {
      expect(decodeListedKey(encodeQueryValue(key))).to.equal(key);
    }
  });
});

describe('toObjectKey and checkObjectKey', () => {
  it('joins the prefix and the segments with "/", nothing resolved', () => {
    expect(toObjectKey('jobs/', ['a', 'b.txt'])).to.equal('jobs/a/b.txt');
    expect(toObjectKey('', ['a'])).to.equal('a');
    expect(toObjectKey('jobs/', [])).to.equal('jobs/');
  });

  it(`allows ${MAX_KEY_BYTES} bytes, counting the prefix and multi-byte characters`, () => {
    expect(() => checkObjectKey('k'.repeat(1024))).to.not.throw();
    expect(() => toObjectKey('p/', ['ü'.repeat(511)])).to.not.throw();
  });

  const refused: Array<[string, string[], string]> = [
    ['', ['k'.repeat(1025)], '1025 bytes'],
    ['p/', ['k'.repeat(1023)], '1025 bytes'],
    ['p/', ['ü'.repeat(511), 'k'], '1026 bytes'],
    ['', ['lone\ud800surrogate'], 'not valid Unicode'],
  ];
  for (const [prefix, segments, says] of refused) {
    it(`refuses prefix ${JSON.stringify(prefix)} + ${JSON.stringify(segments.join('/').slice(0, 20))}… with 400 BAD_REQUEST (${says})`, () => {
      const error = expectFilegateError(() => toObjectKey(prefix, segments), 'BAD_REQUEST', 400);
      expect(error.message).to.include(says);
    });
  }

  it('names the client path in the message, never the layer prefix', () => {
    const error = expectFilegateError(() => toObjectKey('secret-prefix/', ['k'.repeat(1020)], 'my/path'), 'BAD_REQUEST', 400);
    expect(error.message).to.include('"my/path"').and.not.include('secret-prefix');
  });
});
