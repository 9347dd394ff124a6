// POST /api/packages, GET /api/packages/:id and /api/packages/:id/download: archives built in the background.

import type { Context, Middleware } from 'koa';
import { principalOf } from '../auth/authenticate.js';
import { authorize, checkScope, type Principal } from '../auth/principal.js';
import { fail } from '../errors.js';
import { readJsonBody } from '../http/json-body.js';
import { parseWithSchema } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import type { Layer } from '../layers/layer.js';
import type { PackageService } from '../packages/package-service.js';
import type { PackageManifest } from '../packages/package-store.js';
import { checkNoDotSegments } from '../paths/confinement.js';
import { parseLayerPath } from '../paths/layer-path.js';
import { planTransfer, type TransferOptions } from '../transfer/plan-transfer.js';
import { sendTransfer, toTransferRequest } from '../transfer/send-transfer.js';
import { signPackageDownload, type UrlSigner } from '../signing/url-signer.js';
import { archiveBodySchema, archiveFilename, type ArchiveToServe } from './archive.js';
import type { BaseUrlOf } from './sign.js';

const MEDIA_TYPES = { zip: 'application/zip', 'tar.gz': 'application/gzip' } as const;

// How soon to ask again about a package still waiting or building.
const POLL_SECONDS = '2';

/** The JSON a client sees of a package; `signedUrl` for a ready one when signed URLs are on. */
export function toPackageView(manifest: PackageManifest, signedUrl?: string): Record<string, unknown> {
  return {
    id: manifest.id,
    status: manifest.status,
    name: manifest.filename,
    format: manifest.format,
    fstype: manifest.fstype,
    paths: manifest.paths,
    created_at: manifest.createdAt,
    expires_at: manifest.expiresAt,
    ...(manifest.size === undefined ? {} : { size: manifest.size }),
    ...(manifest.entries === undefined ? {} : { entries: manifest.entries, skipped: manifest.skipped ?? 0 }),
    ...(manifest.error === undefined || manifest.status !== 'failed' ? {} : { error: manifest.error }),
    ...(signedUrl === undefined ? {} : { signed_url: signedUrl }),
  };
}

/** The signed download URL of a package, or undefined when signing is off. */
export type SignPackageUrl = (ctx: Context, manifest: PackageManifest, principal: Principal) => string | undefined;

/**
 * Signs package downloads for their owner, when signing is on and the
 * principal holds `files:sign` (a signed URL is a credential of its own,
 * handed only to who may make one): the URL lasts as a signed download
 * would (signing.defaultTtl, bound to the token), and never past the
 * package itself. Before the package is ready it answers 409 NOT_READY.
 */
export function createPackageUrlSigner(signer: UrlSigner, baseUrlOf: BaseUrlOf): SignPackageUrl {
  return (ctx, manifest, principal) => {
    if (!signer.enabled || !principal.scopes.has('files:sign')) return undefined;
    const expires = Math.min(signer.expiryFor(undefined, principal.expiresAt ?? null), Math.floor(Date.parse(manifest.expiresAt) / 1000));
    return baseUrlOf(ctx) + signPackageDownload(signer, manifest.id, manifest.subject, expires);
  };
}

/** A principal that may use packages: one with the archive scope and a subject to own them. */
export function packagePrincipal(ctx: Context): Principal & { subject: string } {
  const principal = principalOf(ctx);
  checkScope(principal, 'files:archive');
  if (principal.subject === null) fail('FORBIDDEN', 'packages belong to a subject: use a token with a "sub" claim');
  return principal as Principal & { subject: string };
}

/** POST /api/packages: authorize every path now, build later; 202 with the package's status. */
export function createPackageRoute(layers: Layers, packages: PackageService): Middleware {
  return async (ctx) => {
    const principal = packagePrincipal(ctx);
    const input = parseWithSchema(archiveBodySchema, await readJsonBody(ctx), 'field');
    const targets = input.paths.map((text) => parseLayerPath(text, 'path'));
    const layer = resolveLayer(layers, input.fstype);
    const manifest = await createPackage(ctx, packages, principal, { layer, targets, format: input.format, filename: archiveFilename(input.name, targets, input.format) });
    ctx.status = 202;
    ctx.set('Location', `/api/packages/${manifest.id}`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = toPackageView(manifest);
  };
}

/**
 * Creates a package as POST /api/packages does, for it and route aliases
 * alike: every path authorized now (and refused now when it has a "." or
 * ".." segment), the build queued.
 */
export async function createPackage(ctx: Context, packages: PackageService, principal: Principal & { subject: string }, request: ArchiveToServe): Promise<PackageManifest> {
  const { layer, targets } = request;
  ctx.state.layer = layer.name;
  for (const target of targets) {
    authorize(principal, { scope: 'files:archive', layer: layer.name, segments: target.segments, shown: target.text });
    // The lexical refusal comes now, not from a build later: it needs no file system.
    checkNoDotSegments(target);
  }
  return packages.create(principal, { layer: layer.name, targets, format: request.format, filename: request.filename });
}

/**
 * GET /api/packages/:id: the owner's view, with a `signed_url` once ready;
 * anyone else gets 404, as for an id that does not exist.
 */
export function createPackageStatusRoute(packages: PackageService, signUrl: SignPackageUrl): Middleware {
  return async (ctx) => {
    const manifest = await findOwn(ctx, packages);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = toPackageView(manifest, manifest.status === 'ready' ? signUrl(ctx, manifest, principalOf(ctx)) : undefined);
  };
}

/** GET|HEAD /api/packages/:id/download: 409 NOT_READY until ready, then the archive as a file (Range, ETag). */
export function createPackageDownloadRoute(packages: PackageService, store: Layer, options: TransferOptions): Middleware {
  return async (ctx) => {
    const manifest = await findOwn(ctx, packages);
    if (manifest.status === 'expired') fail('NOT_FOUND', `package ${manifest.id} has expired`);
    if (manifest.status === 'failed') fail('NOT_READY', `package ${manifest.id} failed and will not be ready: ${manifest.error ?? 'no reason was recorded'}`);
    if (manifest.status !== 'ready') {
      fail('NOT_READY', `package ${manifest.id} is ${manifest.status}; poll /api/packages/${manifest.id} until it is ready`, { headers: { 'Retry-After': POLL_SECONDS } });
    }
    const file = await store.open(parseLayerPath(packages.archivePathOf(manifest)));
    try {
      const plan = planTransfer(toTransferRequest(ctx, 'attachment'), { stat: file.stat, filename: manifest.filename, mediaType: MEDIA_TYPES[manifest.format] }, options);
      await sendTransfer(ctx, plan, file);
    } catch (error) {
      file.close();
      throw error;
    }
  };
}

/**
 * The package named in the URL, for its owner only (anyone else gets 404,
 * as for an id that does not exist), and only while the token's fstypes
 * and paths still cover everything it packed (FORBIDDEN otherwise): a
 * token narrowed since reaches no more through a package than it would
 * through an archive.
 */
async function findOwn(ctx: Context, packages: PackageService): Promise<PackageManifest> {
  const principal = packagePrincipal(ctx);
  const id = String((ctx.params as { id?: string }).id ?? '');
  const manifest = await packages.find(principal, id);
  if (manifest === null) fail('NOT_FOUND', `there is no package ${JSON.stringify(id.slice(0, 64))} of yours`);
  for (const packed of manifest.paths) {
    authorize(principal, { scope: 'files:archive', layer: manifest.fstype, segments: parseLayerPath(packed, 'path').segments, shown: packed });
  }
  return manifest;
}
