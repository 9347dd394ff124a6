// Builds the Koa application from a validated config: the one factory tests and main both use.

import Router from '@koa/router';
import Koa from 'koa';
import { compileRouteAliases } from './aliases/alias-rules.js';
import { mountRouteAliases } from './aliases/mount-route-aliases.js';
import { createAuthenticate, createAuthenticateOrSigned } from './auth/authenticate.js';
import { createTokenVerifier } from './auth/verify-token.js';
import type { Config } from './config/schema.js';
import { fail } from './errors.js';
import { createCors } from './http/cors.js';
import { createHostCheck, originOf } from './http/host.js';
import { createConcurrencyLimit, createRateLimit } from './http/limits.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { createObserve } from './http/observe.js';
import { createRequestTurns } from './http/request-turns.js';
import { createOpenApiDocument, createOpenApiRoute } from './http/openapi.js';
import { createLayers, type Layers } from './layers/create-layers.js';
import type { Logger } from './logger.js';
import { PackageService } from './packages/package-service.js';
import { FolderPackageStore, type PackageStore } from './packages/package-store.js';
import { ObjectPackageStore } from './packages/object-package-store.js';
import { createArchiveRoute } from './routes/archive.js';
import { createAccessRoute } from './routes/access.js';
import { mountBrowsePage } from './routes/browse.js';
import { createSignArchiveRoute } from './routes/sign-archive.js';
import { createSignBatchRoute } from './routes/sign-batch.js';
import { createAuthenticateArchiveLink } from './auth/authenticate-archive-link.js';
import { createPackageDownloadRoute, createPackageRoute, createPackageStatusRoute, createPackageUrlSigner } from './routes/packages.js';
import { newBoundary } from './transfer/send-transfer.js';
import { createDownloadRoute } from './routes/download.js';
import { createReadyz, healthz } from './routes/health.js';
import { createListingOptions, createListRoute, serveListing } from './routes/list.js';
import { createMetricsRoute } from './routes/metrics.js';
import { createSignRoute, type BaseUrlOf } from './routes/sign.js';
import { UrlSigner } from './signing/url-signer.js';

const CLIENT_ABORTS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function isClientAbort(error: unknown): boolean {
  return CLIENT_ABORTS.has((error as { code?: string } | null)?.code ?? '');
}

export interface FilegateApp {
  readonly koa: Koa;
  readonly layers: Layers;
  readonly packages: PackageService;
  /** The app's own registry and recorders; the separate listener of `metrics.port` serves them. */
  readonly metrics: Metrics;
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
  const authOptions = { allowQueryToken: config.auth.allowQueryToken };
  const authenticate = createAuthenticate(verify, authOptions);
  const signer = new UrlSigner(config.signing);
  // The two routes a signed URL may reach; every other route needs a token.
  const authenticateDownload = createAuthenticateOrSigned(verify, authOptions, signer, 'files:read');
  const authenticatePackageDownload = createAuthenticateOrSigned(verify, authOptions, signer, 'files:archive');
  const baseUrl = config.signing.baseUrl?.replace(/\/$/, '') ?? null;
  // The origin of signed URLs and package links: signing.baseUrl, else the request's checked Host (createHostCheck).
  const baseUrlOf: BaseUrlOf = (ctx) => originOf(baseUrl, ctx);
  // Limits count per subject, so they run after authentication; transfers and listings also take a
  // concurrency slot, each kind from slots of its own.
  const limited = [createRateLimit(config.limits)].filter((middleware) => middleware !== null);
  const transfer = [...limited, createConcurrencyLimit(config.limits, 'transfers')].filter((middleware) => middleware !== null);
  const listed = [...limited, createConcurrencyLimit(config.limits, 'listings')].filter((middleware) => middleware !== null);
  let draining = false;
  const metrics = createMetrics();

  // The spool every replica shares: a bucket when packages.store names one, else the folder packages.dir.
  const packageStore: PackageStore = config.packages.store === null
    ? new FolderPackageStore(config.packages.dir, { readSize: config.transfer.readSize, pool: layers.pool })
    : new ObjectPackageStore(config.packages.store);
  const packages = new PackageService(
    packageStore,
    layers,
    {
      retentionMs: config.packages.retention,
      maxConcurrent: config.packages.maxConcurrent,
      heartbeatMs: config.packages.heartbeat,
      sweepIntervalMs: config.packages.sweepInterval,
      maxPerSubject: config.packages.maxPerSubject,
      maxBytesPerSubject: config.packages.maxBytesPerSubject,
      maxQueued: config.packages.maxQueued,
      limits: config.archive,
      archive: { zipCompression: config.archive.zipCompression, gzipLevel: config.archive.gzipLevel },
    },
    logger,
    metrics,
  );
  await packages.start();
  // The built archives are served as files through the same transfer code: Range, ETag, HEAD.
  const packageFiles = packageStore.archives;
  const transferOptions = { cacheControl: config.transfer.cacheControl, maxRanges: config.transfer.maxRanges, newBoundary };

  const router = new Router();
  router.get('/healthz', healthz);
  router.get('/readyz', createReadyz(layers, () => draining));
  // With a port of its own (served by the server), /metrics is not on the main port.
  if (config.metrics.port === null) router.get('/metrics', createMetricsRoute(metrics));
  router.get('/openapi.json', createOpenApiRoute(createOpenApiDocument(config)));
  router.get('/api/download', authenticateDownload, ...transfer, createDownloadRoute(layers, transferOptions));
  const archive = createArchiveRoute(layers, config, logger);
  // A signed archive link (POST /api/sign/archive) reaches GET /api/archive without a token.
  router.get('/api/archive', createAuthenticateArchiveLink(verify, authOptions, signer), ...transfer, archive);
  router.post('/api/archive', authenticate, ...transfer, archive);
  router.post('/api/packages', authenticate, ...limited, createPackageRoute(layers, packages));
  const signPackageUrl = createPackageUrlSigner(signer, baseUrlOf);
  router.get('/api/packages/:id', authenticate, ...limited, createPackageStatusRoute(packages, signPackageUrl));
  router.get('/api/packages/:id/download', authenticatePackageDownload, ...transfer, createPackageDownloadRoute(packages, packageFiles, transferOptions));
  router.post('/api/sign', authenticate, ...limited, createSignRoute(layers, signer, baseUrlOf));
  router.post('/api/sign/batch', authenticate, ...limited, createSignBatchRoute(layers, signer, baseUrlOf));
  // It walks the selection as the archive will: a transfer slot, as the archive takes.
  router.post('/api/sign/archive', authenticate, ...transfer, createSignArchiveRoute(layers, signer, baseUrlOf, config));
  router.get('/api/access', authenticate, ...limited, createAccessRoute(layers));
  // The browse page (GET /, its assets and the favicon), unless an API-only deployment turns it off.
  if (config.ui.enabled) mountBrowsePage(router);
  // One set of listing options for the route and the aliases: the cursor key may be random per process.
  const listing = createListingOptions(config);
  router.get('/api/list', authenticate, ...listed, createListRoute(layers, listing));
  // Route aliases from config, checked when the config was loaded; each hands over to the code above.
  mountRouteAliases(router, compileRouteAliases(config.routes, Object.keys(config.layers)).aliases, {
    config,
    layers,
    logger,
    packages,
    signer,
    baseUrlOf,
    signPackageUrl,
    transferOptions,
    authenticate,
    limited,
    transfer,
    listed,
    serveListing: (ctx, layer, folder, prefix) => serveListing(ctx, layer, folder, prefix, listing),
  });

  const koa = new Koa();
  koa.silent = true;
  // Behind a proxy, X-Forwarded-Proto/Host/For give the origin of signed URLs and the address limits count.
  koa.proxy = config.server.trustProxy;
  // Only the address the nearest proxy appended to X-Forwarded-For is its own word; what comes before it the client wrote.
  koa.maxIpsCount = 1;
  koa.on('error', (error: unknown) => {
    // A client that went away mid-response is routine; the access line records it as aborted.
    if (isClientAbort(error)) return;
    logger.error({ err: error }, 'response failed');
  });
  koa.use(createObserve(logger, metrics));
  // Requests start in batches, one per turn of the event loop (src/http/request-turns.ts); a batch waits briefly while new connections are being accepted.
  koa.use(createRequestTurns());
  // A malformed or repeated Host is a malformed request: refused before anything else looks at it.
  koa.use(createHostCheck(config.server.trustProxy));
  const cors = createCors(config.cors);
  if (cors !== null) koa.use(cors);
  koa.use(async (ctx, next) => {
    if (draining) ctx.set('Connection', 'close');
    await next();
    if (ctx.status !== 404 || ctx.body != null || ctx.respond === false) return;
    // What the router left unanswered: no route on the path (404), or a method
    // none of its routes serves, known to the router or not (TRACE,
    // PROPFIND): 405 with Allow, never @koa/router's text 501. OPTIONS
    // answers the Allow list.
    const allowed = allowedMethodsOn(router, ctx.path);
    if (allowed === '') fail('NOT_FOUND', `no route ${ctx.method} ${ctx.path}`);
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      ctx.set('Allow', allowed);
      return;
    }
    fail('METHOD_NOT_ALLOWED', `${ctx.method} is not served on ${ctx.path}`, { headers: { Allow: allowed } });
  });
  koa.use(router.routes());

  return {
    koa,
    layers,
    packages,
    metrics,
    stop: () => {
      packages.stop();
      for (const layer of layers.byName.values()) layer.close();
      packageFiles.close();
    },
    startDraining: () => {
      draining = true;
    },
    isDraining: () => draining,
  };
}

/** The methods the routes on `path` serve, as an Allow value ("GET, HEAD"); empty when no route has that path. */
function allowedMethodsOn(router: Router, path: string): string {
  const methods = new Set<string>();
  for (const layer of router.match(path, 'GET').path) for (const method of layer.methods) methods.add(method);
  return [...methods].join(', ');
}
