// How the browse page words sizes, times and expiries, which preview a media type gets, and when a folder is shown as a grid.

import { expect } from 'chai';
import { formatFromNow, formatSize, formatTime, iconOf, isImageFolder, previewKindOf, type PreviewKind } from '../../src/ui/client/format.js';

describe('formatSize (binary multiples, as the config takes them)', () => {
  const cases: Array<[number, string]> = [
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1 KB'],
    [1536, '1.5 KB'],
    [10 * 1024, '10 KB'],
    [167_950, '164 KB'],
    [1024 ** 2, '1 MB'],
    [50 * 1024 ** 2, '50 MB'],
    [1.25 * 1024 ** 3, '1.3 GB'],
    [3 * 1024 ** 4, '3 TB'],
    [2048 * 1024 ** 4, '2048 TB'],
  ];
  for (const [bytes, shown] of cases) it(`${bytes} → ${shown}`, () => expect(formatSize(bytes)).to.equal(shown));
});

describe('formatFromNow', () => {
  const now = Date.UTC(2026, 0, 1);
  const cases: Array<[number, string]> = [
    [-1000, 'now past'],
    [0, 'now past'],
    [999, 'now past'],
    [1000, 'in 1 s'],
    [59_999, 'in 59 s'],
    [60_000, 'in 1 min'],
    [3_599_000, 'in 59 min'],
    [3_600_000, 'in 1 h'],
    [47 * 3_600_000, 'in 47 h'],
    [2 * 86_400_000, 'in 2 days'],
    [7 * 86_400_000, 'in 7 days'],
  ];
  for (const [ahead, shown] of cases) it(`${ahead} ms ahead → ${shown}`, () => expect(formatFromNow(now + ahead, now)).to.equal(shown));
});

describe('formatTime', () => {
  it('is the local date and time to the minute', () => {
    const local = new Date(2026, 2, 5, 9, 7, 59).getTime();
    expect(formatTime(local)).to.equal('2026-03-05 09:07');
  });
});

describe('previewKindOf', () => {
  const cases: Array<[string, PreviewKind]> = [
    ['image/png', 'image'],
    ['image/svg+xml', 'image'],
    ['video/webm', 'video'],
    ['video/mp4', 'video'],
    ['audio/wav', 'audio'],
    ['application/pdf', 'pdf'],
    ['text/plain', 'text'],
    ['text/markdown', 'text'],
    ['text/csv', 'text'],
    ['application/json', 'text'],
    ['application/xml', 'text'],
    ['application/yaml', 'text'],
    ['application/vnd.apache.parquet', 'none'],
    ['application/zip', 'none'],
    ['application/octet-stream', 'none'],
  ];
  for (const [mime, kind] of cases) it(`${mime} → ${kind}`, () => expect(previewKindOf(mime)).to.equal(kind));
});

describe('iconOf', () => {
  it('a folder, a file\'s category, or a plain file', () => {
    expect([iconOf({ kind: 'directory' }), iconOf({ kind: 'file', type: 'video' }), iconOf({ kind: 'file', type: null })]).to.deep.equal(['folder', 'video', 'file']);
  });
});

describe('isImageFolder', () => {
  const files = (images: number, others: number) => [...Array.from({ length: images }, () => ({ type: 'image' })), ...Array.from({ length: others }, () => ({ type: 'text' as string | null }))];
  const cases: Array<[number, number, boolean]> = [
    [0, 0, false],
    [1, 0, false],
    [2, 0, true],
    [3, 2, true],
    [6, 4, true],
    [5, 4, false],
    [1, 5, false],
  ];
  for (const [images, others, grid] of cases) it(`${images} images and ${others} other files → ${grid ? 'a grid' : 'a list'}`, () => expect(isImageFolder(files(images, others))).to.equal(grid));
});
