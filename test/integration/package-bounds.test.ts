// Packages within bounds: per-subject caps on packages waiting or building and on bytes kept, the service's queue bound, and reads that obey the token's claims.

import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expectError } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestConfig, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const MB = 1024 * 1024;
const SIGNING = { keys: { k1: 'k1-signing-key-that-is-long-enough-0123' }, currentKey: 'k1' };

interface PackageView {
  id: string;
  status: string;
  error?: string;
  signed_url?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const post = (base: string, token: string, body: unknown) =>
  fetch(`${base}/api/packages`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

const get = (url: string, token: string | null) => fetch(url, { headers: token === null ? {} : { Authorization: `Bearer ${token}` } });

async function created(base: string, token: string, body: unknown): Promise<PackageView> {
  const response = await post(base, token, body);
  const text = await response.text();
  expect(response.status, text).to.equal(202);
  return JSON.parse(text) as PackageView;
}

async function settled(base: string, id: string, token: string): Promise<PackageView> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const view = (await (await get(`${base}/api/packages/${id}`, token)).json()) as PackageView;
    if (view.status !== 'pending' && view.status !== 'running') return view;
    if (Date.now() > deadline) throw new Error(`package ${id} is still ${view.status}`);
    await sleep(25);
  }
}

/**
 * Writes a manifest into the spool as another replica sharing it would:
 * `status` as given, stamped now (so a pending one is a live build elsewhere).
 */
function seedManifest(spool: string, subject: string, status: 'pending' | 'running' | 'ready', size = 0, expiresInMs = 3_600_000): string {
  const id = randomUUID();
  const now = Date.now();
  mkdirSync(path.join(spool, id));
  writeFileSync(
    path.join(spool, id, 'manifest.json'),
    JSON.stringify({
      id,
      subject,
      fstype: 'OsFs',
      paths: ['one.txt'],
      principalPaths: null,
      format: 'zip',
      filename: 'one.zip',
      status,
      createdAt: new Date(now).toISOString(),
      updatedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + expiresInMs).toISOString(),
      ...(status === 'ready' ? { size, entries: 1, skipped: 0 } : {}),
    }),
  );
  return id;
}

describe('packages within bounds', function () {
  this.timeout(30_000);
  let tree: TempDir;
  let data: string;
  let alice: string;
  let bob: string;

  const layers = (): TestConfig['layers'] => ({ OsFs: { root: data, maxFileSize: '4GB' }, Private: { root: tree.folder('private') } });

  before(async () => {
    tree = tempDir('filegate-package-bounds-');
    data = tree.folder('data');
    tree.file('data/one.txt', 'one\n');
    tree.file('data/docs/a.txt', 'docs\n');
    tree.file('data/secretdir/s.txt', 'secret\n');
    tree.file('data/mb/blob.bin', Buffer.alloc(MB, 7));
    tree.file('private/p.txt', 'private\n');
    alice = await hsToken({ sub: 'alice', scope: 'files:archive files:sign' });
    bob = await hsToken({ sub: 'bob', scope: 'files:archive' });
  });

  after(() => tree?.remove());

  describe('packages.maxPerSubject: packages waiting or building, per subject, counted across the shared spool', () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ layers: layers(), packages: { maxPerSubject: 2 } } as TestConfig);
    });

    after(async () => {
      await server?.close();
    });

    it('with 1 live build elsewhere, one more is accepted (the cap is 2, not 1); with 2, the next is 429 RATE_LIMITED with Retry-After; another subject is not held back', async () => {
      const spool = server.config.packages.dir;
      seedManifest(spool, 'alice', 'running');
      // Below the cap: accepted (this one builds at once).
      const second = await created(server.url, alice, { paths: ['one.txt'] });
      expect((await settled(server.url, second.id, alice)).status).to.equal('ready');
      seedManifest(spool, 'alice', 'pending');
      const before = readdirSync(spool).length;
      const refused = await post(server.url, alice, { paths: ['one.txt'] });
      const body = await expectError(refused, 429, 'RATE_LIMITED');
      expect(body.error).to.match(/2 packages waiting or being built/);
      expect(Number(refused.headers.get('retry-after'))).to.be.greaterThan(0);
      expect(refused.headers.get('ratelimit-policy')).to.equal('"packages-building";q=2');
      expect(readdirSync(spool).length, 'no package folder is made for a refused request').to.equal(before);
      await created(server.url, bob, { paths: ['one.txt'] });
    });

    it('ready and failed packages do not count toward it', async () => {
      const other = await hsToken({ sub: 'carol', scope: 'files:archive' });
      for (let index = 0; index < 3; index += 1) {
        const view = await created(server.url, other, { paths: ['one.txt'] });
        expect((await settled(server.url, view.id, other)).status).to.equal('ready');
      }
      const failed = await created(server.url, other, { paths: ['nope.txt'] });
      expect((await settled(server.url, failed.id, other)).status).to.equal('failed');
      await created(server.url, other, { paths: ['one.txt'] });
    });
  });

  describe('packages.maxBytesPerSubject: bytes kept per subject', () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ layers: layers(), packages: { maxBytesPerSubject: 3 * MB } } as TestConfig);
    });

    after(async () => {
      await server?.close();
    });

    it('packages keeping the cap or more: 429 with Retry-After until the first of them expires', async () => {
      const spool = server.config.packages.dir;
      seedManifest(spool, 'dave', 'ready', 2 * MB, 3_600_000);
      seedManifest(spool, 'dave', 'ready', MB, 600_000);
      const dave = await hsToken({ sub: 'dave', scope: 'files:archive' });
      const refused = await post(server.url, dave, { paths: ['one.txt'] });
      const body = await expectError(refused, 429, 'RATE_LIMITED');
      expect(body.error).to.match(/3 MB/);
      const retry = Number(refused.headers.get('retry-after'));
      expect(retry).to.be.within(590, 600);
      // Another subject keeps nothing yet.
      await created(server.url, bob, { paths: ['one.txt'] });
    });

    it('just under the cap a package is accepted, and a build that would pass the cap fails with the reason; a small one fits', async () => {
      const spool = server.config.packages.dir;
      seedManifest(spool, 'erin', 'ready', 2.5 * MB);
      const erin = await hsToken({ sub: 'erin', scope: 'files:archive' });
      const big = await created(server.url, erin, { paths: ['mb'] });
      const failed = await settled(server.url, big.id, erin);
      expect(failed.status).to.equal('failed');
      expect(failed.error).to.match(/would add 1 MB/);
      const small = await created(server.url, erin, { paths: ['one.txt'] });
      expect((await settled(server.url, small.id, erin)).status).to.equal('ready');
    });
  });

  describe('packages.maxQueued: the service-wide queue', () => {
    let server: TestServer;

    before(async () => {
      // Store mode reads all of a 2 GB sparse file: a build of seconds, so the queue fills behind it.
      truncateSync(tree.file('data/slow/huge.bin', ''), 2048 * MB);
      server = await startTestServer({ layers: layers(), archive: { maxBytes: '10GB' }, packages: { maxConcurrent: 1, maxQueued: 1 } } as TestConfig);
    });

    after(async () => {
      await server?.close();
      rmSync(path.join(data, 'slow'), { recursive: true, force: true });
    });

    it('past maxQueued packages waiting for a builder, any subject gets 429 with Retry-After; the one waiting answers its download 409 NOT_READY with Retry-After', async () => {
      await created(server.url, alice, { paths: ['slow'] });
      const waiting = await created(server.url, alice, { paths: ['one.txt'] });
      const refused = await post(server.url, bob, { paths: ['one.txt'] });
      const body = await expectError(refused, 429, 'RATE_LIMITED');
      expect(body.error).to.match(/waiting to be built/);
      expect(Number(refused.headers.get('retry-after'))).to.be.greaterThan(0);
      const download = await get(`${server.url}/api/packages/${waiting.id}/download`, alice);
      await expectError(download, 409, 'NOT_READY');
      expect(Number(download.headers.get('retry-after'))).to.be.greaterThan(0);
    });
  });

  describe('reads obey the token\'s claims', () => {
    let server: TestServer;
    let secretPackage: string;
    let privatePackage: string;
    let docsPackage: string;

    before(async () => {
      server = await startTestServer({ layers: layers(), signing: SIGNING } as TestConfig);
      const wide = await hsToken({ sub: 'alice', scope: 'files:archive files:sign' });
      secretPackage = (await created(server.url, wide, { paths: ['secretdir'] })).id;
      privatePackage = (await created(server.url, wide, { paths: ['p.txt'], fstype: 'Private' })).id;
      docsPackage = (await created(server.url, wide, { paths: ['docs'] })).id;
      for (const id of [secretPackage, privatePackage, docsPackage]) expect((await settled(server.url, id, wide)).status).to.equal('ready');
    });

    after(async () => {
      await server?.close();
    });

    const narrowed = () => hsToken({ sub: 'alice', scope: 'files:archive files:sign', paths: ['docs'], fstypes: ['OsFs'] });

    it('a token narrowed to paths ["docs"] gets 403 FORBIDDEN for the status and download of a package of "secretdir" by the same subject', async () => {
      const token = await narrowed();
      const status = await expectError(await get(`${server.url}/api/packages/${secretPackage}`, token), 403, 'FORBIDDEN');
      expect(status.error).to.include('secretdir');
      await expectError(await get(`${server.url}/api/packages/${secretPackage}/download`, token), 403, 'FORBIDDEN');
      const head = await fetch(`${server.url}/api/packages/${secretPackage}/download`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } });
      expect(head.status).to.equal(403);
    });

    it('a token narrowed to fstypes ["OsFs"] gets 403 FORBIDDEN for a package of layer "Private"', async () => {
      const token = await narrowed();
      const body = await expectError(await get(`${server.url}/api/packages/${privatePackage}`, token), 403, 'FORBIDDEN');
      expect(body.error).to.include('Private');
      await expectError(await get(`${server.url}/api/packages/${privatePackage}/download`, token), 403, 'FORBIDDEN');
    });

    it('the narrowed token still reaches the package of what it covers, with its signed_url', async () => {
      const token = await narrowed();
      const response = await get(`${server.url}/api/packages/${docsPackage}`, token);
      const view = (await response.json()) as PackageView;
      expect(response.status).to.equal(200);
      expect(view.signed_url).to.be.a('string');
      expect((await get(`${server.url}/api/packages/${docsPackage}/download`, token)).status).to.equal(200);
    });

    it('a token without files:sign is handed no signed_url, though the package is ready', async () => {
      const token = await hsToken({ sub: 'alice', scope: 'files:archive' });
      const response = await get(`${server.url}/api/packages/${docsPackage}`, token);
      const view = (await response.json()) as PackageView;
      expect(response.status).to.equal(200);
      expect(view.status).to.equal('ready');
      expect(view).to.not.have.property('signed_url');
    });
  });
});
