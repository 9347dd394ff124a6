// EventLoopPacer: which steps let the event loop turn.

import { expect } from 'chai';
import { EventLoopPacer } from '../../src/archives/event-loop-pacer.js';

/** For each of `steps` steps: true when a callback queued with setImmediate just before it had run by the time it resolved. */
async function turnsOf(every: number, steps: number): Promise<boolean[]> {
  const pacer = new EventLoopPacer(every);
  const turned: boolean[] = [];
  for (let index = 0; index < steps; index += 1) {
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    await pacer.step();
    turned.push(ran);
  }
  return turned;
}

describe('EventLoopPacer', () => {
  const cases: Array<[string, number, number, number[]]> = [
    ['every step', 1, 3, [0, 1, 2]],
    ['every 4th of 12', 4, 12, [3, 7, 11]],
    ['fewer steps than a batch: never', 4, 3, []],
    ['every 64th of 200', 64, 200, [63, 127, 191]],
  ];
  for (const [label, every, steps, expected] of cases) {
    it(`${label}: every ${every}, ${steps} steps → turns at steps ${JSON.stringify(expected)}`, async () => {
      const turned = await turnsOf(every, steps);
      expect(turned.flatMap((ran, index) => (ran ? [index] : []))).to.deep.equal(expected);
    });
  }
});
