// EventLoopPacer: which steps let the event loop turn, by count and by clock; sortInTurns: Array.sort's order, reached in turns.

import { expect } from 'chai';
import { EventLoopPacer, sortInTurns } from '../../src/event-loop-pacer.js';
import { countTurnsDuring } from '../helpers/event-loop.js';

/**
 * For each step, whose cost in ms the fake clock advances by before it is
 * taken: true when a callback queued with setImmediate just before it had
 * run by the time it resolved.
 */
async function turnsOf(every: number, budgetMs: number, costsMs: readonly number[]): Promise<boolean[]> {
  let clock = 0;
  const pacer = new EventLoopPacer(every, budgetMs, () => clock);
  const turned: boolean[] = [];
  for (const cost of costsMs) {
    clock += cost;
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    await pacer.step();
    turned.push(ran);
  }
  return turned;
}

const free = (steps: number) => Array.from({ length: steps }, () => 0);
const costing = (steps: number, ms: number) => Array.from({ length: steps }, () => ms);

describe('EventLoopPacer', () => {
  const cases: Array<[string, number, number, number[], number[]]> = [
    ['every step', 1, 1, free(3), [0, 1, 2]],
    ['every 4th of 12, steps that cost nothing', 4, 1, free(12), [3, 7, 11]],
    ['fewer steps than a batch, within the budget: never', 4, 1, costing(3, 0.1), []],
    ['every 64th of 200, steps that cost nothing', 64, 1, free(200), [63, 127, 191]],
    ['slow steps: the clock ends the batch before the count (regression: a batch of slow entries ran on)', 64, 1, costing(9, 0.4), [2, 5, 8]],
    ['one step past the budget turns at once', 64, 1, [5, 0, 0, 5], [0, 3]],
    ['the count and the clock together: whichever comes first', 4, 1, [0, 0, 0, 0, 0.6, 0.6, 0, 0], [3, 5]],
    ['by the clock alone (the default count)', Number.POSITIVE_INFINITY, 1, costing(12, 0.25), [3, 7, 11]],
  ];
  for (const [label, every, budgetMs, costs, expected] of cases) {
    it(`${label}: every ${every}, ${budgetMs} ms, steps of ${JSON.stringify([...new Set(costs)])} ms → turns at steps ${JSON.stringify(expected)}`, async () => {
      const turned = await turnsOf(every, budgetMs, costs);
      expect(turned.flatMap((ran, index) => (ran ? [index] : []))).to.deep.equal(expected);
    });
  }
});

/** `count` names in no order, some sharing long prefixes, as a big folder holds them. */
function shuffledNames(count: number): string[] {
  const names = Array.from({ length: count }, (_, index) => `e${index}.txt`);
  // A fixed shuffle (a linear congruential generator), so a failure repeats.
  let seed = 12345;
  for (let index = names.length - 1; index > 0; index -= 1) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const other = seed % (index + 1);
    [names[index], names[other]] = [names[other]!, names[index]!];
  }
  return names;
}

describe('sortInTurns', () => {
  const cases: Array<[string, string[]]> = [
    ['no names', []],
    ['one name', ['only']],
    ['a few names', ['b', 'a', 'C', 'c', 'B', 'A']],
    ['code-unit order: capitals first, then lower case, then non-ASCII', ['zeta', 'Zeta', 'élan', 'eta', 'Éta', '_x', '0']],
    ['code-unit order: an astral character (a surrogate pair) sorts below U+FFFF', ['\uFFFF', '😀', '\uE000', 'a']],
    ['a name and its prefixes', ['abc', 'ab', 'a', 'abcd', '']],
    ['exactly one run of 1,024', shuffledNames(1024)],
    ['one run and one name', shuffledNames(1025)],
    ['runs with a last one unpaired (5,000)', shuffledNames(5000)],
    ['in reverse order (3,000)', [...shuffledNames(3000)].sort().reverse()],
    ['already sorted (3,000)', [...shuffledNames(3000)].sort()],
    ['100,000 names (98 runs, 7 merges)', shuffledNames(100_000)],
  ];
  for (const [label, names] of cases) {
    it(`${label}: the order of Array.prototype.sort`, async () => {
      const expected = [...names].sort();
      expect(await sortInTurns([...names], new EventLoopPacer(8))).to.deep.equal(expected);
    });
  }

  it('lets the event loop turn while it sorts 100,000 names (regression: one sort() held it about 40 ms)', async () => {
    // A pacer of 8 steps that never looks at the clock: 98 runs sorted and 7 merge passes of 97 steps each.
    const { turns } = await countTurnsDuring(() => sortInTurns(shuffledNames(100_000), new EventLoopPacer(8, Number.POSITIVE_INFINITY)));
    expect(turns, 'turns of the event loop during the sort').to.be.at.least(90);
  });
});
