// The deployment of docs/deployment.md ("Two replicas behind nginx") brought up on 127.0.0.1 from the doc's own blocks: Debian's nginx, two filegate processes, the test engine; requests alternate, state is shared, validators agree, a drained replica finishes its download.

import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { realpathSync, renameSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineClient } from '../../src/layers/s3/engine-client.js';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { getBucketLifecycle, putBucketLifecycle } from '../helpers/bucket-lifecycle.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { deploymentBlock, deploymentFence, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { createTestBucket, startObjectStore, type ObjectStore } from '../helpers/object-store.js';
import { isRefused, startReplica, type ReplicaProcess } from '../helpers/replica-process.js';
import { hsToken } from '../helpers/tokens.js';

const MB = 1024 * 1024;
// The replicas' config, as the doc gives it; the test mints tokens with its secret and expects links on its baseUrl.
const CONFIG_BLOCK = deploymentFence('json', 'filegate: replica');
const DOC = JSON.parse(CONFIG_BLOCK) as { auth: { secret: string }; signing: { baseUrl: string }; packages: { store: { prefix: string } } };

const BIG = randomBytes(300 * 1024);
const RESTORED = randomBytes(64 * 1024);
const CLIP = randomBytes(3 * MB + 17);
// Streamed by filegate (an s3 layer with delivery proxy) while its replica drains: more than the sockets between client, nginx and filegate buffer.
const LARGE = randomBytes(48 * MB);
const REPORTS = ['r1.txt', 'r2.txt', 'r3.txt', 'r4.txt', 'r5.txt'];
const LISTED = ['f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', 'f5.txt'];

/** A request's outcome through nginx: its answer read whole, and the replica whose access line carries its request id. */
interface Outcome {
  readonly id: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly by: string;
}

/** `text` with every `from` replaced; a `from` the text lacks fails here, so a changed doc line cannot go unnoticed. */
function substitute(text: string, replacements: ReadonlyArray<readonly [from: string, to: string]>): string {
  let result = text;
  for (const [from, to] of replacements) {
    if (!result.includes(from)) throw new Error(`the doc's block has no ${JSON.stringify(from)} to replace`);
    result = result.split(from).join(to);
  }
  return result;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The value of filegate_transfers_in_flight a replica reports now, asked directly (not through nginx). */
async function transfersInFlight(replica: ReplicaProcess): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  return Number(/^filegate_transfers_in_flight (\d+)$/m.exec(text)![1]);
}

describe('two replicas behind nginx (docs/deployment.md)', function () {
  this.timeout(120_000);
  let store: ObjectStore;
  let files: EngineClient;
  let spool: EngineClient;
  let tmp: TempDir;
  let shared: string;
  const replicas: ReplicaProcess[] = [];
  let nginx: RunningNginx;
  let token: string;
  let sequence = 0;
  // What every replica is started with: the doc's config with this machine's addresses, and the environment it names.
  let configText: string;
  let replicaEnv: Record<string, string>;

  /**
   * Sends a request through nginx under a request id of its own (with the
   * token, unless `anonymous` or the request names its own Authorization),
   * reads the answer whole, and finds which replica logged it.
   */
  const call = async (target: string, init: RequestInit = {}, anonymous = false): Promise<Outcome> => {
    sequence += 1;
    const id = `deployment-${sequence}`;
    const headers = new Headers(init.headers);
    headers.set('X-Request-Id', id);
    if (!anonymous && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${token}`);
    const response = await fetch(`${nginx.url}${target}`, { ...init, headers });
    const body = Buffer.from(await response.arrayBuffer());
    // No replica's line: nginx answered by itself (a 502 when no replica took the request).
    const by = await servedBy(id).catch(() => {
      throw new Error(`no replica logged ${init.method ?? 'GET'} ${target} (${id}), answered ${response.status}: ${body.subarray(0, 200).toString()}`);
    });
    return { id, status: response.status, headers: response.headers, body, by };
  };

  /** The replica whose access line carries `id` (written when its response closed); exactly one must have it. */
  const servedBy = (id: string) =>
    waitFor(`an access line for ${id}`, () => {
      const by = replicas.filter((replica) => replica.accessLine(id) !== undefined);
      if (by.length > 1) throw new Error(`${id} was logged by ${by.map((replica) => replica.name).join(' and ')}`);
      return by[0]?.name;
    }, 5000);

  /** `send` again when the replica named `than` answered it: the round robin then gives it to the other. Only for requests that may be sent twice. */
  const onOtherThan = async (than: string, send: () => Promise<Outcome>): Promise<Outcome> => {
    const first = await send();
    if (first.by !== than) return first;
    const second = await send();
    expect(second.by, 'nginx alternates').to.not.equal(than);
    return second;
  };

  const asResponse = (outcome: Outcome) => new Response(outcome.body.length === 0 ? null : outcome.body, { status: outcome.status, headers: outcome.headers });
  const download = (filepath: string, query = '') => `/api/download?filepath=${encodeURIComponent(filepath)}${query}`;
  const jsonPost = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  before(async () => {
    store = await startObjectStore();
    [files, spool] = await Promise.all([createTestBucket(), createTestBucket()]);
    tmp = tempDir('filegate-deployment-');
    shared = path.join(realpathSync(tmp.dir), 'shared');
    tmp.file('shared/big.bin', BIG);
    tmp.file('shared/restored.bin', RESTORED);
    for (const name of LISTED) tmp.file(`shared/listed/${name}`, `${name}\n`);
    await files.put('clip.bin', CLIP);
    await files.put('drain/large.bin', LARGE);
    for (const name of REPORTS) await files.put(`reports/${name}`, `report ${name}\n`);

    configText = substitute(CONFIG_BLOCK, [
      ['"host": "0.0.0.0"', '"host": "127.0.0.1"'],
      ['"port": 8080', '"port": 0'],
      ['/srv/filegate/shared', shared],
      ['http://10.0.0.20:7480', store.endpoint],
      ['"filegate-files"', JSON.stringify(files.bucket)],
      ['"filegate-spool"', JSON.stringify(spool.bucket)],
    ]);
    replicaEnv = { NODE_ENV: 'production', AWS_ACCESS_KEY_ID: store.accessKeyId, AWS_SECRET_ACCESS_KEY: store.secretAccessKey };
    // Both settled before going on, so after() stops whichever started even when the other failed.
    const started = await Promise.allSettled(['A', 'B'].map((name) => startReplica(name, configText, path.join(tmp.dir, `${name}.json`), replicaEnv)));
    for (const outcome of started) if (outcome.status === 'fulfilled') replicas.push(outcome.value);
    for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    nginx = await startNginx(deploymentBlock('nginx: replicas'), [
      ['server 10.0.0.11:8080', () => `server 127.0.0.1:${a.port}`],
      ['server 10.0.0.12:8080', () => `server 127.0.0.1:${b.port}`],
      ['listen 80;', (port) => `listen 127.0.0.1:${port};`],
      ['alias /srv/filegate/shared/;', () => `alias ${shared}/;`],
    ]);
    token = await hsToken({ sub: 'operator', scope: 'files:read files:list files:archive files:sign' }, { secret: DOC.auth.secret });
  });

  after(async () => {
    await nginx?.stop();
    await Promise.all(replicas.map((replica) => replica.stop()));
    tmp?.remove();
    files?.close();
    spool?.close();
  });

  describe('the round robin', () => {
    it('requests alternate between the replicas, and all succeed', async () => {
      const targets = [download('big.bin'), download('clip.bin', '&fstype=objects'), '/api/list?path=listed', '/api/list?path=reports&fstype=objects'];
      const outcomes: Outcome[] = [];
      for (let round = 0; round < 2; round += 1) for (const target of targets) outcomes.push(await call(target));
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(outcomes.map(() => 200));
      const order = outcomes.map((outcome) => outcome.by);
      expect(new Set(order)).to.deep.equal(new Set(['A', 'B']));
      for (let i = 1; i < order.length; i += 1) expect(order[i], `request ${i + 1} of ${order.join(',')}`).to.not.equal(order[i - 1]);
    });
  });

  describe('the shared folder: nginx sends the bodies (x-accel)', () => {
    it('whole and ranged downloads are byte-exact with filegate\'s headers, from either replica', async () => {
      const seen = new Map<string, Outcome>();
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const whole = await call(download('big.bin'));
        expect(whole.status).to.equal(200);
        expect(whole.body.equals(BIG)).to.equal(true);
        expectFileHeaders(asResponse(whole));
        expect(whole.headers.get('content-length')).to.equal(String(BIG.length));
        expect(whole.headers.get('x-request-id')).to.equal(whole.id);
        expect(whole.headers.get('x-accel-redirect')).to.equal(null);
        expect(replicas.find((replica) => replica.name === whole.by)!.accessLine(whole.id)).to.include({ status: 200, bytes: 0, delivery: 'x-accel', offloadedBytes: BIG.length });
        seen.set(whole.by, whole);
      }
      expect([...seen.keys()].sort()).to.deep.equal(['A', 'B']);
      for (const name of ['etag', 'last-modified', 'content-disposition', 'content-type', 'content-security-policy']) {
        expect(seen.get('A')!.headers.get(name), name).to.equal(seen.get('B')!.headers.get(name));
      }
      const ranges: Array<[header: string, start: number, end: number]> = [
        ['bytes=100-1099', 100, 1099],
        ['bytes=-500', BIG.length - 500, BIG.length - 1],
        ['bytes=300000-', 300000, BIG.length - 1],
      ];
      for (const [header, start, end] of ranges) {
        const ranged = await call(download('big.bin'), { headers: { Range: header } });
        expect(ranged.status, header).to.equal(206);
        expect(ranged.headers.get('content-range')).to.equal(`bytes ${start}-${end}/${BIG.length}`);
        expect(ranged.body.equals(BIG.subarray(start, end + 1)), header).to.equal(true);
        expectFileHeaders(asResponse(ranged));
      }
    });

    it('a refused request is filegate\'s JSON error, and the internal location serves nothing by itself', async () => {
      await expectError(asResponse(await call(download('big.bin'), { headers: { Authorization: 'Bearer not-a-token' } })), 401, 'UNAUTHORIZED');
      await expectError(asResponse(await call(download('missing.bin'))), 404, 'NOT_FOUND');
      await expectError(asResponse(await call(download('../outside.txt'))), 403, 'PATH_NOT_ALLOWED');
      await expectError(asResponse(await call(download('big.bin', '&fstype=nope'))), 400, 'UNKNOWN_FSTYPE');
      // nginx refuses it (internal), and its error_page hands that to a replica, which knows no such route.
      const direct = await fetch(`${nginx.url}/_filegate/shared/big.bin`);
      const text = await expectError(direct, 404, 'NOT_FOUND');
      expect(JSON.stringify(text)).to.not.include(BIG.subarray(0, 16).toString('latin1'));
    });
  });

  describe('the object store', () => {
    it('a download passes nginx byte-exact, whole and ranged', async () => {
      const whole = await call(download('clip.bin', '&fstype=objects'));
      expect(whole.status).to.equal(200);
      expect(whole.body.equals(CLIP)).to.equal(true);
      expectFileHeaders(asResponse(whole));
      const ranged = await call(download('clip.bin', '&fstype=objects'), { headers: { Range: 'bytes=1000000-2000000' } });
      expect(ranged.status).to.equal(206);
      expect(ranged.body.equals(CLIP.subarray(1000000, 2000001))).to.equal(true);
      expect(ranged.by).to.not.equal(whole.by);
    });
  });

  describe('what one replica mints, the other honours', () => {
    it('a signed URL: on signing.baseUrl, served by the other replica', async () => {
      for (const [body, bytes] of [[{ filepath: 'big.bin' }, BIG], [{ filepath: 'clip.bin', fstype: 'objects' }, CLIP]] as const) {
        const signed = await call('/api/sign', jsonPost(body));
        expect(signed.status).to.equal(200);
        const url = new URL((JSON.parse(signed.body.toString()) as { download_url: string }).download_url);
        expect(url.origin, 'links name the public origin, not the replica or nginx that was asked').to.equal(DOC.signing.baseUrl);
        const fetched = await onOtherThan(signed.by, () => call(`${url.pathname}${url.search}`, {}, true));
        expect(fetched.status, JSON.stringify(body)).to.equal(200);
        expect(fetched.body.equals(bytes)).to.equal(true);
      }
      // The shared key is what is honoured: a signature changed in one character is not.
      const signed = await call('/api/sign', jsonPost({ filepath: 'big.bin' }));
      const url = new URL((JSON.parse(signed.body.toString()) as { download_url: string }).download_url);
      const sig = url.searchParams.get('sig')!;
      url.searchParams.set('sig', `${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`);
      await expectError(asResponse(await call(`${url.pathname}${url.search}`, {}, true)), 403, 'FORBIDDEN');
    });

    it('a listing cursor: each page from the other replica, the pages in order', async () => {
      for (const [query, names] of [['path=listed', LISTED], ['path=reports&fstype=objects', REPORTS]] as const) {
        const pages: Outcome[] = [];
        let cursor: string | null = null;
        do {
          const target = `/api/list?${query}&limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
          const page: Outcome = pages.length === 0 ? await call(target) : await onOtherThan(pages[pages.length - 1]!.by, () => call(target));
          expect(page.status, page.body.toString()).to.equal(200);
          pages.push(page);
          cursor = (JSON.parse(page.body.toString()) as { next_cursor: string | null }).next_cursor;
        } while (cursor !== null);
        const listed = pages.flatMap((page) => (JSON.parse(page.body.toString()) as { entries: Array<{ name: string }> }).entries.map((entry) => entry.name));
        expect(listed, query).to.deep.equal(names);
        expect(pages).to.have.length(3);
        for (let i = 1; i < pages.length; i += 1) expect(pages[i]!.by).to.not.equal(pages[i - 1]!.by);
      }
    });

    it('a package made through one replica is fetched through the other, from the spool on the object store', async () => {
      const created = await call('/api/packages', jsonPost({ fstype: 'objects', paths: ['reports'], name: 'reports' }));
      expect(created.status, created.body.toString()).to.equal(202);
      const { id } = JSON.parse(created.body.toString()) as { id: string };
      // Built by the replica that accepted it; its status read through both.
      const ready = await waitFor('the package to be ready', async () => {
        const view = await call(`/api/packages/${id}`);
        const body = JSON.parse(view.body.toString()) as { status: string; size: number; signed_url: string };
        if (body.status === 'failed') throw new Error(view.body.toString());
        return body.status === 'ready' ? body : undefined;
      });
      const fetched = await onOtherThan(created.by, () => call(`/api/packages/${id}/download`));
      expect(fetched.status).to.equal(200);
      expect(fetched.body.length).to.equal(ready.size);
      const zip = tmp.file('reports.zip', fetched.body);
      const listing = spawnSync('unzip', ['-Z1', zip], { encoding: 'utf8' });
      expect(listing.stdout.trim().split('\n').sort()).to.deep.equal(['reports/', ...REPORTS.map((name) => `reports/${name}`)]);
      expect(spawnSync('unzip', ['-p', zip, 'reports/r3.txt'], { encoding: 'utf8' }).stdout).to.equal('report r3.txt\n');
      // The builder serves the same bytes under the same ETag, a range of them too.
      const ranged = await onOtherThan(fetched.by, () => call(`/api/packages/${id}/download`, { headers: { Range: 'bytes=0-99' } }));
      expect(ranged.status).to.equal(206);
      expect(ranged.body.equals(fetched.body.subarray(0, 100))).to.equal(true);
      expect(ranged.headers.get('etag')).to.equal(fetched.headers.get('etag'));
      // Its signed URL names the public origin and works through either.
      const link = new URL(ready.signed_url);
      expect(link.origin).to.equal(DOC.signing.baseUrl);
      const viaLink = await call(`${link.pathname}${link.search}`, {}, true);
      expect(viaLink.status).to.equal(200);
      expect(viaLink.body.equals(fetched.body)).to.equal(true);
      // The spool is the bucket: manifest and archive under packages.store.prefix.
      const keys = (await spool.list(`${DOC.packages.store.prefix}${id}/`)).objects.map((object) => object.key.slice(DOC.packages.store.prefix.length + id.length + 1));
      expect(keys.sort()).to.deep.equal(['archive.zip', 'manifest.json']);
    });
  });

  describe('validators', () => {
    it('ETags agree between the replicas, and survive a restore of the file (a new inode, the same bytes and time)', async () => {
      const head = (target: string, headers: Record<string, string> = {}) => call(target, { method: 'HEAD', headers });
      for (const target of [download('big.bin'), download('clip.bin', '&fstype=objects'), download('restored.bin')]) {
        const first = await head(target);
        const second = await onOtherThan(first.by, () => head(target));
        expect(first.status).to.equal(200);
        expect(second.headers.get('etag'), target).to.equal(first.headers.get('etag'));
        expect(second.headers.get('last-modified'), target).to.equal(first.headers.get('last-modified'));
      }
      const original = await head(download('restored.bin'));
      const etag = original.headers.get('etag')!;
      // As a backup tool puts a file back: a copy with its times (cp -p), renamed over the original.
      const file = path.join(shared, 'restored.bin');
      const inode = statSync(file).ino;
      const copied = spawnSync('cp', ['-p', file, `${file}.restoring`]);
      expect(copied.status, copied.stderr.toString()).to.equal(0);
      renameSync(`${file}.restoring`, file);
      expect(statSync(file).ino).to.not.equal(inode);
      // Both replicas: the same tag, a 304 for it, and a resumed download (If-Range) gets its range.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const notModified = await call(download('restored.bin'), { headers: { 'If-None-Match': etag } });
        expect(notModified.status, `304 from ${notModified.by}`).to.equal(304);
        const resumed = await call(download('restored.bin'), { headers: { Range: 'bytes=60000-', 'If-Range': etag } });
        expect(resumed.status, `206 from ${resumed.by}`).to.equal(206);
        expect(resumed.headers.get('etag')).to.equal(etag);
        expect(resumed.body.equals(RESTORED.subarray(60000))).to.equal(true);
      }
    });
  });

  describe('the spool bucket', () => {
    it('the engine takes the spool bucket\'s lifecycle rule as the doc writes it (XML for s3cmd, the same rule as the JSON for aws s3api)', async () => {
      await putBucketLifecycle(store, spool.bucket, deploymentFence('xml', 'lifecycle: xml'));
      const parser = new XMLParser({ parseTagValue: false });
      const { Rule } = (parser.parse(await getBucketLifecycle(store, spool.bucket)) as { LifecycleConfiguration: { Rule: Record<string, unknown> } }).LifecycleConfiguration;
      const { Rules } = JSON.parse(deploymentFence('json', 'lifecycle: json')) as { Rules: Array<{ ID: string; Status: string; Filter: { Prefix: string }; AbortIncompleteMultipartUpload: { DaysAfterInitiation: number } }> };
      expect(Rules).to.have.length(1);
      const rule = Rules[0]!;
      expect(Rule).to.deep.include({ ID: rule.ID, Status: rule.Status, AbortIncompleteMultipartUpload: { DaysAfterInitiation: String(rule.AbortIncompleteMultipartUpload.DaysAfterInitiation) } });
      // radosgw reads a Filter back as a plain Prefix.
      const prefix = (Rule.Filter as { Prefix?: string } | undefined)?.Prefix ?? Rule.Prefix;
      expect(prefix).to.equal(rule.Filter.Prefix);
    });
  });

  // Last: it leaves one replica running.
  describe('rolling a replica', () => {
    it('a replica drained with SIGTERM mid-download finishes it byte-exact while nginx sends new requests to the other; its successor gets requests again', async () => {
      // A client that reads a megabyte of a large object and then stops reading: the transfer stays in flight, backed up.
      const { port } = new URL(nginx.url);
      const socket = net.connect(Number(port), '127.0.0.1');
      const chunks: Buffer[] = [];
      let received = 0;
      let holding = true;
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (holding && received > MB) socket.pause();
      });
      const ended = new Promise<Buffer>((resolve, reject) => {
        socket.once('end', () => resolve(Buffer.concat(chunks)));
        socket.once('error', reject);
      });
      socket.write(`GET ${download('drain/large.bin', '&fstype=objects')} HTTP/1.1\r\nHost: files.example.com\r\nAuthorization: Bearer ${token}\r\nX-Request-Id: deployment-drain\r\nConnection: close\r\n\r\n`);
      await waitFor('the first megabyte', () => (received > MB ? true : undefined));
      // Which replica streams it: the one with a transfer in flight (asked directly).
      const [draining, other] = await waitFor('one replica to send the download', async () => {
        const counts = await Promise.all(replicas.map(transfersInFlight));
        if (counts.join() === '1,0') return [replicas[0]!, replicas[1]!];
        return counts.join() === '0,1' ? [replicas[1]!, replicas[0]!] : undefined;
      });

      draining.signal('SIGTERM');
      await waitFor('the drained replica to refuse new connections (its /readyz probe fails)', async () => ((await isRefused(`${draining.url}/readyz`)) ? true : undefined));
      // One of the first two is the drained replica's turn: its connection is refused, so even a POST goes to the other.
      const during: Outcome[] = [await call('/api/sign', jsonPost({ filepath: 'big.bin' })), await call('/api/sign', jsonPost({ filepath: 'big.bin' }))];
      for (const target of [download('big.bin'), download('clip.bin', '&fstype=objects'), '/api/list?path=listed', download('restored.bin')]) {
        during.push(await call(target));
      }
      expect(during.map((outcome) => [outcome.status, outcome.by])).to.deep.equal(during.map(() => [200, other.name]));
      expect(nginx.errorLog()).to.include(`(111: Connection refused) while connecting to upstream`);
      expect(nginx.errorLog()).to.include(`upstream: "http://127.0.0.1:${draining.port}/api/sign"`);
      expect(draining.hasExited(), 'the drained replica waits for its download').to.equal(false);
      expect(received).to.be.below(LARGE.length);

      holding = false;
      socket.resume();
      const raw = await ended;
      const headEnd = raw.indexOf('\r\n\r\n');
      const head = raw.subarray(0, headEnd).toString('latin1');
      const body = raw.subarray(headEnd + 4);
      expect(head).to.match(/^HTTP\/1\.1 200 /);
      expect(head).to.match(new RegExp(`^content-length: ${LARGE.length}\r?$`, 'im'));
      expect(body.length).to.equal(LARGE.length);
      expect(sha256(body)).to.equal(sha256(LARGE));

      expect(await draining.exited).to.equal(0);
      expect(draining.accessLine('deployment-drain')).to.include({ status: 200, bytes: LARGE.length });
      expect(draining.accessLine('deployment-drain')).to.not.have.property('aborted');
      expect(draining.logs().find((line) => line.msg === 'filegate stopped')).to.include({ clean: true });
      // With one replica gone, every request still succeeds.
      for (let i = 0; i < 3; i += 1) {
        const after = await call(download('big.bin'));
        expect([after.status, after.by]).to.deep.equal([200, other.name]);
        expect(after.body.equals(BIG)).to.equal(true);
      }

      // The new one, with the same config, where the old one was: nginx gives it requests again once fail_timeout is over.
      const renewed = await startReplica(`${draining.name}2`, substitute(configText, [['"port": 0', `"port": ${draining.port}`]]), path.join(tmp.dir, 'renewed.json'), replicaEnv);
      replicas.push(renewed);
      const meanwhile: Outcome[] = [];
      await waitFor('nginx to send a request to the new replica', async () => {
        const outcome = await call(download('big.bin'));
        meanwhile.push(outcome);
        return outcome.by === renewed.name ? outcome : sleep(200).then(() => undefined);
      }, 30_000);
      expect(meanwhile.map((outcome) => outcome.status)).to.deep.equal(meanwhile.map(() => 200));
      const order: string[] = [];
      for (let i = 0; i < 4; i += 1) order.push((await call(download('big.bin'))).by);
      expect(order).to.deep.equal([other.name, renewed.name, other.name, renewed.name]);
    });
  });
});

