// Validators: the Last-Modified date of each time, whatever was formatted before it.

import { expect } from 'chai';
import type { FileStat } from '../../src/layers/layer.js';
import { toLastModified } from '../../src/transfer/validators.js';

const at = (mtimeMs: number) => ({ size: 1, mtimeMs }) as FileStat;

describe('toLastModified', () => {
  it('gives each time its own HTTP date, in any order, to the second', () => {
    const times = [0, 1_700_000_000_123, 1_700_000_000_999, 1_700_000_001_000, 0, 1_700_000_000_500, 86_400_000];
    for (const ms of times) expect(toLastModified(at(ms)), String(ms)).to.equal(new Date(Math.floor(ms / 1000) * 1000).toUTCString());
    expect(toLastModified(at(1_700_000_000_999))).to.equal('Tue, 14 Nov 2023 22:13:20 GMT');
  });
});
