// Lets other requests run during long synchronous work: a turn of the event loop every so many steps or so much time, and a sort paced the same way.

import { performance } from 'node:perf_hooks';

/**
 * The longest stretch of synchronous work between two turns, whatever the
 * step count. Every paced loop runs one stretch per turn of the event loop,
 * and a request is answered over two or three turns: with eight archives
 * walking at once, half a millisecond each keeps a turn near 4 ms (and a
 * request's wait near 10 ms, GC pauses aside), against the SPEC's 100 ms.
 */
export const TURN_BUDGET_MS = 0.5;

/**
 * Paces a loop whose steps make synchronous calls (the layer's inline I/O:
 * each open, fstat or read is a system call made on the event loop, and an
 * `await` on it never lets another callback run). `step()` resolves at once,
 * except after `every` steps or once `budgetMs` have passed since the last
 * turn, whichever comes first, when it waits for one turn of the event loop
 * (setImmediate: after pending I/O callbacks, so a waiting request is read
 * and answered). The count bounds the work of a turn where steps are cheap;
 * the clock bounds it where they are not (a cold disk, a busy core, a
 * costly step), which a count alone let run on.
 */
export class EventLoopPacer {
  private steps = 0;
  private since: number;

  constructor(
    /** Steps between two turns at most; by default only the clock decides. */
    private readonly every = Number.POSITIVE_INFINITY,
    private readonly budgetMs = TURN_BUDGET_MS,
    /** The clock in milliseconds; a test passes its own. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.since = now();
  }

  /** Counts one step; after `every` steps or `budgetMs` of work, waits for a turn of the event loop. */
  async step(): Promise<void> {
    this.steps += 1;
    if (this.steps < this.every && this.now() - this.since < this.budgetMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.steps = 0;
    this.since = this.now();
  }
}

// Names sorted at once, then merged SORT_RUN at a time between steps of the
// pacer: a fraction of a millisecond each.
const SORT_RUN = 1024;

/**
 * `values` in the order `Array.prototype.sort` gives strings (UTF-16 code
 * units), sorted in place or into a copy (use the result), with turns of the
 * event loop as `pacer` decides. A bottom-up merge sort: runs of `SORT_RUN`
 * values sorted at once, then neighbouring runs merged, widths doubling,
 * from one array into the other. One `sort()` of 100,000 names held the
 * event loop about 40 ms on the bench machine, and eight archives of such a
 * folder lined up eight of them.
 */
export async function sortInTurns(values: string[], pacer: EventLoopPacer): Promise<string[]> {
  for (let start = 0; start < values.length; start += SORT_RUN) {
    const run = values.slice(start, start + SORT_RUN).sort();
    for (let index = 0; index < run.length; index += 1) values[start + index] = run[index]!;
    await pacer.step();
  }
  let [from, to] = [values, values.slice()];
  for (let width = SORT_RUN; width < values.length; width *= 2) {
    for (let start = 0; start < values.length; start += 2 * width) {
      const middle = Math.min(start + width, values.length);
      const end = Math.min(start + 2 * width, values.length);
      let [left, right] = [start, middle];
      for (let at = start; at < end; at += 1) {
        to[at] = right === end || (left < middle && from[left]! < from[right]!) ? from[left++]! : from[right++]!;
        if ((at + 1) % SORT_RUN === 0) await pacer.step();
      }
    }
    [from, to] = [to, from];
  }
  return from;
}
