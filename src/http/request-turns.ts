// Starts requests in batches, one batch per turn of the event loop, in arrival order; held back for a moment while new connections are being accepted.

import { performance } from 'node:perf_hooks';
import type { Middleware } from 'koa';

/**
 * The most requests one batch starts, which bounds how long one turn of the
 * event loop runs (about 5-6 ms at 64) and how many requests are alive at
 * once. Measured at 64 connections, in interleaved pairs: batches of 64
 * took 81-95 µs of CPU a request against 89-107 for batches of 32, and
 * 10-20 MiB more RSS (docs/performance.md, "Heads in one pass, batches of
 * 64, and the log's output"). Smaller caps cost more: 16, 137-138 µs; 8,
 * 143-148 (an older build). The first measurements of unbounded batches
 * were worse, the heap growing, but those runs had the metrics' Set that
 * kept finished requests alive (src/slots.ts).
 */
export const MAX_BATCH = 64;

/** The longest a batch is held back while new connections are being accepted. */
export const ACCEPT_HOLD_MS = 2;

/**
 * A batch is held back for arriving connections only after one of this many
 * requests or more (about 1 ms of work): shorter turns let connections in
 * quickly enough, and when turns are long for another reason (archive walks,
 * each pacing itself), holding only adds a turn to every request's wait.
 */
export const HOLD_AFTER_BATCH = 8;

/**
 * Decides when requests start. A request waits for the check phase of the
 * turn of the event loop it came in (setImmediate), and the requests that
 * came in that turn start there, together, in arrival order, up to
 * `MAX_BATCH`; the rest in the turns right after.
 *
 * Why together: a small request does all its work in one go (the layer's
 * I/O is inline), and run one at a time, each ran through the whole request
 * path (the token check, Koa, the router, the open, the headers, the access
 * line) with the processor's caches full of the previous one's. Started
 * together, their promise chains interleave step by step, so each step's
 * code runs for all of them in a row: measured, the CPU per request fell by
 * half (docs/performance.md).
 *
 * Why held back while connections arrive: Node accepts one new connection
 * per turn of the event loop, so a client opening 64 connections at once
 * waits for 64 turns, and turns that each run a batch of requests (3-10 ms)
 * took over 250 ms to let the last one in. While connections' first
 * requests keep coming in, turn after turn, the batch waits instead: a turn
 * with no request to run takes some 50-100 µs, in which Node accepts the
 * next connection. The batch starts in the first turn that brings no new
 * connection's request, or once it has been held `ACCEPT_HOLD_MS`, so
 * requests wait no longer than that for connections still coming (clients
 * that open a connection for every request included). Holding pays only
 * when it is the batches that make turns long, so a batch is held only
 * after one of `HOLD_AFTER_BATCH` requests or more.
 */
export class RequestTurns {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;
  /** A connection's first request came in since the last turn looked: more connections may be waiting to be accepted. */
  private connectionsArriving = false;
  /** When the batch was first held back for arriving connections; -1 while it is not. */
  private heldSince = -1;
  /** How many requests the last batch started. */
  private lastBatchSize = 0;

  constructor(
    private readonly holdMs = ACCEPT_HOLD_MS,
    /** The clock in milliseconds; a test passes its own. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolves when the request may start. `newConnection`: the request is the first on its connection. */
  enter(newConnection: boolean): Promise<void> {
    if (newConnection) this.connectionsArriving = true;
    return new Promise<void>((start) => {
      this.waiting.push(start);
      if (!this.scheduled) this.schedule();
    });
  }

  private schedule(): void {
    this.scheduled = true;
    // Called from the check phase (a batch held or cut), this lands in the next turn, after Node has accepted and read.
    setImmediate(() => this.startBatch());
  }

  private startBatch(): void {
    this.scheduled = false;
    const arriving = this.connectionsArriving;
    this.connectionsArriving = false;
    if (arriving && this.lastBatchSize >= HOLD_AFTER_BATCH) {
      const now = this.now();
      if (this.heldSince < 0) this.heldSince = now;
      if (now - this.heldSince < this.holdMs) {
        this.schedule();
        return;
      }
    }
    this.heldSince = -1;
    const batch = this.waiting.splice(0, MAX_BATCH);
    this.lastBatchSize = batch.length;
    if (this.waiting.length > 0) this.schedule();
    for (const start of batch) start();
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
