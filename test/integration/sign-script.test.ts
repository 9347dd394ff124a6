// `npm run sign` (scripts/sign.ts) in a child process: the URL it prints reaches the server on the port and host the config names (as the server reads it), or the --port or --url given, and port 0 without either is refused.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, TEST_SECRET, type TestServer } from '../helpers/server.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SIGNING_KEY = 'a-signing-key-for-the-sign-script-test-0123';
const BODY = 'signed by npm run sign\n';

/** Runs scripts/sign.ts from the checkout with `args` and `env` (over an environment without NODE_ENV and FILEGATE_*); settles with its exit code and output. */
function sign(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (name !== 'NODE_ENV' && !name.startsWith('FILEGATE_')) base[name] = value;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/sign.ts', ...args], { cwd: REPO, env: { ...base, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('npm run sign (scripts/sign.ts)', function () {
  this.timeout(30_000);
  let tmp: TempDir;
  let server: TestServer;
  let port: number;

  /** A config file as an operator would write it: the layer, the keys, and `server`. */
  const configWith = (name: string, serverSettings: Record<string, unknown>) => {
    const file = path.join(tmp.dir, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        server: serverSettings,
        layers: { OsFs: { root: path.join(tmp.dir, 'data') } },
        // A key of its own, so the script writes no development secret into the checkout.
        auth: { secret: TEST_SECRET },
        signing: { keys: { k1: SIGNING_KEY }, currentKey: 'k1' },
      }),
    );
    return file;
  };
  /** The printed URL answers the file, and its origin is `origin`. */
  const expectWorks = async (printed: { code: number; stdout: string; stderr: string }, origin: string) => {
    expect(printed.code, printed.stderr).to.equal(0);
    const url = printed.stdout.trim();
    expect(new URL(url).origin).to.equal(origin);
    const response = await fetch(url);
    expect(response.status).to.equal(200);
    expect(await response.text()).to.equal(BODY);
  };

  before(async () => {
    tmp = tempDir('filegate-sign-script-');
    tmp.file('data/docs/report.txt', BODY);
    server = await startTestServer({ layers: { OsFs: { root: path.join(tmp.dir, 'data') } }, signing: { keys: { k1: SIGNING_KEY }, currentKey: 'k1' } });
    port = Number(new URL(server.url).port);
  });

  after(async () => {
    await server?.close();
    tmp?.remove();
  });

  it("uses the config's server.host and server.port, as the server reads them (not 8080)", async () => {
    const printed = await sign(['docs/report.txt'], { FILEGATE_CONFIG: configWith('configured', { host: '127.0.0.1', port }) });
    await expectWorks(printed, `http://127.0.0.1:${port}`);
  });

  it('FILEGATE_PORT and FILEGATE_HOST override the config file, as they do for the server', async () => {
    const printed = await sign(['docs/report.txt'], { FILEGATE_CONFIG: configWith('overridden', { host: '0.0.0.0', port: 9 }), FILEGATE_PORT: String(port), FILEGATE_HOST: '127.0.0.1' });
    await expectWorks(printed, `http://127.0.0.1:${port}`);
  });

  it('--port names the port of a server started with another one', async () => {
    const printed = await sign(['docs/report.txt', '--port', String(port)], { FILEGATE_CONFIG: configWith('port-flag', { host: '127.0.0.1', port: 9 }) });
    await expectWorks(printed, `http://127.0.0.1:${port}`);
  });

  it('--url gives the origin outright', async () => {
    const printed = await sign(['docs/report.txt', '--url', `${server.url}/`], { FILEGATE_CONFIG: configWith('url-flag', { port: 0 }) });
    await expectWorks(printed, server.url);
  });

  it('server.port 0 without --port or --url: exit 2, saying to name the port, and no URL', async () => {
    const printed = await sign(['docs/report.txt'], { FILEGATE_CONFIG: configWith('port-zero', { port: 0 }) });
    expect(printed.code).to.equal(2);
    expect(printed.stdout).to.equal('');
    expect(printed.stderr).to.match(/^sign: server\.port is 0 .*--port/);
  });
});
