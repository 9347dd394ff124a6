// Validators across replicas: two servers over two copies of the same bytes (other inodes, the same size and time) agree on ETag and Last-Modified, so revalidation and resumes hold through a load balancer.

import { expect } from 'chai';
import { copyFileSync, statSync, utimesSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

describe('validators are the same on every replica serving the same bytes', () => {
  let tmp: TempDir;
  let replicaA: TestServer;
  let replicaB: TestServer;
  let auth: Record<string, string>;
  const bytes = randomBytes(300_000);

  before(async () => {
    tmp = tempDir('filegate-replicas-');
    const original = tmp.file('a/data/clip.bin', bytes);
    const copy = path.join(tmp.folder('b/data'), 'clip.bin');
    // A copy as rsync -t or a restore makes it: the same bytes and time, another inode.
    copyFileSync(original, copy);
    const when = new Date('2026-01-02T03:04:05.678Z');
    utimesSync(original, when, when);
    utimesSync(copy, when, when);
    expect(statSync(copy).ino, 'the copies are two files').to.not.equal(statSync(original).ino);
    replicaA = await startTestServer({ layers: { OsFs: { root: path.join(tmp.dir, 'a/data') } } });
    replicaB = await startTestServer({ layers: { OsFs: { root: path.join(tmp.dir, 'b/data') } } });
    auth = { Authorization: `Bearer ${await hsToken()}` };
  });

  after(async () => {
    await replicaA?.close();
    await replicaB?.close();
    tmp?.remove();
  });

  const get = (server: TestServer, headers: Record<string, string> = {}) => fetch(`${server.url}/api/download?filepath=clip.bin`, { headers: { ...auth, ...headers } });

  it('ETag and Last-Modified are equal on both (regression: the ETag held the inode number)', async () => {
    const [a, b] = await Promise.all([get(replicaA, { Range: 'bytes=0-0' }), get(replicaB, { Range: 'bytes=0-0' })]);
    await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
    expect(a.headers.get('etag')).to.be.a('string');
    expect(b.headers.get('etag')).to.equal(a.headers.get('etag'));
    expect(b.headers.get('last-modified')).to.equal(a.headers.get('last-modified'));
  });

  it('a copy revalidated on one replica with the ETag of the other is 304', async () => {
    const first = await get(replicaA);
    await first.arrayBuffer();
    const again = await get(replicaB, { 'If-None-Match': first.headers.get('etag')! });
    expect(again.status).to.equal(304);
  });

  it('a download begun on one replica resumes on the other with If-Range (curl -C - through a load balancer): 206, not the whole file again', async () => {
    const first = await get(replicaA);
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    const rest = await get(replicaB, { Range: 'bytes=100000-', 'If-Range': etag });
    expect(rest.status).to.equal(206);
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(100_000))).to.equal(true);
  });
});
