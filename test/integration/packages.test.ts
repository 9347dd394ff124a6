// Packages (POST /api/packages, GET /api/packages/:id and its download): the lifecycle against real servers and real temp trees, ownership, failures with reasons, restarts, replicas sharing one folder, a builder killed mid-build, retention and the sweep, and archives that are never half-written.

import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import type { TempDir } from '../helpers/fixtures.js';
import { DRIVERS, layerFixture, type LayerFixture } from '../helpers/layer-fixture.js';
import { startTestServer, type TestConfig, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

type Format = 'zip' | 'tar.gz';

/** A package as GET /api/packages/:id shows it. */
interface PackageView {
  id: string;
  status: 'pending' | 'running' | 'ready' | 'failed' | 'expired';
  name: string;
  format: Format;
  fstype: string;
  paths: string[];
  created_at: string;
  expires_at: string;
  size?: number;
  entries?: number;
  skipped?: number;
  error?: string;
  signed_url?: string;
}

interface ReadEntry {
  name: string;
  dir: boolean;
  sha256: string;
}

// Opens an archive with Python's own readers and lists every entry with a hash of its bytes.
const READER = String.raw`
import hashlib, json, sys, tarfile, zipfile
kind, path = sys.argv[1], sys.argv[2]
out = {'entries': [], 'bad': None}
def entry(name, is_dir, data):
    out['entries'].append(dict(name=name, dir=is_dir, sha256=hashlib.sha256(data).hexdigest()))
if kind == 'zip':
    with zipfile.ZipFile(path) as archive:
        out['bad'] = archive.testzip()
        for info in archive.infolist():
            entry(info.filename, info.is_dir(), b'' if info.is_dir() else archive.read(info))
else:
    with tarfile.open(path, 'r:gz', encoding='utf-8', errors='strict') as archive:
        for member in archive.getmembers():
            data = archive.extractfile(member).read() if member.isfile() else b''
            entry(member.name + ('/' if member.isdir() else ''), member.isdir(), data)
print(json.dumps(out))
`;

const MB = 1024 * 1024;
const DIR = Symbol('dir');
type Expected = Record<string, Buffer | string | typeof DIR>;

const INTERRUPTED = /interrupted/;
// What a package folder may hold while its build runs: the manifest (and the
// temporary name a manifest is written to before its rename), and the partial archive.
const WHILE_BUILDING = /^(manifest\.json|manifest\.json\.\d+\.[0-9a-f-]+\.tmp|archive\.(zip|tar\.gz)\.part)$/;

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value, for at most `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

const auth = (token: string | null): Record<string, string> => (token === null ? {} : { Authorization: `Bearer ${token}` });

/** POST /api/packages; returns the response and its parsed body. */
async function createPackage(base: string, token: string | null, body: unknown): Promise<{ response: Response; view: PackageView }> {
  const response = await fetch(`${base}/api/packages`, {
    method: 'POST',
    headers: { ...auth(token), 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.status, `POST /api/packages: ${text}`).to.equal(202);
  return { response, view: JSON.parse(text) as PackageView };
}

const statusOf = (base: string, id: string, token: string | null) => fetch(`${base}/api/packages/${id}`, { headers: auth(token) });

async function viewOf(base: string, id: string, token: string): Promise<PackageView> {
  const response = await statusOf(base, id, token);
  const text = await response.text();
  expect(response.status, `GET /api/packages/${id}: ${text}`).to.equal(200);
  return JSON.parse(text) as PackageView;
}

const downloadOf = (base: string, id: string, token: string | null, init: { method?: string; headers?: Record<string, string> } = {}) =>
  fetch(`${base}/api/packages/${id}/download`, { method: init.method ?? 'GET', headers: { ...auth(token), ...init.headers } });

/** Polls a package until its status is no longer pending or running. */
async function settledView(base: string, id: string, token: string, timeoutMs = 10_000): Promise<PackageView> {
  return waitFor(`package ${id} to settle`, async () => {
    const view = await viewOf(base, id, token);
    return view.status === 'pending' || view.status === 'running' ? undefined : view;
  }, timeoutMs);
}

/** Polls a package until it is ready (and fails at once if it settles otherwise). */
async function readyView(base: string, id: string, token: string, timeoutMs = 10_000): Promise<PackageView> {
  const view = await settledView(base, id, token, timeoutMs);
  expect(view.status, `package ${id}: ${JSON.stringify(view)}`).to.equal('ready');
  return view;
}

/** A GET through node:http, so the path goes out byte for byte as written (fetch would resolve dot segments). */
function rawGet(base: string, rawPath: string, token: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, path: rawPath, method: 'GET', headers: auth(token) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

for (const driver of DRIVERS) describe(`packages: POST /api/packages, GET /api/packages/:id and its download (${driver})`, function () {
  this.timeout(30_000);

  let fx: LayerFixture;
  /** The local temp folder: packages folders, outputs, child configs, and on os the layer's tree. */
  let tree: TempDir;
  /** On os, the layer's root folder. */
  let data: string;
  let outDir: string;
  let written = 0;
  /** Every package folder made by a server of the helper's own, removed in `after`. */
  const spools = new Set<string>();
  const bin = randomBytes(200_000);
  const unicodeName = 'ünï ☃ 日本.txt';
  let alice: string;

  const layers = (): TestConfig['layers'] => ({ OsFs: fx.layer('data', { maxFileSize: '4GB' }) });
  // What a selection of "sel" leaves out and counts: on os, a symlink leading out of the root (an object store has none).
  const SKIPPED_IN_SEL = driver === 'os' ? 1 : 0;

  /** Starts an in-process server over the data folder; `packages` layers over the defaults. */
  const start = async (packages: Record<string, unknown> = {}, extra: Partial<TestConfig> = {}): Promise<TestServer> => {
    const server = await startTestServer({ layers: layers(), archive: { maxEntries: 50, maxBytes: '10GB' }, packages, ...extra } as TestConfig);
    spools.add(server.config.packages.dir);
    return server;
  };

  /** Opens an archive with python3 and checks it holds exactly `expected`, byte for byte. */
  const expectArchive = (format: Format, bytes: Buffer, expected: Expected) => {
    written += 1;
    const file = path.join(outDir, `out-${written}.${format}`);
    writeFileSync(file, bytes);
    const read = JSON.parse(execFileSync('python3', ['-c', READER, format, file], { encoding: 'utf8' })) as { entries: ReadEntry[]; bad: string | null };
    expect(read.entries.map((entry) => entry.name).sort()).to.deep.equal(Object.keys(expected).sort());
    for (const entry of read.entries) {
      const want = expected[entry.name]!;
      if (want === DIR) {
        expect(entry.dir, `${entry.name} is a folder`).to.equal(true);
      } else {
        expect(entry.dir, `${entry.name} is a file`).to.equal(false);
        expect(entry.sha256, `contents of ${entry.name}`).to.equal(sha256(want));
      }
    }
    if (format === 'zip') {
      expect(read.bad, 'testzip(): every CRC matches').to.equal(null);
      const unzip = spawnSync('unzip', ['-t', file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
      expect(unzip.status, `${unzip.stdout}${unzip.stderr}`).to.equal(0);
    }
  };

  const selectionExpected = (): Expected => ({
    'sel/': DIR,
    'sel/a.txt': 'alpha\n',
    'sel/sub/': DIR,
    'sel/sub/b.bin': bin,
    [`sel/${unicodeName}`]: 'unicode\n',
    'one.txt': 'one\n',
  });

  before(async function () {
    this.timeout(120_000);
    fx = await layerFixture(driver);
    tree = fx.local;
    data = path.join(tree.dir, 'data');
    outDir = tree.folder('out');
    void fx.file('outside/secret.txt', 'TOP-SECRET\n');
    void fx.file('data/sel/a.txt', 'alpha\n');
    void fx.file('data/sel/sub/b.bin', bin);
    void fx.file(`data/sel/${unicodeName}`, 'unicode\n');
    // Left out: a hidden file silently (hidden: ignore), and on os an outside symlink counted as skipped.
    void fx.file('data/sel/.hidden.txt', 'hidden\n');
    void fx.file('data/one.txt', 'one\n');
    // More entries than archive.maxEntries (50) allows.
    for (let index = 0; index < 60; index += 1) void fx.file(`data/many/f${String(index).padStart(2, '0')}.txt`, `${index}\n`);
    void fx.file('data/users/42/own.txt', 'user 42\n');
    void fx.file('data/users/420/other.txt', 'user 420\n');
    await fx.flush();
    if (driver === 'os') tree.symlink('data/sel/escape.txt', '../../outside/secret.txt');
    alice = await hsToken({ sub: 'alice', scope: 'files:archive' });
  });

  after(async () => {
    for (const dir of spools) rmSync(dir, { recursive: true, force: true });
    await fx?.cleanup();
  });

  describe('the lifecycle', () => {
    let server: TestServer;

    before(async () => {
      server = await start({}, { signing: { keys: { k1: 'k1-signing-key-that-is-long-enough-0123' }, currentKey: 'k1' } });
    });

    after(async () => {
      await server?.close();
    });

    it('POST answers 202 pending with a Location; the package becomes ready and downloads as a ZIP that opens, with Range, HEAD and ETag', async () => {
      const { response, view } = await createPackage(server.url, alice, { paths: ['sel', 'one.txt'], name: 'my bundle' });
      expect(response.headers.get('location')).to.equal(`/api/packages/${view.id}`);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      expect(view.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(view).to.include({ status: 'pending', name: 'my bundle.zip', format: 'zip', fstype: 'OsFs' });
      expect(view.paths).to.deep.equal(['sel', 'one.txt']);
      // The default retention is 7 days.
      expect(Date.parse(view.expires_at) - Date.parse(view.created_at)).to.equal(7 * 86_400_000);

      // The Location answers for the package.
      const ready = await waitFor('the package to be ready', async () => {
        const polled = await fetch(`${server.url}${response.headers.get('location')}`, { headers: auth(alice) });
        expect(polled.status).to.equal(200);
        expect(polled.headers.get('cache-control')).to.equal('no-store');
        const body = (await polled.json()) as PackageView;
        expect(body.status).to.be.oneOf(['pending', 'running', 'ready']);
        return body.status === 'ready' ? body : undefined;
      });
      expect(ready).to.include({ id: view.id, name: 'my bundle.zip', entries: 6, skipped: SKIPPED_IN_SEL, created_at: view.created_at, expires_at: view.expires_at });
      expect(ready.size).to.be.a('number').and.above(bin.length);
      expect(ready).to.not.have.property('error');

      const download = await downloadOf(server.url, view.id, alice);
      const bytes = Buffer.from(await download.arrayBuffer());
      expect(download.status, bytes.toString('utf8', 0, 200)).to.equal(200);
      expectFileHeaders(download);
      expect(download.headers.get('content-type')).to.equal('application/zip');
      expect(download.headers.get('content-length')).to.equal(String(ready.size));
      expect(download.headers.get('content-disposition')).to.equal(`attachment; filename="my bundle.zip"; filename*=UTF-8''my%20bundle.zip`);
      expect(bytes.length).to.equal(ready.size);
      expectArchive('zip', bytes, selectionExpected());
      expect(bytes.includes('TOP-SECRET'), 'the outside symlink is left out').to.equal(false);
      const etag = download.headers.get('etag')!;

      const range = await downloadOf(server.url, view.id, alice, { headers: { Range: 'bytes=0-99' } });
      const head100 = Buffer.from(await range.arrayBuffer());
      expect(range.status).to.equal(206);
      expect(range.headers.get('content-range')).to.equal(`bytes 0-99/${ready.size}`);
      expect(range.headers.get('content-length')).to.equal('100');
      expect(head100.equals(bytes.subarray(0, 100))).to.equal(true);

      const tail = await downloadOf(server.url, view.id, alice, { headers: { Range: `bytes=100-` } });
      expect(tail.status).to.equal(206);
      expect(Buffer.concat([head100, Buffer.from(await tail.arrayBuffer())]).equals(bytes), 'two ranges make the whole archive').to.equal(true);

      const head = await downloadOf(server.url, view.id, alice, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expectFileHeaders(head);
      expect(head.headers.get('content-length')).to.equal(String(ready.size));
      expect(head.headers.get('etag')).to.equal(etag);
      expect((await head.arrayBuffer()).byteLength).to.equal(0);

      const revalidated = await downloadOf(server.url, view.id, alice, { headers: { 'If-None-Match': etag } });
      expect(revalidated.status).to.equal(304);
    });

    it('a ready package carries a signed_url (for a token with files:sign) that downloads it without a token, for GET only; pending ones have none; a changed owner or id is 403', async () => {
      const signer = await hsToken({ sub: 'alice', scope: 'files:archive files:sign' });
      const { view } = await createPackage(server.url, signer, { paths: ['one.txt'] });
      expect(view).to.not.have.property('signed_url');
      const ready = await readyView(server.url, view.id, signer);
      expect(await viewOf(server.url, view.id, alice), 'no signed_url without files:sign').to.not.have.property('signed_url');
      const signedUrl = ready.signed_url!;
      expect(signedUrl.startsWith(`${server.url}/api/packages/${view.id}/download?sub=alice&expires=`)).to.equal(true);
      const expires = Number(/expires=(\d+)/.exec(signedUrl)![1]);
      // Bound by the token's own hour (signing.boundToToken) and never past the package.
      expect(expires).to.be.at.most(Math.floor(Date.parse(ready.expires_at) / 1000));
      expect(expires).to.be.at.most(Math.floor(Date.now() / 1000) + 3600);
      const download = await fetch(signedUrl);
      expect(download.status).to.equal(200);
      expect(download.headers.get('content-type')).to.equal('application/zip');
      expect(Buffer.from(await download.arrayBuffer()).length).to.equal(ready.size);
      expect((await fetch(signedUrl, { method: 'HEAD' })).status).to.equal(403);
      await expectError(await fetch(signedUrl.replace('sub=alice', 'sub=mallory')), 403, 'FORBIDDEN');
      const { view: other } = await createPackage(server.url, alice, { paths: ['sel'] });
      await expectError(await fetch(signedUrl.replace(view.id, other.id)), 403, 'FORBIDDEN');
    });

    it('builds a tar.gz package that opens in python3 tarfile, byte-equal', async () => {
      const { view } = await createPackage(server.url, alice, { paths: ['sel', 'one.txt'], format: 'tar.gz' });
      expect(view).to.include({ status: 'pending', format: 'tar.gz', name: 'archive.tar.gz' });
      const ready = await readyView(server.url, view.id, alice);
      expect(ready).to.include({ entries: 6, skipped: SKIPPED_IN_SEL });
      const download = await downloadOf(server.url, view.id, alice);
      const bytes = Buffer.from(await download.arrayBuffer());
      expect(download.status).to.equal(200);
      expectFileHeaders(download);
      expect(download.headers.get('content-type')).to.equal('application/gzip');
      expect(download.headers.get('content-length')).to.equal(String(ready.size));
      expect(download.headers.get('content-disposition')).to.match(/^attachment; filename="archive\.tar\.gz"/);
      expectArchive('tar.gz', bytes, selectionExpected());
      const range = await downloadOf(server.url, view.id, alice, { headers: { Range: 'bytes=0-99' } });
      expect(range.status).to.equal(206);
      expect(Buffer.from(await range.arrayBuffer()).equals(bytes.subarray(0, 100))).to.equal(true);
    });

    it('a single folder asked for names the package after it', async () => {
      const { view } = await createPackage(server.url, alice, { paths: ['sel/sub'] });
      expect(view.name).to.equal('sub.zip');
      await readyView(server.url, view.id, alice);
      const download = await downloadOf(server.url, view.id, alice);
      expectArchive('zip', Buffer.from(await download.arrayBuffer()), { 'sub/': DIR, 'sub/b.bin': bin });
    });
  });

  describe('who may see a package', () => {
    let server: TestServer;
    let id: string;

    before(async () => {
      server = await start();
      ({
        view: { id },
      } = await createPackage(server.url, alice, { paths: ['one.txt'] }));
      await readyView(server.url, id, alice);
    });

    after(async () => {
      await server?.close();
    });

    const cases: Array<{ name: string; token: () => Promise<string | null>; status: number; code: string; message?: RegExp }> = [
      { name: 'another subject', token: () => hsToken({ sub: 'mallory', scope: 'files:archive' }), status: 404, code: 'NOT_FOUND' },
      { name: 'another subject with every scope', token: () => hsToken({ sub: 'mallory', scope: 'files:read files:list files:archive files:sign' }), status: 404, code: 'NOT_FOUND' },
      { name: 'a token without sub', token: () => hsToken({ sub: undefined, scope: 'files:archive' }), status: 403, code: 'FORBIDDEN', message: /sub/ },
      { name: 'the owner without files:archive', token: () => hsToken({ sub: 'alice', scope: 'files:read files:list' }), status: 403, code: 'FORBIDDEN', message: /files:archive/ },
      { name: 'the owner with no scope claim (default scopes)', token: () => hsToken({ sub: 'alice', scope: undefined }), status: 403, code: 'FORBIDDEN', message: /files:archive/ },
      { name: 'no token', token: async () => null, status: 401, code: 'UNAUTHORIZED' },
    ];
    for (const { name, token, status, code, message } of cases) {
      it(`${name}: ${status} ${code} on status, download and HEAD download`, async () => {
        const bearer = await token();
        const statusBody = await expectError(await statusOf(server.url, id, bearer), status, code);
        const downloadBody = await expectError(await downloadOf(server.url, id, bearer), status, code);
        if (message) {
          expect(statusBody.error).to.match(message);
          expect(downloadBody.error).to.match(message);
        }
        const head = await downloadOf(server.url, id, bearer, { method: 'HEAD' });
        expect(head.status).to.equal(status);
        if (status === 401) expect(head.headers.get('www-authenticate')).to.match(/^Bearer/);
        // The owner still sees it.
        expect((await viewOf(server.url, id, alice)).status).to.equal('ready');
      });
    }

    const postCases: Array<{ name: string; token: () => Promise<string | null>; body: unknown; status: number; code: string }> = [
      { name: 'no token', token: async () => null, body: { paths: ['one.txt'] }, status: 401, code: 'UNAUTHORIZED' },
      { name: 'a token without sub', token: () => hsToken({ sub: undefined, scope: 'files:archive' }), body: { paths: ['one.txt'] }, status: 403, code: 'FORBIDDEN' },
      { name: 'a token without files:archive', token: () => hsToken({ sub: 'alice', scope: 'files:read' }), body: { paths: ['one.txt'] }, status: 403, code: 'FORBIDDEN' },
      { name: 'a token limited to users/42 asking for users/420', token: () => hsToken({ sub: 'alice', scope: 'files:archive', paths: ['users/42'] }), body: { paths: ['users/420'] }, status: 403, code: 'FORBIDDEN' },
      { name: 'a token limited to another fstype', token: () => hsToken({ sub: 'alice', scope: 'files:archive', fstypes: ['media'] }), body: { paths: ['one.txt'] }, status: 403, code: 'FORBIDDEN' },
      { name: 'no paths', token: async () => alice, body: { paths: [] }, status: 400, code: 'BAD_REQUEST' },
      { name: 'an unknown field', token: async () => alice, body: { paths: ['one.txt'], colour: 'red' }, status: 400, code: 'BAD_REQUEST' },
      { name: 'a ".." traversal (regression: dot segments got 202 and a package that failed only when built)', token: async () => alice, body: { paths: ['sel/../../outside'] }, status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a "." segment (regression: dot segments got 202 and a package that failed only when built)', token: async () => alice, body: { paths: ['sel/./a.txt'] }, status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a token limited to users/42 asking for users/42/../420 (regression: the lexical prefix check let it through to a 202)', token: () => hsToken({ sub: 'alice', scope: 'files:archive', paths: ['users/42'] }), body: { paths: ['users/42/../420'] }, status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a backslash', token: async () => alice, body: { paths: ['sel\\a.txt'] }, status: 400, code: 'BAD_REQUEST' },
      { name: 'an empty segment', token: async () => alice, body: { paths: ['sel//a.txt'] }, status: 400, code: 'BAD_REQUEST' },
      { name: 'an unknown format', token: async () => alice, body: { paths: ['one.txt'], format: 'rar' }, status: 400, code: 'BAD_REQUEST' },
      { name: 'an unknown fstype', token: async () => alice, body: { paths: ['one.txt'], fstype: 'nope' }, status: 400, code: 'UNKNOWN_FSTYPE' },
    ];
    for (const { name, token, body, status, code } of postCases) {
      it(`POST with ${name}: ${status} ${code}, and no package folder is made`, async () => {
        const before = readdirSync(server.config.packages.dir).length;
        const bearer = await token();
        const response = await fetch(`${server.url}/api/packages`, { method: 'POST', headers: { ...auth(bearer), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        await expectError(response, status, code);
        expect(readdirSync(server.config.packages.dir).length).to.equal(before);
      });
    }

    it('a token limited to users/42 may package users/42, and only that', async () => {
      const limited = await hsToken({ sub: 'alice', scope: 'files:archive', paths: ['users/42'] });
      const { view } = await createPackage(server.url, limited, { paths: ['users/42'] });
      await readyView(server.url, view.id, limited);
      const download = await downloadOf(server.url, view.id, limited);
      expectArchive('zip', Buffer.from(await download.arrayBuffer()), { '42/': DIR, '42/own.txt': 'user 42\n' });
    });

    const missing: Array<{ name: string; path: (id: string) => string }> = [
      { name: 'an unknown id', path: () => `/api/packages/${randomUUID()}` },
      { name: 'an unknown id (download)', path: () => `/api/packages/${randomUUID()}/download` },
      { name: 'a malformed id', path: () => '/api/packages/not-a-package' },
      { name: 'an encoded traversal as the id', path: () => '/api/packages/..%2F..%2Fetc' },
      { name: 'an encoded traversal as the id (download)', path: () => '/api/packages/..%2F..%2Fetc/download' },
      { name: 'an encoded traversal to the packages folder', path: () => '/api/packages/..%2Fpackages/download' },
      { name: 'an existing id in upper case', path: (existing) => `/api/packages/${existing.toUpperCase()}/download` },
      { name: 'an existing id with its archive name appended', path: (existing) => `/api/packages/${existing}%2Farchive.zip` },
    ];
    for (const { name, path: pathOf } of missing) {
      it(`${name}: 404 NOT_FOUND`, async () => {
        const response = await rawGet(server.url, pathOf(id), alice);
        expect(response.status, response.body).to.equal(404);
        const body = JSON.parse(response.body) as { code: string; error: string };
        expect(body.code).to.equal('NOT_FOUND');
        expect(body.error).to.not.match(/\/tmp\/|\/etc\/passwd/);
      });
    }
  });

  describe('failed packages say why', () => {
    let server: TestServer;

    before(async () => {
      server = await start();
    });

    after(async () => {
      await server?.close();
    });

    it('a path that does not exist: failed, the error names the path, and the download is 409 NOT_READY with that reason', async () => {
      const { view } = await createPackage(server.url, alice, { paths: ['one.txt', 'nope/missing.txt'] });
      const failed = await settledView(server.url, view.id, alice);
      expect(failed.status).to.equal('failed');
      expect(failed.error).to.be.a('string').and.include('nope/missing.txt');
      expect(failed.error).to.not.match(/\/tmp\/|\bE[A-Z]{3,}\b/);
      expect(failed).to.not.have.property('size');
      const body = await expectError(await downloadOf(server.url, view.id, alice), 409, 'NOT_READY');
      expect(body.error).to.include('nope/missing.txt');
      expect(body.error).to.include(failed.error!);
      // Nothing but the manifest is left of it.
      expect(readdirSync(path.join(server.config.packages.dir, view.id))).to.deep.equal(['manifest.json']);
    });

    it('a selection over archive.maxEntries: failed with the limit in the message; the download says so', async () => {
      const { view } = await createPackage(server.url, alice, { paths: ['many'] });
      const failed = await settledView(server.url, view.id, alice);
      expect(failed.status).to.equal('failed');
      expect(failed.error).to.match(/\b50\b/);
      expect(failed.error).to.match(/entries/);
      const body = await expectError(await downloadOf(server.url, view.id, alice), 409, 'NOT_READY');
      expect(body.error).to.include(failed.error!);
      expect(body.error).to.include(view.id);
      const head = await downloadOf(server.url, view.id, alice, { method: 'HEAD' });
      expect(head.status).to.equal(409);
    });

    it('a failed package is failed for its owner only: another subject still gets 404', async () => {
      const { view } = await createPackage(server.url, alice, { paths: ['nope'] });
      expect((await settledView(server.url, view.id, alice)).status).to.equal('failed');
      const mallory = await hsToken({ sub: 'mallory', scope: 'files:archive' });
      await expectError(await statusOf(server.url, view.id, mallory), 404, 'NOT_FOUND');
      await expectError(await downloadOf(server.url, view.id, mallory), 404, 'NOT_FOUND');
    });
  });

  describe('restarts and replicas sharing one packages folder', () => {
    let shared: string;
    const servers: TestServer[] = [];

    before(() => {
      shared = tree.folder('shared-packages');
    });

    after(async () => {
      for (const server of servers) await server.close();
    });

    const startShared = async (packages: Record<string, unknown> = {}) => {
      const server = await start({ dir: shared, ...packages });
      servers.push(server);
      return server;
    };

    it('a ready package stays ready across a restart and serves the same bytes', async () => {
      const a = await startShared();
      const { view } = await createPackage(a.url, alice, { paths: ['sel', 'one.txt'], name: 'kept' });
      const readyA = await readyView(a.url, view.id, alice);
      const downloadA = await downloadOf(a.url, view.id, alice);
      const bytesA = Buffer.from(await downloadA.arrayBuffer());
      await a.close();
      servers.splice(servers.indexOf(a), 1);

      const b = await startShared();
      const readyB = await viewOf(b.url, view.id, alice);
      expect(readyB).to.deep.equal(readyA);
      const downloadB = await downloadOf(b.url, view.id, alice);
      const bytesB = Buffer.from(await downloadB.arrayBuffer());
      expect(downloadB.status).to.equal(200);
      expectFileHeaders(downloadB);
      expect(sha256(bytesB)).to.equal(sha256(bytesA));
      expect(downloadB.headers.get('etag')).to.equal(downloadA.headers.get('etag'));
      expect(downloadB.headers.get('content-disposition')).to.match(/filename="kept\.zip"/);
      expectArchive('zip', bytesB, selectionExpected());
      // Still only its owner's.
      const mallory = await hsToken({ sub: 'mallory', scope: 'files:archive' });
      await expectError(await statusOf(b.url, view.id, mallory), 404, 'NOT_FOUND');
    });

    it('two replicas running at once: each answers for the packages the other built', async () => {
      const a = await startShared();
      const b = await startShared();
      const { view: fromA } = await createPackage(a.url, alice, { paths: ['sel'], format: 'tar.gz' });
      const { view: fromB } = await createPackage(b.url, alice, { paths: ['one.txt'] });
      // Each asks the other replica, which did not build it.
      const readyOnB = await readyView(b.url, fromA.id, alice);
      const readyOnA = await readyView(a.url, fromB.id, alice);
      expect(await viewOf(a.url, fromA.id, alice)).to.deep.equal(readyOnB);
      expect(await viewOf(b.url, fromB.id, alice)).to.deep.equal(readyOnA);
      const bytesA = Buffer.from(await (await downloadOf(a.url, fromA.id, alice)).arrayBuffer());
      const bytesB = Buffer.from(await (await downloadOf(b.url, fromA.id, alice)).arrayBuffer());
      expect(bytesB.equals(bytesA)).to.equal(true);
      expect(bytesB.length).to.equal(readyOnB.size);
      expectArchive('zip', Buffer.from(await (await downloadOf(a.url, fromB.id, alice)).arrayBuffer()), { 'one.txt': 'one\n' });
    });
  });

  // A build that takes seconds needs a file of gigabytes: sparse on disk, so on os only; what the
  // crash tests prove is the packages folder's (local to every driver), not the layer's.
  if (driver === 'os') describe('a build in progress, then its builder killed', () => {
    let spool: string;
    let child: ChildServer | null = null;
    let killed = false;
    let survivor: TestServer | null = null;
    let slow: PackageView;
    let queued: PackageView;
    /**
     * The builder's heartbeat here. Deflating keeps the builder busy, and on
     * a loaded machine its stamps once fell three beats of 200 ms behind: the
     * other replica took the live builder for dead before the kill.
     */
    const CRASH_HEARTBEAT_MS = 400;

    before(async () => {
      spool = tree.folder('crash-packages');
      // Deflating a 2 GB sparse file takes seconds of CPU even on a quiet
      // machine (stored, it streamed in about 1.5 s, within the tests'
      // watch), while writing only a few MB: the second package stays queued
      // behind it (packages.maxConcurrent 1) and the build is still running
      // when the tests below kill it.
      truncateSync(tree.file('data/slow/huge.bin', ''), 2048 * MB);
      child = await startChildServer(
        { layers: layers(), archive: { maxBytes: '10GB', zipCompression: 'deflate' }, packages: { dir: spool, maxConcurrent: 1, heartbeat: `${CRASH_HEARTBEAT_MS}ms` } },
        path.join(tree.dir, 'crash-child.json'),
      );
      ({ view: slow } = await createPackage(child.url, alice, { paths: ['slow'] }));
      await waitFor('the slow package to run', async () => ((await viewOf(child!.url, slow.id, alice)).status === 'running' ? true : undefined));
      ({ view: queued } = await createPackage(child.url, alice, { paths: ['one.txt'] }));
      // A second replica on the same folder, running all along.
      survivor = await start({ dir: spool, heartbeat: `${CRASH_HEARTBEAT_MS}ms`, sweepInterval: '200ms' });
    });

    after(async () => {
      if (child !== null && !killed) await child.stop();
      await survivor?.close();
      rmSync(path.join(data, 'slow'), { recursive: true, force: true });
      rmSync(spool, { recursive: true, force: true });
    });

    it('a package queued behind a running build is pending, and its download is 409 NOT_READY; so is the running one\'s', async () => {
      expect((await viewOf(child!.url, queued.id, alice)).status).to.equal('pending');
      const pending = await expectError(await downloadOf(child!.url, queued.id, alice), 409, 'NOT_READY');
      expect(pending.error).to.include('pending');
      expect((await viewOf(child!.url, slow.id, alice)).status).to.equal('running');
      const running = await expectError(await downloadOf(child!.url, slow.id, alice), 409, 'NOT_READY');
      expect(running.error).to.include('running');
      const head = await downloadOf(child!.url, slow.id, alice, { method: 'HEAD' });
      expect(head.status).to.equal(409);
      expect((await viewOf(child!.url, slow.id, alice))).to.not.have.any.keys('size', 'entries', 'error');
    });

    it('while a build runs, its folder holds only the manifest and archive.zip.part; the builder keeps stamping the manifest', async () => {
      const folder = path.join(spool, slow.id);
      const first = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as { status: string; updatedAt: string };
      expect(first.status).to.equal('running');
      for (let round = 0; round < 10; round += 1) {
        const names = readdirSync(folder);
        for (const name of names) expect(name, `${name} in a folder being built`).to.match(WHILE_BUILDING);
        expect(names).to.include('manifest.json');
        expect(names).to.include('archive.zip.part');
        expect(names).to.not.include('archive.zip');
        expect(readdirSync(path.join(spool, queued.id)).filter((name) => !WHILE_BUILDING.test(name) || name.endsWith('.part'))).to.deep.equal([]);
        await sleep(50);
      }
      const later = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as { status: string; updatedAt: string };
      expect(Date.parse(later.updatedAt), 'heartbeats stamp updatedAt').to.be.above(Date.parse(first.updatedAt));
    });

    it('another replica on the folder answers for the live builder\'s packages as running and pending, never failed, over many heartbeats', async () => {
      for (let round = 0; round < 8; round += 1) {
        const running = await viewOf(survivor!.url, slow.id, alice);
        const pending = await viewOf(survivor!.url, queued.id, alice);
        expect(running.status, JSON.stringify(running)).to.equal('running');
        expect(pending.status, JSON.stringify(pending)).to.equal('pending');
        await expectError(await downloadOf(survivor!.url, slow.id, alice), 409, 'NOT_READY');
        await sleep(150);
      }
      // Its sweep (every 200 ms) left the live builds alone.
      const manifest = JSON.parse(readFileSync(path.join(spool, slow.id, 'manifest.json'), 'utf8')) as { status: string };
      expect(manifest.status).to.equal('running');
    });

    it('after the builder is SIGKILLed, another server on the folder reports the build failed as interrupted after 3 heartbeats, and never serves the .part', async () => {
      // The stamps read just before the kill, while the builder is alive: the last one it wrote is no earlier.
      const stampOf = (id: string) => JSON.parse(readFileSync(path.join(spool, id, 'manifest.json'), 'utf8')) as { status: string; updatedAt: string };
      const before = [stampOf(slow.id), stampOf(queued.id)];
      expect(before.map((manifest) => manifest.status)).to.deep.equal(['running', 'pending']);
      const lastStamp = Math.max(...before.map((manifest) => Date.parse(manifest.updatedAt)));
      process.kill(child!.pid, 'SIGKILL');
      killed = true;
      await waitFor('the child to exit', () => {
        try {
          process.kill(child!.pid, 0);
          return undefined;
        } catch {
          return true;
        }
      });
      expect(existsSync(path.join(spool, slow.id, 'archive.zip.part')), 'the crash left a partial archive').to.equal(true);

      const failed = await settledView(survivor!.url, slow.id, alice, 5000);
      const seenAt = Date.now();
      expect(failed.status).to.equal('failed');
      expect(failed.error).to.match(INTERRUPTED);
      expect(seenAt - lastStamp, `reported only once 3 heartbeats (${3 * CRASH_HEARTBEAT_MS} ms) went unstamped`).to.be.at.least(3 * CRASH_HEARTBEAT_MS);
      // The package that was queued in the dead replica is its too.
      const queuedView = await settledView(survivor!.url, queued.id, alice, 5000);
      expect(queuedView.status).to.equal('failed');
      expect(queuedView.error).to.match(INTERRUPTED);

      for (const id of [slow.id, queued.id]) {
        const body = await expectError(await downloadOf(survivor!.url, id, alice), 409, 'NOT_READY');
        expect(body.error).to.match(INTERRUPTED);
        const ranged = await downloadOf(survivor!.url, id, alice, { headers: { Range: 'bytes=0-99' } });
        expect(ranged.status).to.equal(409);
      }
      expect(existsSync(path.join(spool, slow.id, 'archive.zip')), 'the partial archive was never renamed into place').to.equal(false);

      // The sweep marks them failed on disk too, for every replica.
      await waitFor('the sweep to mark the manifest failed', () => {
        const manifest = JSON.parse(readFileSync(path.join(spool, slow.id, 'manifest.json'), 'utf8')) as { status: string; error?: string };
        return manifest.status === 'failed' ? manifest : undefined;
      }, 3000).then((manifest) => expect(manifest.error).to.match(INTERRUPTED));
    });
  });

  // Truncation mid-read is the os driver's (an object replaced mid-transfer is an s3-only test).
  if (driver === 'os') describe('a source file that shrinks during a build', () => {
    let spool: string;
    let child: ChildServer | null = null;

    before(async () => {
      spool = tree.folder('shrink-packages');
      truncateSync(tree.file('data/shrink/shrinking.bin', ''), 1024 * MB);
      child = await startChildServer({ layers: layers(), archive: { maxBytes: '10GB' }, packages: { dir: spool, maxConcurrent: 1, heartbeat: '200ms' } }, path.join(tree.dir, 'shrink-child.json'));
    });

    after(async () => {
      await child?.stop();
      rmSync(path.join(data, 'shrink'), { recursive: true, force: true });
      rmSync(spool, { recursive: true, force: true });
    });

    it('fails that package with a reason and the service keeps running (regression: the file stream\'s error had no listener, which ended the process)', async () => {
      const { view } = await createPackage(child!.url, alice, { paths: ['shrink'] });
      const part = path.join(spool, view.id, 'archive.zip.part');
      await waitFor('the build to write some of the archive', () => (existsSync(part) && statSync(part).size > 10 * MB ? true : undefined));
      truncateSync(path.join(data, 'shrink', 'shrinking.bin'), MB);
      let settled: PackageView | string;
      try {
        settled = await settledView(child!.url, view.id, alice, 10_000);
      } catch (error) {
        settled = `no answer: the service process is gone (${String((error as Error).cause ?? error)})`;
      }
      expect(settled).to.be.an('object');
      const failed = settled as PackageView;
      expect(failed.status).to.equal('failed');
      expect(failed.error).to.match(/changed/);
      expect(readdirSync(path.join(spool, view.id)).filter((name) => name.startsWith('archive'))).to.deep.equal([]);
      const body = await expectError(await downloadOf(child!.url, view.id, alice), 409, 'NOT_READY');
      expect(body.error).to.include(failed.error!);
      // And the next package builds.
      const { view: next } = await createPackage(child!.url, alice, { paths: ['one.txt'] });
      await readyView(child!.url, next.id, alice);
    });
  });

  describe('retention', () => {
    const servers: TestServer[] = [];

    after(async () => {
      for (const server of servers) await server.close();
    });

    it('a ready package past its expiry answers "expired" until the sweep, and its download is 404', async () => {
      const server = await start({ retention: '1s', sweepInterval: '1h' });
      servers.push(server);
      const { view } = await createPackage(server.url, alice, { paths: ['one.txt'] });
      expect(Date.parse(view.expires_at) - Date.parse(view.created_at)).to.equal(1000);
      await readyView(server.url, view.id, alice);
      expect((await downloadOf(server.url, view.id, alice)).status).to.equal(200);
      await sleep(Math.max(0, Date.parse(view.expires_at) - Date.now()) + 100);
      const expired = await viewOf(server.url, view.id, alice);
      expect(expired).to.include({ id: view.id, status: 'expired', expires_at: view.expires_at });
      const body = await expectError(await downloadOf(server.url, view.id, alice), 404, 'NOT_FOUND');
      expect(body.error).to.match(/expired/);
      expect((await downloadOf(server.url, view.id, alice, { method: 'HEAD' })).status).to.equal(404);
      // Expired is still only its owner's business.
      const mallory = await hsToken({ sub: 'mallory', scope: 'files:archive' });
      await expectError(await statusOf(server.url, view.id, mallory), 404, 'NOT_FOUND');
      // No sweep has run since (every hour): the folder is still there.
      expect(existsSync(path.join(server.config.packages.dir, view.id))).to.equal(true);
    });

    it('the sweep deletes an expired package (folder gone), which then answers 404', async () => {
      const server = await start({ retention: '1s', sweepInterval: '200ms' });
      servers.push(server);
      const { view } = await createPackage(server.url, alice, { paths: ['sel'] });
      await readyView(server.url, view.id, alice);
      const folder = path.join(server.config.packages.dir, view.id);
      expect(readdirSync(folder).sort()).to.deep.equal(['archive.zip', 'manifest.json']);
      await waitFor('the sweep to delete the package', async () => ((await statusOf(server.url, view.id, alice)).status === 404 ? true : undefined), 5000, 50);
      expect(existsSync(folder), 'the package folder is gone').to.equal(false);
      await expectError(await statusOf(server.url, view.id, alice), 404, 'NOT_FOUND');
      await expectError(await downloadOf(server.url, view.id, alice), 404, 'NOT_FOUND');
    });

    it('a server that starts sweeps at once: an expired package left by another is deleted at start', async () => {
      const shared = tree.folder('expired-at-start');
      const first = await start({ dir: shared, retention: '1s', sweepInterval: '1h' });
      const { view } = await createPackage(first.url, alice, { paths: ['one.txt'] });
      await readyView(first.url, view.id, alice);
      await first.close();
      await sleep(Math.max(0, Date.parse(view.expires_at) - Date.now()) + 100);
      expect(existsSync(path.join(shared, view.id))).to.equal(true);
      const second = await start({ dir: shared, retention: '1s', sweepInterval: '1h' });
      servers.push(second);
      expect(existsSync(path.join(shared, view.id)), 'deleted by the sweep at start').to.equal(false);
      await expectError(await statusOf(second.url, view.id, alice), 404, 'NOT_FOUND');
    });
  });

  // About the packages folder (local to every driver), with a 150 MB sparse source: on os only.
  if (driver === 'os') describe('never half-written', () => {
    let server: TestServer;

    before(async () => {
      // A short heartbeat rewrites the manifest often while the build runs.
      server = await start({ heartbeat: '20ms' });
      truncateSync(tree.file('data/medium/medium.bin', ''), 150 * MB);
    });

    after(async () => {
      await server?.close();
      rmSync(path.join(data, 'medium'), { recursive: true, force: true });
    });

    it('while a build runs the folder holds only manifest.json and archive.zip.part, every manifest read parses, and archive.zip appears only complete', async () => {
      const { view } = await createPackage(server.url, alice, { paths: ['medium'] });
      const folder = path.join(server.config.packages.dir, view.id);
      const unexpected = new Set<string>();
      const finalSizes: number[] = [];
      let partSeen = 0;
      let manifestReads = 0;
      for (const deadline = Date.now() + 20_000; ; ) {
        const names = readdirSync(folder);
        for (const name of names) if (!WHILE_BUILDING.test(name) && name !== 'archive.zip') unexpected.add(name);
        expect(names.includes('archive.zip') && names.includes('archive.zip.part'), 'never both at once').to.equal(false);
        if (names.includes('archive.zip.part')) partSeen += 1;
        if (names.includes('archive.zip')) finalSizes.push(statSync(path.join(folder, 'archive.zip')).size);
        const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as { status: string };
        manifestReads += 1;
        if (manifest.status === 'ready' || manifest.status === 'failed') break;
        expect(Date.now(), 'the build settles within 20 s').to.be.below(deadline);
        await sleep(5);
      }
      const ready = await readyView(server.url, view.id, alice);
      expect([...unexpected]).to.deep.equal([]);
      expect(partSeen, 'the build was observed in progress').to.be.above(0);
      expect(manifestReads).to.be.above(1);
      for (const size of finalSizes) expect(size, 'archive.zip seen at its final size only').to.equal(ready.size);
      await server.running.app.packages.idle();
      await sleep(100);
      expect(readdirSync(folder).sort()).to.deep.equal(['archive.zip', 'manifest.json']);
      expect(statSync(path.join(folder, 'archive.zip')).size).to.equal(ready.size);
      expect(ready.size).to.be.above(150 * MB);
      const head = await downloadOf(server.url, view.id, alice, { method: 'HEAD' });
      expect(head.headers.get('content-length')).to.equal(String(ready.size));
    });
  });

  describe('heartbeats under load', () => {
    it('many queued packages with a short heartbeat all get built (regression guard: heartbeat rounds that overlap pile up and starve the builds)', async () => {
      const busy = await start({ heartbeat: '10ms', maxConcurrent: 2, maxPerSubject: 100 });
      try {
        const ids: string[] = [];
        for (let index = 0; index < 60; index += 1) ids.push((await createPackage(busy.url, alice, { paths: ['sel'] })).view.id);
        const settled = await waitFor('every package to settle', async () => {
          const views = await Promise.all(ids.map((id) => viewOf(busy.url, id, alice)));
          return views.every((view) => view.status !== 'pending' && view.status !== 'running') ? views : undefined;
        }, 10_000, 200).catch(async () => Promise.all(ids.map((id) => viewOf(busy.url, id, alice))));
        const counts: Record<string, number> = {};
        for (const view of settled) counts[view.status] = (counts[view.status] ?? 0) + 1;
        const unsettled = settled.filter((view) => view.status !== 'ready').map((view) => `${view.id}: ${view.status} (${view.error ?? 'no error'})`);
        expect(counts, unsettled.join('; ')).to.deep.equal({ ready: 60 });
      } finally {
        await busy.close();
      }
    });
  });
});
