// RequestTurns: requests start in batches, one per turn of the event loop, in arrival order, at most MAX_BATCH at once; a batch waits (for ACCEPT_HOLD_MS at most) while new connections keep arriving.

import { expect } from 'chai';
import { ACCEPT_HOLD_MS, HOLD_AFTER_BATCH, MAX_BATCH, RequestTurns } from '../../src/http/request-turns.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A fake clock, and `RequestTurns` holding batches for `holdMs` of it. */
function turnsWith(holdMs = ACCEPT_HOLD_MS) {
  const clock = { ms: 0 };
  return { clock, turns: new RequestTurns(holdMs, () => clock.ms) };
}

/**
 * Sends `count` requests into `turns` in one synchronous stretch, none the
 * first of its connection, and reports for each the turn of the event loop
 * it started in (1 is the first turn after they came) and the order in
 * which they started.
 */
async function startsOf(turns: RequestTurns, count: number): Promise<{ turns: number[]; order: number[] }> {
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const startedIn: number[] = [];
  const order: number[] = [];
  const started = Array.from({ length: count }, (_, index) =>
    turns.enter(false).then(() => {
      startedIn[index] = turn;
      order.push(index);
    }),
  );
  expect(order, 'nothing starts in the turn the requests came in').to.deep.equal([]);
  await Promise.all(started);
  ticking = false;
  return { turns: startedIn, order };
}

/** How many requests started in each turn that started any, in turn order. */
function batchSizes(startedIn: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const turn of startedIn) counts.set(turn, (counts.get(turn) ?? 0) + 1);
  return [...counts.keys()].sort((a, b) => a - b).map((turn) => counts.get(turn)!);
}

/**
 * One request on a new connection in each of `turnsWithNewConnections`
 * turns in a row (the clock moving `msPerTurn` a turn), as a client opening
 * its connections one accept per turn sends them; then none. Reports the
 * turn each started in (the first request came in turn 0).
 */
async function arrivals(turns: RequestTurns, clock: { ms: number }, turnsWithNewConnections: number, msPerTurn: number): Promise<number[]> {
  const startedIn: number[] = [];
  const started: Array<Promise<void>> = [];
  let turn = 0;
  const arrive = (index: number) =>
    started.push(
      turns.enter(true).then(() => {
        startedIn[index] = turn;
      }),
    );
  arrive(0);
  while (startedIn.filter((value) => value !== undefined).length < turnsWithNewConnections) {
    await nextTurn();
    turn += 1;
    clock.ms += msPerTurn;
    if (turn < turnsWithNewConnections) arrive(turn);
    if (turn > 10 * turnsWithNewConnections + 100) throw new Error('requests never started');
  }
  await Promise.all(started);
  return startedIn;
}

describe('RequestTurns', () => {
  it('starts the requests that came in one turn together in the next, in arrival order', async () => {
    const { turns } = turnsWith();
    const { turns: startedIn, order } = await startsOf(turns, MAX_BATCH);
    expect(order).to.deep.equal([...Array(MAX_BATCH).keys()]);
    expect(new Set(startedIn)).to.deep.equal(new Set([1]));
  });

  it('starts at most MAX_BATCH a turn, the rest in the turns right after, in arrival order', async () => {
    const { turns } = turnsWith();
    const count = 3 * MAX_BATCH + 4;
    const { turns: startedIn, order } = await startsOf(turns, count);
    expect(order).to.deep.equal([...Array(count).keys()]);
    expect(batchSizes(startedIn)).to.deep.equal([MAX_BATCH, MAX_BATCH, MAX_BATCH, 4]);
    expect([...new Set(startedIn)]).to.deep.equal([1, 2, 3, 4]);
  });

  it('holds the batch while new connections\' first requests keep coming turn after turn, and starts them all once a turn brings none', async () => {
    const { clock, turns } = turnsWith();
    // A batch of HOLD_AFTER_BATCH first: turns that long are what holding is for.
    await startsOf(turns, HOLD_AFTER_BATCH);
    // Twelve turns with a new connection each, the clock standing still: well within the hold.
    const startedIn = await arrivals(turns, clock, 12, 0);
    expect(new Set(startedIn).size, 'one batch').to.equal(1);
    expect(startedIn[0], 'after the last new connection came (turn 11), not before').to.be.greaterThan(11);
    expect(startedIn[0]).to.be.at.most(13);
  });

  it('holds a batch ACCEPT_HOLD_MS at most, however long new connections keep coming', async () => {
    const { clock, turns } = turnsWith(2);
    await startsOf(turns, HOLD_AFTER_BATCH);
    // A new connection every turn for 40 turns, 0.25 ms apart: 10 ms in all, against a 2 ms hold.
    const startedIn = await arrivals(turns, clock, 40, 0.25);
    expect(startedIn[0], 'the first request waited about 2 ms (8 turns), not 10').to.be.within(7, 10);
    const sizes = batchSizes(startedIn);
    expect(sizes.length, 'several batches while connections still came').to.be.at.least(4);
    expect(sizes.reduce((sum, size) => sum + size, 0)).to.equal(40);
  });

  it('does not hold after a batch of fewer than HOLD_AFTER_BATCH: a new connection\'s request starts in the turn it came in', async () => {
    const { clock, turns } = turnsWith();
    await startsOf(turns, HOLD_AFTER_BATCH - 1);
    const startedIn = await arrivals(turns, clock, 6, 0);
    // Each in the check phase of the turn it came in, none held for the next.
    expect(startedIn).to.deep.equal([0, 1, 2, 3, 4, 5]);
  });

  it('a request that comes while a batch runs starts in a later turn, after the batch', async () => {
    const { turns } = turnsWith();
    const order: string[] = [];
    await Promise.all([
      turns.enter(false).then(async () => {
        order.push('first');
        await turns.enter(false);
        order.push('came during the batch');
      }),
      turns.enter(false).then(() => {
        order.push('second');
      }),
    ]);
    expect(order).to.deep.equal(['first', 'second', 'came during the batch']);
  });
});
