// Proves NOT_READABLE (and its place in the check order) against a server that really lacks the permission: a child dropped to nobody when tests run as root, else the server in-process.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(REPO, 'test/integration/fixtures/unprivileged-server.ts');
// Given by absolute URL: the child runs in the test's temp folder, where "tsx" would not resolve.
const TSX_LOADER = import.meta.resolve('tsx');
const NOBODY = 65534;
const START_DEADLINE_MS = 15_000;

/** Root reads everything, so as root the server runs in a child that drops to nobody; otherwise chmod already denies us. */
const AS_ROOT = process.getuid?.() === 0;

interface Identity {
  url: string;
  uid: number;
  euid: number;
  gid: number;
  egid: number;
  groups: number[];
}

/**
 * Starts the unprivileged child and resolves with the identity line it
 * prints once listening. It runs in `workDir` (the test's temp folder, open
 * to nobody), so no default path of the config (config/, var/, the packages
 * folder) resolves into the checkout, which nobody may be unable to enter
 * (a clone in /root, or in a mode-700 folder).
 */
function startUnprivileged(configFile: string, workDir: string): { child: ChildProcess; ready: Promise<Identity>; stderr: () => string } {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (name !== 'NODE_ENV' && !name.startsWith('FILEGATE_')) env[name] = value;
  env.FILEGATE_CONFIG = configFile;
  // tsx compiles with the project's settings, found by path rather than from the working folder.
  env.TSX_TSCONFIG_PATH = path.join(REPO, 'tsconfig.json');
  const child = spawn(process.execPath, ['--import', TSX_LOADER, FIXTURE], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const ready = new Promise<Identity>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the unprivileged server did not start within ${START_DEADLINE_MS} ms:\n${err}`)), START_DEADLINE_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const newline = out.indexOf('\n');
      if (newline === -1) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(0, newline)) as Identity);
      } catch (error) {
        reject(new Error(`unexpected line from the unprivileged server: ${out.slice(0, newline)} (${String(error)})`));
      }
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the unprivileged server exited (code ${code}, signal ${signal}) before listening:\n${err}`));
    });
  });
  return { child, ready, stderr: () => err };
}

/**
 * Throws, saying what to change, when a folder on the way to `folder` is
 * closed to other users: the child (nobody) must reach the test's temp
 * folder, which lies under the system's temp dir (TMPDIR), not the checkout.
 */
function checkOpenToOthers(folder: string): void {
  for (let at = folder; ; at = path.dirname(at)) {
    if ((statSync(at).mode & 0o001) === 0) {
      throw new Error(`${at} is closed to other users, so the server dropped to nobody cannot reach the test's temp folder under it; run the tests with TMPDIR set to a folder every user may enter, such as /tmp`);
    }
    if (path.dirname(at) === at) return;
  }
}

describe(`NOT_READABLE from a server without the permission (${AS_ROOT ? 'child process dropped to nobody' : 'in-process, non-root'})`, function () {
  this.timeout(30_000);
  let tmp: TempDir;
  let root: string;
  let url: string;
  let token: string;
  let child: ChildProcess | null = null;
  let childStderr: () => string = () => '';
  let identity: Identity | null = null;
  let server: TestServer | null = null;
  /** Folders whose mode the test took away, restored before removal. */
  const closedFolders: string[] = [];

  const closeFolder = (folder: string, mode: number) => {
    chmodSync(folder, mode);
    closedFolders.push(folder);
  };

  before(async () => {
    tmp = tempDir('filegate-not-readable-');
    // mkdtemp makes 0700 folders: nobody must be able to walk down to the root.
    chmodSync(tmp.dir, 0o755);
    if (AS_ROOT) checkOpenToOthers(path.dirname(tmp.dir));
    root = tmp.folder('root');
    chmodSync(root, 0o755);

    const mode = (file: string, bits: number) => chmodSync(file, bits);
    mode(tmp.file('root/readable.txt', 'anyone may read this\n'), 0o644);
    chmodSync(tmp.folder('root/open'), 0o755);
    mode(tmp.file('root/open/readable.txt', 'in an open folder\n'), 0o644);
    mode(tmp.file('root/unreadable.txt', 'nobody may read this\n'), 0o000);
    mode(tmp.file('root/owner-only.txt', 'only the owner (root) may read this\n'), 0o600);
    mode(tmp.file('root/unreadable-empty.txt', ''), 0o000);
    mode(tmp.file('root/closed/inside.txt', 'behind a closed folder\n'), 0o644);
    tmp.folder('root/sealed');
    // Read but not entered (r without x for the service): its names can be read, its entries not reached.
    mode(tmp.file('root/not-entered/inside.txt', 'behind a folder that can be read but not entered\n'), 0o644);
    tmp.folder('root/not-entered-empty');
    // A readable folder holding what an archive must leave out, not fail on.
    chmodSync(tmp.folder('root/mixed'), 0o755);
    mode(tmp.file('root/mixed/readable.txt', 'beside closed folders\n'), 0o644);
    mode(tmp.file('root/mixed/not-entered/inside.txt', 'left out\n'), 0o644);
    tmp.folder('root/mixed/sealed');
    tmp.symlink('root/link-to-unreadable.txt', 'unreadable.txt');
    chmodSync(tmp.folder('outside'), 0o755);
    mode(tmp.file('outside/secret.txt', 'outside the layer root\n'), 0o000);
    tmp.symlink('root/link-outside.txt', '../outside/secret.txt');
    // As root the server runs as nobody, so a root-owned 0700 folder is closed to it; a non-root owner needs 0000.
    closeFolder(path.join(root, 'closed'), AS_ROOT ? 0o700 : 0o000);
    closeFolder(path.join(root, 'sealed'), 0o000);
    // For root's child (nobody is "other") and for a non-root owner alike, 0444 is r without x.
    closeFolder(path.join(root, 'not-entered'), 0o444);
    closeFolder(path.join(root, 'not-entered-empty'), 0o444);
    closeFolder(path.join(root, 'mixed/not-entered'), 0o444);
    closeFolder(path.join(root, 'mixed/sealed'), 0o000);

    token = await hsToken({ scope: 'files:read files:list files:archive' });

    if (AS_ROOT) {
      // Everything the server writes lives in the test's temp folder, owned by the user it becomes.
      const packagesDir = tmp.folder('packages');
      chownSync(packagesDir, NOBODY, NOBODY);
      const configFile = path.join(tmp.dir, 'filegate.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          server: { host: '127.0.0.1', port: 0 },
          layers: { OsFs: { root } },
          auth: { secret: TEST_SECRET },
          // Given, so no development key is made under the working folder.
          signing: { keys: { test: TEST_SECRET }, currentKey: 'test' },
          packages: { dir: packagesDir },
          log: { level: 'warn' },
        }),
      );
      const started = startUnprivileged(configFile, tmp.dir);
      child = started.child;
      childStderr = started.stderr;
      identity = await started.ready;
      url = identity.url;
    } else {
      server = await startTestServer({ layers: { OsFs: { root } } });
      url = server.url;
    }
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child!.once('close', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    if (server) await server.close();
    for (const folder of closedFolders) chmodSync(folder, 0o755);
    tmp.remove();
  });

  const download = (filepath: string) =>
    fetch(`${url}/api/download?filepath=${encodeURIComponent(filepath)}`, { headers: { Authorization: `Bearer ${token}` } });

  if (AS_ROOT) {
    it('the child server really runs as nobody, with no supplementary groups', () => {
      expect(identity, childStderr()).to.not.equal(null);
      expect([identity!.uid, identity!.euid, identity!.gid, identity!.egid]).to.deep.equal([NOBODY, NOBODY, NOBODY, NOBODY]);
      expect(identity!.groups.filter((group) => group !== NOBODY)).to.deep.equal([]);
    });
  }

  const served: Array<{ filepath: string; body: string }> = [
    { filepath: 'readable.txt', body: 'anyone may read this\n' },
    { filepath: 'open/readable.txt', body: 'in an open folder\n' },
  ];
  for (const { filepath, body } of served) {
    it(`serves ${filepath} (0644, every folder on the way open): 200`, async () => {
      const response = await download(filepath);
      expectFileHeaders(response);
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal(body);
    });
  }

  const refused: Array<{ name: string; filepath: string; status: number; code: string; rootOnly?: boolean }> = [
    { name: 'a file with mode 0000', filepath: 'unreadable.txt', status: 403, code: 'NOT_READABLE' },
    { name: 'a root-owned file with mode 0600', filepath: 'owner-only.txt', status: 403, code: 'NOT_READABLE', rootOnly: true },
    { name: 'a file behind a folder the service may not enter', filepath: 'closed/inside.txt', status: 403, code: 'NOT_READABLE' },
    { name: 'an unreadable empty file (NOT_READABLE comes before FILE_EMPTY)', filepath: 'unreadable-empty.txt', status: 403, code: 'NOT_READABLE' },
    { name: 'a symlink inside the root to an unreadable file', filepath: 'link-to-unreadable.txt', status: 403, code: 'NOT_READABLE' },
    { name: 'a symlink to an unreadable file outside the root (PATH_NOT_ALLOWED comes first)', filepath: 'link-outside.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
    { name: 'an unreadable folder (0000) itself (NOT_A_FILE comes before NOT_READABLE)', filepath: 'sealed', status: 403, code: 'NOT_A_FILE' },
    { name: 'a folder the service may not open itself (NOT_A_FILE comes before NOT_READABLE)', filepath: 'closed', status: 403, code: 'NOT_A_FILE' },
    { name: 'a readable folder itself', filepath: 'open', status: 403, code: 'NOT_A_FILE' },
    { name: 'a file inside a folder the service may read but not enter', filepath: 'not-entered/inside.txt', status: 403, code: 'NOT_READABLE' },
    { name: 'a folder the service may read but not enter itself (NOT_A_FILE comes before NOT_READABLE)', filepath: 'not-entered', status: 403, code: 'NOT_A_FILE' },
  ];
  for (const testCase of refused.filter((candidate) => AS_ROOT || !candidate.rootOnly)) {
    it(`answers ${testCase.status} ${testCase.code} for ${testCase.name}, leaking no server path`, async () => {
      const response = await download(testCase.filepath);
      const body = await expectError(response, testCase.status, testCase.code, [tmp.dir, root, 'EACCES', 'EPERM', 'outside/secret']);
      expect(body.error, 'the message names the path the client gave').to.include(testCase.filepath);
    });
  }

  describe('listings: a folder the service may not read is NOT_READABLE (a folder is what a listing wants)', () => {
    const list = (folder: string) => fetch(`${url}/api/list?path=${encodeURIComponent(folder)}`, { headers: { Authorization: `Bearer ${token}` } });
    const cases: Array<{ name: string; folder: string; status: number; code: string | null }> = [
      { name: 'a folder with mode 0000', folder: 'sealed', status: 403, code: 'NOT_READABLE' },
      { name: 'a folder closed to the service', folder: 'closed', status: 403, code: 'NOT_READABLE' },
      // Its names can be read, but no entry can be statted: not an empty listing with "total": 1.
      { name: 'a folder the service may read but not enter (0444)', folder: 'not-entered', status: 403, code: 'NOT_READABLE' },
      { name: 'an empty folder the service may read but not enter (0444)', folder: 'not-entered-empty', status: 403, code: 'NOT_READABLE' },
      { name: 'an unreadable file (NOT_A_FILE comes before NOT_READABLE)', folder: 'unreadable.txt', status: 403, code: 'NOT_A_FILE' },
      { name: 'an open folder', folder: 'open', status: 200, code: null },
    ];
    for (const testCase of cases) {
      it(`${testCase.name}: ${testCase.status}${testCase.code ? ` ${testCase.code}` : ''}`, async () => {
        const response = await list(testCase.folder);
        if (testCase.code === null) {
          expect(response.status).to.equal(200);
          expect(((await response.json()) as { entries: Array<{ name: string }> }).entries.map((entry) => entry.name)).to.deep.equal(['readable.txt']);
          return;
        }
        const body = await expectError(response, testCase.status, testCase.code, [tmp.dir, root, 'EACCES', 'EPERM']);
        expect(body.error).to.include(testCase.folder);
      });
    }
  });

  describe('archives: a folder the service may not read is NOT_READABLE (an archive wants a file or a folder)', () => {
    const archive = (target: string) => fetch(`${url}/api/archive?path=${encodeURIComponent(target)}`, { headers: { Authorization: `Bearer ${token}` } });
    const cases: Array<{ name: string; target: string; code: string }> = [
      { name: 'a folder with mode 0000', target: 'sealed', code: 'NOT_READABLE' },
      { name: 'a folder closed to the service', target: 'closed', code: 'NOT_READABLE' },
      { name: 'a folder the service may read but not enter (0444)', target: 'not-entered', code: 'NOT_READABLE' },
      { name: 'an empty folder the service may read but not enter (0444)', target: 'not-entered-empty', code: 'NOT_READABLE' },
      { name: 'a file inside a folder the service may read but not enter', target: 'not-entered/inside.txt', code: 'NOT_READABLE' },
      { name: 'a file with mode 0000', target: 'unreadable.txt', code: 'NOT_READABLE' },
    ];
    for (const testCase of cases) {
      it(`${testCase.name}: 403 ${testCase.code}`, async () => {
        const response = await archive(testCase.target);
        const body = await expectError(response, 403, testCase.code, [tmp.dir, root, 'EACCES', 'EPERM']);
        expect(body.error).to.include(testCase.target);
      });
    }

    it('a readable folder holding folders closed to the service: 200, those left out and counted', async () => {
      const response = await archive('mixed');
      expect(response.status, await response.clone().text()).to.equal(200);
      expect(response.headers.get('content-type')).to.equal('application/zip');
      // "sealed" (0000) and what "not-entered" (0444) holds cannot be read.
      expect(Number(response.headers.get('x-archive-skipped'))).to.be.at.least(2);
      const zip = Buffer.from(await response.arrayBuffer());
      expect(zip.includes('mixed/readable.txt')).to.equal(true);
      expect(zip.includes('beside closed folders')).to.equal(true);
      expect(zip.includes('left out')).to.equal(false);
    });
  });

  describe('packages: built by the same walk, in a package folder the service may write wherever the checkout lives', () => {
    const create = async (target: string) => {
      const response = await fetch(`${url}/api/packages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ paths: [target] }),
      });
      expect(response.status, await response.clone().text()).to.equal(202);
      return ((await response.json()) as { id: string }).id;
    };
    /** Polls the package's status until it has settled: a bounded number of polls, not a deadline. */
    const settle = async (id: string) => {
      for (let poll = 0; poll < 200; poll += 1) {
        const response = await fetch(`${url}/api/packages/${id}`, { headers: { Authorization: `Bearer ${token}` } });
        expect(response.status).to.equal(200);
        const view = (await response.json()) as { status: string; error?: string };
        if (view.status === 'ready' || view.status === 'failed') return view;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`package ${id} never settled`);
    };

    it('a package of a readable folder is built: ready', async () => {
      const view = await settle(await create('mixed'));
      expect(view, JSON.stringify(view)).to.include({ status: 'ready' });
    });

    it('a package of a folder with mode 0000 fails, saying the service may not read it (not "not a file")', async () => {
      const view = await settle(await create('sealed'));
      expect(view.status).to.equal('failed');
      expect(view.error).to.include('sealed').and.include('not allowed to read');
    });
  });

  it('answers HEAD on an unreadable file with the same 403 NOT_READABLE headers', async () => {
    const response = await fetch(`${url}/api/download?filepath=unreadable.txt`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).to.equal(403);
    expect(response.headers.get('content-type')).to.match(/^application\/json/);
    expect(response.headers.get('content-disposition')).to.equal(null);
  });

  it('keeps serving readable files after the refusals (no descriptor or process lost)', async () => {
    const response = await download('readable.txt');
    expect(response.status).to.equal(200);
    expect(await response.text()).to.equal('anyone may read this\n');
    if (child) expect(child.exitCode, childStderr()).to.equal(null);
  });
});
