// The one zod schema that every filegate setting is validated against at start-up.

import { z } from 'zod';
import { compileRouteAliases, createRouteAliasSchema } from '../aliases/alias-rules.js';
import { parseDuration, parseSize } from './units.js';

export const FILE_CATEGORIES = ['video', 'audio', 'image', 'text', 'document', 'archive', 'data'] as const;
export type FileCategory = (typeof FILE_CATEGORIES)[number];

export const SCOPES = ['files:read', 'files:list', 'files:archive', 'files:sign'] as const;
export type Scope = (typeof SCOPES)[number];

export const JWT_ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512',
  'EdDSA',
] as const;

const size = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const bytes = parseSize(value);
    if (bytes === null) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a size; use bytes or a string like "50MB"` });
      return z.NEVER;
    }
    return bytes;
  });

const duration = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration; use milliseconds or a string like "30s"` });
      return z.NEVER;
    }
    return ms;
  });

const extension = z.string().regex(/^\.[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'an extension starts with a dot, e.g. ".mp4"');

// The options every driver's layer shares: what it serves, and how hidden names behave.
const sharedLayerOptions = {
  maxFileSize: size.default(50 * 1024 ** 2),
  allowEmpty: z.boolean().default(false),
  types: z.array(z.enum(FILE_CATEGORIES)).min(1).optional(),
  extensions: z.array(extension).min(1).optional(),
  hidden: z.enum(['ignore', 'deny', 'allow']).default('ignore'),
};

/** An option of another driver, refused by its own key with a message that says so. */
const refusedFor = (key: string, why: string) =>
  z.unknown().optional().superRefine((value, ctx) => {
    if (value !== undefined) ctx.addIssue({ code: 'custom', message: `"${key}" is not an option of an s3 layer: ${why}` });
  });

// Who sends a body once filegate has decided (SPEC, Delivery): filegate itself by default.
const proxyDelivery = z.strictObject({ mode: z.literal('proxy') });
const xAccelDelivery = z.strictObject({
  mode: z.literal('x-accel'),
  // The internal nginx location the layer's root is aliased under.
  location: z.string().regex(/^\/([A-Za-z0-9._~-]+\/)+$/, 'an nginx location such as "/_filegate/media/": segments of letters, digits, ".", "_", "~" or "-", starting and ending with "/"'),
});
const redirectDelivery = z.strictObject({
  mode: z.literal('redirect'),
  // Smaller files are sent by filegate: a redirect's round trip costs more than their bytes.
  minSize: size.default(8 * 1024 ** 2),
  // The engine as clients reach it, when not at the layer's endpoint (an internal address): presigned URLs name this host.
  endpoint: z
    .url({ protocol: /^https?$/, error: 'delivery.endpoint is the engine\'s URL as clients reach it, such as "https://files-store.example.com"' })
    .refine((value) => {
      const url = new URL(value);
      return (url.pathname === '/' || url.pathname === '') && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
    }, { message: 'delivery.endpoint is a scheme, host and port only: no path, query or credentials in it' })
    .optional(),
  // How long a presigned URL lives; it is minted for time windows of half this, so repeated requests get the same URL.
  ttl: duration.default(300_000).refine((ms) => ms >= 60_000 && ms <= 7 * 86_400_000, { message: 'a redirect lives between 1 minute and 7 days (the longest a presigned URL may)' }),
});
const osDelivery = z
  .discriminatedUnion('mode', [proxyDelivery, xAccelDelivery], { error: 'delivery.mode of an os layer is "proxy" or "x-accel" ("redirect" is for s3 layers)' })
  .default({ mode: 'proxy' });
const s3Delivery = z
  .discriminatedUnion('mode', [proxyDelivery, redirectDelivery], { error: 'delivery.mode of an s3 layer is "proxy" or "redirect" ("x-accel" is for os layers)' })
  .default({ mode: 'proxy' });

const osLayerSchema = z.strictObject({
  driver: z.literal('os'),
  root: z.string().min(1, 'a layer needs a root folder'),
  ...sharedLayerOptions,
  symlinks: z.enum(['within-root', 'deny']).default('within-root'),
  io: z.enum(['inline', 'threads']).default('inline'),
  delivery: osDelivery,
});

// A prefix is the layer's root inside the bucket: "" or plain segments each followed by "/".
const objectPrefix = z
  .string()
  .default('')
  .refine((prefix) => prefix === '' || (prefix.endsWith('/') && prefix.slice(0, -1).split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..' && !/[\\\u0000-\u001f\u007f]/.test(segment))), {
    message: 'a prefix is "" or plain path segments each followed by "/", such as "jobs/" or "a/b/" (no leading "/", no empty, "." or ".." segment)',
  })
  .refine((prefix) => Buffer.byteLength(prefix, 'utf8') < 1024, { message: 'a prefix must leave room for keys within the 1024 bytes an object key may have' });

// Where an object store is and who filegate is there: an s3 layer's keys, and the package spool's.
const objectStoreKeys = {
  endpoint: z
    .url({ protocol: /^https?$/, error: 'the endpoint is the engine\'s URL, such as "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:7480"' })
    .refine((value) => {
      const url = new URL(value);
      return (url.pathname === '/' || url.pathname === '') && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
    }, { message: 'the endpoint is a scheme, host and port only: no path, query or credentials in it' }),
  region: z.string().regex(/^[a-z0-9-]{1,32}$/, 'a region is lowercase letters, digits and "-", such as "us-east-1"').default('us-east-1'),
  // S3's bucket names, plus the upper case and "_" older radosgw buckets may have.
  bucket: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/, 'a bucket name is 3-63 letters, digits, ".", "-" or "_", starting and ending with a letter or digit'),
  prefix: objectPrefix,
  forcePathStyle: z.boolean().default(false),
  // Filled from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY by loadConfig when absent.
  credentials: z.strictObject(
    {
      accessKeyId: z.string().min(1, 'give the access key id'),
      secretAccessKey: z.string().min(1, 'give the secret access key'),
    },
    { error: (issue) => (issue.input === undefined ? 'an s3 layer needs credentials: give credentials.accessKeyId and credentials.secretAccessKey, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY' : undefined) },
  ),
};

const s3LayerSchema = z.strictObject({
  driver: z.literal('s3'),
  ...objectStoreKeys,
  ...sharedLayerOptions,
  symlinks: refusedFor('symlinks', 'an object store has no symlinks'),
  io: refusedFor('io', 'an object store is read over the network, never through local file I/O'),
  delivery: s3Delivery,
});

/** The package spool on an object store: the keys of an s3 layer, without what serving files needs. */
const packageStoreSchema = z.strictObject({ driver: z.literal('s3'), ...objectStoreKeys });

// A layer without "driver" is a local folder, as before drivers existed.
const layerSchema = z
  .preprocess(
    (value) => (isRecord(value) && !('driver' in value) ? { ...value, driver: 'os' } : value),
    z.discriminatedUnion('driver', [osLayerSchema, s3LayerSchema], { error: 'a layer\'s "driver" is "os" (a local folder) or "s3" (an S3-compatible object store)' }),
  )
  .refine((layer) => !(layer.types && layer.extensions), {
    message: 'give either "types" or "extensions", not both',
    path: ['types'],
  });

const routeAliasSchema = createRouteAliasSchema({ category: z.enum(FILE_CATEGORIES), extension, duration });

const layerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a layer name is 1-64 letters, digits, "_", "-" or "."');

const nullableString = z.string().min(1).nullable().default(null);
const keyId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a key id is 1-32 letters, digits, "_" or "-"');
// A browser origin as the Origin header sends it: scheme, host and optional port, nothing more.
const origin = z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, 'an origin is "https://host" or "https://host:port", with no path or trailing slash');
const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        shutdownGrace: duration.default(30_000),
        headersTimeout: duration.default(20_000),
        requestTimeout: duration.default(60_000),
        keepAliveTimeout: duration.default(5_000),
        idleTimeout: duration.default(60_000),
        trustProxy: z.boolean().default(false),
      })
      .prefault({}),
    defaultLayer: layerName.default('OsFs'),
    layers: z.record(layerName, layerSchema).refine((layers) => Object.keys(layers).length > 0, {
      message: 'configure at least one layer',
    }),
    auth: z
      .strictObject({
        secret: nullableString,
        publicKeyFile: nullableString,
        jwksFile: nullableString,
        algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).default(['HS256']),
        issuer: stringOrList.nullable().default(null),
        audience: stringOrList.nullable().default(null),
        allowQueryToken: z.boolean().default(true),
        requireExp: z.boolean().default(true),
        clockTolerance: duration.default(30_000),
        defaultScopes: z.array(z.enum(SCOPES)).default(['files:read', 'files:list']),
        rememberTokens: z.boolean().default(true),
      })
      .prefault({}),
    transfer: z
      .strictObject({
        cacheControl: z.string().min(1).default('private, no-cache'),
        readSize: size.default(2 * 1024 * 1024),
        bufferBudget: size.default(32 * 1024 * 1024),
        maxRanges: z.number().int().min(1).max(1000).default(16),
      })
      .prefault({}),
    archive: z
      .strictObject({
        maxEntries: z.number().int().min(1).default(10_000),
        maxBytes: size.default(10 * 1024 ** 3),
        zipCompression: z.enum(['store', 'deflate']).default('store'),
        gzipLevel: z.number().int().min(0).max(9).default(6),
      })
      .prefault({}),
    packages: z
      .strictObject({
        dir: z.string().min(1).default('./var/packages'),
        // When set, the spool lives on an object store every replica reaches, and `dir` is not used.
        store: packageStoreSchema.nullable().default(null),
        retention: duration.default(7 * 86_400_000),
        maxConcurrent: z.number().int().min(1).max(64).default(2),
        maxPerSubject: z.number().int().min(1).default(20),
        maxBytesPerSubject: size.default(20 * 1024 ** 3),
        maxQueued: z.number().int().min(1).default(100),
        heartbeat: duration.default(5_000),
        sweepInterval: duration.default(600_000),
      })
      .prefault({}),
    signing: z
      .strictObject({
        keys: z.record(keyId, z.string().min(32, 'a signing key must be at least 32 characters')).default({}),
        currentKey: keyId.nullable().default(null),
        defaultTtl: duration.default(3_600_000),
        maxTtl: duration.default(7 * 86_400_000),
        boundToToken: z.boolean().default(true),
        baseUrl: z.url({ protocol: /^https?$/ }).nullable().default(null),
      })
      .prefault({}),
    limits: z
      .strictObject({
        concurrentPerSubject: z.number().int().min(0).default(8),
        rate: z
          .strictObject({
            requests: z.number().int().min(0).default(0),
            window: duration.default(60_000),
          })
          .prefault({}),
      })
      .prefault({}),
    cors: z
      .strictObject({
        origins: z.array(z.union([z.literal('*'), origin])).default([]),
        allowCredentials: z.boolean().default(false),
        maxAge: duration.default(600_000),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        port: z.number().int().min(0).max(65535).nullable().default(null),
        host: z.string().min(1).nullable().default(null),
      })
      .prefault({}),
    routes: z.array(routeAliasSchema).default([]),
    // The browse page at GET / (src/routes/browse.ts); an API-only deployment turns it off.
    ui: z
      .strictObject({
        enabled: z.boolean().default(true),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
  })
  // Runs even when fields failed (`when`), so every problem is reported at
  // once; the values may then be partly invalid, hence the defensive reads.
  .superRefine(
    (config, ctx) => {
      const layers: Record<string, unknown> = isRecord(config.layers) ? config.layers : {};
      if (typeof config.defaultLayer === 'string' && Object.keys(layers).length > 0 && !(config.defaultLayer in layers)) {
        ctx.addIssue({
          code: 'custom',
          path: ['defaultLayer'],
          message: `"${config.defaultLayer}" is not one of the configured layers (${Object.keys(layers).join(', ')})`,
        });
      }
      const auth: Record<string, unknown> = isRecord(config.auth) ? config.auth : {};
      const secret = typeof auth.secret === 'string' ? auth.secret : null;
      const publicKeyFile = typeof auth.publicKeyFile === 'string' ? auth.publicKeyFile : null;
      const jwksFile = typeof auth.jwksFile === 'string' ? auth.jwksFile : null;
      const algorithms = Array.isArray(auth.algorithms) ? auth.algorithms.filter((alg): alg is string => typeof alg === 'string') : [];
      if (secret !== null && secret.length < 32) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'secret'], message: 'must be at least 32 characters' });
      }
      if (publicKeyFile !== null && jwksFile !== null) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'jwksFile'], message: 'give either auth.publicKeyFile or auth.jwksFile, not both' });
      }
      const anyKey = secret !== null || publicKeyFile !== null || jwksFile !== null;
      if (anyKey && algorithms.some((alg) => alg.startsWith('HS')) && secret === null) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'algorithms'], message: 'HS* algorithms need auth.secret' });
      }
      if (anyKey && algorithms.some((alg) => !alg.startsWith('HS')) && publicKeyFile === null && jwksFile === null) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'algorithms'], message: 'RS*, PS*, ES* and EdDSA need auth.publicKeyFile or auth.jwksFile' });
      }
      const server: Record<string, unknown> = isRecord(config.server) ? config.server : {};
      if (typeof server.headersTimeout === 'number' && typeof server.requestTimeout === 'number' && server.requestTimeout > 0 && server.headersTimeout > server.requestTimeout) {
        ctx.addIssue({ code: 'custom', path: ['server', 'headersTimeout'], message: 'must not be longer than server.requestTimeout' });
      }
      const signing: Record<string, unknown> = isRecord(config.signing) ? config.signing : {};
      const keys = isRecord(signing.keys) ? Object.keys(signing.keys) : [];
      if (typeof signing.currentKey === 'string' && !keys.includes(signing.currentKey)) {
        ctx.addIssue({ code: 'custom', path: ['signing', 'currentKey'], message: `"${signing.currentKey}" is not one of signing.keys (${keys.join(', ') || 'none'})` });
      }
      if (signing.currentKey === null && keys.length > 0) {
        ctx.addIssue({ code: 'custom', path: ['signing', 'currentKey'], message: 'name the key that signs new URLs (one of signing.keys)' });
      }
      if (typeof signing.defaultTtl === 'number' && typeof signing.maxTtl === 'number' && signing.defaultTtl > signing.maxTtl) {
        ctx.addIssue({ code: 'custom', path: ['signing', 'defaultTtl'], message: 'must not be longer than signing.maxTtl' });
      }
      // Route aliases are checked once their fields are valid: templates, parameters, clashes, actions.
      const routes = z.array(routeAliasSchema).safeParse(config.routes);
      if (routes.success) {
        for (const problem of compileRouteAliases(routes.data, Object.keys(layers)).problems) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      }
      const cors: Record<string, unknown> = isRecord(config.cors) ? config.cors : {};
      if (cors.allowCredentials === true && Array.isArray(cors.origins) && cors.origins.includes('*')) {
        ctx.addIssue({ code: 'custom', path: ['cors', 'allowCredentials'], message: 'credentials are never allowed for the wildcard origin "*"; list the origins' });
      }
    },
    { when: () => true },
  );

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The config as written (sizes and durations as strings or numbers). */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated config: sizes in bytes, durations in milliseconds. */
export type Config = z.output<typeof configSchema>;
export type LayerConfig = Config['layers'][string];
export type OsLayerConfig = Extract<LayerConfig, { driver: 'os' }>;
export type S3LayerConfig = Extract<LayerConfig, { driver: 's3' }>;
export type PackageStoreConfig = NonNullable<Config['packages']['store']>;
export type DeliveryConfig = LayerConfig['delivery'];
export type AuthConfig = Config['auth'];
