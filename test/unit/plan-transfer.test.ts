// Tests for the transfer plan (status, every SPEC header, the body's byte ranges) and the validators it derives from fstat.

import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mediaTypeOf } from '../../src/files/file-types.js';
import type { FileStat } from '../../src/layers/layer.js';
import type { DispositionType } from '../../src/transfer/content-disposition.js';
import { planTransfer } from '../../src/transfer/plan-transfer.js';
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
  ino: 123456,
  dev: 2049,
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
    fileStat = { kind: 'file', size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, dev: stat.dev };
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

  it('every file response carries the sandboxing CSP and nosniff, even inline', () => {
    const result = plan('photo.png', statOf(), 'GET', 'inline');
    expect(header(result.headers, 'Content-Security-Policy')).to.equal("default-src 'none'; sandbox");
    expect(header(result.headers, 'X-Content-Type-Options')).to.equal('nosniff');
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
    ['another inode (the file was replaced)', { ino: base.ino + 1 }],
  ];
  for (const [what, change] of changes) {
    it(`changes with ${what}`, () => expect(toEntityTag({ ...base, ...change })).to.not.equal(baseTag));
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
      const tag = (stat: typeof first) => toEntityTag({ kind: 'file', size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, dev: stat.dev });
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
