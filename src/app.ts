// Builds the Koa application from a validated config: the one factory tests and main both use.

import Router from '@koa/router';
import Koa from 'koa';
import { createAuthenticate } from './auth/authenticate.js';
import { createTokenVerifier } from './auth/verify-token.js';
import type { Config } from './config/schema.js';
import { fail } from './errors.js';
import { createObserve } from './http/observe.js';
import { createLayers, type Layers } from './layers/create-layers.js';
import type { Logger } from './logger.js';
import { createArchiveRoute } from './routes/archive.js';
import { createDownloadRoute } from './routes/download.js';
import { createReadyz, healthz } from './routes/health.js';

const CLIENT_ABORTS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function isClientAbort(error: unknown): boolean {
  return CLIENT_ABORTS.has((error as { code?: string } | null)?.code ?? '');
}

export interface FilegateApp {
  readonly koa: Koa;
  readonly layers: Layers;
  /** Marks the service as draining: readiness turns 503 and responses close their connections. */
  startDraining(): void;
  isDraining(): boolean;
}

export interface AppDependencies {
  logger: Logger;
}

/** Creates the application: layers resolved, keys loaded, routes mounted. */
export async function createApp(config: Config, { logger }: AppDependencies): Promise<FilegateApp> {
  const layers = await createLayers(config);
  const verify = await createTokenVerifier(config.auth);
  const authenticate = createAuthenticate(verify, { allowQueryToken: config.auth.allowQueryToken });
  let draining = false;

  const router = new Router();
  router.get('/healthz', healthz);
  router.get('/readyz', createReadyz(layers, () => draining));
  router.get('/api/download', authenticate, createDownloadRoute(layers, config));
  const archive = createArchiveRoute(layers, config, logger);
  router.get('/api/archive', authenticate, archive);
  router.post('/api/archive', authenticate, archive);

  const koa = new Koa();
  koa.silent = true;
  koa.on('error', (error: unknown) => {
    // A client that went away mid-response is routine; the access line records it as aborted.
    if (isClientAbort(error)) return;
    logger.error({ err: error }, 'response failed');
  });
  koa.use(createObserve(logger));
  koa.use(async (ctx, next) => {
    if (draining) ctx.set('Connection', 'close');
    await next();
    // What the router left unanswered: a known path with another method, or no route at all.
    if (ctx.status === 405) {
      fail('METHOD_NOT_ALLOWED', `${ctx.method} is not served on ${ctx.path}`, { headers: { Allow: String(ctx.response.get('Allow')) } });
    }
    if (ctx.status === 404 && ctx.body == null && ctx.respond !== false) fail('NOT_FOUND', `no route ${ctx.method} ${ctx.path}`);
  });
  koa.use(router.routes());
  koa.use(router.allowedMethods());

  return {
    koa,
    layers,
    startDraining: () => {
      draining = true;
    },
    isDraining: () => draining,
  };
}
