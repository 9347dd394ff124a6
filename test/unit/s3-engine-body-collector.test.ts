// The schedule of young-generation collections during object reads: one per COLLECT_EVERY_BYTES read, whatever the chunk sizes.

import { expect } from 'chai';
import { CollectionSchedule } from '../../src/layers/s3/engine-body-collector.js';

describe('CollectionSchedule', () => {
  const cases: Array<{ name: string; every: number; chunks: number[]; due: boolean[] }> = [
    { name: 'nothing is due below the threshold', every: 100, chunks: [10, 20, 69], due: [false, false, false] },
    { name: 'due exactly at the threshold', every: 100, chunks: [60, 40], due: [false, true] },
    { name: 'the count starts again after a collection', every: 100, chunks: [100, 99, 1], due: [true, false, true] },
    { name: 'a chunk larger than the threshold is one collection, not several', every: 100, chunks: [350, 10], due: [true, false] },
    { name: 'the overshoot is not carried over', every: 100, chunks: [90, 20, 85, 10, 5], due: [false, true, false, false, true] },
    { name: 'empty chunks change nothing', every: 100, chunks: [0, 99, 0, 1], due: [false, false, false, true] },
  ];
  for (const { name, every, chunks, due } of cases) {
    it(name, () => {
      const schedule = new CollectionSchedule(every);
      expect(chunks.map((bytes) => schedule.note(bytes))).to.deep.equal(due);
    });
  }
});
