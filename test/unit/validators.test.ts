// Validators: the ETag and Last-Modified date of each stat, whatever was made before it.

import { expect } from 'chai';
import type { FileStat } from '../../src/layers/layer.js';
import { toEntityTag, toLastModified } from '../../src/transfer/validators.js';

const at = (mtimeMs: number) => ({ size: 1, mtimeMs }) as FileStat;

describe('toLastModified', () => {
  it('gives each time its own HTTP date, in any order, to the second', () => {
    const times = [0, 1_700_000_000_123, 1_700_000_000_999, 1_700_000_001_000, 0, 1_700_000_000_500, 86_400_000];
    for (const ms of times) expect(toLastModified(at(ms)), String(ms)).to.equal(new Date(Math.floor(ms / 1000) * 1000).toUTCString());
    expect(toLastModified(at(1_700_000_000_999))).to.equal('Tue, 14 Nov 2023 22:13:20 GMT');
  });
});

describe('toEntityTag', () => {
  it('gives each stat its own tag, in any order: size and time, or size and the engine\'s tag', () => {
    const stats: FileStat[] = [
      { size: 10, mtimeMs: 1_700_000_000_123.456 } as FileStat,
      { size: 10, mtimeMs: 1_700_000_000_123.456 } as FileStat,
      { size: 11, mtimeMs: 1_700_000_000_123.456 } as FileStat,
      { size: 11, mtimeMs: 1_700_000_000_123.457 } as FileStat,
      { size: 11, mtimeMs: 1_700_000_000_123.457, etag: '"abc123"' } as FileStat,
      { size: 11, mtimeMs: 1_700_000_000_123.457, etag: '"abc124"' } as FileStat,
      { size: 10, mtimeMs: 1_700_000_000_123.456 } as FileStat,
    ];
    const tags = stats.map(toEntityTag);
    expect(tags[0]).to.equal(`"${(10).toString(36)}-${Math.round(1_700_000_000_123.456 * 1000).toString(36)}"`);
    expect(tags[1]).to.equal(tags[0]);
    expect(new Set(tags.slice(0, 6)).size).to.equal(5);
    expect(tags[4]).to.equal(`"${(11).toString(36)}-abc123"`);
    expect(tags[6]).to.equal(tags[0]);
  });
});
