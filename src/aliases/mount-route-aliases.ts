// Mounts the configured route aliases: each fills its templates from checked URL parameters and hands over to a built-in endpoint's own code.

import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { fail, isFilegateError } from '../errors.js';
import type { FilePolicy } from '../files/file-policy.js';
import { readJsonBody } from '../http/json-body.js';
import { parseQueryWith, readQuery } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import type { Layer } from '../layers/layer.js';
import type { Logger } from '../logger.js';
import type { PackageService } from '../packages/package-service.js';
import { parseLayerPath, quotePath } from '../paths/layer-path.js';
import { archiveFilename, serveArchive } from '../routes/archive.js';
import { serveFile } from '../routes/download.js';
import { createPackage, packagePrincipal, type SignPackageUrl } from '../routes/packages.js';
import { presignFile, type BaseUrlOf } from '../routes/sign.js';
import type { UrlSigner } from '../signing/url-signer.js';
import type { TransferOptions } from '../transfer/plan-transfer.js';
import type { CompiledAlias } from './alias-rules.js';
import { checkParamValue, fillTemplate, type Template } from './template.js';

/** What the aliases hand over to: the built-in endpoints' collaborators and middleware. */
export interface AliasDependencies {
  readonly config: Config;
  readonly layers: Layers;
  readonly logger: Logger;
  readonly packages: PackageService;
  readonly signer: UrlSigner;
  readonly baseUrlOf: BaseUrlOf;
  readonly signPackageUrl: SignPackageUrl;
  readonly transferOptions: TransferOptions;
  readonly authenticate: Middleware;
  /** Run before every alias (the rate limit). */
  readonly limited: readonly Middleware[];
  /** Run before aliases that send a file or an archive (the rate limit and the transfers' concurrency cap). */
  readonly transfer: readonly Middleware[];
  /** Run before list aliases (the rate limit and the listings' concurrency cap). */
  readonly listed: readonly Middleware[];
  /** Serves a listing of `folder`, with names limited to `prefix` when given (the list action). */
  readonly serveListing: (ctx: Context, layer: Layer, folder: ReturnType<typeof parseLayerPath>, prefix: string | undefined) => Promise<void>;
}

// How soon to ask again for an output a job is still producing.
const NOT_YET_SECONDS = '5';
const dispositionQuerySchema = z.object({ disposition: z.enum(['attachment', 'inline']).optional() });
// Package bodies: each configured list name to its items, each item one path segment.
const MAX_PACKAGE_ITEMS = 1000;

/** Mounts every alias on `router`, behind authentication and the limits its action's endpoint has. */
export function mountRouteAliases(router: Router, aliases: readonly CompiledAlias[], deps: AliasDependencies): void {
  for (const alias of aliases) {
    const handler = createAliasHandler(alias, deps);
    const sends = alias.action === 'filepath' || alias.action === 'archive';
    const limits = sends ? deps.transfer : alias.action === 'list' ? deps.listed : deps.limited;
    const chain = [deps.authenticate, ...limits, handler];
    if (alias.method === 'GET') router.get(alias.config.path, ...chain);
    else if (alias.method === 'PUT') router.put(alias.config.path, ...chain);
    else router.post(alias.config.path, ...chain);
  }
}

function createAliasHandler(alias: CompiledAlias, deps: AliasDependencies): Middleware {
  const { config } = alias;
  const owner = `route "${config.path}"`;
  return async (ctx) => {
    const values = checkedValues(ctx, alias);
    const layer = resolveLayer(deps.layers, config.fstype);
    // A route's own type rule, checked after the layer's: same size and emptiness rules, fewer types.
    const routePolicy: FilePolicy | undefined =
      config.types || config.extensions ? { ...layer.policy, owner, types: config.types as FilePolicy['types'], extensions: config.extensions } : undefined;
    const fill = (template: Template) => fillTemplate(template, values);
    // The layer path a template makes is what the alias hides: every message names the URL path the client sent.
    const toPath = (template: Template, parameter: string) => parseLayerPath(fill(template), parameter, ctx.path);
    switch (alias.action) {
      case 'filepath': {
        const filepath = toPath(alias.target!, 'filepath');
        const { disposition } = parseQueryWith(readQuery(ctx), dispositionQuerySchema);
        const filename = alias.filename ? fill(alias.filename) : undefined;
        const serve = serveFile(ctx, { layer, filepath, disposition: disposition ?? config.disposition ?? 'attachment', filename, routePolicy }, deps.transferOptions);
        await (config.missing === 'conflict' ? notReadyWhenMissing(serve, filepath.text) : serve);
        return;
      }
      case 'archive': {
        const targets = [toPath(alias.target!, 'path')];
        const format = config.format ?? 'zip';
        const filename = archiveFilename(alias.filename ? fill(alias.filename) : undefined, targets, format);
        await serveArchive(ctx, { layer, targets, format, filename }, deps.config, deps.logger);
        return;
      }
      case 'list': {
        await deps.serveListing(ctx, layer, toPath(alias.target!, 'path'), alias.prefix ? fill(alias.prefix) : undefined);
        return;
      }
      case 'presign': {
        const filepath = toPath(alias.target!, 'filepath');
        ctx.set('Cache-Control', 'no-store');
        ctx.body = await notReadyWhenMissing(
          presignFile(ctx, deps.signer, deps.baseUrlOf, { layer, filepath, disposition: config.disposition, requestedMs: config.expires_in, routePolicy }),
          filepath.text,
        );
        return;
      }
      case 'package': {
        const principal = packagePrincipal(ctx);
        const items = readPackageItems(await readJsonBody(ctx), alias);
        const targets = items.map(([list, item]) => parseLayerPath(fillTemplate(alias.lists.get(list)!, { ...values, item }), 'path', `${ctx.path} ${list}: ${item}`));
        const format = config.format ?? 'zip';
        const filename = archiveFilename(alias.filename ? fill(alias.filename) : undefined, targets, format);
        const manifest = await createPackage(ctx, deps.packages, principal, { layer, targets, format, filename });
        ctx.status = 202;
        ctx.set('Location', `/api/packages/${manifest.id}`);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { id: manifest.id, status: manifest.status, signed_url: deps.signPackageUrl(ctx, manifest, principal) ?? null };
        return;
      }
    }
  };
}

/** The route's parameters, each checked as one path segment and against its rule (BAD_REQUEST naming it). */
function checkedValues(ctx: Context, alias: CompiledAlias): Record<string, string> {
  const params = (ctx.params ?? {}) as Record<string, string>;
  const values: Record<string, string> = {};
  for (const name of alias.params) {
    const value = params[name] ?? '';
    checkParamValue(name, value, alias.rules.get(name));
    values[name] = value;
  }
  return values;
}

/** An output that does not exist yet answers 409 NOT_READY instead of 404: the route serves what a job is still producing. */
async function notReadyWhenMissing<T>(work: Promise<T>, shown: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (isFilegateError(error) && error.code === 'NOT_FOUND') {
      fail('NOT_READY', `${quotePath(shown)} does not exist yet; try again once it has been produced`, { headers: { 'Retry-After': NOT_YET_SECONDS } });
    }
    throw error;
  }
}

/**
 * Reads a package alias's body: an object of the configured lists, each an
 * array of items (one path segment each). Unknown lists, other shapes and no
 * item at all are BAD_REQUEST.
 */
function readPackageItems(body: unknown, alias: CompiledAlias): Array<[list: string, item: string]> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('BAD_REQUEST', `the body must be a JSON object of lists: ${[...alias.lists.keys()].join(', ')}`);
  const items: Array<[string, string]> = [];
  for (const [list, value] of Object.entries(body)) {
    if (!alias.lists.has(list)) fail('BAD_REQUEST', `the field "${list}" is not one of this route's lists (${[...alias.lists.keys()].join(', ')})`);
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) fail('BAD_REQUEST', `the field "${list}" must be a list of names`);
    for (const item of value as string[]) {
      checkParamValue(`${list}[]`, item, undefined);
      items.push([list, item]);
    }
  }
  if (items.length === 0) fail('BAD_REQUEST', `name at least one item in ${[...alias.lists.keys()].join(' or ')}`);
  if (items.length > MAX_PACKAGE_ITEMS) fail('BAD_REQUEST', `at most ${MAX_PACKAGE_ITEMS} items may be packaged at once`);
  return items;
}
