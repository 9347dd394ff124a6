// Liveness and readiness probes.

import type { Middleware } from 'koa';
import { fail } from '../errors.js';
import type { Layers } from '../layers/create-layers.js';

/** GET /healthz: the process is up and answering. */
export const healthz: Middleware = (ctx) => {
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { status: 'ok' };
};

/** GET /readyz: 200 while every layer root can be reached and the service is not draining, else 503. */
export function createReadyz(layers: Layers, isDraining: () => boolean): Middleware {
  return async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (isDraining()) fail('UNAVAILABLE', 'the service is shutting down', { headers: { 'Retry-After': '5' } });
    const names = [...layers.byName.keys()];
    const reachable = await Promise.all([...layers.byName.values()].map((layer) => layer.isReachable()));
    const down = names.filter((_, index) => !reachable[index]);
    if (down.length > 0) {
      fail('UNAVAILABLE', `layer ${down.map((name) => `"${name}"`).join(', ')} cannot be reached`, { headers: { 'Retry-After': '5' } });
    }
    ctx.body = { status: 'ready', layers: names };
  };
}
