// Starts requests in batches, once per turn of the event loop, in arrival order; while new connections arrive, few enough per turn that they are accepted and read meanwhile.

import { performance } from 'node:perf_hooks';
import type { Middleware } from 'koa';
import { TURN_BUDGET_MS } from '../event-loop-pacer.js';

/**
 * How long after a connection's first request the turns stay short: new
 * connections come in bursts (a client opening its pool), and once they are
 * all accepted the shortening has nothing left to do.
 */
export const NEW_CONNECTIONS_MS = 250;

/** What a request is taken to cost its turn before any batch has been measured. */
const FIRST_GUESS_MS = 0.1;

/** How much of the cost estimate one batch's figure replaces. */
const NEW_FIGURE_WEIGHT = 0.25;

/**
 * Decides when requests start. A request waits for the check phase of the
 * turn of the event loop it came in (setImmediate), and every request that
 * came in that turn starts there, together, in arrival order.
 *
 * Why together: a small request does all its work in one go (the layer's
 * I/O is inline), and run one at a time, each ran through the whole request
 * path (the token check, Koa, the router, the open, the headers, the access
 * line) with the processor's caches full of the previous one's. Started
 * together, their promise chains interleave step by step, so each step's
 * code runs for all of them in a row: measured, the CPU per request fell by
 * half (docs/performance.md).
 *
 * Why not too many while connections arrive: Node accepts one new connection
 * per turn, and a client opening 64 connections at once waited over a
 * second for the last to be accepted when turns ran every ready request
 * (about 20 ms each). So for `NEW_CONNECTIONS_MS` after a connection's first
 * request, a turn starts only as many requests as fit in `budgetMs`, going by
 * what the requests of recent turns cost (measured: the time from a batch's
 * start to the end of the work its requests did at once), and at least one;
 * the rest wait, in order, for the turns after it. Otherwise every waiting
 * request starts in the next turn.
 */
export class RequestTurns {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;
  /** Until when turns are kept short: `NEW_CONNECTIONS_MS` after the last new connection's first request. */
  private shortUntil = Number.NEGATIVE_INFINITY;
  /** What a started request costs its turn, in ms: an average over recent batches. */
  private perRequestMs = FIRST_GUESS_MS;
  private batchStarted = 0;
  private batchSize = 0;

  constructor(
    private readonly budgetMs = TURN_BUDGET_MS,
    /** The clock in milliseconds; a test passes its own. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolves when the request may start. `newConnection`: the request is the first on its connection. */
  enter(newConnection: boolean): Promise<void> {
    if (newConnection) this.shortUntil = this.now() + NEW_CONNECTIONS_MS;
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      if (!this.scheduled) this.schedule();
    });
  }

  /** The requests one batch starts now: every waiting one, or while turns are kept short, what fits the budget. */
  private batchLimit(now: number): number {
    if (now >= this.shortUntil) return this.waiting.length;
    return Math.max(1, Math.floor(this.budgetMs / this.perRequestMs));
  }

  private schedule(): void {
    this.scheduled = true;
    // Two callbacks of one check phase: Node runs the microtasks between them,
    // so the second sees the end of what the batch's requests did at once.
    setImmediate(() => this.startBatch());
    setImmediate(() => this.endBatch());
  }

  private startBatch(): void {
    this.batchStarted = this.now();
    const batch = this.waiting.splice(0, this.batchLimit(this.batchStarted));
    this.batchSize = batch.length;
    for (const start of batch) start();
  }

  private endBatch(): void {
    this.scheduled = false;
    if (this.batchSize > 0) {
      const figure = (this.now() - this.batchStarted) / this.batchSize;
      this.perRequestMs += NEW_FIGURE_WEIGHT * (figure - this.perRequestMs);
    }
    // Scheduled from the check phase, the rest start in the next turn, after Node has accepted and read.
    if (this.waiting.length > 0) this.schedule();
  }
}

/** Marks the sockets whose first request has been seen. */
const SEEN = Symbol('filegate.requestTurns.seen');

/** The middleware: each request passes `turns` before anything else runs for it. */
export function createRequestTurns(turns = new RequestTurns()): Middleware {
  return (ctx, next) => {
    const socket = ctx.req.socket as { [SEEN]?: true };
    const newConnection = socket[SEEN] === undefined;
    if (newConnection) socket[SEEN] = true;
    return turns.enter(newConnection).then(next);
  };
}
