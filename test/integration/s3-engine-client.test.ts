// Tests for the S3 engine client against a real radosgw: literal keys, listings paged by start-after, ranges, pinned reads, conditional writes, the error mapping and retries.

import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { FilegateError } from '../../src/errors.js';
import { createEngineClient, type EngineClient } from '../../src/layers/s3/engine-client.js';
import { EngineError, type EngineErrorKind } from '../../src/layers/s3/engine-error.js';
import type { ObjectSummary } from '../../src/layers/s3/engine-xml.js';
import { createTestBucket, engineOptions, startObjectStore, type ObjectStore } from '../helpers/object-store.js';

/** Awaits `promise`, expects an EngineError of `kind` (and `engineCode`), and returns it. */
async function expectEngineError(promise: Promise<unknown>, kind: EngineErrorKind, engineCode?: string): Promise<EngineError> {
  const caught = await promise.then(() => undefined, (error: unknown) => error);
  expect(caught, 'an EngineError').to.be.instanceOf(EngineError);
  const error = caught as EngineError;
  expect(error.kind, error.message).to.equal(kind);
  if (engineCode !== undefined) expect(error.engineCode).to.equal(engineCode);
  return error;
}

/** Every page of `prefix`, `maxKeys` at a time, following `nextStartAfter`. */
async function listAll(client: EngineClient, prefix: string, options: { delimiter?: string; maxKeys: number }) {
  const objects: ObjectSummary[] = [];
  const prefixes: string[] = [];
  let startAfter: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await client.list(prefix, { ...options, ...(startAfter === undefined ? {} : { startAfter }) });
    pages++;
    objects.push(...page.objects);
    prefixes.push(...page.prefixes);
    if (!page.isTruncated) return { objects, prefixes, pages };
    expect(pages, 'pages advance').to.be.below(100);
    expect(page.nextStartAfter, 'a truncated page says where to go on').to.be.a('string');
    startAfter = page.nextStartAfter;
  }
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('S3 engine client on radosgw', function () {
  let store: ObjectStore;
  let client: EngineClient;

  before(async function () {
    this.timeout(300_000);
    store = await startObjectStore();
  });
  beforeEach(async () => {
    client = await createTestBucket();
  });
  afterEach(() => client.close());

  describe('keys are stored literally', () => {
    // [key, the key a normalising client would have reached instead]
    const keys: Array<[string, string | undefined]> = [
      ['a//b', 'a/b'],
      ['x/../y', 'y'],
      ['./z', 'z'],
      ['a%2Fb', 'a/b'],
      ['sp ace', 'sp+ace'],
      ['ü', 'u\u0308'],
      ['+', ' '],
      ['%', undefined],
      ['?', undefined],
      ['#', undefined],
      ['folder/', 'folder'],
      ['ctl\u0001char', undefined],
      ['back\\slash', 'back/slash'],
      ['..', undefined],
      ["star*(paren)!'", undefined],
      ['0012', '12'],
      [' lead and trail ', 'lead and trail'],
    ];
    for (const [key, twin] of keys) {
      it(`${JSON.stringify(key)}: PUT, GET, HEAD and LIST give back that key, and only it`, async () => {
        const body = `body of ${key}`;
        const { etag } = await client.put(key, body);
        const got = await client.get(key);
        expect(await text(got.body)).to.equal(body);
        expect(got.etag).to.equal(etag);
        const head = await client.head(key);
        expect(head.size).to.equal(Buffer.byteLength(body));
        expect(head.etag).to.equal(etag);
        const page = await client.list('');
        expect(page.objects.map((o) => o.key)).to.deep.equal([key]);
        expect(page.objects[0]!.size).to.equal(Buffer.byteLength(body));
        if (twin !== undefined) await expectEngineError(client.head(twin), 'not-found', 'NoSuchKey');
      });
    }

    it('a key of 1024 bytes is stored; 1025 bytes are refused with BAD_REQUEST before any request', async () => {
      const longest = `K/${'k'.repeat(1020)}ü`;
      expect(Buffer.byteLength(longest)).to.equal(1024);
      await client.put(longest, 'long');
      expect(await text((await client.get(longest)).body)).to.equal('long');
      expect((await client.list('K/')).objects.map((o) => o.key)).to.deep.equal([longest]);

      // A client whose engine cannot be reached: any request would fail as unavailable.
      const nowhere = createEngineClient({ ...engineOptions(store, client.bucket), endpoint: `http://127.0.0.1:${await closedPort()}` });
      for (const tooLong of [`${longest}k`, `K/${'ü'.repeat(511)}k`]) {
        expect(Buffer.byteLength(tooLong)).to.equal(1025);
        for (const attempt of [() => nowhere.head(tooLong), () => nowhere.get(tooLong), () => nowhere.put(tooLong, 'x'), () => nowhere.delete(tooLong)]) {
          const caught = await attempt().then(() => undefined, (error: unknown) => error);
          expect(caught).to.be.instanceOf(FilegateError);
          expect((caught as FilegateError).code).to.equal('BAD_REQUEST');
          expect((caught as FilegateError).message).to.include('1025 bytes');
        }
      }
      nowhere.close();
    });
  });

  describe('list', () => {
    const keys = ['d/a', 'd/b', 'd/b c', 'd/b+c', 'd/b\u0001c', 'd/b\u007fc', 'd/sub1/x', 'd/sub1/y', 'd/sub10', 'd/sub2/z', 'd/zz', 'd/ü', 'e'];
    beforeEach(async () => {
      for (const key of keys) await client.put(key, key);
    });

    it('with "/" as delimiter, pages of 2 by start-after give every direct key and folder once, in byte order', async () => {
      const { objects, prefixes, pages } = await listAll(client, 'd/', { delimiter: '/', maxKeys: 2 });
      const direct = keys.filter((k) => k.startsWith('d/') && !k.slice(2).includes('/')).sort(byteOrder);
      expect(objects.map((o) => o.key)).to.deep.equal(direct);
      expect(prefixes).to.deep.equal(['d/sub1/', 'd/sub2/']);
      expect(pages).to.be.at.least(5);
    });

    it('without a delimiter, pages of 1 reach every key, control characters included, none skipped or repeated', async () => {
      const { objects, pages } = await listAll(client, '', { maxKeys: 1 });
      expect(objects.map((o) => o.key)).to.deep.equal([...keys].sort(byteOrder));
      expect(pages).to.equal(keys.length);
    });

    it('each entry carries size, time and ETag, and they agree with HEAD (the time to the second), so no HEAD is needed', async () => {
      const { etag } = await client.put('d/a', 'twelve bytes');
      const [entry] = (await client.list('d/a', { maxKeys: 1 })).objects;
      expect(entry).to.include({ key: 'd/a', size: 12, etag });
      const head = await client.head('d/a');
      // LIST carries milliseconds, Last-Modified whole seconds
      expect(Math.floor(entry!.lastModifiedMs / 1000) * 1000).to.equal(head.lastModifiedMs);
    });

    it('an empty prefix answers an empty page, not an error', async () => {
      const page = await client.list('nothing/', { delimiter: '/' });
      expect(page).to.deep.include({ objects: [], prefixes: [], isTruncated: false, nextStartAfter: undefined });
    });
  });

  describe('get', () => {
    const body = '0123456789abcdefghijklmnopqrstuvwxyz';

    it('one Range answers 206 with those bytes and the whole size', async () => {
      await client.put('r.txt', body, { contentType: 'text/plain' });
      const got = await client.get('r.txt', { range: { start: 2, end: 5 } });
      expect(got.status).to.equal(206);
      expect(got).to.include({ size: 36, length: 4, contentType: 'text/plain' });
      expect(await text(got.body)).to.equal('2345');
      const tail = await client.get('r.txt', { range: { start: 30, end: 35 } });
      expect(await text(tail.body)).to.equal('uvwxyz');
    });

    it('If-Match pins a read to the ETag the checks saw: a replaced object answers precondition-failed', async () => {
      await client.put('pinned', body);
      const { etag, lastModifiedMs } = await client.head('pinned');
      expect(lastModifiedMs % 1000).to.equal(0);
      const same = await client.get('pinned', { ifMatch: etag, range: { start: 0, end: 3 } });
      expect(await text(same.body)).to.equal('0123');
      await client.put('pinned', `${body}, replaced`);
      await expectEngineError(client.get('pinned', { ifMatch: etag }), 'precondition-failed', 'PreconditionFailed');
      await expectEngineError(client.get('pinned', { ifMatch: etag, range: { start: 0, end: 3 } }), 'precondition-failed');
    });
  });

  describe('conditional put', () => {
    it('If-None-Match: * lets exactly one of 8 concurrent writers create the object', async () => {
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => client.put('once', `writer ${i}`, { ifNoneMatch: '*' })));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(winners).to.have.length(1);
      for (const r of results) {
        if (r.status === 'rejected') expect((r.reason as EngineError).kind).to.equal('precondition-failed');
      }
      expect(await text((await client.get('once')).body)).to.equal(`writer ${winners[0]}`);
    });

    it("If-Match with the engine's ETag replaces; with a stale one it answers precondition-failed", async () => {
      await client.put('cas', 'v1');
      const { etag: v1 } = await client.head('cas');
      const { etag: v2 } = await client.put('cas', 'v2', { ifMatch: v1 });
      expect(v2).to.not.equal(v1);
      await expectEngineError(client.put('cas', 'v3', { ifMatch: v1 }), 'precondition-failed');
      await expectEngineError(client.put('missing', 'v1', { ifMatch: v1 }), 'precondition-failed');
      expect(await text((await client.get('cas')).body)).to.equal('v2');
    });
  });

  describe('errors, as the layer will map them', () => {
    it('a missing key is not-found, on HEAD (no body) and GET alike', async () => {
      await expectEngineError(client.head('nope'), 'not-found', 'NoSuchKey');
      await expectEngineError(client.get('nope'), 'not-found', 'NoSuchKey');
    });

    it('delete removes the object; deleting a missing one succeeds', async () => {
      await client.put('gone', 'x');
      await client.delete('gone');
      await expectEngineError(client.head('gone'), 'not-found');
      await client.delete('gone');
    });

    it('a missing bucket is unavailable (FSTYPE_UNAVAILABLE), not not-found', async () => {
      const missing = createEngineClient({ ...engineOptions(store, `${client.bucket}-never-made`) });
      await expectEngineError(missing.head('k'), 'unavailable', 'NoSuchBucket');
      await expectEngineError(missing.get('k'), 'unavailable', 'NoSuchBucket');
      await expectEngineError(missing.list(''), 'unavailable', 'NoSuchBucket');
      missing.close();
    });

    it('a wrong secret or an unknown access key is unavailable, and no message holds a credential', async () => {
      const secret = 'wrong-secret-0123456789';
      const wrongSecret = createEngineClient({ ...engineOptions(store, client.bucket), credentials: { accessKeyId: store.accessKeyId, secretAccessKey: secret } });
      const unknownKey = createEngineClient({ ...engineOptions(store, client.bucket), credentials: { accessKeyId: 'NOSUCHKEY0000000', secretAccessKey: secret } });
      const errors = [
        await expectEngineError(wrongSecret.head('k'), 'unavailable', 'SignatureDoesNotMatch'),
        await expectEngineError(wrongSecret.list(''), 'unavailable', 'SignatureDoesNotMatch'),
        await expectEngineError(wrongSecret.put('k', 'x'), 'unavailable', 'SignatureDoesNotMatch'),
        await expectEngineError(unknownKey.get('k'), 'unavailable', 'InvalidAccessKeyId'),
      ];
      for (const error of errors) {
        const shown = `${error.message} ${String(error)} ${JSON.stringify(error)} ${error.stack}`;
        for (const credential of [secret, store.accessKeyId, store.secretAccessKey, 'NOSUCHKEY0000000']) expect(shown).to.not.include(credential);
      }
      wrongSecret.close();
      unknownKey.close();
    });

    it("another user's bucket is not-readable (AccessDenied), on HEAD and GET", async () => {
      await client.put('private', 'x');
      const other = createEngineClient({ ...engineOptions(store, client.bucket), credentials: store.other });
      await expectEngineError(other.head('private'), 'not-readable', 'AccessDenied');
      await expectEngineError(other.get('private'), 'not-readable', 'AccessDenied');
      other.close();
    });

    it('an engine that does not answer (a closed port) is unavailable, for reads and writes', async () => {
      const down = createEngineClient({ ...engineOptions(store, client.bucket), endpoint: `http://127.0.0.1:${await closedPort()}` });
      const error = await expectEngineError(down.head('k'), 'unavailable');
      expect(error.status).to.equal(undefined);
      expect(error.message).to.include('ECONNREFUSED');
      await expectEngineError(down.list(''), 'unavailable');
      await expectEngineError(down.put('k', 'x'), 'unavailable');
      down.close();
    });
  });

  // radosgw cannot be made to answer SlowDown or cut a body: a small in-process engine stand-in does.
  describe('retries (an in-process stand-in for what radosgw cannot be made to do)', () => {
    let server: http.Server;
    let requests: string[];
    let answer: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;
    let fake: EngineClient;
    const slowDown = (res: http.ServerResponse) => {
      res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '7' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    };

    beforeEach(async () => {
      requests = [];
      server = http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        answer(req, res, requests.length);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      fake = createEngineClient({ ...engineOptions(store, 'fake'), endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
    afterEach(async () => {
      fake.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('a HEAD answered SlowDown twice is sent a third time and succeeds', async () => {
      answer = (_req, res, n) => {
        if (n <= 2) return slowDown(res);
        res.writeHead(200, { etag: '"e"', 'content-length': '5', 'last-modified': 'Thu, 03 Dec 2026 08:48:48 GMT' });
        res.end();
      };
      const head = await fake.head('k');
      expect(head).to.include({ size: 5, etag: '"e"' });
      expect(requests).to.deep.equal(['HEAD /fake/k', 'HEAD /fake/k', 'HEAD /fake/k']);
    });

    it('a GET that keeps answering SlowDown gives up after 3 attempts as slow-down with Retry-After', async () => {
      answer = (_req, res) => slowDown(res);
      const error = await expectEngineError(fake.get('k'), 'slow-down', 'SlowDown');
      expect(error.retryAfterSeconds).to.equal(7);
      expect(requests).to.have.length(3);
    });

    it('a PUT is sent once, never again', async () => {
      answer = (_req, res) => slowDown(res);
      await expectEngineError(fake.put('k', 'x'), 'slow-down');
      expect(requests).to.deep.equal(['PUT /fake/k']);
    });

    it('a GET whose body was handed on is not sent again when the body is cut', async () => {
      answer = (_req, res) => {
        res.writeHead(200, { 'content-length': '100', etag: '"e"' });
        res.write('0123456789');
        setTimeout(() => res.destroy(), 20);
      };
      const got = await fake.get('k');
      const outcome = await text(got.body).then(() => 'complete', () => 'cut');
      expect(outcome).to.equal('cut');
      expect(requests).to.have.length(1);
    });

    it('a LIST whose body is not a listing is sent again, then fails as other', async () => {
      answer = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end('<html>a proxy page</html>');
      };
      await expectEngineError(fake.list('p/'), 'other');
      expect(requests).to.have.length(3);
      expect(requests[0]).to.equal('GET /fake?list-type=2&encoding-type=url&prefix=p%2F');
    });
  });
});
