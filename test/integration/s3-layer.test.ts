// What only an object-store layer has to get right, on the real engine (radosgw): markers, object-vs-prefix, literal keys, the key limit, pinned and merged reads, outages, credentials, and the engine requests each answer costs.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { EngineClient } from '../../src/layers/s3/engine-client.js';
import { startEngineProxy, type EngineProxy, type SeenRequest } from '../helpers/engine-proxy.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { createTestBucket, setGateway, startObjectStore, type ObjectStore } from '../helpers/object-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const PREFIX = 'root/';
const BIG = randomBytes(300 * 1024);
// Credentials of a layer that never exist in the engine: each must stay out of every line and document.
const SECRET_MARK = 'never-Shown-secret-0123456789abcdefXYZ';
const KEY_ID_MARK = 'NEVERSHOWNKEYID0042';

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/** The parts of a multipart/byteranges body. */
function parseMultipart(body: Buffer, contentType: string): Part[] {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)![2]!;
  const parts: Part[] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    const headers: Record<string, string> = {};
    for (const line of body.subarray(start + 2, headerEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd);
    parts.push({ headers, body: body.subarray(headerEnd + 4, next) });
    at = next + 2;
  }
  return parts;
}

/** The names of a ZIP's entries, from its local headers (stored or deflated, data descriptors allowed). */
function zipNames(zip: Buffer): string[] {
  const names: string[] = [];
  // The central directory lists every entry once: signature 0x02014b50.
  for (let at = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); at >= 0; at = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), at + 4)) {
    const nameLength = zip.readUInt16LE(at + 28);
    names.push(zip.subarray(at + 46, at + 46 + nameLength).toString('utf8'));
  }
  return names;
}

/** The requests the engine got that are GETs of an object (not LISTs), and HEADs. */
const objectGets = (seen: readonly SeenRequest[]) => seen.filter((request) => request.method === 'GET' && !request.url.includes('list-type'));
const heads = (seen: readonly SeenRequest[]) => seen.filter((request) => request.method === 'HEAD');
const lists = (seen: readonly SeenRequest[]) => seen.filter((request) => request.method === 'GET' && request.url.includes('list-type'));

describe('s3 layer (radosgw)', function () {
  this.timeout(120_000);
  let store: ObjectStore;
  let client: EngineClient;
  let proxy: EngineProxy;
  let server: TestServer;
  let local: TempDir;
  let token: string;

  const layerOf = (endpoint: string, extra: Record<string, unknown> = {}) => ({
    driver: 's3' as const,
    endpoint,
    region: store.region,
    bucket: client.bucket,
    prefix: PREFIX,
    forcePathStyle: true,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    ...extra,
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...headers } });

  before(async () => {
    store = await startObjectStore();
    client = await createTestBucket();
    proxy = await startEngineProxy(store.endpoint);
    local = tempDir();
    local.file('local.txt', 'on disk\n');
    const objects: Array<[string, string | Buffer]> = [
      ['hello.txt', 'hello\n'],
      ['big.bin', BIG],
      ['empty-marker/', ''],
      ['marked/', ''],
      ['marked/inside.txt', 'inside\n'],
      ['unmarked/deep/file.txt', 'deep\n'],
      ['dup', 'the object\n'],
      ['dup/inner.txt', 'under the prefix\n'],
      ['weird/x/../y', 'dot dot\n'],
      ['weird/a//b', 'empty segment\n'],
      ['weird/back\\slash.txt', 'backslash\n'],
      ['weird/ctl\u0001.txt', 'control\n'],
      ['weird/fine.txt', 'fine\n'],
      ['many/', ''],
    ];
    for (let index = 0; index < 40; index += 1) objects.push([`many/f${String(index).padStart(2, '0')}.txt`, `file ${index}\n`]);
    await Promise.all(objects.map(([key, body]) => client.put(`${PREFIX}${key}`, body)));
    await client.put('outside.txt', 'outside the prefix\n');
    server = await startTestServer({
      defaultLayer: 'store',
      layers: { store: layerOf(proxy.endpoint), local: { root: local.dir } },
    });
    token = await hsToken({ scope: 'files:read files:list files:archive files:sign' });
  });

  after(async () => {
    await server?.close();
    await proxy?.close();
    local?.remove();
    client?.close();
  });

  beforeEach(() => proxy.reset());

  describe('folders are prefixes', () => {
    it('a folder that is only a marker object lists as an empty folder', async () => {
      const response = await get('/api/list?path=empty-marker');
      expect(response.status).to.equal(200);
      const body = await response.json() as { entries: unknown[]; total: number };
      expect(body.entries).to.deep.equal([]);
      expect(body.total).to.equal(0);
    });

    it('a marker object is never listed as a file, and a folder without one is still a folder', async () => {
      const root = await (await get('/api/list?path=/&limit=1000')).json() as { entries: Array<{ name: string; kind: string }> };
      const byName = new Map(root.entries.map((entry) => [entry.name, entry.kind]));
      expect(byName.get('marked')).to.equal('directory');
      expect(byName.get('unmarked')).to.equal('directory');
      expect(byName.get('empty-marker')).to.equal('directory');
      expect(root.entries.map((entry) => entry.name), 'no empty name').to.not.include('');
      const marked = await (await get('/api/list?path=marked')).json() as { entries: Array<{ name: string; kind: string }> };
      expect(marked.entries.map((entry) => [entry.name, entry.kind])).to.deep.equal([['inside.txt', 'file']]);
    });

    it('a folder is NOT_A_FILE to a download, marker or not', async () => {
      for (const path of ['marked', 'unmarked', 'empty-marker']) {
        const response = await get(`/api/download?filepath=${path}`);
        expect(response.status, path).to.equal(403);
        expect((await response.json() as { code: string }).code).to.equal('NOT_A_FILE');
      }
    });

    it('nothing outside the prefix can be reached', async () => {
      const response = await get('/api/download?filepath=../outside.txt');
      expect(response.status).to.equal(403);
      const missing = await get('/api/download?filepath=outside.txt');
      expect(missing.status).to.equal(404);
    });
  });

  describe('an object and a prefix of the same name', () => {
    it('the object is the file: it downloads, and lists once, as a file', async () => {
      const response = await get('/api/download?filepath=dup');
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('the object\n');
      const root = await (await get('/api/list?path=/&limit=1000')).json() as { entries: Array<{ name: string; kind: string }> };
      expect(root.entries.filter((entry) => entry.name === 'dup')).to.deep.equal([{ ...root.entries.find((entry) => entry.name === 'dup'), kind: 'file' }]);
    });

    it('listing it is NOT_A_FILE, and what lies under the prefix cannot be reached through a folder', async () => {
      const response = await get('/api/list?path=dup');
      expect(response.status).to.equal(403);
      expect((await response.json() as { code: string }).code).to.equal('NOT_A_FILE');
    });

    it('an archive of the root holds the object, not the prefix', async () => {
      const zip = Buffer.from(await (await get('/api/archive?path=/&format=zip')).arrayBuffer());
      const names = zipNames(zip);
      expect(names).to.include('dup');
      expect(names.filter((name) => name.startsWith('dup/'))).to.deep.equal([]);
    });
  });

  describe('keys stored literally', () => {
    it('dot segments, empty segments, backslashes and control characters cannot be asked for', async () => {
      const cases: Array<[string, number]> = [
        ['weird/x/../y', 403],
        ['weird/a//b', 400],
        ['weird/back%5Cslash.txt', 400],
        ['weird/ctl%01.txt', 400],
      ];
      for (const [path, status] of cases) {
        const response = await get(`/api/download?filepath=${path}`);
        expect(response.status, path).to.equal(status);
      }
      expect(objectGets(proxy.seen), 'none of them reached the engine').to.have.length(0);
    });

    it('are left out of listings and archives, which keep the rest', async () => {
      const listed = await (await get('/api/list?path=weird')).json() as { entries: Array<{ name: string }>; total: number };
      // weird/a/ and weird/x/ are folders (prefixes of the odd keys); what they hold cannot be addressed.
      expect(listed.entries.map((entry) => entry.name)).to.deep.equal(['a', 'x', 'fine.txt']);
      const a = await (await get('/api/list?path=weird/a')).json() as { entries: Array<{ name: string }> };
      expect(a.entries, 'the empty segment of a//b').to.deep.equal([]);
      const x = await (await get('/api/list?path=weird/x')).json() as { entries: Array<{ name: string }> };
      expect(x.entries, 'the ".." of x/../y').to.deep.equal([]);
      const response = await get('/api/archive?path=weird&format=zip');
      expect(response.status).to.equal(200);
      const names = zipNames(Buffer.from(await response.arrayBuffer()));
      expect(names.filter((name) => !name.endsWith('/'))).to.deep.equal(['weird/fine.txt']);
      expect(names.some((name) => name.includes('..') || name.includes('\\') || name.includes('//'))).to.equal(false);
      expect(Number(response.headers.get('x-archive-skipped'))).to.be.at.least(3);
    });
  });

  describe('the 1024-byte key limit', () => {
    // Segments of 200 bytes: PREFIX (5 bytes) + 5 × 200 + 4 slashes = 1009; a last segment of 14 makes 1024.
    const folders = Array.from({ length: 5 }, (_, index) => `${index}`.repeat(200));
    const longest = [...folders.slice(0, 4), `${folders[4]}/${'z'.repeat(14)}`].join('/');

    it('a path whose key is exactly 1024 bytes is served', async () => {
      expect(Buffer.byteLength(PREFIX + longest)).to.equal(1024);
      await client.put(PREFIX + longest, 'at the limit\n');
      const response = await get(`/api/download?filepath=${encodeURIComponent(longest)}`);
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('at the limit\n');
    });

    it('one byte more is 400 BAD_REQUEST, without asking the engine', async () => {
      proxy.reset();
      const response = await get(`/api/download?filepath=${encodeURIComponent(`${longest}z`)}`);
      expect(response.status).to.equal(400);
      const body = await response.json() as { code: string; error: string };
      expect(body.code).to.equal('BAD_REQUEST');
      expect(body.error).to.include('1024');
      expect(proxy.seen).to.have.length(0);
    });
  });

  describe('engine round trips', () => {
    it('a small object is served after one GET, and nothing else', async () => {
      const response = await get('/api/download?filepath=hello.txt');
      expect(await response.text()).to.equal('hello\n');
      expect(proxy.seen.map((request) => request.method)).to.deep.equal(['GET']);
    });

    it('connections to the engine are kept and reused: once warm, waves of 40 downloads at once open none', async () => {
      // Forty client connections, opened by the first wave and kept: later waves open none, so filegate
      // starts their requests in the turn they come (RequestTurns holds a batch only while connections arrive).
      const agent = new http.Agent({ keepAlive: true, maxSockets: 40 });
      const download = () =>
        new Promise<string>((resolve, reject) => {
          const request = http.get(`${server.url}/api/download?filepath=hello.txt`, { agent, headers: { authorization: `Bearer ${token}` } }, (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
            response.on('error', reject);
          });
          request.on('error', reject);
        });
      const wave = async () => {
        for (const body of await Promise.all(Array.from({ length: 40 }, download))) expect(body).to.equal('hello\n');
      };
      try {
        // The first waves open what their concurrency needs, from the client and from the engine.
        await wave();
        await wave();
        await wave();
        const opened = proxy.connections();
        proxy.reset();
        await wave();
        await wave();
        expect(proxy.maxInFlight(), 'requests at once: more than a small pool would keep').to.be.above(16);
        expect(proxy.connections() - opened, 'connections opened by the warm waves').to.equal(0);
      } finally {
        agent.destroy();
      }
    });

    it('an object larger than the first GET reads its 64 KiB to the end: downloads of it, whole or a range, open no connection once warm', async () => {
      // The first GET asks for exactly the bytes it keeps; cutting its answer short would cost the connection it came on.
      const fetchBig = async (range?: string) => {
        const response = await get('/api/download?filepath=big.bin', range === undefined ? {} : { range });
        return Buffer.from(await response.arrayBuffer());
      };
      expect((await fetchBig()).equals(BIG)).to.equal(true);
      const opened = proxy.connections();
      for (let i = 0; i < 4; i++) {
        expect((await fetchBig()).equals(BIG), `download ${i}`).to.equal(true);
        expect((await fetchBig('bytes=0-99')).equals(BIG.subarray(0, 100)), `range ${i}`).to.equal(true);
      }
      expect(objectGets(proxy.seen).length, 'the GETs of the warm downloads').to.be.at.least(12);
      expect(proxy.connections() - opened, 'connections opened by the warm downloads').to.equal(0);
    });

    it('a listing sorted by size asks LIST only, never a HEAD per entry', async () => {
      const response = await get('/api/list?path=many&sort=size&limit=5');
      expect(response.status).to.equal(200);
      const body = await response.json() as { total: number; entries: Array<{ size: number }> };
      expect(body.total).to.equal(40);
      expect(body.entries.every((entry) => entry.size > 0)).to.equal(true);
      // The folder is looked up (its object probed, its prefix listed), then listed: the same few requests for 4 entries or 4,000.
      expect(heads(proxy.seen)).to.have.length(0);
      expect(proxy.seen.length, proxy.seen.map((request) => `${request.method} ${request.url}`).join('\n')).to.be.at.most(3);
    });

    it('an archive walk asks LIST, and each object is read by one GET, never a HEAD per entry', async () => {
      const response = await get('/api/archive?path=many&format=zip');
      const zip = Buffer.from(await response.arrayBuffer());
      expect(zipNames(zip).filter((name) => !name.endsWith('/'))).to.have.length(40);
      expect(heads(proxy.seen)).to.have.length(0);
      // One GET per object read; besides them, a fixed few: the folder looked up (twice: the request, then the walk) and listed.
      const reads = objectGets(proxy.seen).filter((request) => request.headers.range !== 'bytes=0-0');
      expect(reads).to.have.length(40);
      expect(proxy.seen.length - reads.length).to.be.at.most(6);
      expect(lists(proxy.seen).length).to.be.at.most(4);
    });

    it('an archive of many small objects fetches several at once', async () => {
      await (await get('/api/archive?path=many&format=zip')).arrayBuffer();
      expect(proxy.maxInFlight()).to.be.greaterThan(1);
    });
  });

  describe('ranges from single-range GETs', () => {
    it('assembles a multipart answer byte-exact, merging nearby ranges into one pinned GET', async () => {
      const ranges: Array<[number, number]> = [[0, 9], [70_000, 70_009], [70_100, 70_199], [250_000, 250_099]];
      const response = await get('/api/download?filepath=big.bin', { range: `bytes=${ranges.map(([start, end]) => `${start}-${end}`).join(',')}` });
      expect(response.status).to.equal(206);
      const parts = parseMultipart(Buffer.from(await response.arrayBuffer()), response.headers.get('content-type')!);
      expect(parts.map((part) => part.headers['content-range'])).to.deep.equal(ranges.map(([start, end]) => `bytes ${start}-${end}/${BIG.length}`));
      parts.forEach((part, index) => expect(part.body.equals(BIG.subarray(ranges[index]![0], ranges[index]![1] + 1)), `part ${index}`).to.equal(true));
      const gets = objectGets(proxy.seen);
      // The first 64 KiB come with the checks; 70,000-70,199 is one GET; 250,000 another.
      expect(gets).to.have.length(3);
      for (const request of gets) expect(String(request.headers.range)).to.match(/^bytes=\d+-\d+$/);
      expect(gets[0]!.headers['if-match'], 'the first GET sees what is there').to.equal(undefined);
      expect(gets[1]!.headers['if-match'], 'pinned to the ETag the checks saw').to.match(/^"?[0-9a-f]{32}"?$/);
      expect(gets[2]!.headers['if-match']).to.equal(gets[1]!.headers['if-match']);
      expect(proxy.seen.some((request) => request.headers['if-range'] !== undefined || request.headers['if-none-match'] !== undefined), 'the client\'s conditionals never reach the engine').to.equal(false);
    });

    it('a whole download of a big object comes whole', async () => {
      const response = await get('/api/download?filepath=big.bin');
      expect(Buffer.from(await response.arrayBuffer()).equals(BIG)).to.equal(true);
    });

    it('a stale If-Range is answered 200 with the whole object; a current one 206', async () => {
      const stale = await get('/api/download?filepath=big.bin', { range: 'bytes=100-199', 'if-range': '"stale"' });
      expect(stale.status).to.equal(200);
      expect(Buffer.from(await stale.arrayBuffer()).equals(BIG)).to.equal(true);
      const etag = (await get('/api/download?filepath=big.bin', {}, 'HEAD')).headers.get('etag')!;
      const current = await get('/api/download?filepath=big.bin', { range: 'bytes=100-199', 'if-range': etag });
      expect(current.status).to.equal(206);
      expect(Buffer.from(await current.arrayBuffer()).equals(BIG.subarray(100, 200))).to.equal(true);
    });
  });

  describe('an object replaced mid-transfer', () => {
    it('cuts the response after the old bytes: never a splice of two versions', async () => {
      const key = `${PREFIX}replaced.bin`;
      const before = Buffer.alloc(1024 * 1024, 0x41);
      const after = Buffer.alloc(1024 * 1024, 0x42);
      await client.put(key, before);
      let open!: () => void;
      let arrived!: () => void;
      const gateOpen = new Promise<void>((resolve) => { open = resolve; });
      const pinnedArrived = new Promise<void>((resolve) => { arrived = resolve; });
      proxy.inject({ kind: 'gate', open: gateOpen, arrived }, 1, (request) => request.headers['if-match'] !== undefined);
      const response = await get('/api/download?filepath=replaced.bin');
      expect(response.status).to.equal(200);
      const reading = (async () => {
        const chunks: Buffer[] = [];
        try {
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
          return { body: Buffer.concat(chunks), cut: false };
        } catch {
          return { body: Buffer.concat(chunks), cut: true };
        }
      })();
      await pinnedArrived;
      await client.put(key, after);
      open();
      const { body, cut } = await reading;
      expect(cut, 'the response was cut').to.equal(true);
      expect(body.length).to.be.below(before.length);
      expect(body.every((byte) => byte === 0x41), 'only bytes of the version the checks saw').to.equal(true);
    });
  });

  describe('engine failures', () => {
    it('SlowDown is 503 UNAVAILABLE with the engine\'s Retry-After, once the retries are spent', async () => {
      proxy.inject({ kind: 'answer', status: 503, code: 'SlowDown', headers: { 'retry-after': '7' } }, 3);
      const response = await get('/api/download?filepath=hello.txt');
      expect(response.status).to.equal(503);
      expect(response.headers.get('retry-after')).to.equal('7');
      expect((await response.json() as { code: string }).code).to.equal('UNAVAILABLE');
      expect(proxy.seen, 'sent three times').to.have.length(3);
    });

    it('one SlowDown is retried before any byte is sent, and the client never sees it', async () => {
      proxy.inject({ kind: 'answer', status: 503, code: 'SlowDown' }, 1);
      const response = await get('/api/download?filepath=hello.txt');
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('hello\n');
    });

    it('AccessDenied and an archived object not restored are 403 NOT_READABLE', async () => {
      for (const [status, code] of [[403, 'AccessDenied'], [403, 'InvalidObjectState']] as const) {
        proxy.inject({ kind: 'answer', status, code }, 1);
        const response = await get('/api/download?filepath=hello.txt');
        expect(response.status, code).to.equal(403);
        expect((await response.json() as { code: string }).code).to.equal('NOT_READABLE');
      }
    });

    it('a connection cut mid-body cuts the response: never a short body that looks whole', async () => {
      proxy.inject({ kind: 'cut', afterBytes: 4096 }, 1, (request) => request.headers['if-match'] !== undefined);
      const response = await get('/api/download?filepath=big.bin');
      expect(response.status).to.equal(200);
      let cut = false;
      let bytes = 0;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
      } catch {
        cut = true;
      }
      expect(cut).to.equal(true);
      expect(bytes).to.be.below(BIG.length);
    });

    it('the engine stopped: 412 FSTYPE_UNAVAILABLE and /readyz 503, the other layer still served, and all well once it is back', async () => {
      await proxy.goDown();
      try {
        for (const path of ['/api/download?filepath=hello.txt', '/api/list?path=marked', '/api/archive?path=marked']) {
          const response = await get(path);
          expect(response.status, path).to.equal(412);
          expect((await response.json() as { code: string }).code).to.equal('FSTYPE_UNAVAILABLE');
        }
        const ready = await fetch(`${server.url}/readyz`);
        expect(ready.status).to.equal(503);
        expect(await ready.text()).to.include('store');
        const onDisk = await get('/api/download?filepath=local.txt&fstype=local');
        expect(onDisk.status).to.equal(200);
        expect(await onDisk.text()).to.equal('on disk\n');
      } finally {
        await proxy.comeBack();
      }
      expect((await fetch(`${server.url}/readyz`)).status).to.equal(200);
      const back = await get('/api/download?filepath=hello.txt');
      expect(back.status).to.equal(200);
      expect(await back.text()).to.equal('hello\n');
    });

    it('the real engine\'s gateway killed mid-transfer: the response is cut, then 412, /readyz 503, the other layer served, and all well once it is back', async () => {
      const direct = await startTestServer({ defaultLayer: 'store', layers: { store: layerOf(store.endpoint, { maxFileSize: '1GB' }), local: { root: local.dir } } });
      const huge = Buffer.alloc(64 * 1024 * 1024, 0x5a);
      await client.put(`${PREFIX}huge.bin`, huge);
      const ask = (path: string) => fetch(`${direct.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      try {
        const response = await ask('/api/download?filepath=huge.bin');
        expect(response.status).to.equal(200);
        const reader = response.body!.getReader();
        let bytes = (await reader.read()).value!.length;
        // The client stops reading; filegate stops reading the engine; the engine goes away.
        await setGateway(store, 'stop');
        let cut = false;
        try {
          for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
            expect(chunk.value.every((byte: number) => byte === 0x5a)).to.equal(true);
            bytes += chunk.value.length;
          }
        } catch {
          cut = true;
        }
        expect(cut, 'the response was cut').to.equal(true);
        expect(bytes).to.be.below(huge.length);
        const refused = await ask('/api/download?filepath=hello.txt');
        expect(refused.status).to.equal(412);
        expect((await refused.json() as { code: string }).code).to.equal('FSTYPE_UNAVAILABLE');
        expect((await fetch(`${direct.url}/readyz`)).status).to.equal(503);
        const onDisk = await ask('/api/download?filepath=local.txt&fstype=local');
        expect(await onDisk.text()).to.equal('on disk\n');
      } finally {
        await setGateway(store, 'start');
      }
      try {
        expect((await fetch(`${direct.url}/readyz`)).status).to.equal(200);
        const back = await ask('/api/download?filepath=hello.txt');
        expect(await back.text()).to.equal('hello\n');
      } finally {
        await client.delete(`${PREFIX}huge.bin`);
        await direct.close();
      }
    });

    it('an engine that cannot be reached at start-up does not stop the service', async () => {
      const down = await startEngineProxy(store.endpoint);
      await down.goDown();
      const late = await startTestServer({ defaultLayer: 'store', layers: { store: layerOf(down.endpoint), local: { root: local.dir } } });
      try {
        expect((await fetch(`${late.url}/readyz`)).status).to.equal(503);
        const response = await fetch(`${late.url}/api/download?filepath=hello.txt`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).to.equal(412);
        await down.comeBack();
        expect((await fetch(`${late.url}/readyz`)).status).to.equal(200);
        const served = await fetch(`${late.url}/api/download?filepath=hello.txt`, { headers: { authorization: `Bearer ${token}` } });
        expect(await served.text()).to.equal('hello\n');
      } finally {
        await late.close();
        await down.close();
      }
    });

    it('wrong credentials and a missing bucket are 412 FSTYPE_UNAVAILABLE', async () => {
      const wrong = await startTestServer({
        layers: {
          badKeys: layerOf(store.endpoint, { credentials: { accessKeyId: KEY_ID_MARK, secretAccessKey: SECRET_MARK } }),
          noBucket: layerOf(store.endpoint, { bucket: 'no-such-bucket-of-filegate' }),
        },
        defaultLayer: 'badKeys',
      });
      try {
        for (const layer of ['badKeys', 'noBucket']) {
          const response = await fetch(`${wrong.url}/api/download?filepath=hello.txt&fstype=${layer}`, { headers: { authorization: `Bearer ${token}` } });
          expect(response.status, layer).to.equal(412);
          const text = await response.text();
          expect(JSON.parse(text).code).to.equal('FSTYPE_UNAVAILABLE');
          expect(text).to.not.include(SECRET_MARK);
          expect(text).to.not.include(KEY_ID_MARK);
        }
        expect((await fetch(`${wrong.url}/readyz`)).status).to.equal(503);
        const documents = await Promise.all(['/openapi.json', '/metrics', '/readyz'].map(async (path) => (await fetch(`${wrong.url}${path}`)).text()));
        for (const text of [...documents, wrong.rawLogs()]) {
          expect(text).to.not.include(SECRET_MARK);
          expect(text).to.not.include(KEY_ID_MARK);
        }
      } finally {
        await wrong.close();
      }
    });
  });

  describe('credentials', () => {
    it('never appear in a log line, an error, /openapi.json or /metrics', async () => {
      await get('/api/download?filepath=hello.txt');
      await get('/api/download?filepath=nope.txt');
      proxy.inject({ kind: 'answer', status: 500, code: 'InternalError' }, 3);
      await get('/api/download?filepath=hello.txt');
      const documents = await Promise.all(['/openapi.json', '/metrics'].map(async (path) => (await fetch(`${server.url}${path}`)).text()));
      for (const text of [...documents, server.rawLogs()]) {
        expect(text).to.not.include(store.secretAccessKey);
        expect(text).to.not.include(store.accessKeyId);
      }
    });
  });

  describe('validators', () => {
    it('a listing says the same time as the download\'s Last-Modified (radosgw\'s LIST has milliseconds, its GET seconds)', async () => {
      const listed = await (await get('/api/list?path=/&limit=1000')).json() as { entries: Array<{ name: string; modified: string }> };
      const modified = listed.entries.find((entry) => entry.name === 'hello.txt')!.modified;
      const lastModified = (await get('/api/download?filepath=hello.txt', {}, 'HEAD')).headers.get('last-modified')!;
      expect(Date.parse(modified)).to.equal(Date.parse(lastModified));
    });

    it('the ETag derives from the engine\'s, and two servers of the same bucket agree', async () => {
      const other = await startTestServer({ defaultLayer: 'store', layers: { store: layerOf(store.endpoint) } });
      try {
        const a = await get('/api/download?filepath=hello.txt', {}, 'HEAD');
        const b = await fetch(`${other.url}/api/download?filepath=hello.txt`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
        expect(a.headers.get('etag')).to.equal(b.headers.get('etag'));
        expect(a.headers.get('last-modified')).to.equal(b.headers.get('last-modified'));
        const head = await client.head(`${PREFIX}hello.txt`);
        expect(a.headers.get('etag')).to.include(head.etag.replace(/"/g, ''));
        const notModified = await get('/api/download?filepath=hello.txt', { 'if-none-match': a.headers.get('etag')! });
        expect(notModified.status).to.equal(304);
      } finally {
        await other.close();
      }
    });
  });
});
