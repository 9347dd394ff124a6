// The schedule of young-generation collections during object reads (one per COLLECT_EVERY_BYTES read, whatever the chunk sizes), and which buffers are freed at once.

import { expect } from 'chai';
import { COLLECT_EVERY_BYTES, CollectionSchedule, engineBodyCollector, FREED_BYTE_WEIGHT, releaseBuffer } from '../../src/layers/s3/engine-body-collector.js';

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

describe('releaseBuffer', () => {
  it('frees a buffer that is the whole of its memory: it reads as empty afterwards', () => {
    const buffer = Buffer.alloc(64 * 1024, 7);
    expect(releaseBuffer(buffer)).to.equal(true);
    expect(buffer.length).to.equal(0);
    expect(buffer.buffer.byteLength).to.equal(0);
  });

  it('leaves a slice, a buffer of Node\'s shared pool and an empty buffer alone', () => {
    const whole = Buffer.alloc(1024, 1);
    const slice = whole.subarray(10, 20);
    const pooled = Buffer.from('small, from the pool');
    expect(pooled.buffer.byteLength).to.be.greaterThan(pooled.length);
    for (const buffer of [slice, whole.subarray(0, 1023), pooled, Buffer.alloc(0)]) {
      const before = Buffer.from(buffer);
      expect(releaseBuffer(buffer)).to.equal(false);
      expect(buffer.equals(before)).to.equal(true);
    }
    expect(whole.length).to.equal(1024);
  });
});

describe('engineBodyCollector.release', () => {
  const READ = 64 * 1024;

  // Whatever is pending from earlier reads in this process is under one collection's worth, so each
  // run of exactly three collections' worth of bytes brings exactly three collections.
  it('a freed byte counts FREED_BYTE_WEIGHT towards the next collection', () => {
    const reads = (3 * COLLECT_EVERY_BYTES) / FREED_BYTE_WEIGHT / READ;
    const collections = engineBodyCollector.collections;
    const released = engineBodyCollector.releasedBytes;
    for (let i = 0; i < reads; i++) engineBodyCollector.release(Buffer.allocUnsafeSlow(READ));
    expect(engineBodyCollector.releasedBytes - released).to.equal(reads * READ);
    expect(engineBodyCollector.collections - collections).to.equal(3);
  });

  it('a buffer that cannot be freed counts whole, and keeps its bytes', () => {
    const whole = Buffer.alloc(READ + 1, 5);
    const collections = engineBodyCollector.collections;
    const released = engineBodyCollector.releasedBytes;
    for (let i = 0; i < (3 * COLLECT_EVERY_BYTES) / READ; i++) engineBodyCollector.release(whole.subarray(1));
    expect(engineBodyCollector.releasedBytes - released).to.equal(0);
    expect(engineBodyCollector.collections - collections).to.equal(3);
    expect(whole.subarray(1).equals(Buffer.alloc(READ, 5))).to.equal(true);
  });
});
