// GET /metrics on the main port: the app's figures in the Prometheus text format, with no token (they name no file, path or subject).

import type { Middleware } from 'koa';
import { collectExposition, type Metrics } from '../http/metrics.js';

/** The metrics handler: the registry's exposition, never cached. */
export function createMetricsRoute(metrics: Metrics): Middleware {
  return async (ctx) => {
    const { headers, text } = await collectExposition(metrics);
    ctx.set(headers);
    ctx.body = text;
  };
}
