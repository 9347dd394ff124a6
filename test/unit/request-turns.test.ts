// RequestTurns: requests start in batches, one per turn of the event loop, in arrival order; while new connections arrive, batches are cut to the budget by what requests have cost.

import { expect } from 'chai';
import { NEW_CONNECTIONS_MS, RequestTurns } from '../../src/http/request-turns.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A fake clock, and `RequestTurns` reading it. */
function turnsWith(budgetMs: number, startAt = 0) {
  const clock = { ms: startAt };
  return { clock, turns: new RequestTurns(budgetMs, () => clock.ms) };
}

/**
 * Sends `costsMs.length` requests into `turns` in one synchronous stretch
 * (the first as a new connection's when `firstIsNew`), each costing its
 * figure of the fake clock when it starts, and reports for each the turn of
 * the event loop it started in (1 is the first turn after they came) and the
 * order in which they started.
 */
async function startsOf(
  turns: RequestTurns,
  clock: { ms: number },
  costsMs: readonly number[],
  firstIsNew: boolean,
): Promise<{ turns: number[]; order: number[] }> {
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const startedIn: number[] = [];
  const order: number[] = [];
  const started = costsMs.map((cost, index) =>
    turns.enter(firstIsNew && index === 0).then(() => {
      startedIn[index] = turn;
      order.push(index);
      clock.ms += cost;
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

describe('RequestTurns', () => {
  it('starts every request that came in one turn together in the next, in arrival order, when no new connection came lately', async () => {
    const { clock, turns } = turnsWith(0.5, 10_000);
    const { turns: startedIn, order } = await startsOf(turns, clock, Array<number>(40).fill(0.3), false);
    expect(order).to.deep.equal([...Array(40).keys()]);
    expect(new Set(startedIn)).to.deep.equal(new Set([1]));
  });

  it('while new connections arrive, starts per turn as many as fit the budget by what requests have cost, in arrival order', async () => {
    const { clock, turns } = turnsWith(0.5);
    // Each costs 0.2 ms: the first batch goes by the first guess, later ones learn the cost and settle at 2 (0.4 ms).
    const { turns: startedIn, order } = await startsOf(turns, clock, Array<number>(40).fill(0.2), true);
    expect(order).to.deep.equal([...Array(40).keys()]);
    const sizes = batchSizes(startedIn);
    expect(sizes[0], 'the first batch, by the first guess (0.1 ms a request)').to.equal(5);
    for (let index = 1; index < sizes.length; index += 1) expect(sizes[index]).to.be.at.most(sizes[index - 1]!);
    expect(sizes.slice(-4, -1), 'learnt: 0.5 ms holds two of 0.2 ms').to.deep.equal([2, 2, 2]);
    // One batch per turn: every turn from the first to the last started some.
    expect(new Set(startedIn).size).to.equal(Math.max(...startedIn) - Math.min(...startedIn) + 1);
  });

  it('always starts one request a turn, however long requests take', async () => {
    const { clock, turns } = turnsWith(0.5);
    const { turns: startedIn, order } = await startsOf(turns, clock, Array<number>(12).fill(5), true);
    expect(order).to.deep.equal([...Array(12).keys()]);
    expect(batchSizes(startedIn).slice(-6)).to.deep.equal([1, 1, 1, 1, 1, 1]);
  });

  it('keeps turns short only within NEW_CONNECTIONS_MS of the last new connection', async () => {
    const { clock, turns } = turnsWith(0.5);
    // Teach it that requests cost 1 ms: while turns are short, one a turn.
    await startsOf(turns, clock, Array<number>(10).fill(1), true);
    clock.ms = NEW_CONNECTIONS_MS - 20;
    expect(batchSizes((await startsOf(turns, clock, [1, 1, 1], false)).turns)).to.deep.equal([1, 1, 1]);
    clock.ms = NEW_CONNECTIONS_MS + 1;
    expect(batchSizes((await startsOf(turns, clock, [1, 1, 1], false)).turns)).to.deep.equal([3]);
    // A new connection's first request shortens them again.
    expect(batchSizes((await startsOf(turns, clock, [1, 1, 1], true)).turns)).to.deep.equal([1, 1, 1]);
  });

  it('empties its queue in one turn once turns are no longer kept short (a steady load must not keep paying for a queue)', async () => {
    const { clock, turns } = turnsWith(0.5);
    await startsOf(turns, clock, Array<number>(10).fill(2), true);
    // A queue formed while new connections came in: thirty requests of 2 ms, one a turn.
    let started = 0;
    const queued = Array.from({ length: 30 }, () =>
      turns.enter(false).then(() => {
        started += 1;
        clock.ms += 2;
      }),
    );
    await nextTurn();
    await nextTurn();
    expect(started).to.be.at.most(2);
    clock.ms += NEW_CONNECTIONS_MS;
    await nextTurn();
    await nextTurn();
    expect(started, 'all the rest in the first turn after the shortening ended').to.equal(30);
    await Promise.all(queued);
  });

  it('a request that comes while a batch runs starts in a later turn, after the batch', async () => {
    const { clock, turns } = turnsWith(0.5, 10_000);
    const order: string[] = [];
    await Promise.all([
      turns.enter(false).then(async () => {
        order.push('first');
        await turns.enter(false);
        order.push('came during the batch');
      }),
      turns.enter(false).then(() => {
        order.push('second');
        clock.ms += 0.1;
      }),
    ]);
    expect(order).to.deep.equal(['first', 'second', 'came during the batch']);
  });
});
