// POST /api/sign/batch: presigned URLs for many files of one layer in one request, each file checked as POST /api/sign checks it.

import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.js';
import { checkLayerAllowed, checkScope } from '../auth/principal.js';
import { ERROR_STATUS, isFilegateError, type ErrorCode } from '../errors.js';
import { readJsonBody } from '../http/json-body.js';
import { parseWithSchema } from '../http/query.js';
import { resolveLayer, type Layers } from '../layers/create-layers.js';
import type { Layer } from '../layers/layer.js';
import { parseLayerPath } from '../paths/layer-path.js';
import type { UrlSigner } from '../signing/url-signer.js';
import { expiresInSchema, presignFile, signResponseSchema, toRequestedMs, type BaseUrlOf } from './sign.js';

/**
 * The most files one request may sign: a listing's default page, so a file
 * browser signs the thumbnails of one page at once, while one request stays
 * a bounded amount of work (one open and fstat, or one HEAD on an object
 * store, per file).
 */
export const MAX_BATCH_FILES = 100;

// Files checked at once: an object store answers each check in a round trip, a local disk at once.
const CHECKS_IN_FLIGHT = 8;

/** The body of POST /api/sign/batch: the files of one layer, and the options POST /api/sign takes. */
export const signBatchBodySchema = z.strictObject({
  fstype: z.string().min(1).optional(),
  filepaths: z.array(z.string()).min(1).max(MAX_BATCH_FILES),
  expires_in: expiresInSchema.optional(),
  disposition: z.enum(['attachment', 'inline']).optional(),
});

const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** One file's outcome: its URLs, or why it was refused (the error POST /api/sign would have answered for it). */
export const signBatchItemSchema = z.union([
  z.strictObject({ filepath: z.string().describe('as sent'), ...signResponseSchema.shape }),
  z.strictObject({ filepath: z.string().describe('as sent'), error: z.string(), code: z.enum(ERROR_CODES) }),
]);

/** The answer of POST /api/sign/batch: one outcome per file asked for, in the order asked. */
export const signBatchResponseSchema = z.strictObject({ files: z.array(signBatchItemSchema) });

export type SignBatchItem = z.output<typeof signBatchItemSchema>;

/** The batch sign handler: authenticate (done before), parse, then presign each file. */
export function createSignBatchRoute(layers: Layers, signer: UrlSigner, baseUrlOf: BaseUrlOf): Middleware {
  return async (ctx) => {
    const input = parseWithSchema(signBatchBodySchema, await readJsonBody(ctx), 'field');
    const layer = resolveLayer(layers, input.fstype);
    const files = await presignFiles(ctx, signer, baseUrlOf, layer, input.filepaths, { disposition: input.disposition, requestedMs: toRequestedMs(input.expires_in) });
    // The body holds credentials (the signed URLs): no cache keeps it.
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { files };
  };
}

/**
 * Presigns each of `filepaths` in `layer` exactly as POST /api/sign does
 * (`presignFile`: the token must read the file, the file must be
 * downloadable now), in the order given. What is wrong with the request
 * as a whole fails it: a token without `files:sign` or `files:read`, or
 * not granted the layer (FORBIDDEN). What is wrong with one file (a bad
 * path, outside the token's paths, absent, refused by the file policy) is
 * that file's outcome; a failure of the service itself (5xx) fails the
 * request, as it would have failed each file.
 */
export async function presignFiles(
  ctx: Context,
  signer: UrlSigner,
  baseUrlOf: BaseUrlOf,
  layer: Layer,
  filepaths: readonly string[],
  options: { disposition?: 'attachment' | 'inline' | undefined; requestedMs?: number | undefined },
): Promise<SignBatchItem[]> {
  const principal = principalOf(ctx);
  ctx.state.layer = layer.name;
  checkScope(principal, 'files:sign');
  checkScope(principal, 'files:read');
  checkLayerAllowed(principal, layer.name);
  return mapInFlight(filepaths, CHECKS_IN_FLIGHT, async (filepath) => {
    try {
      const signed = await presignFile(ctx, signer, baseUrlOf, { layer, filepath: parseLayerPath(filepath, 'filepath'), ...options });
      return { filepath, ...signed };
    } catch (error) {
      return { filepath, ...toFileRefusal(error) };
    }
  });
}

/**
 * The outcome of a file whose presigning failed with `error`: a refusal of
 * that file (a FilegateError below 500) becomes its `{error, code}`;
 * anything else is rethrown, to fail the request.
 */
export function toFileRefusal(error: unknown): { error: string; code: ErrorCode } {
  if (isFilegateError(error) && error.status < 500) return { error: error.message, code: error.code };
  throw error;
}

/** `work` over `items` with at most `inFlight` at once; the results in the order of `items`. The first rejection rejects the whole. */
async function mapInFlight<T, R>(items: readonly T[], inFlight: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, worker));
  return results;
}
