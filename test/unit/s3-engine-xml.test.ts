// Tests for reading the engine's XML: ListObjectsV2 pages (url-encoded keys, the next start-after) and error bodies.

import { expect } from 'chai';
import { parseErrorBody, parseListPage } from '../../src/layers/s3/engine-xml.js';

const entry = (key: string, size = 7, etag = '&quot;90a48404642a633f9f2a0104658497b9&quot;') =>
  `<Contents><Key>${key}</Key><LastModified>2026-12-03T08:48:48.206Z</LastModified><ETag>${etag}</ETag><Size>${size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
const page = (body: string, truncated = false, encoding = '<EncodingType>url</EncodingType>') =>
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${encoding}<Name>b</Name><Prefix>d%2F</Prefix><MaxKeys>2</MaxKeys><IsTruncated>${truncated}</IsTruncated>${body}</ListBucketResult>`;

describe('parseListPage', () => {
  it('decodes keys and prefixes, keeps sizes, times and ETags', () => {
    const parsed = parseListPage(page(entry('d%2Fa%01b', 12) + entry('d%2Fsp+ace') + '<CommonPrefixes><Prefix>d%2Fsub%2F</Prefix></CommonPrefixes>'));
    expect(parsed.objects).to.deep.equal([
      { key: 'd/a\u0001b', size: 12, lastModifiedMs: Date.parse('2026-12-03T08:48:48.206Z'), etag: '"90a48404642a633f9f2a0104658497b9"' },
      { key: 'd/sp ace', size: 7, lastModifiedMs: Date.parse('2026-12-03T08:48:48.206Z'), etag: '"90a48404642a633f9f2a0104658497b9"' },
    ]);
    expect(parsed.prefixes).to.deep.equal(['d/sub/']);
    expect(parsed).to.include({ isTruncated: false, nextStartAfter: undefined, undecodable: 0 });
  });

  it('keeps keys that look like numbers or booleans, and leading and trailing spaces, as text', () => {
    const parsed = parseListPage(page(entry('0012') + entry('1e5') + entry('true') + entry('%20pad%20')));
    expect(parsed.objects.map((o) => o.key)).to.deep.equal(['0012', '1e5', 'true', ' pad ']);
  });

  it('a single entry is still a list', () => {
    expect(parseListPage(page(entry('only'))).objects).to.have.length(1);
  });

  it('an empty page has no objects and no prefixes', () => {
    expect(parseListPage(page(''))).to.deep.include({ objects: [], prefixes: [], isTruncated: false });
  });

  it('a truncated page goes on after its greatest key or prefix in byte order', () => {
    expect(parseListPage(page(entry('d%2Fa') + '<CommonPrefixes><Prefix>d%2Fsub%2F</Prefix></CommonPrefixes>', true)).nextStartAfter).to.equal('d/sub/');
    expect(parseListPage(page(entry('d%2Fz') + '<CommonPrefixes><Prefix>d%2Fsub%2F</Prefix></CommonPrefixes>', true)).nextStartAfter).to.equal('d/z');
    // UTF-16 order would put U+FF5A (ｚ) after U+1F600 (😀); UTF-8 byte order, the engine's, does not.
    expect(parseListPage(page(entry('%EF%BD%9A') + entry('%F0%9F%98%80'), true)).nextStartAfter).to.equal('😀');
  });

  it('leaves out names that are not valid UTF-8, and counts them', () => {
    const parsed = parseListPage(page(entry('ok') + entry('bad%FF') + '<CommonPrefixes><Prefix>bad%C3%2F</Prefix></CommonPrefixes>'));
    expect(parsed.objects.map((o) => o.key)).to.deep.equal(['ok']);
    expect(parsed.prefixes).to.deep.equal([]);
    expect(parsed.undecodable).to.equal(2);
  });

  it('without EncodingType the keys are taken as they are', () => {
    expect(parseListPage(page(entry('a+b%20'), false, '')).objects[0]!.key).to.equal('a+b%20');
  });

  const broken: Array<[string, string]> = [
    ['an error body', '<?xml version="1.0"?><Error><Code>NoSuchBucket</Code></Error>'],
    ['an entry without a size', page('<Contents><Key>k</Key><LastModified>2026-12-03T08:48:48.206Z</LastModified></Contents>')],
    ['an entry with a bad time', page('<Contents><Key>k</Key><Size>1</Size><LastModified>yesterday</LastModified></Contents>')],
    ['not XML at all', '<html><body>proxy error'],
  ];
  for (const [what, xml] of broken) {
    it(`throws on ${what}`, () => expect(() => parseListPage(xml)).to.throw());
  }
});

describe('parseErrorBody', () => {
  const cases: Array<[string, string, { code: string | undefined; message: string | undefined }]> = [
    ['a radosgw error', '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message></Message><BucketName>b</BucketName><RequestId>tx1</RequestId><HostId>h</HostId></Error>', { code: 'NoSuchKey', message: undefined }],
    ['an AWS error with a message', '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>', { code: 'SlowDown', message: 'Please reduce your request rate.' }],
    ['an empty body (HEAD)', '', { code: undefined, message: undefined }],
    ['something else', '<html>bad gateway</html>', { code: undefined, message: undefined }],
    ['broken XML', '<Error><Code>Slow', { code: undefined, message: undefined }],
  ];
  for (const [what, xml, expected] of cases) {
    it(`${what} → ${JSON.stringify(expected)}`, () => expect(parseErrorBody(xml)).to.deep.equal(expected));
  }
});
