// GET /api/list: one folder's entries for file browsers, sorted, filtered and paginated, with ready links.

import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.js';
import { checkLayerAllowed, checkScope } from '../auth/principal.js';
import { FILE_CATEGORIES, type Config, type FileCategory } from '../config/schema.js';
import { fail } from '../errors.js';
import { categoryOf, mediaTypeOf } from '../files/file-types.js';
import { parseQueryWith, readQuery, type Query } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import type { Layer } from '../layers/layer.js';
import { decodeCursor, deriveCursorKeys, encodeCursor, MAX_CURSOR_LENGTH, type CursorKeys, type CursorScope } from '../listing/listing-cursor.js';
import { checkFolderAllowed, toNameFilters } from '../listing/listing-filter.js';
import { SORT_FIELDS, type ListingOrder } from '../listing/listing-order.js';
import { readListing, type ListedEntry } from '../listing/read-listing.js';
import { parseLayerPath, type LayerPath } from '../paths/layer-path.js';
import { encodeQueryComponent } from '../signing/url-signer.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** The query parameters of every listing (the list route and list aliases alike); `type` is read apart, as it may repeat. */
export const listingQuerySchema = z.object({
  q: z.string().max(255).optional(),
  sort: z.enum(SORT_FIELDS).default('name'),
  order: z.enum(['asc', 'desc']).default('asc'),
  dirs: z.enum(['first', 'mixed']).default('first'),
  // A whole number from 1 to 1000 in plain digits: "0", "1001", "1e3", "+5" and "abc" are refused, not clamped.
  limit: z
    .string()
    .regex(/^(?:[1-9][0-9]{0,2}|1000)$/, `a whole number from 1 to ${MAX_LIMIT}`)
    .default(String(DEFAULT_LIMIT))
    .transform(Number),
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
});

/** The query parameters of GET /api/list but `type`. */
export const listQuerySchema = z.object({
  path: z.string().optional(),
  fstype: z.string().min(1).optional(),
  ...listingQuerySchema.shape,
});

/** The values of `type`: categories, the parameter repeated or comma-separated. */
export const listTypeSchema = z.array(z.enum(FILE_CATEGORIES));

const name = z.string();
const entryPath = z.string().describe('relative to the layer root, as `filepath` or `path` takes it');
const modified = z.iso.datetime().describe('the modification time, ISO 8601 in UTC');

/** The answer of a listing; a unit test holds it to what `toEntryView` builds. */
export const listResponseSchema = z.strictObject({
  fstype: z.string(),
  path: z.string().describe('the folder listed, relative to the layer root; "/" for the root'),
  entries: z.array(
    z.discriminatedUnion('kind', [
      z.strictObject({
        name,
        path: entryPath,
        kind: z.literal('file'),
        size: z.number().int().min(0),
        modified,
        mime: z.string().describe('the media type a download answers with, from the extension'),
        type: z.enum(FILE_CATEGORIES).nullable().describe('the category; null for a type in none'),
        download_url: z.string().describe('a relative URL: GET it with the same token'),
      }),
      z.strictObject({
        name,
        path: entryPath,
        kind: z.literal('directory'),
        modified,
        list_url: z.string().describe('a relative URL listing the folder: GET it with the same token'),
      }),
    ]),
  ),
  total: z.number().int().min(0).describe('entries passing the filters, on every page'),
  next_cursor: z.string().nullable().describe('pass it as `cursor` for the next page, with the same other parameters; null on the last page'),
});

export type ListingView = z.output<typeof listResponseSchema>;
export type EntryView = ListingView['entries'][number];

/** What every listing of the app shares: the keys its cursors are signed with. */
export interface ListingOptions {
  readonly cursorKeys: CursorKeys;
}

/**
 * The listing options of `config`: a cursor key for each signing key
 * (`k-<kid>`) and for `auth.secret` (`a`). New cursors are signed with the
 * current signing key, so they rotate as signed URLs do (a key is added to
 * every replica before it becomes current), else with `auth.secret`; random
 * per process when neither is set.
 */
export function createListingOptions(config: Config): ListingOptions {
  const secrets: Record<string, string> = {};
  for (const [kid, secret] of Object.entries(config.signing.keys)) secrets[`k-${kid}`] = secret;
  if (config.auth.secret !== null) secrets.a = config.auth.secret;
  const current = config.signing.currentKey !== null ? `k-${config.signing.currentKey}` : config.auth.secret !== null ? 'a' : null;
  return { cursorKeys: deriveCursorKeys(secrets, current) };
}

const ROOT: LayerPath = { text: '/', segments: [] };

/** The list handler: authenticate (done before), parse, then serve the listing. */
export function createListRoute(layers: Layers, options: ListingOptions): Middleware {
  return async (ctx) => {
    const input = parseQueryWith(readQuery(ctx), listQuerySchema);
    const folder = input.path === undefined ? ROOT : parseLayerPath(input.path, 'path');
    await serveListing(ctx, resolveLayer(layers, input.fstype), folder, undefined, options);
  };
}

/**
 * Serves one page of the listing of `folder`, for the list route and list
 * aliases alike (an alias may keep only names starting with `namePrefix`),
 * with `type`, `q`, `sort`, `order`, `dirs`, `limit` and `cursor` from the
 * query: parse (BAD_REQUEST), authorize (`files:list`, the layer, a folder
 * within the token's paths or on the way to them), read the page, answer
 * JSON with ready links.
 */
export async function serveListing(ctx: Context, layer: Layer, folder: LayerPath, namePrefix: string | undefined, options: ListingOptions): Promise<void> {
  const principal = principalOf(ctx);
  ctx.state.layer = layer.name;
  const query = readQuery(ctx);
  const input = parseQueryWith(query, listingQuerySchema);
  const order: ListingOrder = { sort: input.sort, order: input.order, dirs: input.dirs };
  const filters = toNameFilters(readTypes(query), input.q, namePrefix);
  const scope: CursorScope = { fstype: layer.name, path: folder.segments, ...order, types: [...(filters.types ?? [])], q: filters.q, prefix: filters.prefix };
  const after = input.cursor === undefined ? null : decodeCursor(options.cursorKeys, scope, input.cursor);

  checkScope(principal, 'files:list');
  checkLayerAllowed(principal, layer.name);
  checkFolderAllowed(principal, folder);

  const page = await readListing(layer, principal, { folder, order, filters, limit: input.limit, after });
  const body: ListingView = {
    fstype: layer.name,
    path: folder.segments.length === 0 ? '/' : folder.segments.join('/'),
    entries: page.entries.map((entry) => toEntryView(layer.name, entry)),
    total: page.total,
    next_cursor: page.hasMore && page.last !== null ? encodeCursor(options.cursorKeys, scope, page.last) : null,
  };
  // Listings change with the folder, and hold names a shared cache must not keep.
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = body;
}

/**
 * An entry as a listing shows it: its path below the layer root, and a
 * ready relative link (RFC 3986 encoded) to download the file or list the
 * folder in the same layer. Nothing of the server's own paths.
 */
export function toEntryView(fstype: string, entry: ListedEntry): EntryView {
  const path = entry.segments.join('/');
  const modified = new Date(entry.mtimeMs).toISOString();
  const layerParameter = `fstype=${encodeQueryComponent(fstype)}`;
  if (entry.kind === 'directory') {
    return { name: entry.name, path, kind: 'directory', modified, list_url: `/api/list?path=${encodeQueryComponent(path)}&${layerParameter}` };
  }
  const mime = mediaTypeOf(entry.name);
  return {
    name: entry.name,
    path,
    kind: 'file',
    size: entry.size,
    modified,
    mime,
    type: categoryOf(mime),
    download_url: `/api/download?filepath=${encodeQueryComponent(path)}&${layerParameter}`,
  };
}

/** The categories of `type`, repeated or comma-separated; null when absent. BAD_REQUEST names a value that is not a category. */
function readTypes(query: Query): ReadonlySet<FileCategory> | null {
  const values = (query.get('type') ?? []).flatMap((value) => value.split(','));
  if (values.length === 0) return null;
  const categories = listTypeSchema.safeParse(values);
  if (!categories.success) {
    const wrong = values.find((value) => !(FILE_CATEGORIES as readonly string[]).includes(value));
    fail('BAD_REQUEST', `the parameter "type" is not valid: ${JSON.stringify(wrong)} is not one of ${FILE_CATEGORIES.join(', ')}`);
  }
  return new Set(categories.data);
}
