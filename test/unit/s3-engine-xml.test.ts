// Tests for reading the engine's XML: ListObjectsV2 pages (url-encoded keys, the next start-after) and error bodies.

import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { completionBody, parseErrorBody, parseListPage, parseUploadId } from '../../src/layers/s3/engine-xml.js';

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

describe('parseUploadId', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['an InitiateMultipartUploadResult', '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>2~QXMkoXx2MBKSjNGk-7</UploadId></InitiateMultipartUploadResult>', '2~QXMkoXx2MBKSjNGk-7'],
    ['an upload id of digits stays a string', '<InitiateMultipartUploadResult><UploadId>0012</UploadId></InitiateMultipartUploadResult>', '0012'],
    ['an error body', '<Error><Code>AccessDenied</Code></Error>', undefined],
    ['no body', '', undefined],
  ];
  for (const [what, xml, expected] of cases) {
    it(`${what} → ${String(expected)}`, () => expect(parseUploadId(xml)).to.equal(expected));
  }
});

describe('completionBody', () => {
  it('lists every part in order with its number and ETag, escaped, and parses back to the same', () => {
    const parts = [{ partNumber: 1, etag: '"08b46181d7094b5ece88bb389c7499af"' }, { partNumber: 2, etag: '"a&b<c>"' }];
    const xml = completionBody(parts);
    expect(xml).to.match(/^<\?xml version="1.0" encoding="UTF-8"\?><CompleteMultipartUpload xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/">/);
    expect(xml).to.not.include('a&b<c>');
    const parsed = new XMLParser({ parseTagValue: false, isArray: (name) => name === 'Part' }).parse(xml) as { CompleteMultipartUpload: { Part: Array<{ PartNumber: string; ETag: string }> } };
    expect(parsed.CompleteMultipartUpload.Part.map((part) => [Number(part.PartNumber), part.ETag])).to.deep.equal(parts.map((part) => [part.partNumber, part.etag]));
  });
});
