// GET and POST /api/archive: files and folders of a layer as a streamed ZIP or tar.gz.

import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { walkSelection } from '../archives/archive-walk.js';
import { sendArchive, type ArchiveFormat } from '../archives/send-archive.js';
import { principalOf } from '../auth/authenticate.js';
import { authorize } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { fail } from '../errors.js';
import { readJsonBody } from '../http/json-body.js';
import { parseQueryWith, parseWithSchema, readQuery } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import type { Layer } from '../layers/layer.js';
import type { Logger } from '../logger.js';
import { parseLayerPath, type LayerPath } from '../paths/layer-path.js';

const MAX_PATHS = 1000;
const format = z.enum(['zip', 'tar.gz']).default('zip');
const name = z.string().min(1).max(200).optional();
const fstype = z.string().min(1).optional();

export const archiveQuerySchema = z.object({ fstype, format, name });
export const archiveBodySchema = z.strictObject({ fstype, paths: z.array(z.string()).min(1).max(MAX_PATHS), format, name });

interface ArchiveRequest {
  fstype?: string | undefined;
  paths: string[];
  format: ArchiveFormat;
  name?: string | undefined;
}

/** The archive handler: authenticate (done before), parse, then serve the archive. */
export function createArchiveRoute(layers: Layers, config: Config, logger: Logger): Middleware {
  return async (ctx) => {
    const input = ctx.method === 'POST' ? parseWithSchema(archiveBodySchema, await readJsonBody(ctx), 'field') : readArchiveQuery(readQuery(ctx));
    const targets = input.paths.map((text) => parseLayerPath(text, 'path'));
    const layer = resolveLayer(layers, input.fstype);
    await serveArchive(ctx, { layer, targets, format: input.format, filename: archiveFilename(input.name, targets, input.format) }, config, logger);
  };
}

/** What to archive and how it is saved. */
export interface ArchiveToServe {
  readonly layer: Layer;
  readonly targets: readonly LayerPath[];
  readonly format: ArchiveFormat;
  /** The saved name, extension included. */
  readonly filename: string;
}

/**
 * Serves an archive as the archive route does, for it and route aliases
 * alike: authorize every path, walk (limits before the first byte), send.
 */
export async function serveArchive(ctx: Context, request: ArchiveToServe, config: Config, logger: Logger): Promise<void> {
  const principal = principalOf(ctx);
  const { layer, targets } = request;
  ctx.state.layer = layer.name;
  for (const target of targets) authorize(principal, { scope: 'files:archive', layer: layer.name, segments: target.segments, shown: target.text });
  // A client that leaves during the walk stops it at the next entry (the walk
  // yields, so the close is seen while it runs): nothing is sent to no one.
  const walk = new AbortController();
  ctx.res.once('close', () => walk.abort());
  const selection = await walkSelection(layer, principal, targets, config.archive, walk.signal);
  if (walk.signal.aborted) {
    logger.info({ reqId: (ctx.state as { requestId?: string }).requestId, looked: selection.looked }, 'archive walk stopped: the client left');
    ctx.respond = false;
    return;
  }
  const options = { format: request.format, filename: request.filename, zipCompression: config.archive.zipCompression, gzipLevel: config.archive.gzipLevel };
  await sendArchive(ctx, layer, principal, selection, options, logger);
}

function readArchiveQuery(query: ReturnType<typeof readQuery>): ArchiveRequest {
  const paths = [...(query.get('path') ?? [])];
  if (paths.length === 0) fail('BAD_REQUEST', 'the parameter "path" is required: give one "path" per file or folder to archive');
  if (paths.length > MAX_PATHS) fail('BAD_REQUEST', `at most ${MAX_PATHS} paths may be archived at once; POST a package for more`);
  return { ...parseQueryWith(query, archiveQuerySchema), paths };
}

/**
 * The saved name: `name` if given, else the one folder or file asked for,
 * else "archive"; separators become "_", and the format's extension is added
 * unless the name already ends with it.
 */
export function archiveFilename(requested: string | undefined, targets: readonly LayerPath[], archiveFormat: ArchiveFormat): string {
  const [only] = targets;
  const base = requested ?? (targets.length === 1 && only !== undefined ? (only.segments.at(-1) ?? 'archive') : 'archive');
  const clean = base.replace(/[/\\]/g, '_');
  const extension = archiveFormat === 'zip' ? '.zip' : '.tar.gz';
  return clean.toLowerCase().endsWith(extension) ? clean : `${clean}${extension}`;
}
