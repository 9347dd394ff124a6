// V8's settings for a long-running server, set once at start, before any request has been compiled for.

import v8 from 'node:v8';

/**
 * TurboFan's budget of bytecode inlined into one optimised function: 230
 * bytes, a quarter of V8's default (920). A request crosses Node's HTTP and
 * stream code, Koa and filegate's steps; with the default budget V8 builds a
 * few large optimised functions of them, and each time connections open or
 * close in a way their code had not yet seen (a client's fresh connections),
 * those are thrown away and compiled again, on a compiler thread that shares
 * the server's core. Measured here (1 KB and `Range: bytes=0-1023`, 64
 * connections, the server on one core): compiler time in the first second on
 * fresh connections 40-81 ms against 85-222, p99 8-10 ms against 9-12, the
 * steady state 2-6% slower (p50). docs/decisions.md, "V8's inlining budget".
 */
export const INLINE_BUDGET_BYTES = 230;

const FLAG = '--max-inlined-bytecode-size-cumulative';

/**
 * The V8 flag filegate sets at start, or null when the command line already
 * sets it (an operator's own `node --max-inlined-bytecode-size-cumulative=N`
 * is kept; V8 accepts the name with `-` or `_`).
 */
export function inlineBudgetFlag(execArgv: readonly string[]): string | null {
  const given = execArgv.some((arg) => {
    const name = arg.split('=', 1)[0]!.replaceAll('_', '-');
    return name === FLAG;
  });
  return given ? null : `${FLAG}=${INLINE_BUDGET_BYTES}`;
}

/** Sets the flags `inlineBudgetFlag` decides for this process; returns those it set, for the start-up log line. */
export function tuneV8(): string[] {
  const flag = inlineBudgetFlag(process.execArgv);
  if (flag === null) return [];
  v8.setFlagsFromString(flag);
  return [flag];
}
