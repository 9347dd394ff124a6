// Starts src/main.ts in child processes: a bad config stops it before it listens, production needs a key, and development mode says whether it made or reused its secret, prints a curl command that downloads a file the default layer serves (the bundled data, an example deployment) or says why there is none, and drains on SIGTERM.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { buildSampleTree } from '../../scripts/examples/sample-trees.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(REPO, 'src', 'main.ts');
// By its resolved location, so a child started in a folder outside the checkout still finds it.
const TSX = import.meta.resolve('tsx');
/** How long a child may take to print what a test waits for (a deadline, not a pass criterion). */
const STARTUP_DEADLINE_MS = 15_000;

/** A port that was free a moment ago: listen on port 0, read it, close. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when something accepts a TCP connection on 127.0.0.1:port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Child {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code and signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first match of `pattern` in stderr; rejects when the process exits first or the deadline passes. */
  waitForStderr(pattern: RegExp): Promise<RegExpExecArray>;
}

/** The environment of the test process without NODE_ENV or any FILEGATE_* variable, plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_ENV' || name.startsWith('FILEGATE_')) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs `node [nodeArgs] --import tsx src/main.ts` in `cwd`, a folder of the
 * test's own holding a copy of `config/` (see `workingFolder`): what the
 * service keeps in `var/` (the development secret and signing key) is then
 * the test's, and nothing is written into the checkout.
 */
function startMain(env: Record<string, string>, cwd: string, nodeArgs: readonly string[] = []): Child {
  const child = spawn(process.execPath, [...nodeArgs, '--import', TSX, MAIN], { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    notify();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
    notify();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
      notify();
    });
  });
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStderr(pattern) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${pattern} in stderr within ${STARTUP_DEADLINE_MS} ms:\n${err}\nstdout:\n${out}`)), STARTUP_DEADLINE_MS);
        const check = () => {
          const match = pattern.exec(err);
          if (match) finish(null, match);
          else if (exitInfo) finish(new Error(`exited (${JSON.stringify(exitInfo)}) before ${pattern} appeared; stderr:\n${err}\nstdout:\n${out}`));
        };
        function finish(error: Error | null, match?: RegExpExecArray) {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(match!);
        }
        waiters.add(check);
        check();
      });
    },
  };
}

// The curl command must talk to the loopback server directly, whatever proxy the environment names.
const clientEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/_proxy$/i.test(name)));

/** Runs a printed command line with bash in `cwd`; rejects with its exit code and stderr when it fails. */
function runPrinted(line: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', line], { cwd, env: clientEnv, timeout: STARTUP_DEADLINE_MS }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${line} failed (${error.code ?? error.signal}): ${stderr}`));
      else resolve();
    });
  });
}

/** The banner's command line: curl -OJ with the token in full and the URL in single quotes. */
const BANNER_COMMAND = /^curl -OJ -H "Authorization: Bearer ([^"\s]+)" '([^'\s]+)'$/m;

/** The log line that says the service listens, parsed (it is written before the development banner). */
function listeningLine(child: Child): { v8Flags?: unknown } {
  const line = child.stdout().split('\n').find((text) => text.includes('filegate is listening'));
  expect(line, child.stdout()).to.be.a('string');
  return JSON.parse(line!) as { v8Flags?: unknown };
}

/** Waits for the exit, killing the child if it outlives the deadline (the test then fails on the exit it sees). */
async function exitOf(child: Child): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const timer = setTimeout(() => child.process.kill('SIGKILL'), STARTUP_DEADLINE_MS);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

describe('startup (src/main.ts in a child process)', function () {
  this.timeout(30_000);
  let tmp: TempDir;
  const children: Child[] = [];
  const run = (env: Record<string, string>, cwd: string, nodeArgs: readonly string[] = []) => {
    const child = startMain(env, cwd, nodeArgs);
    children.push(child);
    return child;
  };
  /** A folder laid out like a checkout for `npm start` (a copy of config/), where the child keeps its var/. */
  const workingFolder = (name: string) => {
    const dir = tmp.folder(name);
    cpSync(path.join(REPO, 'config'), path.join(dir, 'config'), { recursive: true });
    return dir;
  };
  const stop = async (child: Child) => {
    child.process.kill('SIGTERM');
    await exitOf(child);
  };
  /** Runs the banner's command as printed in a fresh folder; returns the one file curl saved there, and its bytes. */
  const downloadAsPrinted = async (line: string, name: string) => {
    const dir = tmp.folder(name);
    await runPrinted(line, dir);
    const saved = readdirSync(dir);
    expect(saved, 'curl -OJ saved one file').to.have.length(1);
    return { name: saved[0]!, bytes: readFileSync(path.join(dir, saved[0]!)) };
  };

  before(() => {
    tmp = tempDir('filegate-startup-');
  });

  after(async () => {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGKILL');
        await child.exited;
      }
    }
    tmp.remove();
  });

  describe('a config with two bad keys', () => {
    let port: number;
    let result: { code: number | null; signal: NodeJS.Signals | null };
    let child: Child;

    before(async () => {
      port = await freePort();
      const configFile = path.join(tmp.dir, 'two-bad-keys.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          server: { shutdownGrace: 'soon' },
          layers: { OsFs: { root: tmp.folder('bad-root'), maxFileSize: 'ten' } },
        }),
      );
      child = run({
        FILEGATE_CONFIG: configFile,
        FILEGATE_PORT: String(port),
        FILEGATE_HOST: '127.0.0.1',
        FILEGATE_JWT_SECRET: 'startup-test-secret-long-enough-0123456789',
      }, workingFolder('bad-keys-cwd'));
      result = await exitOf(child);
    });

    it('exits with code 2', () => {
      expect(result, child.stderr()).to.deep.equal({ code: 2, signal: null });
    });

    it('prints a header and one line per problem, each naming its key, to stderr', () => {
      const lines = child.stderr().split('\n').filter((line) => line.trim() !== '');
      expect(lines[0]).to.equal('filegate: invalid configuration:');
      const problems = lines.slice(1).map((line) => line.trim());
      expect(problems, child.stderr()).to.have.length(2);
      expect(problems.some((line) => line.startsWith('server.shutdownGrace')), 'server.shutdownGrace named').to.equal(true);
      expect(problems.some((line) => line.startsWith('layers.OsFs.maxFileSize')), 'layers.OsFs.maxFileSize named').to.equal(true);
    });

    it('never listened: no listening log line, and nothing accepts connections on its port', async () => {
      expect(child.stdout()).to.not.include('filegate is listening');
      expect(await isListening(port)).to.equal(false);
    });
  });

  describe('a config with bad route aliases', () => {
    let child: Child;
    let result: { code: number | null; signal: NodeJS.Signals | null };
    let port: number;

    before(async () => {
      port = await freePort();
      const configFile = path.join(tmp.dir, 'bad-aliases.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          layers: { OsFs: { root: tmp.folder('alias-root') } },
          routes: [
            { path: '/download/:id', filepath: 'results/{name}.png' },
            { path: '/api/mine', archive: 'a' },
            { path: '/escape/:id', filepath: '../{id}' },
          ],
        }),
      );
      child = run({ FILEGATE_CONFIG: configFile, FILEGATE_PORT: String(port), FILEGATE_HOST: '127.0.0.1', FILEGATE_JWT_SECRET: 'startup-test-secret-long-enough-0123456789' }, workingFolder('aliases-cwd'));
      result = await exitOf(child);
    });

    it('exits with code 2 before listening, one line per bad alias naming its key', async () => {
      expect(result, child.stderr()).to.deep.equal({ code: 2, signal: null });
      const problems = child.stderr().split('\n').slice(1).map((line) => line.trim()).filter(Boolean);
      expect(problems.some((line) => /^routes\.0\.filepath: .*\{name\}/.test(line)), child.stderr()).to.equal(true);
      expect(problems.some((line) => /^routes\.1\.path: .*built-in/.test(line)), child.stderr()).to.equal(true);
      expect(problems.some((line) => /^routes\.2\.filepath: .*could leave its folder/.test(line)), child.stderr()).to.equal(true);
      expect(await isListening(port)).to.equal(false);
    });
  });

  describe('NODE_ENV=production without a JWT key', () => {
    let child: Child;
    let result: { code: number | null; signal: NodeJS.Signals | null };
    let port: number;

    before(async () => {
      port = await freePort();
      const configFile = path.join(tmp.dir, 'production.json');
      writeFileSync(configFile, JSON.stringify({ layers: { OsFs: { root: tmp.folder('production-root') } } }));
      child = run({ NODE_ENV: 'production', FILEGATE_CONFIG: configFile, FILEGATE_PORT: String(port), FILEGATE_HOST: '127.0.0.1' }, workingFolder('production-cwd'));
      result = await exitOf(child);
    });

    it('refuses to start, with a non-zero exit code', () => {
      expect(result.signal).to.equal(null);
      expect(result.code, child.stderr()).to.be.a('number').and.not.equal(0);
    });

    it('says on stderr which key settings are missing, and that it is production', () => {
      const stderr = child.stderr();
      expect(stderr).to.include('production');
      expect(stderr).to.match(/auth\.secret/);
      expect(stderr).to.match(/FILEGATE_JWT_SECRET|auth\.publicKeyFile/);
      expect(stderr).to.not.include('curl');
    });

    it('never listened', async () => {
      expect(child.stdout()).to.not.include('filegate is listening');
      expect(await isListening(port)).to.equal(false);
    });
  });

  describe('development mode (no JWT key, no NODE_ENV; auth.algorithms HS512 and an audience required)', () => {
    const body = 'hello from the development banner test\n';
    let port: number;
    let child: Child;
    let curl: RegExpExecArray;

    before(async () => {
      port = await freePort();
      const root = tmp.folder('dev-root');
      tmp.file('dev-root/hello.txt', body);
      tmp.file('dev-root/zzz.txt', 'another file\n');
      const configFile = path.join(tmp.dir, 'development.json');
      // No key, but a required algorithm and audience: the banner's token must carry both to work.
      writeFileSync(configFile, JSON.stringify({ layers: { OsFs: { root } }, auth: { algorithms: ['HS512'], audience: 'filegate-dev' } }));
      child = run({ FILEGATE_CONFIG: configFile, FILEGATE_PORT: String(port), FILEGATE_HOST: '127.0.0.1', FILEGATE_LOG_LEVEL: 'info' }, workingFolder('dev-cwd'));
      curl = await child.waitForStderr(BANNER_COMMAND);
    });

    it('prints a ready curl command on stderr, for hello.txt on the real port', () => {
      const url = new URL(curl[2]!);
      expect(url.protocol).to.equal('http:');
      expect(url.port).to.equal(String(port));
      expect(url.pathname).to.equal('/api/download');
      expect(url.searchParams.get('filepath')).to.equal('hello.txt');
      expect(curl[1]!.split('.')).to.have.length(3);
    });

    it('the printed command works: its token and URL download hello.txt', async () => {
      const response = await fetch(curl[2]!, { headers: { Authorization: `Bearer ${curl[1]!}` } });
      const text = await response.text();
      expect(response.status, text).to.equal(200);
      expect(text).to.equal(body);
      expect(response.headers.get('content-disposition')).to.match(/^attachment; filename="hello\.txt"/);
    });

    it('the printed command, run as printed with curl, saves hello.txt', async () => {
      const saved = await downloadAsPrinted(curl[0], 'dev-download');
      expect(saved.name).to.equal('hello.txt');
      expect(saved.bytes.toString('utf8')).to.equal(body);
    });

    it('never writes the token to stdout (the log)', () => {
      expect(child.stdout()).to.include('filegate is listening');
      expect(child.stdout()).to.not.include(curl[1]!);
    });

    it('sets V8\'s inlining budget at start, and the listening line says so', () => {
      expect(listeningLine(child).v8Flags).to.deep.equal(['--max-inlined-bytecode-size-cumulative=230']);
    });

    it('keeps a budget given on the node command line (either spelling), and sets none', async () => {
      for (const [index, flag] of ['--max-inlined-bytecode-size-cumulative=460', '--max_inlined_bytecode_size_cumulative=920'].entries()) {
        const configFile = path.join(tmp.dir, 'development.json');
        const own = run({ FILEGATE_CONFIG: configFile, FILEGATE_PORT: String(await freePort()), FILEGATE_HOST: '127.0.0.1', FILEGATE_LOG_LEVEL: 'info' }, workingFolder(`dev-flag-${index}`), [flag]);
        await own.waitForStderr(BANNER_COMMAND);
        expect(listeningLine(own).v8Flags, flag).to.deep.equal([]);
        await stop(own);
      }
    });

    it('exits 0 on SIGTERM, and stops listening', async () => {
      child.process.kill('SIGTERM');
      const result = await exitOf(child);
      expect(result, child.stderr()).to.deep.equal({ code: 0, signal: null });
      expect(await isListening(port)).to.equal(false);
    });
  });

  describe('development mode with the bundled data, started twice from a fresh folder', () => {
    let cwd: string;
    let first: Child;
    let firstBanner: RegExpExecArray;

    before(async () => {
      cwd = workingFolder('bundled-cwd');
      // config/default.json's root is ./data: here a copy of the bundled folder.
      cpSync(path.join(REPO, 'data'), path.join(cwd, 'data'), { recursive: true });
      first = run({ FILEGATE_PORT: String(await freePort()), FILEGATE_HOST: '127.0.0.1' }, cwd);
      firstBanner = await first.waitForStderr(BANNER_COMMAND);
    });

    it('the first start says it made the secret, and where it keeps it', () => {
      expect(first.stderr()).to.include('no JWT key is configured, so a development secret was made and kept in var/dev-jwt-secret.');
      expect(readFileSync(path.join(cwd, 'var', 'dev-jwt-secret'), 'utf8').trim().length).to.be.at.least(32);
    });

    it('prints a command for a file of ./data; run as printed with curl, it saves that file', async () => {
      const filepath = new URL(firstBanner[2]!).searchParams.get('filepath')!;
      const saved = await downloadAsPrinted(firstBanner[0], 'bundled-download');
      expect(saved.name).to.equal(path.basename(filepath));
      expect(saved.bytes.equals(readFileSync(path.join(REPO, 'data', filepath)))).to.equal(true);
    });

    it('the next start says it reused the kept secret (never that it made one), and the first banner\'s token still works', async () => {
      await stop(first);
      const second = run({ FILEGATE_PORT: String(await freePort()), FILEGATE_HOST: '127.0.0.1' }, cwd);
      const banner = await second.waitForStderr(BANNER_COMMAND);
      try {
        expect(second.stderr()).to.include('the development secret an earlier run kept in var/dev-jwt-secret is used');
        expect(second.stderr()).to.not.include('was made');
        const response = await fetch(banner[2]!, { headers: { Authorization: `Bearer ${firstBanner[1]!}` } });
        expect(response.status, await response.text()).to.equal(200);
      } finally {
        await stop(second);
      }
    });
  });

  for (const example of ['media-library', 'image-analysis', 'image-processing', 'insights-packages'] as const) {
    describe(`development mode with the example config/examples/${example}.json and its sample tree`, () => {
      let child: Child;
      let banner: RegExpExecArray;
      let root: string;

      before(async () => {
        const cwd = workingFolder(`example-${example}`);
        // Where `npm run example -- <name>` writes it: the root the example's config names.
        root = path.join(cwd, 'var', 'examples', example);
        buildSampleTree(example, root);
        child = run({ FILEGATE_CONFIG: `config/examples/${example}.json`, FILEGATE_PORT: String(await freePort()), FILEGATE_HOST: '127.0.0.1' }, cwd);
        banner = await child.waitForStderr(BANNER_COMMAND);
      });

      after(async () => {
        await stop(child);
      });

      it('prints a command that, run as printed with curl, saves a file of the layer byte for byte (never hello.txt, which it lacks)', async () => {
        const filepath = new URL(banner[2]!).searchParams.get('filepath')!;
        expect(filepath).to.not.equal('hello.txt');
        const saved = await downloadAsPrinted(banner[0], `example-${example}-download`);
        expect(saved.bytes.equals(readFileSync(path.join(root, filepath)))).to.equal(true);
      });
    });
  }

  describe('development mode with an example config whose sample tree is not written yet', () => {
    let child: Child;
    let port: number;

    before(async () => {
      port = await freePort();
      child = run({ FILEGATE_CONFIG: 'config/examples/insights-packages.json', FILEGATE_PORT: String(port), FILEGATE_HOST: '127.0.0.1' }, workingFolder('example-unbuilt'));
      await child.waitForStderr(/^More tokens:/m);
    });

    after(async () => {
      await stop(child);
    });

    it('prints no curl command, and one line saying why and what writes the tree', () => {
      expect(child.stderr()).to.not.match(/^curl /m);
      const why = child.stderr().split('\n').filter((line) => line.startsWith('No download command'));
      expect(why).to.deep.equal([
        'No download command: the root of layer "OsFs" (var/examples/insights-packages) does not exist or cannot be read; npm run example -- insights-packages writes its sample files.',
      ]);
    });

    it('still serves: /healthz answers 200', async () => {
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).to.equal(200);
    });
  });
});
