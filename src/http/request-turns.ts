// Starts requests in arrival order with at most a short stretch of request work per turn of the event loop, so new connections are accepted and read while many requests are ready.

import { performance } from 'node:perf_hooks';
import type { Middleware } from 'koa';
import { TURN_BUDGET_MS } from '../event-loop-pacer.js';

/**
 * How long after a connection's first request the turns stay short: new
 * connections come in bursts (a client opening its pool), and once they are
 * all accepted the shortening has nothing left to do.
 */
export const NEW_CONNECTIONS_MS = 250;

/**
 * Decides when a request may start. A small request does all its work in
 * one go (the layer's I/O is inline), and Node accepts one new connection
 * per turn of the event loop; with 64 requests ready in one turn, that turn
 * ran them all, some 20 ms, and a client opening 64 connections waited over
 * a second for the last one to be accepted. So while new connections are
 * arriving, a turn starts requests for `budgetMs` at most, counted from the
 * first it starts: later ones wait, in the order they came, for the turns
 * after it (setImmediate), between which connections are accepted and
 * sockets read. The first request of a turn always starts, however long it
 * runs. Otherwise, and while nothing waits, a request starts at once: the
 * shortening costs CPU (more turns, each with its own system calls), which
 * a steady load of open connections does not need to pay.
 */
export class RequestTurns {
  /** When this turn's first request started; -1 until one does. */
  private started = -1;
  private waiting = 0;
  /** Until when turns are kept short: `NEW_CONNECTIONS_MS` after the last new connection's first request. */
  private shortUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly budgetMs = TURN_BUDGET_MS,
    /** The clock in milliseconds; a test passes its own. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Null when the request may start now; otherwise a promise that resolves
   * when it may. `newConnection`: the request is the first on its connection.
   */
  enter(newConnection: boolean): Promise<void> | null {
    const now = this.now();
    if (newConnection) this.shortUntil = now + NEW_CONNECTIONS_MS;
    if (this.waiting === 0 && (now >= this.shortUntil || this.hasTime(now))) return null;
    this.waiting += 1;
    return new Promise<void>((resolve) => setImmediate(() => this.admit(resolve)));
  }

  /**
   * Lets a waiting request start in this turn if it has time left (or turns
   * are no longer kept short), else in the next, behind those already
   * waiting. Under a steady load the queue would never empty if only the
   * budget let requests out, and every request would keep paying for it.
   */
  private admit(start: () => void): void {
    const now = this.now();
    if (now < this.shortUntil && !this.hasTime(now)) {
      setImmediate(() => this.admit(start));
      return;
    }
    this.waiting -= 1;
    // The request runs in the microtasks after this callback, before the next waiting one is looked at.
    start();
  }

  /** True while this turn has started requests for less than the budget; the first look of a turn starts its clock. */
  private hasTime(now: number): boolean {
    if (this.started < 0) {
      this.started = now;
      // Queued now, this runs before anything that comes to wait after it: the next stretch begins there.
      setImmediate(() => {
        this.started = -1;
      });
      return true;
    }
    return now - this.started < this.budgetMs;
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
    const wait = turns.enter(newConnection);
    return wait === null ? next() : wait.then(next);
  };
}
