// The package spool on the object store (packages.store), on the real engine: conditional manifests, multipart archives, two replicas, a builder killed mid-build, and the start-up check of the engine's write primitives.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { truncateSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configSchema } from '../../src/config/schema.js';
import type { EngineClient } from '../../src/layers/s3/engine-client.js';
import { ObjectPackageStore } from '../../src/packages/object-package-store.js';
import type { PackageManifest } from '../../src/packages/package-store.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { startEngineProxy } from '../helpers/engine-proxy.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { createTestBucket, startObjectStore, type ObjectStore } from '../helpers/object-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const MB = 1024 * 1024;
const SIGNING = { keys: { shared: 'a-signing-key-both-replicas-share-0123456789' }, currentKey: 'shared' };
const INTERRUPTED = /interrupted/;

interface PackageView {
  id: string;
  status: string;
  size?: number;
  error?: string;
  signed_url?: string;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('packages.store on the object store (radosgw)', function () {
  this.timeout(180_000);
  let store: ObjectStore;
  let spool: EngineClient;
  let tree: TempDir;
  let token: string;

  const storeConfig = (endpoint = store.endpoint, prefix = 'spool/') => ({
    driver: 's3' as const,
    endpoint,
    region: store.region,
    bucket: spool.bucket,
    prefix,
    forcePathStyle: true,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
  });

  /** A store object as the service makes it, on the spool bucket. */
  const storeOf = (prefix = 'unit/') => new ObjectPackageStore(configSchema.parse({ layers: { OsFs: { root: '.' } }, packages: { store: storeConfig(store.endpoint, prefix) } }).packages.store!);

  const manifestOf = (id: string, changes: Partial<PackageManifest> = {}): PackageManifest => ({
    id, subject: 'alice', fstype: 'OsFs', paths: ['a'], principalPaths: null, format: 'zip', filename: 'a.zip', status: 'pending',
    createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString(), ...changes,
  });

  const keysUnder = async (prefix: string) => (await spool.list(prefix)).objects.map((object) => object.key.slice(prefix.length));

  before(async () => {
    store = await startObjectStore();
    spool = await createTestBucket();
    tree = tempDir();
    tree.file('data/a/one.txt', 'one\n');
    tree.file('data/a/two.bin', randomBytes(3 * MB));
    token = await hsToken({ sub: 'alice', scope: 'files:read files:list files:archive files:sign' });
  });

  after(() => {
    tree?.remove();
    spool?.close();
  });

  describe('the store', () => {
    it('creates a manifest once: a second create of the same id fails, and the first stays', async () => {
      const packages = storeOf();
      await packages.init();
      const id = packages.newId();
      await packages.create(manifestOf(id));
      let failed = false;
      await packages.create(manifestOf(id, { subject: 'mallory' })).catch(() => {
        failed = true;
      });
      expect(failed).to.equal(true);
      expect((await packages.read(id))!.subject).to.equal('alice');
      packages.archives.close();
    });

    it('updates are compare-and-swap: changes racing from two replicas both land', async () => {
      const [a, b] = [storeOf(), storeOf()];
      const id = a.newId();
      await a.create(manifestOf(id));
      // Twelve writers at once, each adding a field of its own: a blind read-modify-write would lose some.
      const marks = Array.from({ length: 12 }, (_, index) => `mark${index}`);
      await Promise.all(marks.map((mark, index) => (index % 2 === 0 ? a : b).update(id, { [mark]: true } as unknown as Partial<PackageManifest>)));
      const final = (await a.read(id)) as unknown as Record<string, unknown>;
      expect(marks.filter((mark) => final[mark] !== true), 'marks lost').to.deep.equal([]);
      a.archives.close();
      b.archives.close();
    });

    it('an update whose condition no longer holds changes nothing', async () => {
      const packages = storeOf();
      const id = packages.newId();
      await packages.create(manifestOf(id, { status: 'failed', error: 'gone' }));
      expect(await packages.update(id, { status: 'ready' }, (current) => current.status === 'running')).to.equal(null);
      expect((await packages.read(id))!.status).to.equal('failed');
      packages.archives.close();
    });

    it('an archive is invisible until committed, and an aborted one leaves nothing', async () => {
      const packages = storeOf('archives/');
      const small = manifestOf(packages.newId());
      const upload = await packages.openArchive(small, 10);
      upload.out.end(Buffer.from('small archive'));
      await new Promise((resolve) => upload.out.once('finish', resolve));
      expect(await keysUnder(`archives/${small.id}/`), 'nothing before commit').to.deep.equal([]);
      expect(await upload.commit()).to.equal(13);
      expect(await keysUnder(`archives/${small.id}/`)).to.deep.equal(['archive.zip']);

      // Over one part (8 MiB): a multipart upload, byte-exact.
      const big = manifestOf(packages.newId());
      const bytes = randomBytes(17 * MB);
      const multipart = await packages.openArchive(big, bytes.length);
      for (let at = 0; at < bytes.length; at += MB) {
        if (!multipart.out.write(bytes.subarray(at, at + MB))) await new Promise((resolve) => multipart.out.once('drain', resolve));
      }
      multipart.out.end();
      await new Promise((resolve) => multipart.out.once('finish', resolve));
      expect(await keysUnder(`archives/${big.id}/`), 'the parts are not an object').to.deep.equal([]);
      await multipart.commit();
      const got = await spool.get(`archives/${big.id}/archive.zip`);
      const chunks: Buffer[] = [];
      for await (const chunk of got.body as AsyncIterable<Buffer>) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(bytes)).to.equal(true);
      expect(got.etag, 'a multipart ETag').to.match(/-3"$/);

      const dropped = manifestOf(packages.newId());
      const aborted = await packages.openArchive(dropped, 20 * MB);
      aborted.out.write(randomBytes(9 * MB));
      await sleep(200);
      await aborted.abort();
      expect(await keysUnder(`archives/${dropped.id}/`)).to.deep.equal([]);
      packages.archives.close();
    });

    it('remove deletes the manifest and the archive', async () => {
      const packages = storeOf('removed/');
      const manifest = manifestOf(packages.newId());
      await packages.create(manifest);
      const upload = await packages.openArchive(manifest, 1);
      upload.out.end(Buffer.from('x'));
      await new Promise((resolve) => upload.out.once('finish', resolve));
      await upload.commit();
      await packages.remove(manifest.id);
      expect(await keysUnder(`removed/${manifest.id}/`)).to.deep.equal([]);
      packages.archives.close();
    });
  });

  describe('two replicas on one spool', () => {
    let a: TestServer;
    let b: TestServer;

    before(async () => {
      const config = { layers: { OsFs: { root: path.join(tree.dir, 'data') } }, packages: { store: storeConfig(), heartbeat: '200ms', sweepInterval: '200ms' }, signing: SIGNING };
      a = await startTestServer(config);
      b = await startTestServer(config);
    });

    after(async () => {
      await a?.close();
      await b?.close();
    });

    it('a package made through one is ready and downloadable through the other, with its signed URL', async () => {
      const created = await fetch(`${a.url}/api/packages`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['a'] }) });
      expect(created.status).to.equal(202);
      const { id } = await created.json() as PackageView;
      const ready = await waitFor('the package to be ready on the other replica', async () => {
        const view = await (await fetch(`${b.url}/api/packages/${id}`, { headers: { authorization: `Bearer ${token}` } })).json() as PackageView;
        return view.status === 'ready' ? view : view.status === 'failed' ? Promise.reject(new Error(JSON.stringify(view))) : undefined;
      });
      const fromB = await fetch(`${b.url}/api/packages/${id}/download`, { headers: { authorization: `Bearer ${token}` } });
      expect(fromB.status).to.equal(200);
      const zip = Buffer.from(await fromB.arrayBuffer());
      expect(zip.length).to.equal(ready.size);
      expect(zip.subarray(0, 4).toString('latin1')).to.equal('PK\u0003\u0004');
      const fromA = await fetch(`${a.url}/api/packages/${id}/download`, { headers: { authorization: `Bearer ${token}`, range: 'bytes=0-99' } });
      expect(fromA.status).to.equal(206);
      expect(Buffer.from(await fromA.arrayBuffer()).equals(zip.subarray(0, 100))).to.equal(true);
      expect(fromA.headers.get('etag')).to.equal(fromB.headers.get('etag'));
      // The signed URL minted through one replica works through the other.
      const signed = new URL(ready.signed_url!);
      const viaA = await fetch(`${a.url}${signed.pathname}${signed.search}`);
      expect(viaA.status).to.equal(200);
      expect(Buffer.from(await viaA.arrayBuffer()).equals(zip)).to.equal(true);
    });
  });

  describe('a builder killed mid-build', () => {
    let child: ChildServer | null = null;
    let survivor: TestServer;

    before(async () => {
      // A sparse file of 2 GB: a build that runs for seconds, uploading parts.
      truncateSync(tree.file('data/slow/big.bin', ''), 2048 * MB);
      const config = { layers: { OsFs: { root: path.join(tree.dir, 'data'), maxFileSize: '4GB' } }, archive: { maxBytes: '10GB' }, packages: { store: storeConfig(store.endpoint, 'killed/'), heartbeat: '200ms', sweepInterval: '200ms', maxConcurrent: 1 }, signing: SIGNING };
      child = await startChildServer(config, path.join(tree.dir, 'killed-child.json'));
      survivor = await startTestServer(config);
    });

    after(async () => {
      if (child !== null) await child.stop().catch(() => {});
      await survivor?.close();
    });

    it('leaves the package failed with a reason, seen from the other replica, and no archive visible', async () => {
      const created = await fetch(`${child!.url}/api/packages`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['slow'] }) });
      const { id } = await created.json() as PackageView;
      await waitFor('the build to run', async () => {
        const view = await (await fetch(`${survivor.url}/api/packages/${id}`, { headers: { authorization: `Bearer ${token}` } })).json() as PackageView;
        return view.status === 'running' ? view : undefined;
      });
      child!.signal('SIGKILL');
      await child!.exited;
      child = null;
      const failed = await waitFor('the other replica to report it failed', async () => {
        const view = await (await fetch(`${survivor.url}/api/packages/${id}`, { headers: { authorization: `Bearer ${token}` } })).json() as PackageView;
        return view.status === 'failed' ? view : undefined;
      });
      expect(failed.error).to.match(INTERRUPTED);
      const download = await fetch(`${survivor.url}/api/packages/${id}/download`, { headers: { authorization: `Bearer ${token}` } });
      expect(download.status).to.equal(409);
      // The sweep wrote it down for every replica, and no archive object appeared.
      await waitFor('the manifest to say failed', async () => {
        const stored = await new ObjectPackageStore(configSchema.parse({ layers: { OsFs: { root: '.' } }, packages: { store: storeConfig(store.endpoint, 'killed/') } }).packages.store!).read(id);
        return stored?.status === 'failed' ? stored : undefined;
      });
      expect(await keysUnder(`killed/${id}/`)).to.deep.equal(['manifest.json']);
    });
  });

  describe('the engine\'s write primitives, checked at start-up', () => {
    it('an engine that stores a create-only PUT over an existing object stops start-up, saying why', async () => {
      const proxy = await startEngineProxy(store.endpoint);
      // The second create-only PUT is answered 200 without reaching the engine: an engine that ignores If-None-Match.
      let createOnly = 0;
      proxy.inject({ kind: 'answer', status: 200, code: '' }, 1, (request) => request.method === 'PUT' && request.headers['if-none-match'] === '*' && (createOnly += 1) === 2);
      try {
        let message = '';
        await startTestServer({ layers: { OsFs: { root: tree.dir } }, packages: { store: storeConfig(proxy.endpoint, 'probe/') } }).then(
          async (server) => server.close(),
          (error: Error) => {
            message = error.message;
          },
        );
        expect(message).to.match(/If-None-Match/);
        expect(message).to.match(/packages\.store/);
      } finally {
        await proxy.close();
      }
    });

    it('a spool out of reach at start-up does not stop the service: packages answer 503 until it is back', async () => {
      const proxy = await startEngineProxy(store.endpoint);
      await proxy.goDown();
      const server = await startTestServer({ layers: { OsFs: { root: path.join(tree.dir, 'data') } }, packages: { store: storeConfig(proxy.endpoint, 'late/') } });
      try {
        const post = () => fetch(`${server.url}/api/packages`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['a'] }) });
        const refused = await post();
        expect(refused.status).to.equal(503);
        expect(refused.headers.get('retry-after')).to.match(/^\d+$/);
        expect((await refused.json() as { code: string }).code).to.equal('UNAVAILABLE');
        expect((await fetch(`${server.url}/api/download?filepath=a/one.txt`, { headers: { authorization: `Bearer ${token}` } })).status, 'downloads still served').to.equal(200);
        await proxy.comeBack();
        expect((await post()).status).to.equal(202);
      } finally {
        await server.close();
        await proxy.close();
      }
    });
  });
});
