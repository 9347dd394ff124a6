// Reads, layers, validates and freezes the config once at start-up.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** Thrown when the config cannot be used; `problems` has one line per problem, each naming its key. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadedConfig {
  config: Config;
  /** True when no JWT key was configured and the development secret stands in for one. */
  devMode: boolean;
  /** In development mode, the file the development secret is kept in, and whether this load made it (false: an earlier run's was reused); else null. */
  devSecret: { file: string; made: boolean } | null;
  /** The files that were read, in the order they were layered. */
  sources: string[];
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Folder relative paths are resolved against; the `config/` folder is looked for here. */
  cwd?: string;
}

type Json = { [key: string]: unknown };

/** The `FILEGATE_*` variables and the config key each one sets. */
const ENV_KEYS: Array<[variable: string, key: string[], kind: 'string' | 'number']> = [
  ['FILEGATE_HOST', ['server', 'host'], 'string'],
  ['FILEGATE_PORT', ['server', 'port'], 'number'],
  ['FILEGATE_SHUTDOWN_GRACE', ['server', 'shutdownGrace'], 'string'],
  ['FILEGATE_DEFAULT_LAYER', ['defaultLayer'], 'string'],
  ['FILEGATE_JWT_SECRET', ['auth', 'secret'], 'string'],
  ['FILEGATE_JWT_PUBLIC_KEY_FILE', ['auth', 'publicKeyFile'], 'string'],
  ['FILEGATE_JWKS_FILE', ['auth', 'jwksFile'], 'string'],
  ['FILEGATE_LOG_LEVEL', ['log', 'level'], 'string'],
];

/**
 * Loads `config/default.json`, then `config/<NODE_ENV>.json` if present, then
 * the file named by `FILEGATE_CONFIG`, then the `FILEGATE_*` variables, and
 * validates the result. Throws ConfigError listing every problem at once.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const sources: string[] = [];
  let merged: Json = {};

  const layer = (file: string, required: boolean) => {
    if (!existsSync(file)) {
      if (required) problems.push(`FILEGATE_CONFIG: file ${file} does not exist`);
      return;
    }
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (!isObject(parsed)) throw new Error('the top level must be an object');
      merged = mergeDeep(withoutReplacedLayers(merged, parsed), parsed);
      sources.push(file);
    } catch (error) {
      problems.push(`${path.relative(cwd, file) || file}: not valid JSON (${(error as Error).message})`);
    }
  };
  layer(path.join(cwd, 'config', 'default.json'), false);
  const nodeEnv = env.NODE_ENV;
  if (nodeEnv && /^[A-Za-z0-9_-]+$/.test(nodeEnv)) layer(path.join(cwd, 'config', `${nodeEnv}.json`), false);
  if (env.FILEGATE_CONFIG) layer(path.resolve(cwd, env.FILEGATE_CONFIG), true);

  for (const [variable, key, kind] of ENV_KEYS) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const value = kind === 'number' && /^\d+$/.test(raw) ? Number(raw) : raw;
    merged = setIn(merged, key, value);
  }
  if (env.FILEGATE_ROOT) {
    const layerName = typeof merged.defaultLayer === 'string' ? merged.defaultLayer : 'OsFs';
    merged = setIn(merged, ['layers', layerName, 'root'], env.FILEGATE_ROOT);
  }

  // An s3 layer (or package store) without credentials takes the SDKs' own variables, as every AWS tool does.
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (accessKeyId && secretAccessKey) {
    const stores: string[][] = isObject(merged.layers) ? Object.keys(merged.layers).map((layerName) => ['layers', layerName]) : [];
    stores.push(['packages', 'store']);
    for (const key of stores) {
      const store = getIn(merged, key);
      if (isObject(store) && store.driver === 's3' && store.credentials === undefined) {
        merged = setIn(merged, [...key, 'credentials'], { accessKeyId, secretAccessKey });
      }
    }
  }

  const auth = isObject(merged.auth) ? merged.auth : {};
  const hasKey = Boolean(auth.secret || auth.publicKeyFile || auth.jwksFile);
  let devSecret: LoadedConfig['devSecret'] = null;
  if (!hasKey) {
    if (nodeEnv === 'production') {
      problems.push(
        'auth: no JWT key is configured (auth.secret, auth.publicKeyFile or auth.jwksFile, or FILEGATE_JWT_SECRET); refusing to start in production',
      );
    } else {
      const kept = readDevKey(cwd, 'dev-jwt-secret');
      devSecret = { file: kept.file, made: kept.made };
      merged = setIn(merged, ['auth', 'secret'], kept.secret);
    }
  }

  // Outside production, signed URLs work out of the box with a kept development key.
  const signing = isObject(merged.signing) ? merged.signing : {};
  const signingKeys = isObject(signing.keys) ? Object.keys(signing.keys) : [];
  if (signingKeys.length === 0 && nodeEnv !== 'production') {
    merged = setIn(merged, ['signing', 'keys'], { dev: readDevKey(cwd, 'dev-signing-key').secret });
    merged = setIn(merged, ['signing', 'currentKey'], 'dev');
  }

  const result = configSchema.safeParse(merged);
  if (!result.success) problems.push(...formatIssues(result.error.issues));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  const config = result.data;
  for (const layerConfig of Object.values(config.layers)) {
    if (layerConfig.driver === 'os') layerConfig.root = path.resolve(cwd, layerConfig.root);
  }
  config.packages.dir = path.resolve(cwd, config.packages.dir);
  for (const key of ['publicKeyFile', 'jwksFile'] as const) {
    const file = config.auth[key];
    if (file !== null) config.auth[key] = path.resolve(cwd, file);
  }
  return { config: deepFreeze(config), devMode: devSecret !== null, devSecret, sources };
}

/** One line per zod issue, led by the dotted key it concerns. */
function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      return `${[key === '(top level)' ? '' : key, issue.keys.join(', ')].filter(Boolean).join('.')}: unknown key`;
    }
    return `${key}: ${issue.message}`;
  });
}

/**
 * The development secret lives in `var/dev-jwt-secret`, so `npm run token`
 * and a restarted server agree on it; it is made on first use.
 */
export function readDevSecret(cwd: string): string {
  return readDevKey(cwd, 'dev-jwt-secret').secret;
}

/**
 * A random key kept in `var/<name>`, made on first use (or when the kept one
 * is too short), so restarts keep what it signed valid; `made` says which.
 */
function readDevKey(cwd: string, name: string): { secret: string; file: string; made: boolean } {
  const file = path.join(cwd, 'var', name);
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return { secret, file, made: false };
  }
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, file, made: true };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; arrays and scalars replace. */
/**
 * `base` without the layers `over` gives another driver: a layer that
 * changes driver (the default `OsFs` folder becoming a bucket) replaces the
 * earlier one whole, since the keys of one driver mean nothing to another
 * (an s3 layer refuses `root` and `symlinks` by name). A layer without
 * `driver` is a folder, as in the schema.
 */
function withoutReplacedLayers(base: Json, over: Json): Json {
  if (!isObject(base.layers) || !isObject(over.layers)) return base;
  const layers: Json = { ...base.layers };
  const driverOf = (layer: unknown) => (isObject(layer) && typeof layer.driver === 'string' ? layer.driver : 'os');
  for (const [name, layer] of Object.entries(over.layers)) {
    if (name in layers && isObject(layer) && driverOf(layer) !== driverOf(layers[name])) delete layers[name];
  }
  return { ...base, layers };
}

function mergeDeep(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? mergeDeep(current, value) : value;
  }
  return out;
}

/** The value at `key` (a path of object keys), or undefined where the path ends early. */
function getIn(target: Json, key: readonly string[]): unknown {
  let value: unknown = target;
  for (const name of key) value = isObject(value) ? value[name] : undefined;
  return value;
}

function setIn(target: Json, key: string[], value: unknown): Json {
  const [head, ...rest] = key as [string, ...string[]];
  if (rest.length === 0) return { ...target, [head]: value };
  const child = isObject(target[head]) ? (target[head] as Json) : {};
  return { ...target, [head]: setIn(child, rest, value) };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
