// Reads a small JSON request body: one size limit, one content type, and BAD_REQUEST for anything else.

import type { Context } from 'koa';
import { fail } from '../errors.js';

/** Larger bodies are refused: a selection of paths fits easily. */
export const MAX_JSON_BYTES = 1024 * 1024;

/**
 * Reads and parses the body as JSON. Raises BAD_REQUEST when the content
 * type is not application/json, the body is larger than 1 MB, or it does not
 * parse.
 */
export async function readJsonBody(ctx: Context): Promise<unknown> {
  if (!ctx.is('application/json')) fail('BAD_REQUEST', 'send the body as JSON with "Content-Type: application/json"');
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_JSON_BYTES) fail('BAD_REQUEST', `the body is larger than ${MAX_JSON_BYTES / 1024} KB`);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_JSON_BYTES) fail('BAD_REQUEST', `the body is larger than ${MAX_JSON_BYTES / 1024} KB`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    fail('BAD_REQUEST', 'the body is not valid JSON');
  }
}
