// Per-subject limits: a request rate per window, and caps on transfers and on listings running at once; all answer 429.

import type { Context, Middleware } from 'koa';
import { principalOf } from '../auth/authenticate.js';
import type { Config } from '../config/schema.js';
import { fail } from '../errors.js';

/**
 * Who a limit counts against: a signed URL's link (its key id and
 * signature), a token's subject, or for a token without `sub` the client
 * address. A link counts apart from its signer's subject and from every
 * other link, so readers of one link never hold back the holders of another
 * behind the same proxy or NAT, and a link handed around is bounded wherever
 * it is fetched from.
 */
export function limitKeyOf(ctx: Context): string {
  const principal = principalOf(ctx);
  if (principal.link !== undefined) return `link ${principal.link}`;
  return principal.subject === null ? `address ${ctx.ip}` : `subject ${principal.subject}`;
}

interface Window {
  start: number;
  count: number;
}

/**
 * A fixed-window request counter per key: `requests` per `windowMs`. Every
 * answer carries the RateLimit and RateLimit-Policy headers of the IETF
 * draft (draft-ietf-httpapi-ratelimit-headers: quota `q`, window `w`,
 * remaining `r`, seconds to reset `t`); past the quota it is 429 with
 * Retry-After. Null when `requests` is 0 (off).
 */
export function createRateLimit(limits: Config['limits'], now: () => number = Date.now): Middleware | null {
  const { requests, window: windowMs } = limits.rate;
  if (requests === 0) return null;
  const windows = new Map<string, Window>();
  const seconds = Math.ceil(windowMs / 1000);
  const policy = `"per-subject";q=${requests};w=${seconds}`;
  let lastSweep = now();
  return async (ctx, next) => {
    const at = now();
    // Forget the windows that ended, at most once a window: the map stays the size of the recent clients.
    if (at - lastSweep >= windowMs) {
      for (const [key, window] of windows) if (at - window.start >= windowMs) windows.delete(key);
      lastSweep = at;
    }
    const key = limitKeyOf(ctx);
    let window = windows.get(key);
    if (window === undefined || at - window.start >= windowMs) {
      window = { start: at, count: 0 };
      windows.set(key, window);
    }
    const reset = Math.max(1, Math.ceil((window.start + windowMs - at) / 1000));
    if (window.count >= requests) {
      fail('RATE_LIMITED', `more than ${requests} requests in ${seconds} s; retry in ${reset} s`, {
        headers: { 'Retry-After': String(reset), 'RateLimit-Policy': policy, RateLimit: `"per-subject";r=0;t=${reset}` },
      });
    }
    window.count += 1;
    ctx.set('RateLimit-Policy', policy);
    ctx.set('RateLimit', `"per-subject";r=${requests - window.count};t=${reset}`);
    await next();
  };
}

/** What a concurrency cap counts: transfers (downloads, archives, package downloads) or listings, each with slots of its own. */
export type ConcurrencyKind = 'transfers' | 'listings';

// The RateLimit-Policy name of each cap (draft-ietf-httpapi-ratelimit-headers), so a client can tell which it hit.
const POLICY_NAMES: Record<ConcurrencyKind, string> = { transfers: 'concurrent', listings: 'concurrent-listings' };

/**
 * A cap on the `kind` of request one key has running at once; each cap made
 * counts apart, so a file browser's thumbnails (downloads) never use up its
 * listing slots, nor the other way round. A slot is held from the start of
 * the request until its response closes (a streamed body outlives the
 * middleware chain), and released exactly once. Past the cap it is 429 with
 * Retry-After. Null when `concurrentPerSubject` is 0 (off).
 */
export function createConcurrencyLimit(limits: Config['limits'], kind: ConcurrencyKind): Middleware | null {
  const cap = limits.concurrentPerSubject;
  if (cap === 0) return null;
  const running = new Map<string, number>();
  const name = POLICY_NAMES[kind];
  const policy = `"${name}";q=${cap}`;
  return async (ctx, next) => {
    const key = limitKeyOf(ctx);
    const count = running.get(key) ?? 0;
    if (count >= cap) {
      fail('RATE_LIMITED', `${cap} ${kind} are already running for this client; retry when one has finished`, {
        headers: { 'Retry-After': '1', 'RateLimit-Policy': policy, RateLimit: `"${name}";r=0;t=1` },
      });
    }
    running.set(key, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (running.get(key) ?? 1) - 1;
      if (left === 0) running.delete(key);
      else running.set(key, left);
    };
    // Every response closes, finished or cut: the one moment a streamed body is surely over.
    ctx.res.once('close', release);
    await next();
  };
}
