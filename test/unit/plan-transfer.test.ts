// Tests for the transfer plan (status, every SPEC header, the body's pieces for 200, 206, multipart, 304, 412 and 416) and the validators it derives from fstat.

import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isFilegateError, type FilegateError } from '../../src/errors.js';
import { mediaTypeOf } from '../../src/files/file-types.js';
import type { BodyPiece, FileStat } from '../../src/layers/layer.js';
import type { DispositionType } from '../../src/transfer/content-disposition.js';
import { planTransfer, type TransferRequest } from '../../src/transfer/plan-transfer.js';
import { toEntityTag, toLastModified } from '../../src/transfer/validators.js';

const options = { cacheControl: 'private, no-cache', maxRanges: 16, newBoundary: () => 'BOUNDARY' };
// IMF-fixdate, RFC 9110 §5.6.7.
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const STRONG_ETAG = /^"[\x21\x23-\x7e]+"$/;

const SPEC_HEADERS = [
  'Content-Type',
  'Content-Length',
  'Content-Disposition',
  'Content-Description',
  'Content-Transfer-Encoding',
  'Accept-Ranges',
  'ETag',
  'Last-Modified',
  'Cache-Control',
  'X-Content-Type-Options',
  'Content-Security-Policy',
];

const statOf = (overrides: Partial<FileStat> = {}): FileStat => ({
  kind: 'file',
  size: 1000,
  mtimeMs: 1_700_000_000_123.456,
  identity: '2049:123456',
  ...overrides,
});

const plan = (filename: string, stat: FileStat = statOf(), method = 'GET', disposition: DispositionType = 'attachment') =>
  planTransfer({ method, disposition }, { stat, filename, mediaType: mediaTypeOf(filename) }, options);

/** The header value whatever its case in the plan. */
const header = (headers: Readonly<Record<string, string>>, name: string) =>
  Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];

describe('planTransfer', () => {
  let dir: string;
  let fileStat: FileStat;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'filegate-plan-'));
    const file = path.join(dir, 'clip.mp4');
    writeFileSync(file, Buffer.alloc(4096, 1));
    utimesSync(file, new Date('2024-03-05T06:07:08.900Z'), new Date('2024-03-05T06:07:08.900Z'));
    const stat = statSync(file);
    fileStat = { kind: 'file', size: stat.size, mtimeMs: stat.mtimeMs, identity: `${stat.dev}:${stat.ino}` };
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a GET of a real file: 200, every SPEC header, one range over the whole file', () => {
    const result = plan('clip.mp4', fileStat);
    expect(result.status).to.equal(200);
    for (const name of SPEC_HEADERS) expect(header(result.headers, name), name).to.be.a('string').and.not.equal('');
    expect(header(result.headers, 'Content-Type')).to.equal('video/mp4');
    expect(header(result.headers, 'Content-Length')).to.equal('4096');
    expect(header(result.headers, 'Content-Disposition')).to.equal(`attachment; filename="clip.mp4"; filename*=UTF-8''clip.mp4`);
    expect(header(result.headers, 'Content-Description')).to.equal('File Transfer');
    expect(header(result.headers, 'Content-Transfer-Encoding')).to.equal('binary');
    expect(header(result.headers, 'Accept-Ranges')).to.equal('bytes');
    expect(header(result.headers, 'ETag')).to.match(STRONG_ETAG);
    expect(header(result.headers, 'Last-Modified')).to.equal('Tue, 05 Mar 2024 06:07:08 GMT');
    expect(header(result.headers, 'Cache-Control')).to.equal('private, no-cache');
    expect(header(result.headers, 'X-Content-Type-Options')).to.equal('nosniff');
    expect(header(result.headers, 'Content-Security-Policy')).to.equal("default-src 'none'; sandbox");
    expect(result.body).to.deep.equal([{ start: 0, end: 4095 }]);
  });

  it('uses the configured Cache-Control', () => {
    const result = planTransfer({ method: 'GET', disposition: 'attachment' }, { stat: statOf(), filename: 'a.txt', mediaType: 'text/plain' }, { ...options, cacheControl: 'public, max-age=60' });
    expect(header(result.headers, 'Cache-Control')).to.equal('public, max-age=60');
  });

  it('text gets charset=utf-8; an unknown type is application/octet-stream', () => {
    expect(header(plan('notes.txt').headers, 'Content-Type')).to.equal('text/plain; charset=utf-8');
    expect(header(plan('blob.unknownext').headers, 'Content-Type')).to.equal('application/octet-stream');
  });

  it('HEAD: the same status and headers as GET, and no body', () => {
    const get = plan('clip.mp4', fileStat, 'GET');
    const head = plan('clip.mp4', fileStat, 'HEAD');
    expect(head.status).to.equal(get.status);
    expect(head.headers).to.deep.equal(get.headers);
    expect(head.body).to.deep.equal([]);
  });

  it('an empty file: Content-Length 0 and no body (no range 0 to -1)', () => {
    const result = plan('empty.txt', statOf({ size: 0 }));
    expect(result.status).to.equal(200);
    expect(header(result.headers, 'Content-Length')).to.equal('0');
    expect(result.body).to.deep.equal([]);
  });

  it('a one-byte file: one range 0-0', () => {
    expect(plan('a.bin', statOf({ size: 1 })).body).to.deep.equal([{ start: 0, end: 0 }]);
  });

  it('a file over 4 GB keeps its exact length', () => {
    const size = 5 * 1024 ** 3 + 7;
    const result = plan('big.mp4', statOf({ size }));
    expect(header(result.headers, 'Content-Length')).to.equal(String(size));
    expect(result.body).to.deep.equal([{ start: 0, end: size - 1 }]);
  });

  describe('disposition', () => {
    const cases: Array<[string, DispositionType, DispositionType]> = [
      ['photo.png', 'inline', 'inline'],
      ['photo.jpg', 'inline', 'inline'],
      ['song.mp3', 'inline', 'inline'],
      ['clip.mp4', 'inline', 'inline'],
      ['report.pdf', 'inline', 'inline'],
      ['notes.txt', 'inline', 'inline'],
      ['photo.png', 'attachment', 'attachment'],
      ['logo.svg', 'inline', 'attachment'],
      ['page.html', 'inline', 'attachment'],
      ['feed.xml', 'inline', 'attachment'],
      ['script.js', 'inline', 'attachment'],
      ['blob.unknownext', 'inline', 'attachment'],
    ];
    for (const [filename, asked, expected] of cases) {
      it(`${filename} asked ${asked} → ${expected}`, () => {
        const value = header(plan(filename, statOf(), 'GET', asked).headers, 'Content-Disposition');
        expect(value).to.match(new RegExp(`^${expected}; filename="`));
      });
    }
  });

  describe('Content-Security-Policy: strict unless served inline, then what the viewer of its kind needs', () => {
    const STRICT = "default-src 'none'; sandbox";
    const IMAGE = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
    const MEDIA = "default-src 'none'; media-src 'self'; sandbox allow-same-origin";
    const cases: Array<[string, DispositionType, string]> = [
      ['photo.png', 'inline', IMAGE],
      ['song.wav', 'inline', MEDIA],
      ['clip.mp4', 'inline', MEDIA],
      ['clip.webm', 'inline', MEDIA],
      ['report.pdf', 'inline', STRICT],
      ['notes.txt', 'inline', STRICT],
      ['photo.png', 'attachment', STRICT],
      ['clip.mp4', 'attachment', STRICT],
      // Asked inline, served as attachment: the policy follows what is served.
      ['logo.svg', 'inline', STRICT],
      ['page.html', 'inline', STRICT],
    ];
    for (const [filename, asked, expected] of cases) {
      it(`${filename} asked ${asked} → ${expected}; nosniff always`, () => {
        for (const request of [{}, { range: 'bytes=0-1' }, { range: 'bytes=0-1,5-6' }]) {
          const result = planTransfer({ method: 'GET', disposition: asked, ...request }, { stat: statOf(), filename, mediaType: mediaTypeOf(filename) }, options);
          expect(header(result.headers, 'Content-Security-Policy'), JSON.stringify(request)).to.equal(expected);
          expect(header(result.headers, 'X-Content-Type-Options')).to.equal('nosniff');
        }
      });
    }
  });
});

describe('toEntityTag', () => {
  const base = statOf();
  const baseTag = toEntityTag(base);

  it('is strong: quoted, no W/ prefix, only etagc characters', () => {
    expect(baseTag).to.match(STRONG_ETAG);
    expect(baseTag.startsWith('W/')).to.equal(false);
  });

  it('is the same for the same fstat', () => expect(toEntityTag({ ...base })).to.equal(baseTag));

  const changes: Array<[string, Partial<FileStat>]> = [
    ['size + 1', { size: base.size + 1 }],
    ['size 0', { size: 0 }],
    ['mtime + 1 s', { mtimeMs: base.mtimeMs + 1000 }],
    ['mtime + 1 ms', { mtimeMs: base.mtimeMs + 1 }],
    ['mtime + 1 µs (within the same second and millisecond)', { mtimeMs: base.mtimeMs + 0.001 }],
  ];
  for (const [what, change] of changes) {
    it(`changes with ${what}`, () => expect(toEntityTag({ ...base, ...change })).to.not.equal(baseTag));
  }

  // SPEC, Transfer semantics: validators are the same on every replica serving the same bytes.
  const sameBytes: Array<[string, Partial<FileStat>]> = [
    ['another inode (a copy on another replica, or a restore)', { identity: '2049:123457' }],
    ['another device', { identity: '2050:123456' }],
  ];
  for (const [what, change] of sameBytes) {
    it(`stays the same with ${what}`, () => expect(toEntityTag({ ...base, ...change })).to.equal(baseTag));
  }

  it('changes when a real file is rewritten with another size', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'filegate-etag-'));
    try {
      const file = path.join(dir, 'a.txt');
      const when = new Date('2024-01-01T00:00:00Z');
      writeFileSync(file, 'one');
      utimesSync(file, when, when);
      const first = statSync(file);
      writeFileSync(file, 'three');
      utimesSync(file, when, when);
      const second = statSync(file);
      const tag = (stat: typeof first) => toEntityTag({ kind: 'file', size: stat.size, mtimeMs: stat.mtimeMs, identity: `${stat.dev}:${stat.ino}` });
      expect(tag(second)).to.not.equal(tag(first));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('toLastModified', () => {
  const cases: Array<[number, string]> = [
    [0, 'Thu, 01 Jan 1970 00:00:00 GMT'],
    [Date.parse('2024-03-05T06:07:08Z'), 'Tue, 05 Mar 2024 06:07:08 GMT'],
    [Date.parse('2024-03-05T06:07:08Z') + 999.9, 'Tue, 05 Mar 2024 06:07:08 GMT'],
    [Date.parse('1999-12-31T23:59:59Z') + 500, 'Fri, 31 Dec 1999 23:59:59 GMT'],
  ];
  for (const [mtimeMs, expected] of cases) {
    it(`${mtimeMs} → ${expected}`, () => {
      const value = toLastModified(statOf({ mtimeMs }));
      expect(value).to.equal(expected);
      expect(value).to.match(HTTP_DATE);
    });
  }

  it('parses back to the modification time, truncated to the second', () => {
    const mtimeMs = 1_700_000_000_987.6;
    expect(Date.parse(toLastModified(statOf({ mtimeMs })))).to.equal(1_700_000_000_000);
  });
});

describe('planTransfer: conditional requests and ranges', () => {
  const SIZE = 1000;
  const stat = statOf({ size: SIZE });
  const etag = toEntityTag(stat);
  const lastModified = toLastModified(stat);
  const BOUNDARY = 'test-boundary-0123456789abcdef';
  // A stand-in for the file's bytes, to check multipart bodies byte by byte.
  const content = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7 + 3) % 256));

  /** Plans a request for a 1000-byte file and counts the boundaries it asked for. */
  const planFor = (request: Partial<TransferRequest>, filename = 'clip.mp4', extra: Partial<typeof options> = {}) => {
    let boundaries = 0;
    const result = planTransfer(
      { method: 'GET', disposition: 'attachment', ...request },
      { stat, filename, mediaType: mediaTypeOf(filename) },
      {
        ...options,
        newBoundary: () => {
          boundaries += 1;
          return BOUNDARY;
        },
        ...extra,
      },
    );
    return { result, boundaries };
  };

  /** The FilegateError planning throws. */
  const errorOf = (request: Partial<TransferRequest>): FilegateError => {
    try {
      planFor(request);
    } catch (error) {
      if (isFilegateError(error)) return error;
      throw error;
    }
    return expect.fail('expected planTransfer to throw a FilegateError');
  };

  /** The body as bytes: Buffers as they are, ranges replaced by the file's bytes. */
  const join = (body: readonly BodyPiece[]) => Buffer.concat(body.map((piece) => (Buffer.isBuffer(piece) ? piece : content.subarray(piece.start, piece.end + 1))));
  const lengthOf = (body: readonly BodyPiece[]) => body.reduce((sum, piece) => sum + (Buffer.isBuffer(piece) ? piece.length : piece.end - piece.start + 1), 0);

  /** Splits a multipart body (RFC 2046 §5.1.1) into parts: their headers (lower-cased names) and data. */
  const parseMultipart = (body: Buffer, boundary: string) => {
    const text = body.toString('latin1');
    const opening = `--${boundary}\r\n`;
    const delimiter = `\r\n--${boundary}`;
    const closing = `${delimiter}--\r\n`;
    expect(text.startsWith(opening), 'the body starts with the first delimiter').to.equal(true);
    expect(text.endsWith(closing), 'the body ends with the close delimiter').to.equal(true);
    const inner = text.slice(opening.length, text.length - closing.length);
    return inner.split(`${delimiter}\r\n`).map((part) => {
      const split = part.indexOf('\r\n\r\n');
      expect(split, 'a part has a header block').to.be.greaterThan(-1);
      const headers: Record<string, string> = {};
      for (const line of part.slice(0, split).split('\r\n')) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      return { headers, data: Buffer.from(part.slice(split + 4), 'latin1') };
    });
  };

  describe('304 Not Modified', () => {
    const cases: Array<[string, Partial<TransferRequest>]> = [
      ['If-None-Match with the current tag', { ifNoneMatch: etag }],
      ['If-None-Match with the weak form of the current tag', { ifNoneMatch: `W/${etag}` }],
      ['If-None-Match: *', { ifNoneMatch: '*' }],
      ['If-Modified-Since at Last-Modified', { ifModifiedSince: lastModified }],
      ['If-None-Match with the current tag and a Range (preconditions come first)', { ifNoneMatch: etag, range: 'bytes=0-1' }],
      ['If-Modified-Since and an unsatisfiable Range (preconditions come first)', { ifModifiedSince: lastModified, range: 'bytes=5000-' }],
    ];
    for (const method of ['GET', 'HEAD']) {
      for (const [what, request] of cases) {
        it(`${method}, ${what}: 304 with the validators and Cache-Control, no content headers, no body`, () => {
          const { result, boundaries } = planFor({ ...request, method });
          expect(result.status).to.equal(304);
          expect(header(result.headers, 'ETag')).to.equal(etag);
          expect(header(result.headers, 'Last-Modified')).to.equal(lastModified);
          expect(header(result.headers, 'Cache-Control')).to.equal('private, no-cache');
          for (const name of ['Content-Type', 'Content-Length', 'Content-Disposition', 'Content-Range']) {
            expect(header(result.headers, name), name).to.equal(undefined);
          }
          expect(result.body).to.deep.equal([]);
          expect(boundaries).to.equal(0);
        });
      }
    }

    it('If-None-Match with another tag: 200', () => expect(planFor({ ifNoneMatch: '"other"' }).result.status).to.equal(200));
    it('If-Modified-Since one second before Last-Modified: 200', () => {
      const before = new Date(Date.parse(lastModified) - 1000).toUTCString();
      expect(planFor({ ifModifiedSince: before }).result.status).to.equal(200);
    });
  });

  describe('412 PRECONDITION_FAILED', () => {
    const cases: Array<[string, Partial<TransferRequest>]> = [
      ['If-Match with another tag', { ifMatch: '"other"' }],
      ['If-Match with the weak form of the current tag', { ifMatch: `W/${etag}` }],
      ['If-Unmodified-Since one second before Last-Modified', { ifUnmodifiedSince: new Date(Date.parse(lastModified) - 1000).toUTCString() }],
      ['If-Match failing and If-None-Match matching', { ifMatch: '"other"', ifNoneMatch: etag }],
      ['If-Match failing and an unsatisfiable Range', { ifMatch: '"other"', range: 'bytes=5000-' }],
    ];
    for (const method of ['GET', 'HEAD']) {
      for (const [what, request] of cases) {
        it(`${method}, ${what}: throws PRECONDITION_FAILED, status 412`, () => {
          const error = errorOf({ ...request, method });
          expect(error.code).to.equal('PRECONDITION_FAILED');
          expect(error.status).to.equal(412);
        });
      }
    }

    it('If-Match with the current tag: 200', () => expect(planFor({ ifMatch: etag }).result.status).to.equal(200));
  });

  describe('416 RANGE_NOT_SATISFIABLE', () => {
    const ranges = ['bytes=1000-', 'bytes=1000-1000', 'bytes=5000-6000', 'bytes=-0', 'bytes=2000-,3000-'];
    for (const method of ['GET', 'HEAD']) {
      for (const range of ranges) {
        it(`${method}, ${range} on ${SIZE} bytes: throws RANGE_NOT_SATISFIABLE with Content-Range: bytes */${SIZE}`, () => {
          const error = errorOf({ method, range });
          expect(error.code).to.equal('RANGE_NOT_SATISFIABLE');
          expect(error.status).to.equal(416);
          expect(error.headers['Content-Range']).to.equal(`bytes */${SIZE}`);
        });
      }
    }

    it('a stale If-Range drops an unsatisfiable Range too: 200', () => {
      expect(planFor({ range: 'bytes=5000-', ifRange: '"other"' }).result.status).to.equal(200);
    });
  });

  describe('a single range: 206', () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      // Safari's probe before playing media.
      ['bytes=0-1', 0, 1],
      ['bytes=100-199', 100, 199],
      ['bytes=990-', 990, 999],
      ['bytes=-5', 995, 999],
      ['bytes=-5000', 0, 999],
      ['bytes=900-5000', 900, 999],
      ['bytes=0-9,10-19', 0, 19],
      ['bytes=10-19,0-14', 0, 19],
      ['bytes=0-9,5000-', 0, 9],
    ];
    for (const [range, start, end] of cases) {
      it(`${range} → Content-Range bytes ${start}-${end}/${SIZE}, Content-Length ${end - start + 1}, one body range`, () => {
        const { result, boundaries } = planFor({ range });
        expect(result.status).to.equal(206);
        expect(header(result.headers, 'Content-Range')).to.equal(`bytes ${start}-${end}/${SIZE}`);
        expect(header(result.headers, 'Content-Length')).to.equal(String(end - start + 1));
        expect(header(result.headers, 'Content-Type')).to.equal('video/mp4');
        for (const name of SPEC_HEADERS) expect(header(result.headers, name), name).to.be.a('string').and.not.equal('');
        expect(header(result.headers, 'ETag')).to.equal(etag);
        expect(result.body).to.deep.equal([{ start, end }]);
        expect(boundaries, 'no boundary for a single part').to.equal(0);
      });
    }

    it('HEAD with a Range: 206 with the same headers as GET, and no body', () => {
      const get = planFor({ range: 'bytes=0-1' }).result;
      const head = planFor({ range: 'bytes=0-1', method: 'HEAD' }).result;
      expect(head.status).to.equal(206);
      expect(head.headers).to.deep.equal(get.headers);
      expect(head.body).to.deep.equal([]);
    });
  });

  describe('several ranges: 206 multipart/byteranges', () => {
    const cases: Array<[string, string, string, Array<[number, number]>]> = [
      ['clip.mp4', 'video/mp4', 'bytes=0-9,100-199,-10', [[0, 9], [100, 199], [990, 999]]],
      ['notes.txt', 'text/plain; charset=utf-8', 'bytes=0-0,2-2', [[0, 0], [2, 2]]],
      // Coalesced, and in the order of the specs (RFC 9110 §15.3.7.2), the merged part in place of its earliest spec.
      ['blob.unknownext', 'application/octet-stream', 'bytes=0-49,25-74,500-,200-299', [[0, 74], [500, 999], [200, 299]]],
      ['clip.mp4', 'video/mp4', 'bytes=0-9,,20-29, 40-49', [[0, 9], [20, 29], [40, 49]]],
    ];
    for (const [filename, partType, range, expected] of cases) {
      it(`${filename}, ${range}: ${expected.length} parts, byte-exact, with an exact Content-Length`, () => {
        const { result, boundaries } = planFor({ range }, filename);
        expect(result.status).to.equal(206);
        expect(boundaries, 'newBoundary called once').to.equal(1);
        expect(header(result.headers, 'Content-Type')).to.equal(`multipart/byteranges; boundary=${BOUNDARY}`);
        expect(header(result.headers, 'Content-Range'), 'no top-level Content-Range').to.equal(undefined);
        expect(header(result.headers, 'ETag')).to.equal(etag);
        expect(header(result.headers, 'Accept-Ranges')).to.equal('bytes');
        const body = join(result.body);
        expect(header(result.headers, 'Content-Length')).to.equal(String(lengthOf(result.body)));
        expect(header(result.headers, 'Content-Length')).to.equal(String(body.length));
        const parts = parseMultipart(body, BOUNDARY);
        expect(parts.map((part) => part.headers['content-range'])).to.deep.equal(expected.map(([start, end]) => `bytes ${start}-${end}/${SIZE}`));
        for (const [index, part] of parts.entries()) {
          const [start, end] = expected[index]!;
          expect(part.headers['content-type'], `part ${index} Content-Type`).to.equal(partType);
          expect(part.data.equals(content.subarray(start, end + 1)), `part ${index} bytes`).to.equal(true);
        }
      });
    }

    it('the ranges of the file are body ranges, not bytes held in memory', () => {
      const { result } = planFor({ range: 'bytes=0-9,100-199' });
      const ranges = result.body.filter((piece) => !Buffer.isBuffer(piece));
      expect(ranges).to.deep.equal([
        { start: 0, end: 9 },
        { start: 100, end: 199 },
      ]);
      const literal = result.body.filter((piece): piece is Buffer => Buffer.isBuffer(piece));
      expect(literal.reduce((sum, piece) => sum + piece.length, 0)).to.be.lessThan(400);
    });

    it('sixteen ranges, the default cap: sixteen parts', () => {
      const range = `bytes=${Array.from({ length: 16 }, (_, i) => `${i * 50}-${i * 50 + 9}`).join(',')}`;
      const { result } = planFor({ range });
      expect(result.status).to.equal(206);
      expect(parseMultipart(join(result.body), BOUNDARY)).to.have.length(16);
    });

    it('HEAD: 206 with the same headers as GET, Content-Length included, and no body', () => {
      const get = planFor({ range: 'bytes=0-9,100-199' }).result;
      const head = planFor({ range: 'bytes=0-9,100-199', method: 'HEAD' }).result;
      expect(head.status).to.equal(206);
      expect(head.headers).to.deep.equal(get.headers);
      expect(head.body).to.deep.equal([]);
    });
  });

  describe('If-Range', () => {
    const before = new Date(Date.parse(lastModified) - 1000).toUTCString();
    const after = new Date(Date.parse(lastModified) + 1000).toUTCString();
    const cases: Array<[string, string, number]> = [
      ['the current strong tag', etag, 206],
      ['the Last-Modified date', lastModified, 206],
      ['another tag (stale)', '"other"', 200],
      ['the weak form of the current tag', `W/${etag}`, 200],
      ['an earlier date', before, 200],
      ['a later date', after, 200],
      ['garbage', 'garbage', 200],
    ];
    for (const [what, ifRange, status] of cases) {
      it(`${what} with bytes=0-1 → ${status}${status === 200 ? ', the whole file' : ''}`, () => {
        const { result } = planFor({ range: 'bytes=0-1', ifRange });
        expect(result.status).to.equal(status);
        if (status === 200) {
          expect(header(result.headers, 'Content-Length')).to.equal(String(SIZE));
          expect(header(result.headers, 'Content-Range')).to.equal(undefined);
          expect(result.body).to.deep.equal([{ start: 0, end: SIZE - 1 }]);
        } else {
          expect(result.body).to.deep.equal([{ start: 0, end: 1 }]);
        }
      });
    }

    it('a stale If-Range with several ranges: 200, and no boundary made', () => {
      const { result, boundaries } = planFor({ range: 'bytes=0-1,5-6', ifRange: '"other"' });
      expect(result.status).to.equal(200);
      expect(boundaries).to.equal(0);
    });
  });

  describe('a Range that is ignored: 200 and the whole file', () => {
    const seventeen = `bytes=${Array.from({ length: 17 }, (_, i) => `${i * 50}-${i * 50 + 9}`).join(',')}`;
    const cases: Array<[string, string, Partial<typeof options>]> = [
      ['malformed', 'bytes=abc', {}],
      ['another unit', 'items=0-5', {}],
      ['last before first', 'bytes=5-1', {}],
      ['seventeen ranges over the default cap of 16', seventeen, {}],
      ['three ranges over a configured cap of 2', 'bytes=0-0,2-2,4-4', { maxRanges: 2 }],
      ['ranges adding up to more than the file', 'bytes=0-,0-', {}],
    ];
    for (const [what, range, extra] of cases) {
      it(`${what} (${range.length > 30 ? `${range.slice(0, 30)}…` : range})`, () => {
        const { result, boundaries } = planFor({ range }, 'clip.mp4', extra);
        expect(result.status).to.equal(200);
        expect(header(result.headers, 'Content-Length')).to.equal(String(SIZE));
        expect(header(result.headers, 'Content-Range')).to.equal(undefined);
        expect(result.body).to.deep.equal([{ start: 0, end: SIZE - 1 }]);
        expect(boundaries).to.equal(0);
      });
    }

    it('an empty file with a Range: 200 and no body', () => {
      const result = planTransfer({ method: 'GET', disposition: 'attachment', range: 'bytes=0-0' }, { stat: statOf({ size: 0 }), filename: 'empty.txt', mediaType: 'text/plain' }, options);
      expect(result.status).to.equal(200);
      expect(header(result.headers, 'Content-Length')).to.equal('0');
      expect(result.body).to.deep.equal([]);
    });
  });

  describe('newBoundary is called only for multipart answers', () => {
    const cases: Array<[string, Partial<TransferRequest>, number]> = [
      ['no Range', {}, 0],
      ['a single range', { range: 'bytes=0-1' }, 0],
      ['two ranges coalesced into one', { range: 'bytes=0-9,5-19' }, 0],
      ['a 304', { ifNoneMatch: etag, range: 'bytes=0-1,5-6' }, 0],
      ['HEAD with a single range', { method: 'HEAD', range: 'bytes=0-1' }, 0],
      ['two ranges', { range: 'bytes=0-1,5-6' }, 1],
      ['HEAD with two ranges', { method: 'HEAD', range: 'bytes=0-1,5-6' }, 1],
    ];
    for (const [what, request, expected] of cases) {
      it(`${what}: ${expected} call${expected === 1 ? '' : 's'}`, () => expect(planFor(request).boundaries).to.equal(expected));
    }
  });
});
