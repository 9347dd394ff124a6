import v8 from 'node:v8';
import vm from 'node:vm';
import { expect } from 'chai';
import type { Context } from 'koa';
import { createMetrics, type ResponseFigures } from '../../src/http/metrics.js';
import { Slots } from '../../src/slots.js';

describe('Slots (src/slots.ts)', () => {
  it('holds what is added until it is removed, and reuses emptied slots before growing', () => {
    const slots = new Slots<string>();
    const a = slots.add('a');
    const b = slots.add('b');
    const c = slots.add('c');
    expect([...slots]).to.deep.equal(['a', 'b', 'c']);
    slots.remove(b);
    expect(slots.size).to.equal(2);
    expect([...slots]).to.deep.equal(['a', 'c']);
    expect(slots.add('d')).to.equal(b);
    expect([...slots]).to.deep.equal(['a', 'd', 'c']);
    expect([a, c]).to.deep.equal([0, 2]);
  });

  it('leaves an empty slot as it is when removed again', () => {
    const slots = new Slots<string>();
    const a = slots.add('a');
    slots.remove(a);
    slots.remove(a);
    expect(slots.size).to.equal(0);
    expect(slots.add('b')).to.equal(a);
    expect(slots.add('c')).to.equal(1);
  });
});

/** V8's collector, reached as the engine body collector reaches it (src/layers/s3/engine-body-collector.ts). */
function collector(): (options?: { type: 'minor' | 'major' }) => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
}

/** A space's figures as `v8.GCProfiler` reports them. */
interface SpaceFigures {
  spaceName: string;
  spaceUsedSize: number;
}

interface GcStatistics {
  gcType: string;
  beforeGC: { heapSpaceStatistics: SpaceFigures[] };
  afterGC: { heapSpaceStatistics: SpaceFigures[] };
}

/** Runs `work` and returns the bytes young-generation collections moved into the old generation meanwhile (full collections left out). */
function promotedDuring(work: () => void): number {
  const profiler = new v8.GCProfiler();
  profiler.start();
  work();
  const { statistics } = profiler.stop() as unknown as { statistics: GcStatistics[] };
  const oldUsed = (spaces: SpaceFigures[]) => spaces.find((space) => space.spaceName === 'old_space')!.spaceUsedSize;
  return statistics
    .filter((gc) => gc.gcType === 'Scavenge')
    .reduce((sum, gc) => sum + oldUsed(gc.afterGC.heapSpaceStatistics) - oldUsed(gc.beforeGC.heapSpaceStatistics), 0);
}

/**
 * Opens and closes `count` responses of about 2 KB each through `open` and
 * `close`, 40 at a time, with a young-generation collection every 2,000,
 * and returns what those collections promoted. Finished responses should
 * die young. A first, unmeasured round leaves the code's first-run
 * allocations out of the figure.
 */
function promotedByChurn(open: (ctx: Context) => void, close: (ctx: Context) => void, count = 60_000): number {
  const gc = collector();
  const churn = (rounds: number) => {
    const running: Context[] = [];
    for (let i = 0; i < rounds; i += 1) {
      const ctx = { state: {}, res: { writableEnded: false }, payload: new Array(256).fill(i) } as unknown as Context;
      open(ctx);
      running.push(ctx);
      if (running.length > 40) close(running.shift()!);
      if (i % 2000 === 0) gc({ type: 'minor' });
    }
    for (const ctx of running) close(ctx);
  };
  churn(5_000);
  gc({ type: 'major' });
  return promotedDuring(() => churn(count));
}

describe('open responses and young collections (metrics, src/http/metrics.ts)', function () {
  this.timeout(60_000);
  const figures: ResponseFigures = { method: 'GET', route: '/api/download', status: 200, bytes: 1024, seconds: 0.001, aborted: false, delivery: 'proxy', offloadedBytes: undefined };

  it('a long-lived Set that takes and drops an entry per response promotes finished responses (the V8 behaviour Slots avoids)', () => {
    const open = new Set<Context>();
    const grew = promotedByChurn((ctx) => open.add(ctx), (ctx) => open.delete(ctx));
    expect(grew).to.be.above(4 * 2 ** 20);
  });

  it('the metrics forget a closed response at the next young collection', () => {
    const metrics = createMetrics();
    const grew = promotedByChurn((ctx) => metrics.responseOpened(ctx), (ctx) => metrics.responseClosed(ctx, figures));
    expect(grew).to.be.below(2 * 2 ** 20);
  });
});
