// Covers loadConfig: file layering, FILEGATE_* overrides, defaults, units, freezing, problem reporting by key, and dev/production key rules.

import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ConfigError, loadConfig, type LoadedConfig } from '../../src/config/load-config.js';
import type { LayerConfig } from '../../src/config/schema.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';

/** The root of a folder layer (the test fails for any other driver). */
function rootOf(layer: LayerConfig | undefined): string {
  expect(layer?.driver).to.equal('os');
  return (layer as Extract<LayerConfig, { driver: 'os' }>).root;
}

const SECRET = 'a-config-test-secret-of-at-least-32-characters';

/** Writes `value` as JSON at `relative` under `dir`, making folders; returns the absolute path. */
function writeJson(dir: string, relative: string, value: unknown): string {
  const file = path.join(dir, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

/** Runs loadConfig and returns the ConfigError it throws; fails the test when it does not throw one. */
function configErrorOf(options: Parameters<typeof loadConfig>[0]): ConfigError {
  let loaded: LoadedConfig | undefined;
  try {
    loaded = loadConfig(options);
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  expect.fail(`loadConfig accepted the config: ${JSON.stringify(loaded?.config)}`);
}

/** Asserts that some problem line starts with `key` (the key it names), and returns that line. */
function expectProblemFor(problems: readonly string[], key: string | RegExp): string {
  const pattern = typeof key === 'string' ? new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`) : key;
  const line = problems.find((problem) => pattern.test(problem));
  expect(line, `a problem naming ${String(key)} among ${JSON.stringify(problems, null, 2)}`).to.be.a('string');
  return line!;
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// An s3 layer as the SPEC shows it.
const S3_LAYER = {
  driver: 's3',
  endpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  bucket: 'results',
  prefix: 'jobs/',
  forcePathStyle: true,
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
};

describe('loadConfig', () => {
  let tmp: TempDir;
  /** A fresh cwd folder for one test. */
  let cwdCount = 0;
  const freshCwd = () => path.join(tmp.dir, `cwd-${(cwdCount += 1)}`);

  before(() => {
    tmp = tempDir('filegate-load-config-');
  });
  after(() => tmp.remove());

  describe('defaults', () => {
    let loaded: LoadedConfig;
    let cwd: string;

    before(() => {
      cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { root: './data' } } });
      loaded = loadConfig({ env: { FILEGATE_JWT_SECRET: SECRET }, cwd });
    });

    it('applies the SPEC defaults to a layer that gives only its root', () => {
      const layer = loaded.config.layers.OsFs!;
      expect(layer.driver).to.equal('os');
      expect(layer.maxFileSize).to.equal(50 * 1024 * 1024);
      expect(layer.allowEmpty).to.equal(false);
      expect(layer.hidden).to.equal('ignore');
      expect(layer.symlinks).to.equal('within-root');
      expect(layer.types).to.equal(undefined);
      expect(layer.extensions).to.equal(undefined);
    });

    it('applies the server, layer-name and auth defaults', () => {
      const { config } = loaded;
      expect(config.server.port).to.equal(8080);
      expect(config.server.host).to.equal('0.0.0.0');
      expect(config.server.shutdownGrace).to.equal(30_000);
      expect(config.defaultLayer).to.equal('OsFs');
      expect(config.auth.algorithms).to.deep.equal(['HS256']);
      expect(config.auth.requireExp).to.equal(true);
      expect(config.auth.allowQueryToken).to.equal(true);
      expect(config.auth.defaultScopes).to.deep.equal(['files:read', 'files:list']);
      expect(config.log.level).to.equal('info');
    });

    it('resolves a relative layer root against cwd', () => {
      expect(rootOf(loaded.config.layers.OsFs)).to.equal(path.join(cwd, 'data'));
    });

    it('is not in development mode when a secret is given, and lists the files it read', () => {
      expect(loaded.devMode).to.equal(false);
      expect(loaded.devSecret, 'no development secret').to.equal(null);
      expect(loaded.config.auth.secret).to.equal(SECRET);
      expect(loaded.sources).to.deep.equal([path.join(cwd, 'config', 'default.json')]);
    });

    it('returns a deeply frozen config', () => {
      const { config } = loaded;
      expect(Object.isFrozen(config)).to.equal(true);
      expect(Object.isFrozen(config.server)).to.equal(true);
      expect(Object.isFrozen(config.layers)).to.equal(true);
      expect(Object.isFrozen(config.layers.OsFs)).to.equal(true);
      expect(Object.isFrozen(config.auth.algorithms)).to.equal(true);
      expect(() => {
        (config.server as { port: number }).port = 1;
      }).to.throw(TypeError);
      expect(() => {
        (config.layers as Record<string, unknown>).extra = {};
      }).to.throw(TypeError);
      expect(config.server.port).to.equal(8080);
    });
  });

  describe('layering', () => {
    let cwd: string;

    before(() => {
      cwd = freshCwd();
      writeJson(cwd, 'config/default.json', {
        server: { host: '10.0.0.1', port: 8081 },
        layers: { OsFs: { root: './data', maxFileSize: '1MB', extensions: ['.txt', '.csv'] } },
        log: { level: 'warn' },
      });
      writeJson(cwd, 'config/staging.json', {
        server: { port: 9000 },
        layers: { OsFs: { allowEmpty: true, extensions: ['.mp4'] } },
      });
      writeJson(cwd, 'extra/filegate.json', { server: { port: 9100 }, log: { level: 'debug' } });
    });

    it('without NODE_ENV reads only config/default.json', () => {
      const { config, sources } = loadConfig({ env: { FILEGATE_JWT_SECRET: SECRET }, cwd });
      expect(config.server.port).to.equal(8081);
      expect(config.layers.OsFs!.allowEmpty).to.equal(false);
      expect(sources).to.deep.equal([path.join(cwd, 'config', 'default.json')]);
    });

    it('layers config/<NODE_ENV>.json over default.json key by key (arrays replace)', () => {
      const { config, sources } = loadConfig({ env: { NODE_ENV: 'staging', FILEGATE_JWT_SECRET: SECRET }, cwd });
      expect(config.server.port).to.equal(9000);
      expect(config.server.host).to.equal('10.0.0.1');
      expect(config.layers.OsFs!.maxFileSize).to.equal(1024 * 1024);
      expect(config.layers.OsFs!.allowEmpty).to.equal(true);
      expect(config.layers.OsFs!.extensions).to.deep.equal(['.mp4']);
      expect(config.log.level).to.equal('warn');
      expect(sources).to.deep.equal([path.join(cwd, 'config', 'default.json'), path.join(cwd, 'config', 'staging.json')]);
    });

    it('a NODE_ENV with no file of its name is not a problem', () => {
      const { config } = loadConfig({ env: { NODE_ENV: 'qa', FILEGATE_JWT_SECRET: SECRET }, cwd });
      expect(config.server.port).to.equal(8081);
    });

    it('layers the FILEGATE_CONFIG file (relative to cwd) over the NODE_ENV file', () => {
      const { config, sources } = loadConfig({
        env: { NODE_ENV: 'staging', FILEGATE_CONFIG: 'extra/filegate.json', FILEGATE_JWT_SECRET: SECRET },
        cwd,
      });
      expect(config.server.port).to.equal(9100);
      expect(config.log.level).to.equal('debug');
      expect(config.layers.OsFs!.allowEmpty).to.equal(true);
      expect(config.server.host).to.equal('10.0.0.1');
      expect(sources).to.deep.equal([
        path.join(cwd, 'config', 'default.json'),
        path.join(cwd, 'config', 'staging.json'),
        path.join(cwd, 'extra', 'filegate.json'),
      ]);
    });

    it('FILEGATE_PORT, FILEGATE_HOST, FILEGATE_ROOT, FILEGATE_JWT_SECRET and FILEGATE_LOG_LEVEL override every file', () => {
      const otherSecret = 'another-secret-from-the-environment-0123456789';
      const { config, devMode } = loadConfig({
        env: {
          NODE_ENV: 'staging',
          FILEGATE_CONFIG: 'extra/filegate.json',
          FILEGATE_PORT: '7000',
          FILEGATE_HOST: '127.0.0.1',
          FILEGATE_ROOT: 'elsewhere/files',
          FILEGATE_JWT_SECRET: otherSecret,
          FILEGATE_LOG_LEVEL: 'error',
        },
        cwd,
      });
      expect(config.server.port).to.equal(7000);
      expect(config.server.host).to.equal('127.0.0.1');
      expect(rootOf(config.layers.OsFs)).to.equal(path.join(cwd, 'elsewhere', 'files'));
      expect(config.layers.OsFs!.allowEmpty, 'the rest of the layer is kept').to.equal(true);
      expect(config.auth.secret).to.equal(otherSecret);
      expect(config.log.level).to.equal('error');
      expect(devMode).to.equal(false);
    });

    it('FILEGATE_ROOT sets the root of the default layer, whatever its name', () => {
      const dir = freshCwd();
      writeJson(dir, 'config/default.json', {
        defaultLayer: 'media',
        layers: { OsFs: { root: './data' }, media: { root: './media' } },
      });
      const { config } = loadConfig({ env: { FILEGATE_ROOT: '/srv/absolute', FILEGATE_JWT_SECRET: SECRET }, cwd: dir });
      expect(rootOf(config.layers.media)).to.equal('/srv/absolute');
      expect(rootOf(config.layers.OsFs)).to.equal(path.join(dir, 'data'));
    });

    it('empty FILEGATE_* variables are ignored', () => {
      const { config } = loadConfig({ env: { FILEGATE_PORT: '', FILEGATE_HOST: '', FILEGATE_JWT_SECRET: SECRET }, cwd });
      expect(config.server.port).to.equal(8081);
      expect(config.server.host).to.equal('10.0.0.1');
    });
  });

  describe('sizes, durations and paths', () => {
    it('converts sizes such as "20GB" to bytes and durations such as "1h" to milliseconds', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', {
        server: { shutdownGrace: '1h', headersTimeout: '15s', requestTimeout: 90_000 },
        layers: { media: { root: '/srv/media', maxFileSize: '20GB', types: ['video', 'audio'] }, OsFs: { root: 'data', maxFileSize: 1024 } },
        auth: { clockTolerance: '500ms' },
        transfer: { readSize: '256KB' },
      });
      const { config } = loadConfig({ env: { FILEGATE_JWT_SECRET: SECRET }, cwd });
      expect(config.layers.media!.maxFileSize).to.equal(20 * 1024 ** 3);
      expect(config.layers.OsFs!.maxFileSize).to.equal(1024);
      expect(config.server.shutdownGrace).to.equal(3_600_000);
      expect(config.server.headersTimeout).to.equal(15_000);
      expect(config.server.requestTimeout).to.equal(90_000);
      expect(config.auth.clockTolerance).to.equal(500);
      expect(config.transfer.readSize).to.equal(256 * 1024);
      expect(rootOf(config.layers.media), 'an absolute root is kept').to.equal('/srv/media');
      expect(rootOf(config.layers.OsFs)).to.equal(path.join(cwd, 'data'));
    });

    it('resolves a relative auth.publicKeyFile against cwd', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', {
        layers: { OsFs: { root: 'data' } },
        auth: { publicKeyFile: 'keys/public.pem', algorithms: ['RS256'] },
      });
      const { config } = loadConfig({ env: {}, cwd });
      expect(config.auth.publicKeyFile).to.equal(path.join(cwd, 'keys', 'public.pem'));
    });
  });

  describe('s3 layers', () => {
    const s3Of = (config: { layers: Record<string, unknown> }) => config.layers.OsFs as Extract<LayerConfig, { driver: 's3' }>;

    it('takes the SPEC\'s keys, with the shared layer options and their defaults', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { ...S3_LAYER, maxFileSize: '5GB', types: ['image'] } } });
      const layer = s3Of(loadConfig({ env: { FILEGATE_JWT_SECRET: SECRET }, cwd }).config);
      expect(layer).to.deep.include({ driver: 's3', endpoint: 'http://127.0.0.1:7480', bucket: 'results', prefix: 'jobs/', forcePathStyle: true, maxFileSize: 5 * 1024 ** 3, allowEmpty: false, hidden: 'ignore' });
      expect(layer.types).to.deep.equal(['image']);
    });

    it('defaults region, prefix and path style', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { driver: 's3', endpoint: 'https://s3.example.com', bucket: 'results', credentials: S3_LAYER.credentials } } });
      expect(s3Of(loadConfig({ env: { FILEGATE_JWT_SECRET: SECRET }, cwd }).config)).to.deep.include({ region: 'us-east-1', prefix: '', forcePathStyle: false });
    });

    it('takes credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when the layer gives none', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { ...S3_LAYER, credentials: undefined } } });
      const env = { FILEGATE_JWT_SECRET: SECRET, AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'secret-from-env' };
      expect(s3Of(loadConfig({ env, cwd }).config).credentials).to.deep.equal({ accessKeyId: 'AKIDFROMENV', secretAccessKey: 'secret-from-env' });
    });

    it('keeps the layer\'s own credentials over the AWS_* variables', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: S3_LAYER } });
      const env = { FILEGATE_JWT_SECRET: SECRET, AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'secret-from-env' };
      expect(s3Of(loadConfig({ env, cwd }).config).credentials).to.deep.equal(S3_LAYER.credentials);
    });

    it('config/examples/object-store.json loads, its credentials from the AWS_* variables', () => {
      const cwd = freshCwd();
      const example = readFileSync(path.join(REPO, 'config/examples/object-store.json'), 'utf8');
      writeJson(cwd, 'config/examples/object-store.json', JSON.parse(example));
      const env = { FILEGATE_JWT_SECRET: SECRET, FILEGATE_CONFIG: 'config/examples/object-store.json', AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'secret-from-env' };
      const { config } = loadConfig({ env, cwd });
      expect(config.layers.outputs).to.deep.include({ driver: 's3', bucket: 'results', prefix: 'jobs/', credentials: { accessKeyId: 'AKIDFROMENV', secretAccessKey: 'secret-from-env' } });
      expect(config.routes).to.have.length(2);
    });

    it('a package store on an object store takes the AWS_* credentials too', () => {
      const cwd = freshCwd();
      const { credentials: _none, ...store } = S3_LAYER;
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { root: './data' } }, packages: { store } });
      const env = { FILEGATE_JWT_SECRET: SECRET, AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'secret-from-env' };
      const { config } = loadConfig({ env, cwd });
      expect(config.packages.store).to.deep.include({ driver: 's3', bucket: 'results', prefix: 'jobs/', credentials: { accessKeyId: 'AKIDFROMENV', secretAccessKey: 'secret-from-env' } });
    });

    it('delivery defaults to proxy; redirect takes minSize and ttl, x-accel a location', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: {
        OsFs: { root: './data' },
        media: { root: './media', delivery: { mode: 'x-accel', location: '/_filegate/media/' } },
        outputs: { ...S3_LAYER, delivery: { mode: 'redirect', minSize: '1MB' } },
      } });
      const { config } = loadConfig({ env: { FILEGATE_JWT_SECRET: SECRET }, cwd });
      expect(config.layers.OsFs!.delivery).to.deep.equal({ mode: 'proxy' });
      expect(config.layers.media!.delivery).to.deep.equal({ mode: 'x-accel', location: '/_filegate/media/' });
      expect(config.layers.outputs!.delivery).to.deep.equal({ mode: 'redirect', minSize: 1024 ** 2, ttl: 300_000 });
    });

    it('an s3 layer named OsFs in FILEGATE_CONFIG replaces the default folder layer of that name, keys and all', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { driver: 'os', root: './data', symlinks: 'within-root', io: 'inline', maxFileSize: '50MB' } } });
      writeJson(cwd, 'bucket.json', { layers: { OsFs: S3_LAYER } });
      const { config } = loadConfig({ env: { FILEGATE_JWT_SECRET: SECRET, FILEGATE_CONFIG: 'bucket.json' }, cwd });
      expect(config.layers.OsFs).to.deep.include({ driver: 's3', bucket: 'results', maxFileSize: 50 * 1024 ** 2 });
      expect(config.layers.OsFs).to.not.have.property('root');
    });

    it('a later file without driver still merges into a folder layer key by key', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { driver: 'os', root: './data', allowEmpty: true } } });
      writeJson(cwd, 'more.json', { layers: { OsFs: { maxFileSize: '1MB' } } });
      const { config } = loadConfig({ env: { FILEGATE_JWT_SECRET: SECRET, FILEGATE_CONFIG: 'more.json' }, cwd });
      expect(config.layers.OsFs).to.deep.include({ driver: 'os', allowEmpty: true, maxFileSize: 1024 ** 2 });
    });

    it('never shows a credential in a problem line', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { ...S3_LAYER, symlinks: 'deny', bucket: '??' } } });
      const error = configErrorOf({ env: {}, cwd });
      expect(error.message).to.not.include(S3_LAYER.credentials.secretAccessKey);
      expect(error.message).to.not.include(S3_LAYER.credentials.accessKeyId);
    });
  });

  describe('problems, one line each, naming the key', () => {
    const base = { layers: { OsFs: { root: './data' } } };
    const cases: Array<{ name: string; config: Record<string, unknown>; env?: Record<string, string>; key: string | RegExp }> = [
      { name: 'a size that is not one', config: { layers: { OsFs: { root: './data', maxFileSize: 'ten' } } }, key: 'layers.OsFs.maxFileSize' },
      { name: 'a port that is not a number', config: { ...base, server: { port: 'abc' } }, key: 'server.port' },
      { name: 'a port out of range', config: { ...base, server: { port: 70000 } }, key: 'server.port' },
      { name: 'FILEGATE_PORT that is not a number', config: base, env: { FILEGATE_PORT: 'abc' }, key: /^(server\.port|FILEGATE_PORT)\b/ },
      { name: 'a duration that is not one', config: { ...base, server: { shutdownGrace: 'soon' } }, key: 'server.shutdownGrace' },
      { name: 'an unknown key in a layer', config: { layers: { OsFs: { root: './data', colour: 'red' } } }, key: 'layers.OsFs.colour' },
      { name: 'an unknown top-level key', config: { ...base, colour: 'red' }, key: 'colour' },
      { name: 'a layer without a root', config: { layers: { OsFs: { maxFileSize: '1MB' } } }, key: 'layers.OsFs.root' },
      { name: 'an unknown hidden mode', config: { layers: { OsFs: { root: './data', hidden: 'maybe' } } }, key: 'layers.OsFs.hidden' },
      { name: 'an unknown type category', config: { layers: { OsFs: { root: './data', types: ['movies'] } } }, key: /^layers\.OsFs\.types\b/ },
      { name: 'no layers at all', config: { layers: {} }, key: 'layers' },
      { name: 'defaultLayer naming no layer', config: { ...base, defaultLayer: 'media' }, key: 'defaultLayer' },
      {
        name: 'types and extensions both set',
        config: { layers: { OsFs: { root: './data', types: ['video'], extensions: ['.mp4'] } } },
        key: /^layers\.OsFs\.(types|extensions)\b/,
      },
      { name: 'auth.secret shorter than 32 characters', config: { ...base, auth: { secret: 'too-short' } }, key: 'auth.secret' },
      { name: 'FILEGATE_JWT_SECRET shorter than 32 characters', config: base, env: { FILEGATE_JWT_SECRET: 'too-short' }, key: /^(auth\.secret|FILEGATE_JWT_SECRET)\b/ },
      {
        name: 'HS256 without a secret when a public key is set',
        config: { ...base, auth: { publicKeyFile: './public.pem', algorithms: ['HS256'] } },
        key: /^auth\.(algorithms|secret)\b.*secret/,
      },
      {
        name: 'RS256 without a public key when a secret is set',
        config: { ...base, auth: { secret: SECRET, algorithms: ['RS256'] } },
        key: /^auth\.(algorithms|publicKeyFile)\b/,
      },
      { name: 'an unknown log level', config: { ...base, log: { level: 'loud' } }, key: 'log.level' },
      { name: 'a signing key shorter than 32 characters', config: { ...base, signing: { keys: { k1: 'short' }, currentKey: 'k1' } }, key: 'signing.keys.k1' },
      { name: 'signing.currentKey naming no key', config: { ...base, signing: { keys: { k1: SECRET }, currentKey: 'k2' } }, key: 'signing.currentKey' },
      { name: 'signing keys without a current key', config: { ...base, signing: { keys: { k1: SECRET } } }, key: 'signing.currentKey' },
      { name: 'a signing key id with a space', config: { ...base, signing: { keys: { 'k 1': SECRET }, currentKey: 'k 1' } }, key: /^signing\.(keys|currentKey)\b/ },
      { name: 'signing.defaultTtl over signing.maxTtl', config: { ...base, signing: { defaultTtl: '2d', maxTtl: '1d' } }, key: 'signing.defaultTtl' },
      { name: 'a CORS origin with a path', config: { ...base, cors: { origins: ['https://app.example.com/'] } }, key: /^cors\.origins\.0\b/ },
      { name: 'CORS credentials with the wildcard origin', config: { ...base, cors: { origins: ['*'], allowCredentials: true } }, key: 'cors.allowCredentials' },
      { name: 'a negative concurrency cap', config: { ...base, limits: { concurrentPerSubject: -1 } }, key: 'limits.concurrentPerSubject' },
      { name: 'an unknown driver', config: { layers: { OsFs: { driver: 'ftp', root: './data' } } }, key: /^layers\.OsFs\b.*"os".*"s3"/ },
      { name: 'symlinks on an s3 layer', config: { layers: { OsFs: { ...S3_LAYER, symlinks: 'deny' } } }, key: /^layers\.OsFs\.symlinks\b.*s3 layer/ },
      { name: 'io on an s3 layer', config: { layers: { OsFs: { ...S3_LAYER, io: 'threads' } } }, key: /^layers\.OsFs\.io\b.*s3 layer/ },
      { name: 'root on an s3 layer', config: { layers: { OsFs: { ...S3_LAYER, root: './data' } } }, key: 'layers.OsFs.root' },
      { name: 'an s3 layer without credentials or AWS_* variables', config: { layers: { OsFs: { ...S3_LAYER, credentials: undefined } } }, key: /^layers\.OsFs\.credentials\b.*AWS_ACCESS_KEY_ID/ },
      { name: 'an s3 endpoint with a path', config: { layers: { OsFs: { ...S3_LAYER, endpoint: 'http://127.0.0.1:7480/bucket' } } }, key: 'layers.OsFs.endpoint' },
      { name: 'an s3 endpoint that is not http(s)', config: { layers: { OsFs: { ...S3_LAYER, endpoint: 'ftp://127.0.0.1' } } }, key: 'layers.OsFs.endpoint' },
      { name: 'an s3 prefix without its trailing slash', config: { layers: { OsFs: { ...S3_LAYER, prefix: 'jobs' } } }, key: 'layers.OsFs.prefix' },
      { name: 'an s3 prefix with a ".." segment', config: { layers: { OsFs: { ...S3_LAYER, prefix: 'a/../' } } }, key: 'layers.OsFs.prefix' },
      { name: 'redirect delivery on an os layer', config: { layers: { OsFs: { root: './data', delivery: { mode: 'redirect' } } } }, key: /^layers\.OsFs\.delivery\b.*"redirect" is for s3/ },
      { name: 'x-accel delivery on an s3 layer', config: { layers: { OsFs: { ...S3_LAYER, delivery: { mode: 'x-accel', location: '/x/' } } } }, key: /^layers\.OsFs\.delivery\b.*"x-accel" is for os/ },
      { name: 'an x-accel location without its slashes', config: { layers: { OsFs: { root: './data', delivery: { mode: 'x-accel', location: '_fg' } } } }, key: 'layers.OsFs.delivery.location' },
      { name: 'a redirect ttl under a minute', config: { layers: { OsFs: { ...S3_LAYER, delivery: { mode: 'redirect', ttl: '10s' } } } }, key: 'layers.OsFs.delivery.ttl' },
      { name: 'a package store that is not s3', config: { ...base, packages: { store: { driver: 'os', root: './x' } } }, key: /^packages\.store\b/ },
      { name: 'an s3 bucket name with a slash', config: { layers: { OsFs: { ...S3_LAYER, bucket: 'a/b' } } }, key: 'layers.OsFs.bucket' },
    ];

    for (const testCase of cases) {
      it(`reports ${testCase.name} under its key`, () => {
        const cwd = freshCwd();
        writeJson(cwd, 'config/default.json', testCase.config);
        const error = configErrorOf({ env: testCase.env ?? {}, cwd });
        const line = expectProblemFor(error.problems, testCase.key);
        expect(line).to.not.include('\n');
        expect(error.message).to.include(line);
      });
    }

    it('reports every problem at once: cross-field problems (defaultLayer, auth.secret) are not dropped when a field is also wrong', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', {
        server: { port: 'abc' },
        defaultLayer: 'nowhere',
        layers: {
          OsFs: { root: './data', maxFileSize: 'ten', colour: 'red' },
          media: { root: './media', types: ['video'], extensions: ['.mp4'] },
        },
        auth: { secret: 'too-short' },
      });
      const error = configErrorOf({ env: {}, cwd });
      const expected: Array<string | RegExp> = [
        'server.port',
        'layers.OsFs.maxFileSize',
        'layers.OsFs.colour',
        /^layers\.media\.(types|extensions)\b/,
        'defaultLayer',
        'auth.secret',
      ];
      const missing = expected.filter((key) => {
        try {
          expectProblemFor(error.problems, key);
          return false;
        } catch {
          return true;
        }
      });
      expect(missing.map(String), `problems not reported, among ${JSON.stringify(error.problems, null, 2)}`).to.deep.equal([]);
      for (const line of error.problems) expect(line, 'one line per problem').to.not.include('\n');
      const messageLines = error.message.split('\n').map((line) => line.trim());
      for (const line of error.problems) expect(messageLines).to.include(line);
    });

    it('names the file that is not valid JSON', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', base);
      writeJson(cwd, 'config/staging.json', '{ "server": { "port": 9000, } ');
      const error = configErrorOf({ env: { NODE_ENV: 'staging', FILEGATE_JWT_SECRET: SECRET }, cwd });
      expect(error.problems).to.have.length(1);
      expect(error.problems[0]).to.match(/staging\.json/).and.match(/JSON/);
    });

    it('names a FILEGATE_CONFIG file that is not valid JSON', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', base);
      writeJson(cwd, 'local/broken.json', 'not json at all');
      const error = configErrorOf({ env: { FILEGATE_CONFIG: 'local/broken.json', FILEGATE_JWT_SECRET: SECRET }, cwd });
      expectProblemFor(error.problems, /broken\.json.*JSON/);
    });

    it('refuses a file whose top level is not an object, naming it', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', [base]);
      const error = configErrorOf({ env: { FILEGATE_JWT_SECRET: SECRET }, cwd });
      expectProblemFor(error.problems, /default\.json/);
    });

    it('reports a FILEGATE_CONFIG naming a missing file', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', base);
      const error = configErrorOf({ env: { FILEGATE_CONFIG: 'nowhere/filegate.json', FILEGATE_JWT_SECRET: SECRET }, cwd });
      const line = expectProblemFor(error.problems, /^FILEGATE_CONFIG\b/);
      expect(line).to.include('filegate.json');
    });
  });

  describe('JWT key: production and development', () => {
    it('refuses to load in production without any key, saying so', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { root: './data' } } });
      const error = configErrorOf({ env: { NODE_ENV: 'production' }, cwd });
      const line = expectProblemFor(error.problems, /production/);
      expect(line).to.match(/auth\.secret|FILEGATE_JWT_SECRET/);
      expect(existsSync(path.join(cwd, 'var', 'dev-jwt-secret')), 'no development secret in production').to.equal(false);
    });

    it('makes no signing key in production: signed URLs stay off until signing.keys is set', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { root: './data' } } });
      const loaded = loadConfig({ env: { NODE_ENV: 'production', FILEGATE_JWT_SECRET: SECRET }, cwd });
      expect(loaded.config.signing.keys).to.deep.equal({});
      expect(loaded.config.signing.currentKey).to.equal(null);
      expect(existsSync(path.join(cwd, 'var', 'dev-signing-key'))).to.equal(false);
    });

    it('loads in production with FILEGATE_JWT_SECRET', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { root: './data' } } });
      const loaded = loadConfig({ env: { NODE_ENV: 'production', FILEGATE_JWT_SECRET: SECRET }, cwd });
      expect(loaded.devMode).to.equal(false);
      expect(loaded.config.auth.secret).to.equal(SECRET);
    });

    it('loads in production with only a public key file (no secret needed)', () => {
      const cwd = freshCwd();
      writeJson(cwd, 'config/default.json', { layers: { OsFs: { root: './data' } }, auth: { algorithms: ['RS256'] } });
      const loaded = loadConfig({ env: { NODE_ENV: 'production', FILEGATE_JWT_PUBLIC_KEY_FILE: 'keys/public.pem' }, cwd });
      expect(loaded.devMode).to.equal(false);
      expect(loaded.config.auth.secret).to.equal(null);
      expect(loaded.config.auth.publicKeyFile).to.equal(path.join(cwd, 'keys', 'public.pem'));
    });

    describe('without NODE_ENV and without a key', () => {
      let cwd: string;
      let first: LoadedConfig;
      let secretFile: string;

      before(() => {
        cwd = freshCwd();
        writeJson(cwd, 'config/default.json', { layers: { OsFs: { root: './data' } } });
        secretFile = path.join(cwd, 'var', 'dev-jwt-secret');
        first = loadConfig({ env: {}, cwd });
      });

      it('starts in development mode with a generated secret of at least 32 characters', () => {
        expect(first.devMode).to.equal(true);
        expect(first.config.auth.secret).to.be.a('string');
        expect(first.config.auth.secret!.length).to.be.at.least(32);
      });

      it('writes the secret to var/dev-jwt-secret, readable by its owner only (0600)', () => {
        expect(existsSync(secretFile)).to.equal(true);
        expect(statSync(secretFile).mode & 0o777).to.equal(0o600);
        expect(readFileSync(secretFile, 'utf8').trim()).to.equal(first.config.auth.secret);
      });

      it('reuses the same secret on the next load', () => {
        const before = readFileSync(secretFile, 'utf8');
        const second = loadConfig({ env: {}, cwd });
        expect(second.devMode).to.equal(true);
        expect(second.config.auth.secret).to.equal(first.config.auth.secret);
        expect(readFileSync(secretFile, 'utf8')).to.equal(before);
      });

      it('says whether the secret was made by this load or reused from an earlier one (devSecret), for the banner', () => {
        expect(first.devSecret).to.deep.equal({ file: secretFile, made: true });
        expect(loadConfig({ env: {}, cwd }).devSecret).to.deep.equal({ file: secretFile, made: false });
      });

      it('makes a new secret, and says so, when the kept one is too short to use', () => {
        const other = freshCwd();
        writeJson(other, 'config/default.json', { layers: { OsFs: { root: './data' } } });
        mkdirSync(path.join(other, 'var'));
        writeFileSync(path.join(other, 'var', 'dev-jwt-secret'), 'short\n');
        const loaded = loadConfig({ env: {}, cwd: other });
        expect(loaded.devSecret).to.deep.equal({ file: path.join(other, 'var', 'dev-jwt-secret'), made: true });
        expect(loaded.config.auth.secret!.length).to.be.at.least(32);
      });

      it('makes a development signing key too (var/dev-signing-key, key id "dev"), kept across loads', () => {
        expect(first.config.signing.currentKey).to.equal('dev');
        expect(first.config.signing.keys.dev).to.equal(readFileSync(path.join(cwd, 'var', 'dev-signing-key'), 'utf8').trim());
        expect(loadConfig({ env: {}, cwd }).config.signing.keys.dev).to.equal(first.config.signing.keys.dev);
      });

      it('a different cwd gets a different secret', () => {
        const other = freshCwd();
        writeJson(other, 'config/default.json', { layers: { OsFs: { root: './data' } } });
        const loaded = loadConfig({ env: {}, cwd: other });
        expect(loaded.config.auth.secret).to.not.equal(first.config.auth.secret);
      });
    });
  });
});
