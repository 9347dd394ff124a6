// RequestTurns: which requests start at once, which wait for a later turn of the event loop, and in what order.

import { expect } from 'chai';
import { NEW_CONNECTIONS_MS, RequestTurns } from '../../src/http/request-turns.js';

/**
 * Sends requests into `turns` one after another in one synchronous stretch,
 * each costing `costMs` of the fake clock when it starts, and reports for
 * each the turn of the event loop it started in (0: at once) and the order
 * in which they started.
 */
async function startsOf(budgetMs: number, costsMs: readonly number[]): Promise<{ turns: number[]; order: number[] }> {
  let clock = 0;
  const turns = new RequestTurns(budgetMs, () => clock);
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const startedIn: number[] = [];
  const order: number[] = [];
  const started = costsMs.map((cost, index) => {
    const start = () => {
      startedIn[index] = turn;
      order.push(index);
      clock += cost;
    };
    const wait = turns.enter(true);
    if (wait === null) {
      start();
      return Promise.resolve();
    }
    return wait.then(start);
  });
  await Promise.all(started);
  ticking = false;
  return { turns: startedIn, order };
}

describe('RequestTurns', () => {
  it('starts requests at once while the turn has time, then one stretch of the budget per later turn, in arrival order', async () => {
    const { turns, order } = await startsOf(0.5, [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]);
    expect(order).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    // 0.2 + 0.2 fit in 0.5 ms; the third would start at 0.4 (in time), the fourth at 0.6 (too late).
    expect(turns.slice(0, 3)).to.deep.equal([0, 0, 0]);
    // Later turns: three starts each (0, 0.2, 0.4 ms into the stretch), each stretch a turn after the last.
    expect(turns[3]).to.be.greaterThan(0);
    expect(turns[4]).to.equal(turns[3]);
    expect(turns[5]).to.equal(turns[3]);
    expect(turns[6]).to.be.greaterThan(turns[5]!);
  });

  it('always starts the first request of a turn, however long the one before it ran', async () => {
    const { turns, order } = await startsOf(0.5, [5, 5, 5]);
    expect(order).to.deep.equal([0, 1, 2]);
    expect(turns[0]).to.equal(0);
    expect(turns[1]).to.be.greaterThan(0);
    expect(turns[2]).to.be.greaterThan(turns[1]!);
  });

  it('lets a request start at once when nothing waits and the turn has time (no promise)', () => {
    let clock = 0;
    const turns = new RequestTurns(1, () => clock);
    expect(turns.enter(true)).to.equal(null);
    clock += 0.5;
    expect(turns.enter(false)).to.equal(null);
    clock += 0.6;
    const wait = turns.enter(false);
    expect(wait).to.be.instanceOf(Promise);
    // Behind a waiting request, even a turn with time left makes the next one wait too (arrival order).
    clock = 0;
    expect(turns.enter(false)).to.be.instanceOf(Promise);
  });

  it('starts the requests of a new turn at once again once nothing waits', async () => {
    let clock = 0;
    const turns = new RequestTurns(1, () => clock);
    expect(turns.enter(true)).to.equal(null);
    clock += 2;
    await turns.enter(false);
    clock += 0.1;
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(turns.enter(false)).to.equal(null);
  });

  it('keeps turns short only within NEW_CONNECTIONS_MS of a new connection: a steady load of open connections starts at once', () => {
    let clock = 1000;
    const turns = new RequestTurns(1, () => clock);
    // No new connection: past the budget, requests still start at once.
    for (let index = 0; index < 5; index += 1) {
      expect(turns.enter(false)).to.equal(null);
      clock += 2;
    }
    // A new connection's first request: the turn's budget applies from here.
    expect(turns.enter(true)).to.equal(null);
    clock += 2;
    expect(turns.enter(false)).to.be.instanceOf(Promise);
  });

  it('stops shortening turns NEW_CONNECTIONS_MS after the last new connection', async () => {
    let clock = 0;
    const turns = new RequestTurns(1, () => clock);
    expect(turns.enter(true)).to.equal(null);
    clock += 2;
    await turns.enter(false);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    clock = NEW_CONNECTIONS_MS - 10;
    expect(turns.enter(false)).to.equal(null);
    clock += 2;
    expect(turns.enter(false)).to.be.instanceOf(Promise);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    clock = NEW_CONNECTIONS_MS + 10;
    expect(turns.enter(false)).to.equal(null);
    clock += 2;
    expect(turns.enter(false)).to.equal(null);
  });
});

describe('RequestTurns under a steady load', () => {
  it('empties its queue once turns are no longer kept short, so later requests start at once again', async () => {
    let clock = 0;
    const turns = new RequestTurns(1, () => clock);
    expect(turns.enter(true)).to.equal(null);
    clock += 2;
    // A queue formed while new connections came in: ten requests, each costing 2 ms when it starts.
    const queued = Array.from({ length: 10 }, () => turns.enter(false)!.then(() => {
      clock += 2;
    }));
    clock = NEW_CONNECTIONS_MS + 1;
    let turnsTaken = 0;
    let done = false;
    void Promise.all(queued).then(() => {
      done = true;
    });
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      turnsTaken += 1;
    }
    // All ten in the first turns after the shortening ended, not one per turn.
    expect(turnsTaken).to.be.at.most(3);
    expect(turns.enter(false)).to.equal(null);
  });
});
