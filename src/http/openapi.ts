// The OpenAPI 3.1 document of filegate, built from the zod schemas the routes validate with, and the route that serves it.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { compileRouteAliases, type CompiledAlias } from '../aliases/alias-rules.js';
import type { Config, Scope } from '../config/schema.js';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import type { PackageStatus } from '../packages/package-store.js';
import { archiveBodySchema, archiveQuerySchema } from '../routes/archive.js';
import { downloadQuerySchema } from '../routes/download.js';
import { DEFAULT_LIMIT, listQuerySchema, listResponseSchema, listTypeSchema, MAX_LIMIT } from '../routes/list.js';
import { accessResponseSchema } from '../routes/access.js';
import { ASSET_CACHE_CONTROL, FAVICON_CACHE_CONTROL, PAGE_CACHE_CONTROL, PAGE_POLICY } from '../routes/browse.js';
import { signBodySchema, signResponseSchema } from '../routes/sign.js';
import { MAX_ARCHIVE_LINK_BYTES, signArchiveBodySchema, signArchiveResponseSchema } from '../routes/sign-archive.js';
import { MAX_BATCH_FILES, signBatchBodySchema, signBatchResponseSchema } from '../routes/sign-batch.js';
import { SIGNATURE_PARAMETERS } from '../signing/url-signer.js';
import { CONTENT_SECURITY_POLICIES } from '../transfer/content-security-policy.js';

type Json = Record<string, unknown>;
type Method = 'get' | 'head' | 'post' | 'put';

/** How long clients and proxies may keep the document: it changes only when the service restarts with new code or config. */
export const OPENAPI_CACHE_CONTROL = 'public, max-age=300';

const { version: VERSION, description: SUMMARY, license: LICENSE } = readPackageJson();

/** filegate's own package.json, found upwards from this module: it sits two levels up from `src/http`, three from `dist/src/http`. */
function readPackageJson(): { version: string; description: string; license: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('filegate cannot find its package.json');
    dir = parent;
  }
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string; description: string; license: string };
}

/**
 * A zod schema as the JSON Schema 2020-12 that OpenAPI 3.1 embeds, for the
 * side of the schema a client sees (`input` for what it sends, `output` for
 * what it receives). The `$schema` key is dropped: the document's dialect is
 * 2020-12 already, and an embedded `$schema` is meant for standalone schemas.
 */
function toOpenApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Json {
  const json: Json = { ...z.toJSONSchema(schema, { target: 'draft-2020-12', io }) };
  delete json.$schema;
  return json;
}

/**
 * One query parameter per property of an object schema, in its order, each
 * with the property's own JSON Schema and required as the schema requires it,
 * so the document cannot say something the validator does not.
 */
function toQueryParameters<T extends z.ZodObject>(schema: T, descriptions: Record<keyof T['shape'] & string, string>): Json[] {
  const json = toOpenApiSchema(schema) as { properties: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: (json.required ?? []).includes(name),
    description: descriptions[name as keyof T['shape'] & string],
    schema: property,
  }));
}

const ref = (kind: 'schemas' | 'parameters' | 'headers', name: string): Json => ({ $ref: `#/components/${kind}/${name}` });

const STATUS_DESCRIPTIONS: Record<PackageStatus, string> = {
  pending: 'waiting for a builder',
  running: 'being built',
  ready: 'built: fetch it from /api/packages/{id}/download',
  failed: 'the build failed; `error` says why',
  expired: 'past `packages.retention`; its archive is deleted',
};

const ERROR_SCHEMA: Json = {
  type: 'object',
  description: 'Every failure: a message a person can act on, and a code from the closed catalogue (docs/errors.md gives each cause and fix).',
  properties: {
    error: { type: 'string' },
    code: { type: 'string', enum: Object.keys(ERROR_STATUS) },
  },
  required: ['error', 'code'],
  additionalProperties: false,
};

// The shape of `toPackageView` in src/routes/packages.ts; a unit test holds the two together.
const PACKAGE_VIEW_SCHEMA: Json = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    status: {
      type: 'string',
      enum: Object.keys(STATUS_DESCRIPTIONS),
      description: Object.entries(STATUS_DESCRIPTIONS).map(([status, meaning]) => `${status}: ${meaning}`).join('; '),
    },
    name: { type: 'string', description: 'the filename the archive is saved under, extension included' },
    format: { type: 'string', enum: archiveBodySchema.shape.format.unwrap().options },
    fstype: { type: 'string' },
    paths: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
    size: { type: 'integer', minimum: 0, description: 'bytes of the archive, once built' },
    entries: { type: 'integer', minimum: 0, description: 'files and folders in the archive, once built' },
    skipped: { type: 'integer', minimum: 0, description: 'entries left out because a download would refuse them' },
    error: { type: 'string', description: 'why the build failed (status failed only)' },
    signed_url: { type: 'string', format: 'uri', description: 'once ready, when signed URLs are on: the download, without a token, until the package or the URL expires' },
  },
  required: ['id', 'status', 'name', 'format', 'fstype', 'paths', 'created_at', 'expires_at'],
  additionalProperties: false,
};

const HEADERS: Record<string, Json> = {
  'X-Request-Id': { description: 'The request id, on every response: the caller\'s own when it is short and plain, else a new one. Quote it when reporting a problem.', schema: { type: 'string' } },
  ETag: { description: 'A strong validator of the file\'s version.', schema: { type: 'string' } },
  'Last-Modified': { description: 'The file\'s modification time (HTTP-date).', schema: { type: 'string' } },
  'Cache-Control': { description: 'transfer.cacheControl for files (default `private, no-cache`: revalidate with the ETag); `no-store` for listings, archives and errors.', schema: { type: 'string' } },
  'Content-Disposition': { description: '`attachment` (or `inline` for passive types when asked) with an ASCII `filename` and a UTF-8 `filename*` (RFC 6266, RFC 8187).', schema: { type: 'string' } },
  'Content-Length': { schema: { type: 'integer', minimum: 0 } },
  'Content-Range': { description: '`bytes first-last/size` on a single-range 206; `bytes */size` on a 416.', schema: { type: 'string' } },
  'Accept-Ranges': { description: '`bytes` on files; `none` on streamed archives.', schema: { type: 'string', enum: ['bytes', 'none'] } },
  'Content-Description': { schema: { type: 'string', const: 'File Transfer' } },
  'Content-Transfer-Encoding': { schema: { type: 'string', const: 'binary' } },
  'Content-Security-Policy': {
    description:
      "`default-src 'none'; sandbox` on attachments and archives. A file served inline gets what the browser's own viewer needs to show it, and never `allow-scripts`: " +
      "an image, `style-src 'unsafe-inline'` (the viewer's page styles); audio and video, `media-src 'self'` and `sandbox allow-same-origin` (the player fetches the URL again, same-origin); PDF and plain text, nothing more.",
    schema: { type: 'string', enum: [...CONTENT_SECURITY_POLICIES] },
  },
  'X-Content-Type-Options': { schema: { type: 'string', const: 'nosniff' } },
  'WWW-Authenticate': { description: 'A `Bearer` challenge with `error` and `error_description` (RFC 6750 §3).', required: true, schema: { type: 'string' } },
  Allow: { description: 'The methods the path serves.', required: true, schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before trying again.', required: true, schema: { type: 'integer', minimum: 0 } },
  RateLimit: { description: 'What is left of the quota (draft-ietf-httpapi-ratelimit-headers).', schema: { type: 'string' } },
  'RateLimit-Policy': { description: 'The quota that was hit (draft-ietf-httpapi-ratelimit-headers).', schema: { type: 'string' } },
  Location: { description: 'Where the package\'s status can be polled; on a 302, the presigned object-store URL that sends the file.', schema: { type: 'string' } },
  'X-Archive-Entries': { description: 'Files and folders the archive holds, known before its first byte.', schema: { type: 'integer', minimum: 0 } },
  'X-Archive-Skipped': { description: 'Entries left out because a download would refuse them (hidden, disallowed, unreadable, outside the root).', schema: { type: 'integer', minimum: 0 } },
};

const headers = (...names: string[]): Json => Object.fromEntries(['X-Request-Id', ...names].map((name) => [name, ref('headers', name)]));

// The conditional and Range request headers of a file transfer (RFC 9110 §13, §14).
const TRANSFER_HEADER_PARAMETERS: Record<string, Json> = {
  Range: { name: 'Range', in: 'header', description: '`bytes=` ranges: one gives a 206 with Content-Range, several a 206 multipart/byteranges (overlaps coalesced); a malformed or non-bytes header is ignored.', schema: { type: 'string' } },
  IfRange: { name: 'If-Range', in: 'header', description: 'A strong ETag or an HTTP-date: when it no longer matches, the Range is dropped and the whole file sent. A weak ETag never matches.', schema: { type: 'string' } },
  IfMatch: { name: 'If-Match', in: 'header', description: '412 PRECONDITION_FAILED unless the file\'s ETag is listed (or `*`).', schema: { type: 'string' } },
  IfNoneMatch: { name: 'If-None-Match', in: 'header', description: '304 when the file\'s ETag is listed (or `*`).', schema: { type: 'string' } },
  IfModifiedSince: { name: 'If-Modified-Since', in: 'header', description: '304 when the file has not changed since (ignored when If-None-Match is sent).', schema: { type: 'string' } },
  IfUnmodifiedSince: { name: 'If-Unmodified-Since', in: 'header', description: '412 PRECONDITION_FAILED when the file changed since (ignored when If-Match is sent).', schema: { type: 'string' } },
};

const REQUEST_ID_PARAMETER: Json = {
  name: 'X-Request-Id',
  in: 'header',
  description: 'An id of the caller\'s own, kept on the response and in the log when it is at most 128 plain characters.',
  schema: { type: 'string', maxLength: 128 },
};

const PACKAGE_ID_PARAMETER: Json = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The id POST /api/packages answered with. Any other value, or a package of another subject, is 404.',
  schema: { type: 'string', format: 'uuid' },
};

const SIGNATURE_DESCRIPTIONS: Record<(typeof SIGNATURE_PARAMETERS)[number], string> = {
  expires: 'Signed URLs: when the URL stops working, in Unix seconds.',
  kid: 'Signed URLs: the id of the key that signed the URL.',
  sig: 'Signed URLs: the HMAC-SHA256 signature (base64url) over the method, path and every other parameter.',
};

// A signed URL carries all three instead of a token; POST /api/sign makes them.
const SIGNATURE_QUERY_PARAMETERS: Json[] = SIGNATURE_PARAMETERS.map((name) => ({
  name,
  in: 'query',
  required: false,
  description: SIGNATURE_DESCRIPTIONS[name],
  schema: { type: 'string' },
}));

// Headers a status always carries, beyond X-Request-Id.
const ERROR_HEADERS: Partial<Record<number, string[]>> = {
  401: ['WWW-Authenticate'],
  405: ['Allow'],
  416: ['Content-Range'],
  429: ['Retry-After', 'RateLimit', 'RateLimit-Policy'],
  503: ['Retry-After'],
};

const ERROR_NOTES: Partial<Record<number, string>> = {
  405: 'Answered to the methods this path does not serve.',
};

/** The error answers for `codes`, one per status, each naming its codes and narrowing the schema's `code` to them. */
function toErrorResponses(codes: readonly ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const responses: Record<string, Json> = {};
  for (const [status, listed] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: [listed.join(', '), ERROR_NOTES[status]].filter(Boolean).join('. '),
      headers: headers(...(ERROR_HEADERS[status] ?? [])),
      content: {
        'application/json': { schema: { allOf: [ref('schemas', 'Error'), { properties: { code: { enum: listed } } }] } },
      },
    };
  }
  return responses;
}

const FILE_HEADERS = ['ETag', 'Last-Modified', 'Cache-Control', 'Content-Disposition', 'Accept-Ranges', 'Content-Length', 'Content-Description', 'Content-Transfer-Encoding', 'Content-Security-Policy', 'X-Content-Type-Options'];

/** The success answers of a file transfer: 200, 206 (one range or multipart/byteranges) and 304; `typeNote` says where Content-Type comes from. */
function toTransferResponses(content: Json, typeNote: string): Record<string, Json> {
  return {
    200: { description: `The whole file. ${typeNote}`, headers: headers(...FILE_HEADERS), content },
    206: {
      description: 'Part of the file: one range with Content-Range, or several as multipart/byteranges (each part with its own Content-Type and Content-Range).',
      headers: headers(...FILE_HEADERS, 'Content-Range'),
      content: { ...content, 'multipart/byteranges': {} },
    },
    304: { description: 'Not modified: If-None-Match or If-Modified-Since holds.', headers: headers('ETag', 'Last-Modified', 'Cache-Control') },
  };
}

const jsonContent = (schema: Json): Json => ({ 'application/json': { schema } });

/** What one operation does; `toOperation` adds the security, the shared errors and the request id. */
interface OperationSpec {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: 'files' | 'archives' | 'packages' | 'operations' | 'browse';
  /** The scopes a token needs, or null when the endpoint is public. */
  readonly scopes: readonly Scope[] | null;
  /** Also served without a token to a request with a valid signature (`expires`, `kid`, `sig`). */
  readonly signed?: boolean;
  readonly parameters?: readonly Json[];
  readonly requestBody?: Json;
  /** The success answers, by status. */
  readonly responses: Record<string, Json>;
  /** Every error code the operation can answer with, beyond those every authenticated or public operation shares. */
  readonly errors: readonly ErrorCode[];
}

/** The Operation Object of `spec` for `method`: its errors grouped by status, the shared ones added, and who may call it. */
function toOperation(spec: OperationSpec, method: Method, allowQueryToken: boolean): Json {
  const shared: ErrorCode[] = spec.scopes === null ? ['METHOD_NOT_ALLOWED', 'INTERNAL'] : ['UNAUTHORIZED', 'RATE_LIMITED', 'METHOD_NOT_ALLOWED', 'INTERNAL'];
  const responses = { ...spec.responses, ...toErrorResponses([...new Set([...spec.errors, ...shared])]) };
  const scopes = spec.scopes === null ? null : [...spec.scopes];
  const security = scopes === null ? [] : [{ bearerAuth: scopes }, ...(allowQueryToken ? [{ queryToken: scopes }] : []), ...(spec.signed ? [{}] : [])];
  const operation: Json = {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    tags: [spec.tag],
    security,
    parameters: [...(spec.parameters ?? []), ref('parameters', 'RequestId')],
    ...(spec.requestBody === undefined ? {} : { requestBody: spec.requestBody }),
    responses,
  };
  return method === 'head' ? toHeadOperation(operation) : operation;
}

/** HEAD answers with the status and headers GET would, and no body (RFC 9110 §9.3.2); the router serves it wherever GET is. */
function toHeadOperation(get: Json): Json {
  const responses = Object.fromEntries(
    Object.entries(get.responses as Record<string, Json>).map(([status, response]) => {
      const headersOnly = { ...response };
      delete headersOnly.content;
      return [status, headersOnly];
    }),
  );
  const id = get.operationId as string;
  return { ...get, operationId: `head${id.slice('get'.length)}`, summary: `${get.summary as string} (headers only)`, responses };
}

/** A path answering GET, and HEAD as the router adds it. */
function getAndHead(spec: OperationSpec, allowQueryToken: boolean): Json {
  return { get: toOperation(spec, 'get', allowQueryToken), head: toOperation(spec, 'head', allowQueryToken) };
}

/**
 * The OpenAPI 3.1 document of the service as `config` sets it up: every
 * endpoint, parameter, response and error code. Request schemas and query
 * parameters come from the zod schemas the routes validate with. Pure: build
 * it once at start-up and serve it with `createOpenApiRoute`.
 */
export function createOpenApiDocument(config: Config): object {
  const { allowQueryToken } = config.auth;
  const archiveBody = toOpenApiSchema(archiveBodySchema) as { properties: { paths: Json } };
  const transferHeaders = Object.keys(TRANSFER_HEADER_PARAMETERS).map((name) => ref('parameters', name));

  const download: OperationSpec = {
    operationId: 'getDownload',
    summary: 'Download a file',
    description:
      'The file at `filepath` in layer `fstype`, after every check, with the transfer headers, Range and conditional requests. ' +
      'A signed URL (from POST /api/sign) carries `expires`, `kid` and `sig` instead of a token, and grants that one file and method.',
    tag: 'files',
    scopes: ['files:read'],
    signed: true,
    parameters: [
      ...toQueryParameters(downloadQuerySchema, {
        filepath: 'The file, relative to the layer root, folders separated by "/"; no empty, "." or ".." segments.',
        fstype: 'The layer to read from; the default layer when absent.',
        disposition: '`inline` shows passive types (images but SVG, audio, video, PDF, plain text) in the browser; other types always go as attachments.',
      }),
      ...SIGNATURE_QUERY_PARAMETERS,
      ...transferHeaders,
    ],
    responses: {
      ...toTransferResponses({ '*/*': {} }, 'Content-Type from the extension; text has charset=utf-8, unknown types are application/octet-stream.'),
      302: {
        description: 'On a layer with delivery "redirect" (an object store), a GET of an attachment of at least delivery.minSize, answered 200 or with one range, '
          + 'after every check: follow Location (a short-lived presigned URL of the engine, which sends the bytes with filegate\'s Content-Type, Content-Disposition and Cache-Control) '
          + 'without this request\'s Authorization header. Empty body, Cache-Control private, no-store.',
        headers: headers('Location', 'Cache-Control', 'X-Content-Type-Options'),
      },
    },
    errors: [
      'BAD_REQUEST', 'UNKNOWN_FSTYPE', 'FORBIDDEN', 'FSTYPE_UNAVAILABLE', 'PATH_NOT_ALLOWED', 'NOT_FOUND', 'NOT_A_FILE', 'NOT_READABLE',
      'TYPE_NOT_ALLOWED', 'FILE_EMPTY', 'FILE_TOO_LARGE', 'PRECONDITION_FAILED', 'RANGE_NOT_SATISFIABLE', 'UNAVAILABLE',
    ],
  };

  const listing: OperationSpec = {
    operationId: 'getList',
    summary: 'List a folder',
    description:
      'One page of the entries of the folder `path` in layer `fstype`, for file browsers: files and folders only, with ready relative links ' +
      '(`download_url`, `list_url`) to use with the same token. Left out, as a download would refuse or not find them: hidden entries (unless the layer ' +
      'has `hidden: "allow"`), symlinks that leave the root or that `symlinks: "deny"` refuses, FIFOs, sockets and devices, names that cannot be ' +
      'asked for (not UTF-8, control characters, backslashes), files of a type the layer does not serve, and entries outside the token\'s `paths` ' +
      '(a token limited to `users/42` may list `users` and sees only `42`). Follow `next_cursor` for the next page with the other parameters unchanged: ' +
      'each entry comes once, also while the folder changes. A path that is a file is 403 NOT_A_FILE.',
    tag: 'files',
    scopes: ['files:list'],
    parameters: [
      ...toQueryParameters(listQuerySchema, {
        path: 'The folder, relative to the layer root, folders separated by "/"; the layer root when absent or "/".',
        fstype: 'The layer to read from; the default layer when absent.',
        q: 'Keep the names holding this text, case-insensitively (files and folders).',
        sort: 'The sort key; names sort naturally ("file2" before "file10", case aside), and ties on size or time by name.',
        order: '`desc` reverses the order; folders stay first unless `dirs` is `mixed`.',
        dirs: '`first`: every folder before every file; `mixed`: sorted together (a folder has no size, and sorts as smaller than any file).',
        limit: `The most entries on the page: a whole number from 1 to ${MAX_LIMIT}; ${DEFAULT_LIMIT} when absent.`,
        cursor: 'The `next_cursor` of the previous page, as given. A changed cursor, or one from a listing with another path, fstype, sort, order, dirs, type or q, is 400.',
      }),
      {
        name: 'type',
        in: 'query',
        required: false,
        description: 'Keep the files of these categories (folders stay, to walk into); repeat the parameter or separate categories with commas.',
        style: 'form',
        explode: true,
        schema: toOpenApiSchema(listTypeSchema),
      },
    ],
    responses: { 200: { description: 'One page of the listing.', headers: headers('Cache-Control'), content: jsonContent(ref('schemas', 'Listing')) } },
    errors: ['BAD_REQUEST', 'UNKNOWN_FSTYPE', 'FORBIDDEN', 'FSTYPE_UNAVAILABLE', 'PATH_NOT_ALLOWED', 'NOT_FOUND', 'NOT_A_FILE', 'NOT_READABLE', 'UNAVAILABLE'],
  };

  const archiveResponse: Json = {
    description: 'The archive, streamed as it is built; its size is not known in advance.',
    headers: headers('Content-Disposition', 'Accept-Ranges', 'Cache-Control', 'X-Archive-Entries', 'X-Archive-Skipped', 'Content-Security-Policy', 'X-Content-Type-Options'),
    content: { 'application/zip': {}, 'application/gzip': {} },
  };
  const archiveErrors: ErrorCode[] = [
    'BAD_REQUEST', 'UNKNOWN_FSTYPE', 'FORBIDDEN', 'FSTYPE_UNAVAILABLE', 'PATH_NOT_ALLOWED', 'NOT_FOUND', 'NOT_A_FILE', 'NOT_READABLE',
    'TYPE_NOT_ALLOWED', 'FILE_EMPTY', 'FILE_TOO_LARGE', 'ARCHIVE_TOO_LARGE', 'UNAVAILABLE',
  ];
  const archiveDescription =
    'Files and folders of one layer as a ZIP or tar.gz, streamed. Entries a download would refuse are skipped and counted (X-Archive-Skipped); ' +
    `a requested path a download would refuse fails the request. At most ${config.archive.maxEntries} entries (those left out included) and archive.maxBytes bytes, checked before the first byte.`;
  const archiveGet: OperationSpec = {
    operationId: 'getArchive',
    summary: 'Archive files and folders (query)',
    description:
      `${archiveDescription} A signed archive link (from POST /api/sign/archive) carries \`expires\`, \`kid\` and \`sig\` instead of a token, ` +
      'and archives exactly the paths, layer, format and name it was signed with.',
    tag: 'archives',
    scopes: ['files:archive'],
    signed: true,
    parameters: [
      {
        name: 'path',
        in: 'query',
        required: true,
        description: 'A file or folder to archive, relative to the layer root; repeat the parameter for each.',
        style: 'form',
        explode: true,
        schema: archiveBody.properties.paths,
      },
      ...toQueryParameters(archiveQuerySchema, {
        fstype: 'The layer to read from; the default layer when absent.',
        format: 'The archive format.',
        name: 'The saved filename; the format\'s extension is added unless present. Default: the one path asked for, else "archive".',
      }),
      ...SIGNATURE_QUERY_PARAMETERS,
    ],
    responses: { 200: archiveResponse },
    errors: archiveErrors,
  };
  const archivePost: OperationSpec = {
    operationId: 'postArchive',
    summary: 'Archive files and folders (JSON body)',
    description: archiveDescription,
    tag: 'archives',
    scopes: ['files:archive'],
    requestBody: { required: true, content: jsonContent(ref('schemas', 'ArchiveRequest')) },
    responses: { 200: archiveResponse },
    errors: archiveErrors,
  };

  const packageView = jsonContent(ref('schemas', 'PackageView'));
  const packageScopes: Scope[] = ['files:archive'];
  const packageNote = ' Packages belong to the token\'s subject: the token needs a `sub` claim.';
  const packageCreate: OperationSpec = {
    operationId: 'postPackages',
    summary: 'Build an archive in the background',
    description:
      `Every path is authorized now; the archive is built later, kept for packages.retention, and fetched once ready.${packageNote}` +
      ' 429 RATE_LIMITED while the subject has packages.maxPerSubject packages waiting or building, while its packages keep packages.maxBytesPerSubject, or while the service queues packages.maxQueued.',
    tag: 'packages',
    scopes: packageScopes,
    requestBody: { required: true, content: jsonContent(ref('schemas', 'ArchiveRequest')) },
    responses: { 202: { description: 'Accepted: the package, pending.', headers: headers('Location', 'Cache-Control'), content: packageView } },
    errors: ['BAD_REQUEST', 'UNKNOWN_FSTYPE', 'FORBIDDEN', 'PATH_NOT_ALLOWED'],
  };
  const claimsNote = ' The token must still cover what the package packed (its fstype and every path), else 403 FORBIDDEN; `signed_url` is handed only to a token with files:sign.';
  const packageStatus: OperationSpec = {
    operationId: 'getPackage',
    summary: 'A package\'s status',
    description: `Poll until \`status\` is ready (or failed).${packageNote}${claimsNote}`,
    tag: 'packages',
    scopes: packageScopes,
    parameters: [PACKAGE_ID_PARAMETER],
    responses: { 200: { description: 'The package.', headers: headers('Cache-Control'), content: packageView } },
    errors: ['FORBIDDEN', 'NOT_FOUND'],
  };
  const packageDownload: OperationSpec = {
    operationId: 'getPackageDownload',
    summary: 'Download a built package',
    description:
      `409 NOT_READY until the package is ready (with Retry-After while it is pending or running; for good once it failed), then the archive as a file: Range, ETag, conditional requests.${packageNote}${claimsNote}` +
      ' The `signed_url` of a ready package reaches it without a token: it carries `sub`, `expires`, `kid` and `sig`.',
    tag: 'packages',
    scopes: packageScopes,
    signed: true,
    parameters: [
      PACKAGE_ID_PARAMETER,
      { name: 'sub', in: 'query', required: false, description: 'Signed URLs: the package owner the URL was signed for.', schema: { type: 'string' } },
      ...SIGNATURE_QUERY_PARAMETERS,
      ...transferHeaders,
    ],
    responses: toTransferResponses({ 'application/zip': {}, 'application/gzip': {} }, 'Content-Type from the package\'s format.'),
    errors: ['FORBIDDEN', 'NOT_FOUND', 'NOT_READY', 'PRECONDITION_FAILED', 'RANGE_NOT_SATISFIABLE', 'UNAVAILABLE'],
  };

  const sign: OperationSpec = {
    operationId: 'postSign',
    summary: 'Presign a download URL',
    description:
      'URLs for GET and HEAD of one file that work without a token until `expiry` (Unix seconds): `expires_in` or signing.defaultTtl, capped by signing.maxTtl ' +
      'and, when signing.boundToToken, by the token\'s own expiry. The token must be able to read the file itself, and the file must be downloadable now.',
    tag: 'files',
    scopes: ['files:sign', 'files:read'],
    requestBody: { required: true, content: jsonContent(ref('schemas', 'SignRequest')) },
    responses: { 200: { description: 'The signed URLs.', headers: headers(), content: jsonContent(ref('schemas', 'SignResponse')) } },
    errors: [
      'BAD_REQUEST', 'UNKNOWN_FSTYPE', 'FORBIDDEN', 'FSTYPE_UNAVAILABLE', 'PATH_NOT_ALLOWED', 'NOT_FOUND', 'NOT_A_FILE', 'NOT_READABLE',
      'TYPE_NOT_ALLOWED', 'FILE_EMPTY', 'FILE_TOO_LARGE', 'UNAVAILABLE',
    ],
  };

  const signBatch: OperationSpec = {
    operationId: 'postSignBatch',
    summary: 'Presign download URLs for many files',
    description:
      `Up to ${MAX_BATCH_FILES} files of one layer in one request, each checked exactly as POST /api/sign checks one, with the same options for all. ` +
      'Each file gets its own outcome, in the order asked: its URLs, or the error POST /api/sign would have answered for it (`error`, `code`: a bad path, ' +
      'outside the token\'s paths, absent, refused by the layer\'s rules). The request fails as a whole only for what concerns it as a whole: the body, ' +
      'the layer, a token without files:sign or files:read or not granted the layer, and a failure of the service (5xx).',
    tag: 'files',
    scopes: ['files:sign', 'files:read'],
    requestBody: { required: true, content: jsonContent(ref('schemas', 'SignBatchRequest')) },
    responses: { 200: { description: 'One outcome per file.', headers: headers('Cache-Control'), content: jsonContent(ref('schemas', 'SignBatchResponse')) } },
    errors: ['BAD_REQUEST', 'UNKNOWN_FSTYPE', 'FORBIDDEN', 'UNAVAILABLE'],
  };

  const signArchive: OperationSpec = {
    operationId: 'postSignArchive',
    summary: 'Presign an archive link for a selection',
    description:
      'A GET /api/archive URL for these paths of one layer that works without a token until `expiry` (Unix seconds), so a plain link (a browser\'s download) ' +
      'starts the archive. The lifetime is as POST /api/sign\'s. The token must be able to archive every path itself; the selection is walked now as the ' +
      'archive will walk it, so a path absent or refused and the entry and byte limits are answered here, not by the link. The link archives exactly ' +
      `this selection (every path, the layer, format and name are signed), is good for GET only, and may be at most ${MAX_ARCHIVE_LINK_BYTES} bytes ` +
      '(path and query): a longer selection is 400, archive the folder holding it, or POST /api/packages.',
    tag: 'archives',
    scopes: ['files:sign', 'files:archive'],
    requestBody: { required: true, content: jsonContent(ref('schemas', 'SignArchiveRequest')) },
    responses: { 200: { description: 'The signed archive link.', headers: headers('Cache-Control'), content: jsonContent(ref('schemas', 'SignArchiveResponse')) } },
    errors: archiveErrors,
  };

  const access: OperationSpec = {
    operationId: 'getAccess',
    summary: 'What this token may do',
    description:
      'The token\'s own grants (subject, scopes, paths, expiry) and the layers it may name as `fstype`: a front end\'s first question. ' +
      'Layers outside the token\'s `fstypes` are left out.',
    tag: 'files',
    scopes: ['files:list'],
    responses: { 200: { description: 'The token\'s access.', headers: headers('Cache-Control'), content: jsonContent(ref('schemas', 'Access')) } },
    errors: ['FORBIDDEN'],
  };

  const pageHeaders: Record<string, Json> = { 'Content-Security-Policy': { description: 'The page\'s own policy: everything from this origin only.', schema: { type: 'string', const: PAGE_POLICY } } };
  const browsePage: OperationSpec = {
    operationId: 'getBrowsePage',
    summary: 'The browse page',
    description:
      'A file browser for people, built on this API (GET /api/access, /api/list, POST /api/sign, /api/sign/batch and /api/sign/archive): paste a token or ' +
      'open `/#token=…`. Its script and styles are fingerprinted files under /assets/. Served while ui.enabled; 404 NOT_FOUND when the page was not built.',
    tag: 'browse',
    scopes: null,
    responses: {
      200: { description: `The page. Cache-Control \`${PAGE_CACHE_CONTROL}\` (revalidated with its ETag).`, headers: { ...headers('ETag', 'Cache-Control'), ...pageHeaders }, content: { 'text/html': { schema: { type: 'string' } } } },
      304: { description: 'Not modified.', headers: headers('ETag', 'Cache-Control') },
    },
    errors: ['NOT_FOUND'],
  };
  const browseAsset: OperationSpec = {
    operationId: 'getBrowseAsset',
    summary: 'A file of the browse page',
    description: `A script, style sheet or icon of the page, named after its content's hash. Cache-Control \`${ASSET_CACHE_CONTROL}\`; br or gzip when accepted.`,
    tag: 'browse',
    scopes: null,
    parameters: [{ name: 'name', in: 'path', required: true, description: 'The file\'s name, as the page links it.', schema: { type: 'string' } }],
    responses: {
      200: { description: 'The file.', headers: headers('ETag', 'Cache-Control'), content: { 'text/javascript': {}, 'text/css': {}, 'image/svg+xml': {} } },
      304: { description: 'Not modified.', headers: headers('ETag', 'Cache-Control') },
    },
    errors: ['NOT_FOUND'],
  };
  const favicon: OperationSpec = {
    operationId: 'getFavicon',
    summary: 'The favicon',
    description: `The icon browsers ask for on every page and file they open. Cache-Control \`${FAVICON_CACHE_CONTROL}\`.`,
    tag: 'browse',
    scopes: null,
    responses: {
      200: { description: 'The icon.', headers: headers('ETag', 'Cache-Control'), content: { 'image/x-icon': {} } },
      304: { description: 'Not modified.', headers: headers('ETag', 'Cache-Control') },
    },
    errors: ['NOT_FOUND'],
  };

  const healthz: OperationSpec = {
    operationId: 'getHealthz',
    summary: 'Liveness',
    tag: 'operations',
    scopes: null,
    responses: { 200: { description: 'The process is up.', headers: headers('Cache-Control'), content: jsonContent({ type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] }) } },
    errors: [],
  };
  const readyz: OperationSpec = {
    operationId: 'getReadyz',
    summary: 'Readiness',
    description: '503 UNAVAILABLE while a layer root cannot be reached or the service is shutting down.',
    tag: 'operations',
    scopes: null,
    responses: {
      200: {
        description: 'Every layer root is reachable.',
        headers: headers('Cache-Control'),
        content: jsonContent({ type: 'object', properties: { status: { const: 'ready' }, layers: { type: 'array', items: { type: 'string' } } }, required: ['status', 'layers'] }),
      },
    },
    errors: ['UNAVAILABLE'],
  };
  const metrics: OperationSpec = {
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    tag: 'operations',
    scopes: null,
    responses: { 200: { description: 'The Prometheus text exposition format.', headers: headers('Cache-Control'), content: { 'text/plain': { schema: { type: 'string' } } } } },
    errors: [],
  };
  const openapi: OperationSpec = {
    operationId: 'getOpenApi',
    summary: 'This document',
    description: 'The machine-readable contract; public, as it describes only what any caller may learn from the docs.',
    tag: 'operations',
    scopes: null,
    responses: { 200: { description: 'The OpenAPI 3.1 document.', headers: headers('Cache-Control'), content: jsonContent({ type: 'object' }) } },
    errors: [],
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'filegate',
      version: VERSION,
      summary: SUMMARY,
      description:
        'Files by relative path from configured storage layers, behind JWT auth. Every error is `{"error", "code"}` with an X-Request-Id; ' +
        'docs/errors.md lists each code with its cause and fix.',
      license: { name: LICENSE, identifier: LICENSE },
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'files', description: 'Downloads, listings and signed URLs.' },
      { name: 'archives', description: 'Streamed ZIP and tar.gz archives.' },
      { name: 'packages', description: 'Archives built in the background.' },
      { name: 'operations', description: 'Probes, metrics and this document; no token needed.' },
      ...(config.ui.enabled ? [{ name: 'browse', description: 'The browse page for people (ui.enabled); no token needed to load it.' }] : []),
    ],
    paths: {
      '/api/download': getAndHead(download, allowQueryToken),
      '/api/list': getAndHead(listing, allowQueryToken),
      '/api/archive': { ...getAndHead(archiveGet, allowQueryToken), post: toOperation(archivePost, 'post', allowQueryToken) },
      '/api/packages': { post: toOperation(packageCreate, 'post', allowQueryToken) },
      '/api/packages/{id}': getAndHead(packageStatus, allowQueryToken),
      '/api/packages/{id}/download': getAndHead(packageDownload, allowQueryToken),
      '/api/sign': { post: toOperation(sign, 'post', allowQueryToken) },
      '/api/sign/batch': { post: toOperation(signBatch, 'post', allowQueryToken) },
      '/api/sign/archive': { post: toOperation(signArchive, 'post', allowQueryToken) },
      '/api/access': getAndHead(access, allowQueryToken),
      ...(config.ui.enabled
        ? { '/': getAndHead(browsePage, allowQueryToken), '/assets/{name}': getAndHead(browseAsset, allowQueryToken), '/favicon.ico': getAndHead(favicon, allowQueryToken) }
        : {}),
      '/healthz': getAndHead(healthz, allowQueryToken),
      '/readyz': getAndHead(readyz, allowQueryToken),
      // With a port of its own (metrics.port), /metrics is not served here.
      ...(config.metrics.port === null ? { '/metrics': getAndHead(metrics, allowQueryToken) } : {}),
      '/openapi.json': getAndHead(openapi, allowQueryToken),
      ...toAliasPaths(config, { download, listing, archive: archiveGet, sign, packageCreate }, allowQueryToken),
    },
    components: {
      schemas: {
        Error: ERROR_SCHEMA,
        ArchiveRequest: archiveBody,
        PackageView: PACKAGE_VIEW_SCHEMA,
        SignRequest: toOpenApiSchema(signBodySchema),
        SignResponse: toOpenApiSchema(signResponseSchema, 'output'),
        SignBatchRequest: toOpenApiSchema(signBatchBodySchema),
        SignBatchResponse: toOpenApiSchema(signBatchResponseSchema, 'output'),
        SignArchiveRequest: toOpenApiSchema(signArchiveBodySchema),
        SignArchiveResponse: toOpenApiSchema(signArchiveResponseSchema, 'output'),
        Access: toOpenApiSchema(accessResponseSchema, 'output'),
        Listing: toOpenApiSchema(listResponseSchema, 'output'),
      },
      parameters: { ...TRANSFER_HEADER_PARAMETERS, RequestId: REQUEST_ID_PARAMETER },
      headers: HEADERS,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT whose `scope` claim grants what the operation lists.' },
        ...(allowQueryToken ? { queryToken: { type: 'apiKey', in: 'query', name: 'token', description: 'The same JWT as the `token` parameter (auth.allowQueryToken); never together with the header.' } } : {}),
      },
    },
  };
}

/** The built-in operations a route alias hands over to, whose answers it shares. */
interface AliasTargets {
  readonly download: OperationSpec;
  readonly listing: OperationSpec;
  readonly archive: OperationSpec;
  readonly sign: OperationSpec;
  readonly packageCreate: OperationSpec;
}

/**
 * The path items of the configured route aliases: each with its path
 * parameters (and their enum or pattern), the query parameters its action
 * takes, the scope and the answers of the endpoint it hands over to, plus
 * the 400 of a refused parameter and, where it applies, 409 NOT_READY.
 */
function toAliasPaths(config: Config, targets: AliasTargets, allowQueryToken: boolean): Record<string, Json> {
  const { aliases } = compileRouteAliases(config.routes, Object.keys(config.layers));
  const items: Record<string, Json> = {};
  aliases.forEach((alias, index) => {
    const path = alias.config.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
    const spec = toAliasOperation(alias, index, targets);
    const method = alias.method.toLowerCase() as Method;
    const operations = method === 'get' ? getAndHead(spec, allowQueryToken) : { [method]: toOperation(spec, method, allowQueryToken) };
    items[path] = { ...(items[path] ?? {}), ...operations };
  });
  return items;
}

/** One alias's operation: the target endpoint's, with the alias's path parameters, scope and extra errors. */
function toAliasOperation(alias: CompiledAlias, index: number, targets: AliasTargets): OperationSpec {
  const pathParameters = alias.params.map((name) => {
    const rule = alias.rules.get(name);
    const schema: Json = { type: 'string', minLength: 1, maxLength: 255 };
    if (rule?.enum) schema.enum = [...rule.enum];
    if (rule?.pattern) schema.pattern = rule.pattern.source;
    return { name, in: 'path', required: true, description: 'One path segment: never empty, "." or "..", no "/".', schema };
  });
  const id = `${alias.method.toLowerCase()}Alias${index}`;
  const base = { operationId: id, summary: `Route alias ${alias.config.path}`, description: `A route alias (routes.${index}) of action "${alias.action}".`, scopes: [alias.scope] };
  const notReady: ErrorCode[] = alias.action === 'presign' || alias.config.missing === 'conflict' ? ['NOT_READY'] : [];
  // The query parameters the alias fills in itself are not the caller's.
  const queryWithout = (spec: OperationSpec, names: readonly string[]) => (spec.parameters ?? []).filter((parameter) => !(parameter.in === 'query' && names.includes(parameter.name as string)));
  switch (alias.action) {
    case 'filepath':
      return { ...targets.download, ...base, signed: false, parameters: [...pathParameters, ...queryWithout(targets.download, ['filepath', 'fstype', ...SIGNATURE_PARAMETERS])], errors: [...targets.download.errors, ...notReady] };
    case 'list':
      return { ...targets.listing, ...base, parameters: [...pathParameters, ...queryWithout(targets.listing, ['path', 'fstype'])] };
    case 'archive':
      return { ...targets.archive, ...base, parameters: pathParameters };
    case 'presign': {
      const { requestBody: _none, ...sign } = targets.sign;
      return { ...sign, ...base, parameters: pathParameters, errors: [...targets.sign.errors, ...notReady] };
    }
    case 'package': {
      const lists = Object.fromEntries([...alias.lists.keys()].map((name) => [name, { type: 'array', items: { type: 'string', minLength: 1, maxLength: 255 } }]));
      return {
        ...targets.packageCreate,
        ...base,
        parameters: pathParameters,
        requestBody: { required: true, content: jsonContent({ type: 'object', properties: lists, additionalProperties: false, minProperties: 1 }) },
        responses: {
          202: {
            description: 'Accepted: the package, pending, and its signed download URL (409 NOT_READY until it is built; null when signed URLs are off).',
            headers: headers('Location', 'Cache-Control'),
            content: jsonContent({
              type: 'object',
              properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string' }, signed_url: { type: ['string', 'null'] } },
              required: ['id', 'status', 'signed_url'],
            }),
          },
        },
      };
    }
  }
}

/**
 * Middleware answering `document` as JSON, serialized once. Public (the
 * router mounts it without authentication) and cacheable for five minutes:
 * the document is the same for every caller and changes only with a restart.
 */
export function createOpenApiRoute(document: object): Middleware {
  const body = JSON.stringify(document);
  return (ctx) => {
    ctx.set('Cache-Control', OPENAPI_CACHE_CONTROL);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'application/json';
    ctx.body = body;
  };
}
