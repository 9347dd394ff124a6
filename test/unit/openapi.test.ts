// The OpenAPI document: valid OpenAPI 3.1, every route of the app and every error code in it, and its request side taken from the routes' own zod schemas.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import Koa from 'koa';
import { z } from 'zod';
import { configSchema, type Config } from '../../src/config/schema.js';
import { ERROR_STATUS, type ErrorCode } from '../../src/errors.js';
import { createOpenApiDocument, createOpenApiRoute, OPENAPI_CACHE_CONTROL } from '../../src/http/openapi.js';
import type { PackageManifest } from '../../src/packages/package-store.js';
import { archiveBodySchema, archiveQuerySchema } from '../../src/routes/archive.js';
import { downloadQuerySchema } from '../../src/routes/download.js';
import { listQuerySchema, listResponseSchema, listTypeSchema } from '../../src/routes/list.js';
import { toPackageView } from '../../src/routes/packages.js';
import { accessResponseSchema } from '../../src/routes/access.js';
import { signBodySchema, signResponseSchema } from '../../src/routes/sign.js';
import { signArchiveBodySchema, signArchiveResponseSchema } from '../../src/routes/sign-archive.js';
import { MAX_BATCH_FILES, signBatchBodySchema, signBatchResponseSchema } from '../../src/routes/sign-batch.js';
import { SIGNATURE_PARAMETERS } from '../../src/signing/url-signer.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, TEST_SECRET, type TestServer } from '../helpers/server.js';

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Json;
  $ref?: string;
}

interface Response {
  description: string;
  headers?: Record<string, Json>;
  content?: Record<string, { schema?: Json }>;
}

interface Operation {
  operationId: string;
  security: Array<Record<string, string[]>>;
  parameters: Parameter[];
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, Response>;
}

interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; parameters: Record<string, Parameter>; securitySchemes: Record<string, Json> };
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'];

/** Every operation of the document, with its path and method. */
function operationsOf(document: OpenApiDocument): Array<{ path: string; method: string; operation: Operation }> {
  return Object.entries(document.paths).flatMap(([route, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({ path: route, method, operation })),
  );
}

/** The JSON Schema zod makes of a schema, as a standalone schema (with its `$schema`). */
function zodJsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Json {
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io }) as Json;
}

function withoutDialect(schema: Json): Json {
  const copy = { ...schema };
  delete copy.$schema;
  return copy;
}

/** Every value under `value` with the key `key`, found anywhere. */
function valuesOfKey(value: unknown, key: string): unknown[] {
  if (Array.isArray(value)) return value.flatMap((item) => valuesOfKey(item, key));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([name, child]) => [...(name === key ? [child] : []), ...valuesOfKey(child, key)]);
}

/** Follows a local JSON pointer (`#/a/b`) through the document; undefined when it leads nowhere. */
function resolvePointer(document: unknown, pointer: string): unknown {
  const names = pointer.replace(/^#\//, '').split('/').map((name) => name.replace(/~1/g, '/').replace(/~0/g, '~'));
  return names.reduce<unknown>((node, name) => (typeof node === 'object' && node !== null ? (node as Json)[name] : undefined), document);
}

/** The codes an error response narrows its `code` to. */
function codesOf(response: Response): string[] {
  const schema = response.content?.['application/json']?.schema as { allOf?: Array<{ properties?: { code?: { enum?: string[] } } }> } | undefined;
  return schema?.allOf?.[1]?.properties?.code?.enum ?? [];
}

/** The query parameters of an operation, by name. */
function queryParameters(operation: Operation): Map<string, Parameter> {
  return new Map(operation.parameters.filter((parameter) => parameter.in === 'query').map((parameter) => [parameter.name, parameter]));
}

/** The (path, method) pairs the app's router serves, in OpenAPI's spelling (`{id}`, lower-case methods). */
function routesOf(server: TestServer): Array<[string, string]> {
  const router = (server.running.app.koa.middleware as Array<{ router?: Router }>).find((middleware) => middleware.router !== undefined)?.router;
  if (router === undefined) throw new Error('the app mounts no router');
  return router.stack.flatMap((layer) => layer.methods.map((method): [string, string] => [String(layer.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}'), method.toLowerCase()]));
}

describe('createOpenApiDocument', () => {
  let root: TempDir;
  let config: Config;
  let document: OpenApiDocument;

  before(() => {
    root = tempDir();
    config = configSchema.parse({ layers: { OsFs: { root: root.dir } }, auth: { secret: TEST_SECRET } });
    document = createOpenApiDocument(config) as OpenApiDocument;
  });

  after(() => root.remove());

  describe('validity', () => {
    for (const allowQueryToken of [true, false]) {
      it(`is a valid OpenAPI 3.1 document (auth.allowQueryToken ${allowQueryToken})`, async () => {
        const built = createOpenApiDocument(configSchema.parse({ layers: { OsFs: { root: root.dir } }, auth: { secret: TEST_SECRET, allowQueryToken } }));
        const validator = new Validator();
        const result = await validator.validate(structuredClone(built) as Json);
        expect(result.valid, `validation errors: ${JSON.stringify(result.errors, null, 2)}`).to.equal(true);
        expect(validator.version).to.equal('3.1');
      });
    }

    it('every $ref points at something in the document', () => {
      const refs = valuesOfKey(document, '$ref') as string[];
      expect(refs.length).to.be.greaterThan(0);
      const dangling = refs.filter((pointer) => !pointer.startsWith('#/') || resolvePointer(document, pointer) === undefined);
      expect(dangling).to.deep.equal([]);
    });

    it('embeds no $schema: OpenAPI 3.1 names the dialect once', () => {
      expect(valuesOfKey(document, '$schema')).to.deep.equal([]);
    });

    it('documents the 302 a download may answer on a redirect layer, with its Location', () => {
      const download = (document as unknown as { paths: Record<string, { get: { responses: Record<string, { headers: Record<string, unknown> }> } }> }).paths['/api/download']!.get;
      expect(download.responses['302']!.headers).to.have.property('Location');
    });

    it('gives every operation its own operationId', () => {
      const ids = operationsOf(document).map(({ operation }) => operation.operationId);
      expect(ids.filter((id, index) => ids.indexOf(id) !== index)).to.deep.equal([]);
    });

    it('is the same each time it is built from the same config (pure)', () => {
      expect(createOpenApiDocument(config)).to.deep.equal(document);
    });

    it('survives a JSON round trip unchanged (nothing but JSON in it)', () => {
      expect(JSON.parse(JSON.stringify(document))).to.deep.equal(document);
    });

    it('is version 3.1.0, versioned as package.json, served from "/"', () => {
      const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
      expect(document.openapi).to.equal('3.1.0');
      expect(document.info.version).to.equal(pkg.version);
      expect(document.servers).to.deep.equal([{ url: '/' }]);
    });
  });

  describe('routes', () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ layers: { OsFs: { root: root.dir } } });
    });

    after(() => server.close());

    it('GET /openapi.json on the running service answers the document, with no token, and it validates', async () => {
      const response = await fetch(`${server.url}/openapi.json`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^application\/json/);
      const served = (await response.json()) as Json;
      expect(served).to.deep.equal(JSON.parse(JSON.stringify(createOpenApiDocument(server.config))));
      const result = await new Validator().validate(served);
      expect(result.valid, `validation errors: ${JSON.stringify(result.errors, null, 2)}`).to.equal(true);
    });

    it('documents every route the app serves, each method of it (a route added without documentation fails here)', () => {
      const routes = routesOf(server);
      expect(routes.length).to.be.greaterThan(0);
      const documentOf = createOpenApiDocument(server.config) as OpenApiDocument;
      const missing = routes.filter(([route, method]) => documentOf.paths[route]?.[method] === undefined).map(([route, method]) => `${method.toUpperCase()} ${route}`);
      expect(missing).to.deep.equal([]);
    });

    describe('route aliases, in each example deployment of config/examples/', () => {
      for (const name of ['image-analysis', 'media-library', 'image-processing', 'insights-packages']) {
        it(`${name}: every alias documented with its path parameters, and the document valid`, async () => {
          const example = JSON.parse(readFileSync(path.join(REPO, 'config', 'examples', `${name}.json`), 'utf8')) as { routes: unknown[]; signing?: unknown };
          const aliased = await startTestServer({ layers: { OsFs: { root: root.dir } }, routes: example.routes as never });
          try {
            const built = createOpenApiDocument(aliased.config) as OpenApiDocument;
            const missing = routesOf(aliased).filter(([route, method]) => built.paths[route]?.[method] === undefined).map(([route, method]) => `${method.toUpperCase()} ${route}`);
            expect(missing).to.deep.equal([]);
            for (const alias of aliased.config.routes) {
              const route = alias.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
              const operation = built.paths[route]![(alias.method ?? (alias.package ? 'POST' : 'GET')).toLowerCase()] as { parameters: Parameter[] };
              const inPath = operation.parameters.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name);
              expect(inPath).to.deep.equal([...alias.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]));
            }
            const result = await new Validator().validate(structuredClone(built) as unknown as Json);
            expect(result.valid, `validation errors: ${JSON.stringify(result.errors, null, 2)}`).to.equal(true);
          } finally {
            await aliased.close();
          }
        });
      }

      it('an enum rule becomes the parameter\'s enum', async () => {
        const built = createOpenApiDocument(
          configSchema.parse({ layers: { OsFs: { root: root.dir } }, auth: { secret: TEST_SECRET }, routes: [{ path: '/img/:type', filepath: 'i/{type}.png', params: { type: ['a', 'b'] } }] }),
        ) as OpenApiDocument;
        const operation = built.paths['/img/{type}']!.get as { parameters: Parameter[] };
        expect(operation.parameters.find((parameter) => parameter.name === 'type')?.schema?.enum).to.deep.equal(['a', 'b']);
      });
    });

    const endpoints: Array<[string, string]> = [
      ['get', '/api/download'], ['head', '/api/download'],
      ['get', '/api/list'], ['head', '/api/list'],
      ['get', '/api/archive'], ['head', '/api/archive'], ['post', '/api/archive'],
      ['post', '/api/packages'],
      ['get', '/api/packages/{id}'], ['head', '/api/packages/{id}'],
      ['get', '/api/packages/{id}/download'], ['head', '/api/packages/{id}/download'],
      ['post', '/api/sign'],
      ['post', '/api/sign/batch'],
      ['post', '/api/sign/archive'],
      ['get', '/api/access'], ['head', '/api/access'],
      ['get', '/'], ['head', '/'],
      ['get', '/assets/{name}'], ['head', '/assets/{name}'],
      ['get', '/favicon.ico'], ['head', '/favicon.ico'],
      ['get', '/healthz'], ['head', '/healthz'],
      ['get', '/readyz'], ['head', '/readyz'],
      ['get', '/metrics'], ['head', '/metrics'],
      ['get', '/openapi.json'], ['head', '/openapi.json'],
    ];

    it('lists exactly the endpoints of the SPEC\'s table that filegate serves, and no others', () => {
      const listed = operationsOf(document).map(({ path: route, method }) => `${method.toUpperCase()} ${route}`).sort();
      expect(listed).to.deep.equal(endpoints.map(([method, route]) => `${method.toUpperCase()} ${route}`).sort());
    });

    it('leaves the browse page\'s paths out when ui.enabled is false', () => {
      const apiOnly = createOpenApiDocument(configSchema.parse({ layers: { OsFs: { root: root.dir } }, ui: { enabled: false } })) as OpenApiDocument;
      for (const route of ['/', '/assets/{name}', '/favicon.ico']) expect(apiOnly.paths, route).to.not.have.property(route);
      expect(apiOnly.paths).to.have.property('/api/access');
    });

    it('leaves /metrics out when metrics.port serves it on a port of its own', () => {
      const separate = createOpenApiDocument(configSchema.parse({ layers: { OsFs: { root: root.dir } }, metrics: { port: 9464 } })) as OpenApiDocument;
      expect(separate.paths).to.not.have.property('/metrics');
      expect(separate.paths).to.have.property('/healthz');
    });

    it('declares the path parameter {id} on the package operations', () => {
      for (const route of ['/api/packages/{id}', '/api/packages/{id}/download']) {
        for (const operation of Object.values(document.paths[route]!)) {
          const id = operation.parameters.find((parameter) => parameter.in === 'path');
          expect(id, route).to.include({ name: 'id', required: true });
        }
      }
    });

    it('HEAD answers GET\'s statuses and headers with no body', () => {
      for (const [route, item] of Object.entries(document.paths)) {
        if (item.head === undefined) continue;
        expect(item.get, `GET ${route}`).to.not.equal(undefined);
        expect(Object.keys(item.head.responses), route).to.deep.equal(Object.keys(item.get!.responses));
        for (const [status, response] of Object.entries(item.head.responses)) {
          expect(response.content, `HEAD ${route} ${status}`).to.equal(undefined);
          expect(response.headers, `HEAD ${route} ${status}`).to.deep.equal(item.get!.responses[status]!.headers);
          expect(response.description, `HEAD ${route} ${status}`).to.equal(item.get!.responses[status]!.description);
        }
      }
    });
  });

  describe('errors', () => {
    const errorResponses = () =>
      operationsOf(document).flatMap(({ path: route, method, operation }) =>
        Object.entries(operation.responses)
          .filter(([status]) => Number(status) >= 400)
          .map(([status, response]) => ({ where: `${method.toUpperCase()} ${route} ${status}`, status: Number(status), response })),
      );

    it('the Error schema is {error, code} with every code of ERROR_STATUS', () => {
      const schema = document.components.schemas.Error as { properties: { code: { enum: string[] } }; required: string[] };
      expect(schema.required).to.deep.equal(['error', 'code']);
      expect([...schema.properties.code.enum].sort()).to.deep.equal(Object.keys(ERROR_STATUS).sort());
    });

    it('every code of ERROR_STATUS is answered by at least one operation', () => {
      const answered = new Set(errorResponses().flatMap(({ response }) => codesOf(response)));
      const unanswered = Object.keys(ERROR_STATUS).filter((code) => !answered.has(code));
      expect(unanswered).to.deep.equal([]);
    });

    it('every error response lists its codes, each under the status ERROR_STATUS gives it', () => {
      for (const { where, status, response } of errorResponses().filter((entry) => !entry.where.startsWith('HEAD'))) {
        const codes = codesOf(response);
        expect(codes, where).to.not.deep.equal([]);
        for (const code of codes) expect(ERROR_STATUS[code as ErrorCode], `${where}: ${code}`).to.equal(status);
        expect(response.description, where).to.include(codes.join(', '));
      }
    });

    const statusHeaders: Array<[number, string[]]> = [
      [401, ['WWW-Authenticate']],
      [405, ['Allow']],
      [416, ['Content-Range']],
      [429, ['Retry-After']],
      [503, ['Retry-After']],
    ];
    for (const [status, names] of statusHeaders) {
      it(`every ${status} carries ${names.join(', ')}`, () => {
        const responses = errorResponses().filter((entry) => entry.status === status);
        expect(responses.length).to.be.greaterThan(0);
        for (const { where, response } of responses) expect(Object.keys(response.headers ?? {}), where).to.include.members(names);
      });
    }

    it('every response carries X-Request-Id', () => {
      for (const { path: route, method, operation } of operationsOf(document)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(Object.keys(response.headers ?? {}), `${method} ${route} ${status}`).to.include('X-Request-Id');
        }
      }
    });

    it('the download answers 200, 206, 304, 412 and 416, with the transfer headers', () => {
      const { responses } = document.paths['/api/download']!.get!;
      expect(Object.keys(responses)).to.include.members(['200', '206', '304', '412', '416']);
      expect(Object.keys(responses['206']!.content!)).to.include('multipart/byteranges');
      expect(codesOf(responses['412']!)).to.have.members(['FSTYPE_UNAVAILABLE', 'FILE_EMPTY', 'PRECONDITION_FAILED']);
      expect(codesOf(responses['403']!)).to.have.members(['FORBIDDEN', 'PATH_NOT_ALLOWED', 'NOT_A_FILE', 'NOT_READABLE', 'TYPE_NOT_ALLOWED']);
      expect(Object.keys(responses['200']!.headers!)).to.include.members(['ETag', 'Last-Modified', 'Content-Disposition', 'Accept-Ranges', 'X-Request-Id']);
      expect(Object.keys(responses['206']!.headers!)).to.include('Content-Range');
    });

    it('archives answer application/zip or application/gzip with X-Archive-Entries and X-Archive-Skipped', () => {
      for (const method of ['get', 'post']) {
        const ok = document.paths['/api/archive']![method]!.responses['200']!;
        expect(Object.keys(ok.content!), method).to.have.members(['application/zip', 'application/gzip']);
        expect(Object.keys(ok.headers!), method).to.include.members(['X-Archive-Entries', 'X-Archive-Skipped']);
      }
    });
  });

  describe('parameters and bodies from the zod schemas', () => {
    it('the download\'s query parameters are the zod schema\'s keys, plus the signature of a signed URL', () => {
      const download = document.paths['/api/download']!.get!;
      const parameters = queryParameters(download);
      expect([...parameters.keys()]).to.have.members([...Object.keys(downloadQuerySchema.shape), ...SIGNATURE_PARAMETERS]);
    });

    it('each download query parameter has the zod schema\'s JSON Schema and required flag', () => {
      const json = zodJsonSchema(downloadQuerySchema) as { properties: Record<string, Json>; required: string[] };
      const parameters = queryParameters(document.paths['/api/download']!.get!);
      for (const [name, property] of Object.entries(json.properties)) {
        expect(parameters.get(name)!.schema, name).to.deep.equal(property);
        expect(parameters.get(name)!.required, name).to.equal(json.required.includes(name));
      }
      for (const name of SIGNATURE_PARAMETERS) expect(parameters.get(name)!.required, name).to.equal(false);
    });

    it('the download takes the Range and conditional request headers', () => {
      const names = document.paths['/api/download']!.get!.parameters
        .map((parameter) => (parameter.$ref === undefined ? parameter : document.components.parameters[parameter.$ref.split('/').at(-1)!]!))
        .filter((parameter) => parameter.in === 'header')
        .map((parameter) => parameter.name);
      expect(names).to.include.members(['Range', 'If-Range', 'If-Match', 'If-None-Match', 'If-Modified-Since', 'If-Unmodified-Since']);
    });

    it('GET /api/archive takes the zod query schema\'s keys, the repeated "path" of the body schema, and the signature of an archive link', () => {
      const parameters = queryParameters(document.paths['/api/archive']!.get!);
      expect([...parameters.keys()]).to.have.members([...Object.keys(archiveQuerySchema.shape), 'path', ...SIGNATURE_PARAMETERS]);
      const json = zodJsonSchema(archiveQuerySchema) as { properties: Record<string, Json> };
      for (const [name, property] of Object.entries(json.properties)) expect(parameters.get(name)!.schema, name).to.deep.equal(property);
      const body = zodJsonSchema(archiveBodySchema) as { properties: { paths: Json } };
      expect(parameters.get('path')).to.deep.include({ required: true, explode: true, schema: body.properties.paths });
    });

    it('the listing\'s query parameters are the zod schema\'s keys, each with its JSON Schema and required flag, plus the repeated "type"', () => {
      const listing = document.paths['/api/list']!.get!;
      const parameters = queryParameters(listing);
      expect([...parameters.keys()]).to.have.members([...Object.keys(listQuerySchema.shape), 'type']);
      const json = zodJsonSchema(listQuerySchema) as { properties: Record<string, Json>; required?: string[] };
      for (const [name, property] of Object.entries(json.properties)) {
        expect(parameters.get(name)!.schema, name).to.deep.equal(property);
        expect(parameters.get(name)!.required, name).to.equal((json.required ?? []).includes(name));
      }
      expect(parameters.get('type')).to.deep.include({ required: false, explode: true, schema: withoutDialect(zodJsonSchema(listTypeSchema)) });
      expect(listing.security[0]).to.deep.equal({ bearerAuth: ['files:list'] });
    });

    it('the listing answers the zod response schema\'s JSON Schema, and NOT_A_FILE for a path that is a file', () => {
      expect(document.components.schemas.Listing).to.deep.equal(withoutDialect(zodJsonSchema(listResponseSchema, 'output')));
      const { responses } = document.paths['/api/list']!.get!;
      expect(responses['200']!.content!['application/json']!.schema).to.deep.equal({ $ref: '#/components/schemas/Listing' });
      expect(codesOf(responses['403']!)).to.include('NOT_A_FILE');
    });

    it('the sign request body schema is the zod schema\'s JSON Schema', () => {
      expect(document.components.schemas.SignRequest).to.deep.equal(withoutDialect(zodJsonSchema(signBodySchema)));
      expect(document.paths['/api/sign']!.post!.requestBody!.content['application/json']!.schema).to.deep.equal({ $ref: '#/components/schemas/SignRequest' });
    });

    it('the sign response schema is the zod response schema\'s JSON Schema', () => {
      expect(document.components.schemas.SignResponse).to.deep.equal(withoutDialect(zodJsonSchema(signResponseSchema, 'output')));
      expect(document.paths['/api/sign']!.post!.responses['200']!.content!['application/json']!.schema).to.deep.equal({ $ref: '#/components/schemas/SignResponse' });
    });

    it('the batch sign and archive link bodies and answers, and the access view, are the zod schemas\' JSON Schemas', () => {
      const pairs: Array<[string, z.ZodType, 'input' | 'output']> = [
        ['SignBatchRequest', signBatchBodySchema, 'input'],
        ['SignBatchResponse', signBatchResponseSchema, 'output'],
        ['SignArchiveRequest', signArchiveBodySchema, 'input'],
        ['SignArchiveResponse', signArchiveResponseSchema, 'output'],
        ['Access', accessResponseSchema, 'output'],
      ];
      for (const [name, schema, io] of pairs) expect(document.components.schemas[name], name).to.deep.equal(withoutDialect(zodJsonSchema(schema, io)));
      expect(document.paths['/api/sign/batch']!.post!.requestBody!.content['application/json']!.schema).to.deep.equal({ $ref: '#/components/schemas/SignBatchRequest' });
      expect(document.paths['/api/sign/archive']!.post!.requestBody!.content['application/json']!.schema).to.deep.equal({ $ref: '#/components/schemas/SignArchiveRequest' });
      expect(document.paths['/api/access']!.get!.responses['200']!.content!['application/json']!.schema).to.deep.equal({ $ref: '#/components/schemas/Access' });
    });

    it('the batch bound is in the request schema', () => {
      const body = document.components.schemas.SignBatchRequest as { properties: { filepaths: Json } };
      expect(body.properties.filepaths).to.include({ minItems: 1, maxItems: MAX_BATCH_FILES });
    });

    it('POST /api/archive and POST /api/packages take the archive body schema\'s JSON Schema', () => {
      expect(document.components.schemas.ArchiveRequest).to.deep.equal(withoutDialect(zodJsonSchema(archiveBodySchema)));
      for (const route of ['/api/archive', '/api/packages']) {
        expect(document.paths[route]!.post!.requestBody!.content['application/json']!.schema, route).to.deep.equal({ $ref: '#/components/schemas/ArchiveRequest' });
      }
    });
  });

  describe('the package view', () => {
    const manifest: PackageManifest = {
      id: '0b5c2f7e-9a53-4d0c-8a4e-0d6f1b2c3d4e',
      subject: 'tester',
      fstype: 'OsFs',
      paths: ['a', 'b/c.txt'],
      principalPaths: null,
      format: 'zip',
      filename: 'a.zip',
      status: 'failed',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:01.000Z',
      expiresAt: '2025-01-08T00:00:00.000Z',
      size: 10,
      entries: 2,
      skipped: 1,
      error: 'the disk is full',
    };
    const schema = () => document.components.schemas.PackageView as { properties: Record<string, Json>; required: string[] };

    it('names every field toPackageView can show', () => {
      expect(Object.keys(schema().properties)).to.include.members(Object.keys(toPackageView(manifest)));
    });

    it('requires only the fields toPackageView always shows', () => {
      const { size: _size, entries: _entries, skipped: _skipped, error: _error, ...bare } = manifest;
      expect(Object.keys(toPackageView({ ...bare, status: 'pending' }))).to.include.members(schema().required);
    });

    it('lists the five statuses', () => {
      expect(schema().properties.status!.enum).to.have.members(['pending', 'running', 'ready', 'failed', 'expired']);
    });
  });

  describe('security', () => {
    const PUBLIC = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/', '/assets/{name}', '/favicon.ico'];

    it('the probes, metrics, this document and the browse page\'s files need no token', () => {
      for (const route of PUBLIC) {
        for (const operation of Object.values(document.paths[route]!)) expect(operation.security, route).to.deep.equal([]);
      }
    });

    it('every other operation takes a bearer JWT or the token parameter, with the scopes it needs', () => {
      for (const { path: route, method, operation } of operationsOf(document)) {
        if (PUBLIC.includes(route)) continue;
        const [bearer, query] = operation.security;
        expect(bearer, `${method} ${route}`).to.have.property('bearerAuth').that.is.not.empty;
        expect(query, `${method} ${route}`).to.deep.equal({ queryToken: bearer!.bearerAuth });
      }
      expect(document.paths['/api/sign']!.post!.security[0]).to.deep.equal({ bearerAuth: ['files:sign', 'files:read'] });
    });

    it('a download and GET /api/archive also need no token when they carry a signature; nothing else does', () => {
      for (const method of ['get', 'head']) expect(document.paths['/api/download']![method]!.security).to.deep.include({});
      expect(document.paths['/api/archive']!.get!.security).to.deep.include({});
      expect(document.paths['/api/archive']!.post!.security).to.not.deep.include({});
      const signedOnes = operationsOf(document).filter(({ operation }) => operation.security.some((requirement) => Object.keys(requirement).length === 0));
      expect(signedOnes.map(({ path: route, method }) => `${method} ${route}`)).to.have.members([
        'get /api/download', 'head /api/download', 'get /api/archive', 'head /api/archive', 'get /api/packages/{id}/download', 'head /api/packages/{id}/download',
      ]);
    });

    it('batch signing needs files:sign and files:read, an archive link files:sign and files:archive, the access view files:list', () => {
      expect(document.paths['/api/sign/batch']!.post!.security[0]).to.deep.equal({ bearerAuth: ['files:sign', 'files:read'] });
      expect(document.paths['/api/sign/archive']!.post!.security[0]).to.deep.equal({ bearerAuth: ['files:sign', 'files:archive'] });
      expect(document.paths['/api/access']!.get!.security[0]).to.deep.equal({ bearerAuth: ['files:list'] });
    });

    it('defines bearerAuth as an HTTP bearer JWT, and the query token only when auth.allowQueryToken is true', () => {
      expect(document.components.securitySchemes.bearerAuth).to.include({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
      expect(document.components.securitySchemes.queryToken).to.include({ type: 'apiKey', in: 'query', name: 'token' });
      const headerOnly = createOpenApiDocument(configSchema.parse({ layers: { OsFs: { root: root.dir } }, auth: { secret: TEST_SECRET, allowQueryToken: false } })) as OpenApiDocument;
      expect(headerOnly.components.securitySchemes).to.not.have.property('queryToken');
      expect(valuesOfKey(headerOnly.paths, 'queryToken')).to.deep.equal([]);
    });
  });
});

describe('createOpenApiRoute', () => {
  const document = { openapi: '3.1.0', info: { title: 't', version: '1' }, paths: {}, note: 'é' };
  let server: http.Server;
  let url: string;

  before(async () => {
    const koa = new Koa();
    koa.use(createOpenApiRoute(document));
    server = http.createServer(koa.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/openapi.json`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers the document as JSON, cacheable for a short while', async () => {
    const response = await fetch(url);
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).to.equal(OPENAPI_CACHE_CONTROL).and.match(/max-age=\d+/);
    expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(await response.json()).to.deep.equal(document);
  });

  it('answers HEAD with the same headers and no body', async () => {
    const get = await fetch(url);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(head.headers.get('content-length')).to.equal(get.headers.get('content-length'));
    expect(await head.text()).to.equal('');
  });
});
