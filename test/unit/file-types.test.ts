// Table tests for media types, Content-Type values, type categories and passive (inline-safe) types.

import { expect } from 'chai';
import { categoryOf, isPassiveType, mediaTypeOf, toContentType } from '../../src/files/file-types.js';

describe('mediaTypeOf', () => {
  const cases: Array<[string, string]> = [
    ['clip.mp4', 'video/mp4'],
    ['song.wav', 'audio/wav'],
    ['song.mp3', 'audio/mpeg'],
    ['photo.png', 'image/png'],
    ['PHOTO.PNG', 'image/png'],
    ['photo.jpg', 'image/jpeg'],
    ['logo.svg', 'image/svg+xml'],
    ['notes.txt', 'text/plain'],
    ['report.pdf', 'application/pdf'],
    ['data.json', 'application/json'],
    ['table.csv', 'text/csv'],
    ['page.html', 'text/html'],
    ['bundle.tar.gz', 'application/gzip'],
    ['archive.zip', 'application/zip'],
    ['no-extension', 'application/octet-stream'],
    ['file.unknownext', 'application/octet-stream'],
    ['trailing-dot.', 'application/octet-stream'],
  ];
  for (const [name, expected] of cases) {
    it(`${name} → ${expected}`, () => expect(mediaTypeOf(name)).to.equal(expected));
  }
});

describe('toContentType', () => {
  const cases: Array<[string, string]> = [
    ['text/plain', 'text/plain; charset=utf-8'],
    ['text/csv', 'text/csv; charset=utf-8'],
    ['text/html', 'text/html; charset=utf-8'],
    ['text/markdown', 'text/markdown; charset=utf-8'],
    ['application/json', 'application/json; charset=utf-8'],
    ['image/png', 'image/png'],
    ['video/mp4', 'video/mp4'],
    ['application/pdf', 'application/pdf'],
    ['application/octet-stream', 'application/octet-stream'],
  ];
  for (const [mediaType, expected] of cases) {
    it(`${mediaType} → ${expected}`, () => expect(toContentType(mediaType)).to.equal(expected));
  }

  it('an unknown file name ends up as application/octet-stream', () => {
    expect(toContentType(mediaTypeOf('blob.unknownext'))).to.equal('application/octet-stream');
  });
});

describe('categoryOf', () => {
  const cases: Array<[string, string | null]> = [
    ['clip.mp4', 'video'],
    ['clip.webm', 'video'],
    ['clip.mov', 'video'],
    ['song.wav', 'audio'],
    ['song.mp3', 'audio'],
    ['song.ogg', 'audio'],
    ['photo.png', 'image'],
    ['photo.jpg', 'image'],
    ['photo.webp', 'image'],
    ['logo.svg', 'image'],
    ['notes.txt', 'text'],
    ['report.pdf', 'document'],
    ['letter.docx', 'document'],
    ['sheet.xlsx', 'document'],
    ['slides.pptx', 'document'],
    ['archive.zip', 'archive'],
    ['bundle.tar.gz', 'archive'],
    ['bundle.tgz', 'archive'],
    ['bundle.7z', 'archive'],
    ['data.json', 'data'],
    ['table.csv', 'data'],
    ['feed.xml', 'data'],
    ['config.yaml', 'data'],
    ['table.tsv', 'data'],
    ['table.parquet', 'data'],
    ['events.ndjson', 'data'],
    ['no-extension', null],
    ['file.unknownext', null],
  ];
  for (const [name, expected] of cases) {
    it(`${name} (${mediaTypeOf(name)}) → ${expected}`, () => expect(categoryOf(mediaTypeOf(name))).to.equal(expected));
  }

  it('application/octet-stream has no category', () => expect(categoryOf('application/octet-stream')).to.equal(null));
});

describe('isPassiveType', () => {
  const cases: Array<[string, boolean]> = [
    ['photo.png', true],
    ['photo.jpg', true],
    ['song.mp3', true],
    ['clip.mp4', true],
    ['report.pdf', true],
    ['notes.txt', true],
    ['logo.svg', false],
    ['page.html', false],
    ['page.htm', false],
    ['feed.xml', false],
    ['script.js', false],
    ['module.mjs', false],
    ['data.json', false],
    ['no-extension', false],
  ];
  for (const [name, expected] of cases) {
    it(`${name} (${mediaTypeOf(name)}) → ${expected ? 'passive' : 'active'}`, () => expect(isPassiveType(mediaTypeOf(name))).to.equal(expected));
  }

  const direct: Array<[string, boolean]> = [
    ['image/svg+xml', false],
    ['text/html', false],
    ['application/xml', false],
    ['text/xml', false],
    ['text/javascript', false],
    ['application/javascript', false],
    ['application/xhtml+xml', false],
    ['text/plain', true],
    ['application/pdf', true],
  ];
  for (const [mediaType, expected] of direct) {
    it(`${mediaType} → ${expected ? 'passive' : 'active'}`, () => expect(isPassiveType(mediaType)).to.equal(expected));
  }
});
