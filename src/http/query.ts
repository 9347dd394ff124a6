// Parses a query string strictly: one percent-decoding, valid UTF-8 only, repeats kept visible.

import type { Context } from 'koa';
import { z } from 'zod';
import { fail } from '../errors.js';

export type Query = ReadonlyMap<string, readonly string[]>;

/**
 * Splits and decodes `querystring` once ("+" is a space). Raises BAD_REQUEST
 * when a value is not valid percent-encoded UTF-8, instead of silently
 * turning it into replacement characters as URLSearchParams does.
 */
export function parseQuery(querystring: string): Query {
  const query = new Map<string, string[]>();
  if (querystring === '') return query;
  for (const pair of querystring.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decode(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : decode(pair.slice(equals + 1));
    const values = query.get(name);
    if (values) values.push(value);
    else query.set(name, [value]);
  }
  return query;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    fail('BAD_REQUEST', 'the query string is not valid percent-encoded UTF-8');
  }
}

/** The request's parsed query, parsed once and kept on the context. */
export function readQuery(ctx: Context): Query {
  const state = ctx.state as { query?: Query };
  state.query ??= parseQuery(ctx.querystring);
  return state.query;
}

/**
 * Validates a query against a zod object of single values: a repeated
 * parameter, or one the schema refuses, is BAD_REQUEST naming it. Parameters
 * the schema does not name are ignored.
 */
export function parseQueryWith<T extends z.ZodObject>(query: Query, schema: T): z.output<T> {
  const input: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const values = query.get(name);
    if (values === undefined) continue;
    if (values.length > 1) fail('BAD_REQUEST', `the parameter "${name}" is given more than once`);
    input[name] = values[0]!;
  }
  return parseWithSchema(schema, input, 'parameter');
}

/**
 * Validates `input` (query parameters or a JSON body) against `schema`;
 * BAD_REQUEST names the first field that is missing or not valid.
 */
export function parseWithSchema<T extends z.ZodType>(schema: T, input: unknown, what: 'parameter' | 'field'): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = issue.path.map(String).join('.');
    if (name === '') fail('BAD_REQUEST', `the request is not valid: ${issue.message}`);
    const given = name.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], input);
    fail('BAD_REQUEST', given === undefined && issue.code === 'invalid_type' ? `the ${what} "${name}" is required` : `the ${what} "${name}" is not valid: ${issue.message}`);
  }
  return result.data;
}
