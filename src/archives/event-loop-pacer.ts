// Lets other requests run during a long loop of synchronous work: one turn of the event loop every so many steps.

/**
 * Paces a loop whose steps make synchronous calls (the layer's inline I/O:
 * each open, fstat or read is a system call made on the event loop, and an
 * `await` on it never lets another callback run). `step()` resolves at once,
 * except every `every` steps, when it waits for one turn of the event loop
 * (setImmediate: after pending I/O callbacks, so a waiting request is read
 * and answered), as an inline layer's folder listing does between batches.
 */
export class EventLoopPacer {
  private steps = 0;

  constructor(private readonly every: number) {}

  /** Counts one step; every `every` steps, waits for a turn of the event loop. */
  async step(): Promise<void> {
    this.steps += 1;
    if (this.steps < this.every) return;
    this.steps = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
