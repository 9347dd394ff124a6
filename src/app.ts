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
import { OsLayer } from './layers/os-layer.js';
import { PackageService } from './packages/package-service.js';
import { PackageStore } from './packages/package-store.js';
import { createArchiveRoute } from './routes/archive.js';
import { createPackageDownloadRoute, createPackageRoute, createPackageStatusRoute } from './routes/packages.js';
import { newBoundary } from './transfer/send-transfer.js';
import { createDownloadRoute } from './routes/download.js';
import { createReadyz, healthz } from './routes/health.js';

const CLIENT_ABORTS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function isClientAbort(error: unknown): boolean {
  return CLIENT_ABORTS.has((error as { code?: string } | null)?.code ?? '');
}

export interface FilegateApp {
  readonly koa: Koa;
  readonly layers: Layers;
  readonly packages: PackageService;
  /** Marks the service as draining: readiness turns 503 and responses close their connections. */
  startDraining(): void;
  /** Stops background work (package housekeeping); builds in flight finish on their own. */
  stop(): void;
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

  const packageStore = new PackageStore(config.packages.dir);
  const packages = new PackageService(
    packageStore,
    layers,
    {
      retentionMs: config.packages.retention,
      maxConcurrent: config.packages.maxConcurrent,
      heartbeatMs: config.packages.heartbeat,
      sweepIntervalMs: config.packages.sweepInterval,
      limits: config.archive,
      archive: { zipCompression: config.archive.zipCompression, gzipLevel: config.archive.gzipLevel },
    },
    logger,
  );
  await packages.start();
  // The built archives are served as files through the same transfer code: Range, ETag, HEAD.
  const packageFiles = new OsLayer(
    'packages',
    { driver: 'os', root: config.packages.dir, maxFileSize: Number.MAX_SAFE_INTEGER, allowEmpty: true, hidden: 'allow', symlinks: 'deny', io: 'inline' },
    { readSize: config.transfer.readSize, pool: layers.pool },
  );
  await packageFiles.init();
  const transferOptions = { cacheControl: config.transfer.cacheControl, maxRanges: config.transfer.maxRanges, newBoundary };

  const router = new Router();
  router.get('/healthz', healthz);
  router.get('/readyz', createReadyz(layers, () => draining));
  router.get('/api/download', authenticate, createDownloadRoute(layers, transferOptions));
  const archive = createArchiveRoute(layers, config, logger);
  router.get('/api/archive', authenticate, archive);
  router.post('/api/archive', authenticate, archive);
  router.post('/api/packages', authenticate, createPackageRoute(layers, packages));
  router.get('/api/packages/:id', authenticate, createPackageStatusRoute(packages));
  router.get('/api/packages/:id/download', authenticate, createPackageDownloadRoute(packages, packageFiles, transferOptions));

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
    packages,
    stop: () => packages.stop(),
    startDraining: () => {
      draining = true;
    },
    isDraining: () => draining,
  };
}
