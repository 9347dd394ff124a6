// POST /api/sign: a presigned URL for one file, usable without a token until it expires.

import { z } from 'zod';

/** The body of POST /api/sign. `expires_in` is seconds, or a duration like "15m". */
export const signBodySchema = z.strictObject({
  filepath: z.string(),
  fstype: z.string().min(1).optional(),
  expires_in: z.union([z.number().int().positive(), z.string().regex(/^\d+(ms|s|m|h|d)?$/)]).optional(),
  disposition: z.enum(['attachment', 'inline']).optional(),
});

/** The answer of POST /api/sign: absolute URLs for GET and HEAD, and their expiry in Unix seconds. */
export const signResponseSchema = z.strictObject({
  download_url: z.url(),
  head_url: z.url(),
  expiry: z.number().int(),
});
