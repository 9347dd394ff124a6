// The writer of object bodies: chunks copied into two recycled buffers, each written whole (or after a delay, or at the end), in order, with back-pressure.

import { expect } from 'chai';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { BufferPool } from '../../src/layers/descriptor-pump.js';
import { BatchedWriter } from '../../src/layers/s3/batched-writer.js';

const KiB = 1024;

/** A writable that records each write it gets, completing it at once or only when told. */
function recorder(hold = false) {
  const writes: Buffer[] = [];
  const pending: Array<() => void> = [];
  const out = new Writable({
    highWaterMark: 16 * KiB,
    write(chunk: Buffer, _encoding, callback) {
      // A copy: the writer recycles its buffers once a write has completed.
      writes.push(Buffer.from(chunk));
      if (hold) pending.push(callback);
      else callback();
    },
  });
  return { out, writes, release: () => pending.splice(0).forEach((callback) => callback()) };
}

/** Buffers of `size` bytes for every transfer (maxChunk = minChunk = size). */
const poolOf = (size: number) => new BufferPool(size, 64 * size, size);
const bytes = (length: number, fill: number) => Buffer.alloc(length, fill);
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchedWriter', () => {
  it('writes nothing until a buffer is full, then the whole buffer in one write', async () => {
    const { out, writes } = recorder();
    const counted: number[] = [];
    const writer = new BatchedWriter(out, poolOf(64 * KiB), 1024 * KiB, 60_000, (count) => counted.push(count));
    await writer.add(bytes(40 * KiB, 1));
    expect(writes, 'nothing written below a buffer').to.have.length(0);
    await writer.add(bytes(40 * KiB, 2));
    expect(writes.map((write) => write.length)).to.deep.equal([64 * KiB]);
    expect(counted).to.deep.equal([64 * KiB]);
    writer.close();
  });

  it('the bytes come exactly and in order, across buffers and chunk boundaries, the rest at finish', async () => {
    const { out, writes } = recorder();
    const writer = new BatchedWriter(out, poolOf(64 * KiB), 1024 * KiB, 60_000);
    const chunks = Array.from({ length: 9 }, (_, index) => Buffer.from(Array.from({ length: 25 * KiB + index * 13 }, (_, at) => (at * 7 + index) & 0xff)));
    for (const chunk of chunks) await writer.add(chunk);
    await writer.finish();
    writer.close();
    expect(Buffer.concat(writes).equals(Buffer.concat(chunks))).to.equal(true);
    const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    // Whole buffers, then what was left.
    expect(writes.map((write) => write.length)).to.deep.equal([...Array(Math.floor(total / (64 * KiB))).fill(64 * KiB), total % (64 * KiB)]);
  });

  it('a chunk bigger than a buffer is split across buffers', async () => {
    const { out, writes } = recorder();
    const writer = new BatchedWriter(out, poolOf(64 * KiB), 1024 * KiB, 60_000);
    const big = Buffer.from(Array.from({ length: 200 * KiB }, (_, at) => at & 0xff));
    await writer.add(big);
    await writer.finish();
    writer.close();
    expect(writes.map((write) => write.length)).to.deep.equal([64 * KiB, 64 * KiB, 64 * KiB, 8 * KiB]);
    expect(Buffer.concat(writes).equals(big)).to.equal(true);
  });

  it('a batch that is not full is written once its oldest byte has waited the delay', async () => {
    const { out, writes } = recorder();
    const writer = new BatchedWriter(out, poolOf(64 * KiB), 1024 * KiB, 5);
    await writer.add(bytes(KiB, 7));
    expect(writes).to.have.length(0);
    // Timers fire in the order of their deadlines: the writer's 5 ms one before this 50 ms one.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writes.map((write) => write.length)).to.deep.equal([KiB]);
    writer.close();
  });

  it('close stops the timer: nothing is written after it', async () => {
    const { out, writes } = recorder();
    const writer = new BatchedWriter(out, poolOf(64 * KiB), 1024 * KiB, 5);
    await writer.add(bytes(KiB, 7));
    writer.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writes).to.have.length(0);
  });

  it('a slow client holds two buffers: a full second one is written only once the first write completes', async () => {
    const { out, writes, release } = recorder(true);
    const writer = new BatchedWriter(out, poolOf(64 * KiB), 1024 * KiB, 60_000);
    await writer.add(bytes(64 * KiB, 1));
    expect(writes, 'the first buffer is written').to.have.length(1);
    let filledSecond = false;
    const second = writer.add(bytes(64 * KiB, 2)).then(() => {
      filledSecond = true;
    });
    await tick();
    expect(filledSecond, 'the second buffer is full, and its write waits for the first').to.equal(false);
    expect(writes).to.have.length(1);
    release();
    await second;
    expect(writes.map((write) => write[0])).to.deep.equal([1, 2]);
    release();
    await writer.finish();
    writer.close();
  });

  it('buffers go back to the pool after a completed body, not after a failed one', async () => {
    const pool = poolOf(64 * KiB);
    const done = recorder();
    const first = new BatchedWriter(done.out, pool, 1024 * KiB, 60_000);
    const buffers = (first as unknown as { buffers: Buffer[] }).buffers;
    await first.add(bytes(100 * KiB, 1));
    await first.finish();
    first.close();
    const again = new BatchedWriter(recorder().out, pool, 1024 * KiB, 60_000);
    expect((again as unknown as { buffers: Buffer[] }).buffers, 'recycled').to.have.members(buffers);
    again.close();

    const failing = recorder(true);
    const broken = new BatchedWriter(failing.out, pool, 1024 * KiB, 60_000);
    const held = (broken as unknown as { buffers: Buffer[] }).buffers;
    await broken.add(bytes(64 * KiB, 1));
    failing.out.destroy();
    broken.close();
    const after = new BatchedWriter(recorder().out, pool, 1024 * KiB, 60_000);
    const fresh = (after as unknown as { buffers: Buffer[] }).buffers;
    expect(fresh.some((buffer) => held.includes(buffer)), 'a buffer a failed write may hold is not reused').to.equal(false);
    after.close();
  });

  it('a writer that started small while the pool was spent writes larger batches once the other transfers end', async () => {
    // 1 MiB batches within 4 MiB: two transfers take it all, a third starts at 64 KiB.
    const pool = new BufferPool(1024 * KiB, 4096 * KiB);
    const others = [new BatchedWriter(recorder().out, pool, 1 << 30, 60_000), new BatchedWriter(recorder().out, pool, 1 << 30, 60_000)];
    const { out, writes } = recorder();
    const late = new BatchedWriter(out, pool, 1 << 30, 60_000);
    await late.add(bytes(128 * KiB, 1));
    expect(writes.map((write) => write.length), 'while the others run').to.deep.equal([64 * KiB, 64 * KiB]);
    for (const writer of others) {
      await writer.finish();
      writer.close();
    }
    // The buffer refitted is the next one filled after a write: one more small batch, then 1 MiB ones.
    await late.add(bytes(3 * 1024 * KiB, 2));
    expect(writes.slice(2).map((write) => write.length)).to.deep.equal([64 * KiB, 1024 * KiB, 1024 * KiB]);
    late.close();
  });

  it('refuses a chunk once the response has closed', async () => {
    const { out } = recorder();
    const writer = new BatchedWriter(out, poolOf(64 * KiB), 1024 * KiB, 60_000);
    out.destroy();
    await once(out, 'close');
    let failed = false;
    await writer.add(bytes(KiB, 1)).catch(() => {
      failed = true;
    });
    expect(failed).to.equal(true);
    writer.close();
  });
});
