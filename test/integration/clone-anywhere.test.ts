// Proves the tests do not depend on where the checkout lives: a clone of HEAD in a folder other users cannot enter (mode 700) runs the NOT_READABLE tests (whose server drops to nobody when tests run as root) and a test on the child-process server, they pass, and they write nothing into the clone.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The NOT_READABLE tests (a server that drops to nobody), and one on test/helpers/child-server.ts (src/main.ts run from the checkout).
const TEST_FILES = ['test/integration/not-readable.test.ts', 'test/integration/download-abort.test.ts'];
const AS_ROOT = process.getuid?.() === 0;
const RUN_DEADLINE_MS = 60_000;

interface MochaStats {
  tests: number;
  passes: number;
  failures: number;
  pending: number;
}

/** Runs mocha on `files` inside `checkout`, as `npm test` would there; settles with the JSON reporter's stats and the failures' titles. */
function runMochaIn(checkout: string, files: string[]): Promise<{ stats: MochaStats; failed: string[]; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (name !== 'NODE_ENV' && !name.startsWith('FILEGATE_')) env[name] = value;
  const mocha = path.join(checkout, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const args = [mocha, '--no-config', '--import=tsx', '--exit', '--timeout', '60000', '--reporter', 'json', ...files];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: checkout, env, timeout: RUN_DEADLINE_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      // mocha exits with the number of failures; the JSON report says which, so a non-zero exit is not an error here.
      const start = stdout.indexOf('{');
      if (start === -1) return reject(new Error(`mocha printed no report (${error?.message ?? 'exit 0'}):\n${stderr}`));
      try {
        const report = JSON.parse(stdout.slice(start)) as { stats: MochaStats; failures: Array<{ fullTitle: string; err: { message?: string } }> };
        resolve({ stats: report.stats, failed: report.failures.map((failure) => `${failure.fullTitle}: ${failure.err.message ?? ''}`), stderr });
      } catch (parseError) {
        reject(new Error(`mocha's report is not JSON (${String(parseError)}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe('a clone in a folder other users cannot enter passes the NOT_READABLE tests and a child-process server test', function () {
  this.timeout(RUN_DEADLINE_MS + 15_000);
  let closed: string;
  let checkout: string;

  before(() => {
    // mkdtemp makes the folder mode 700: like a clone in /root, or in a `mktemp -d` folder.
    closed = mkdtempSync(path.join(os.tmpdir(), 'filegate-clone-'));
    checkout = path.join(closed, 'filegate');
    // HEAD as committed, copied object by object (no hardlinks into the original's .git).
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', REPO, checkout], { stdio: ['ignore', 'ignore', 'pipe'] });
    // The installed packages are shared, not reinstalled: what is tested is where the checkout lives.
    symlinkSync(path.join(REPO, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
  });

  after(() => {
    if (closed) rmSync(closed, { recursive: true, force: true });
  });

  it('the clone lies in a mode-700 folder, and holds the tests of HEAD', () => {
    expect(statSync(closed).mode & 0o777).to.equal(0o700);
    expect(readFileSync(path.join(checkout, TEST_FILES[0]!), 'utf8')).to.include('NOT_READABLE');
    expect(existsSync(path.join(checkout, 'var')), 'a fresh clone has no var/').to.equal(false);
  });

  it(`mocha ${TEST_FILES.join(' ')} run inside the clone passes every test (${AS_ROOT ? 'as root: the NOT_READABLE server drops to nobody' : 'not root: the NOT_READABLE server runs in-process'})`, async () => {
    const { stats, failed, stderr } = await runMochaIn(checkout, TEST_FILES);
    expect(failed, `failures in the clone:\n${stderr}`).to.deep.equal([]);
    expect(stats.failures).to.equal(0);
    expect(stats.pending, 'no test skipped').to.equal(0);
    expect(stats.passes, 'tests ran').to.be.greaterThan(0);
    expect(stats.passes).to.equal(stats.tests);
  });

  it('the run wrote nothing into the clone (no var/, no packages folder)', () => {
    const changed = execFileSync('git', ['status', '--porcelain', '--ignored'], { cwd: checkout, encoding: 'utf8' }).split('\n').filter(Boolean);
    // The node_modules link is the test's own; anything else, ignored (var/) or not, the run left behind.
    expect(changed.filter((line) => line.slice(3) !== 'node_modules')).to.deep.equal([]);
  });
});
