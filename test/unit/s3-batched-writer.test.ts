// Batches of an object body: their size under a shared budget, and the writer that gathers chunks into one writev each, in order, with back-pressure.

import { expect } from 'chai';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { BatchedWriter, batchBytesFor, BATCH_BUDGET_BYTES, MAX_BATCH_BYTES, MIN_BATCH_BYTES } from '../../src/layers/s3/batched-writer.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A writable that records each write it gets (a writev's chunks as one entry), completing them at once or when told. */
function recorder(options: { highWaterMark?: number; hold?: boolean } = {}) {
  const writes: Buffer[][] = [];
  const pending: Array<() => void> = [];
  const complete = (callback: () => void) => (options.hold ? pending.push(callback) : callback());
  const out = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * KiB,
    write(chunk: Buffer, _encoding, callback) {
      writes.push([chunk]);
      complete(callback);
    },
    writev(chunks, callback) {
      writes.push(chunks.map(({ chunk }) => chunk as Buffer));
      complete(callback);
    },
  });
  return { out, writes, release: () => pending.splice(0).forEach((callback) => callback()) };
}

const bytes = (length: number, fill: number) => Buffer.alloc(length, fill);

describe('batchBytesFor', () => {
  const cases: Array<[running: number, expected: number]> = [
    [0, MAX_BATCH_BYTES],
    [1, MAX_BATCH_BYTES],
    [2, MAX_BATCH_BYTES],
    [3, 1 * MiB],
    [4, 1 * MiB],
    [5, 512 * KiB],
    [16, 256 * KiB],
    [64, MIN_BATCH_BYTES],
    [100, MIN_BATCH_BYTES],
  ];
  for (const [running, expected] of cases) {
    it(`${running} transfers running: ${expected / KiB} KiB each`, () => {
      expect(batchBytesFor(running)).to.equal(expected);
    });
  }

  it('the batches of all transfers stay within the budget until each is down to the minimum', () => {
    for (let running = 1; running <= 64; running += 1) {
      const size = batchBytesFor(running);
      if (size > MIN_BATCH_BYTES) expect(size * running, `${running} transfers`).to.be.at.most(BATCH_BUDGET_BYTES);
    }
  });
});

describe('BatchedWriter', () => {
  it('gathers chunks until the limit, then writes them in one writev, in order', async () => {
    const { out, writes } = recorder();
    const written: number[] = [];
    const writer = new BatchedWriter(out, () => 100 * KiB, 60_000, (count) => written.push(count));
    await writer.add(bytes(40 * KiB, 1));
    await writer.add(bytes(40 * KiB, 2));
    expect(writes, 'nothing written below the limit').to.have.length(0);
    await writer.add(bytes(40 * KiB, 3));
    expect(writes).to.have.length(1);
    expect(writes[0]!.map((chunk) => chunk[0])).to.deep.equal([1, 2, 3]);
    expect(written).to.deep.equal([120 * KiB]);
    writer.close();
  });

  it('finish writes what is left, and the bytes come exactly, across batches', async () => {
    const { out, writes } = recorder();
    const writer = new BatchedWriter(out, () => 64 * KiB, 60_000);
    const chunks = Array.from({ length: 7 }, (_, index) => bytes(25 * KiB + index, index + 1));
    for (const chunk of chunks) await writer.add(chunk);
    writer.finish();
    expect(Buffer.concat(writes.flat()).equals(Buffer.concat(chunks))).to.equal(true);
    // 25 KiB chunks under a 64 KiB limit: three per batch, the seventh written by finish.
    expect(writes.map((write) => write.length)).to.deep.equal([3, 3, 1]);
  });

  it('a batch below the limit is written once its oldest chunk has waited the delay', async () => {
    const { out, writes } = recorder();
    const writer = new BatchedWriter(out, () => MiB, 5);
    await writer.add(bytes(KiB, 7));
    expect(writes).to.have.length(0);
    // Timers fire in the order of their deadlines: the writer's 5 ms one before this 50 ms one.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writes.map((write) => write.length)).to.deep.equal([1]);
    writer.close();
  });

  it('close drops what is gathered, and its timer writes nothing later', async () => {
    const { out, writes } = recorder();
    const writer = new BatchedWriter(out, () => MiB, 5);
    await writer.add(bytes(KiB, 7));
    writer.close();
    // Later than the writer's timer would have fired (timers fire in the order of their deadlines).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writes).to.have.length(0);
  });

  it('waits while the response wants no more, and goes on once it drains', async () => {
    const { out, writes, release } = recorder({ highWaterMark: 16 * KiB, hold: true });
    const writer = new BatchedWriter(out, () => 32 * KiB, 60_000);
    let added = false;
    const adding = writer.add(bytes(32 * KiB, 1)).then(() => {
      added = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes, 'the full batch is written').to.have.length(1);
    expect(added, 'held while the response is full').to.equal(false);
    release();
    await adding;
    expect(added).to.equal(true);
    writer.close();
  });

  it('refuses a chunk once the response has closed', async () => {
    const { out } = recorder();
    const writer = new BatchedWriter(out, () => MiB, 60_000);
    out.destroy();
    await once(out, 'close');
    let failed = false;
    await writer.add(bytes(KiB, 1)).catch(() => {
      failed = true;
    });
    expect(failed).to.equal(true);
  });
});
