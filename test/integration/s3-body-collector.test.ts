// A big object read from the engine leaves little garbage behind: a download frees each socket read and each body chunk as soon as its bytes are copied; a reader that holds chunks (an archive) leaves them to a young-generation GC every COLLECT_EVERY_BYTES. Either way the bytes come exact.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { EngineClient } from '../../src/layers/s3/engine-client.js';
import { COLLECT_EVERY_BYTES, engineBodyCollector, FREED_BYTE_WEIGHT } from '../../src/layers/s3/engine-body-collector.js';
import { createTestBucket, startObjectStore, type ObjectStore } from '../helpers/object-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const PREFIX = 'collect/';
// A collection restarts the count at the chunk that reached the threshold, so each may take one chunk
// (at most 256 KiB here) more than the threshold; the first 64 KiB come with the checks' GET.
const SLACK = 256 * 1024;
const HELD = 64 * 1024;
const OBJECT = randomBytes(3 * (COLLECT_EVERY_BYTES + SLACK) + HELD + 12_345);

describe('s3 layer: object bodies freed or collected as they are read (radosgw)', function () {
  this.timeout(120_000);
  let store: ObjectStore;
  let client: EngineClient;
  let server: TestServer;
  let token: string;

  before(async () => {
    store = await startObjectStore();
    client = await createTestBucket();
    await client.put(`${PREFIX}big/big.bin`, OBJECT);
    server = await startTestServer({
      defaultLayer: 'store',
      layers: {
        store: {
          driver: 's3',
          endpoint: store.endpoint,
          region: store.region,
          bucket: client.bucket,
          prefix: PREFIX,
          forcePathStyle: true,
          credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
        },
      },
    });
    token = await hsToken({ scope: 'files:read files:archive' });
  });

  after(async () => {
    await server?.close();
    client?.close();
  });

  function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  }

  it('a whole download frees every socket read and body chunk once copied, needs at most one collection, and comes byte for byte', async () => {
    const collections = engineBodyCollector.collections;
    const released = engineBodyCollector.releasedBytes;
    const response = await get('/api/download?filepath=big/big.bin');
    expect(response.status).to.equal(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(OBJECT)).to.equal(true);
    // The body after the held bytes comes twice: in the socket's reads and in the parser's copies.
    // The read the headers came in is not freed (at most 64 KiB of body).
    expect(engineBodyCollector.releasedBytes - released).to.be.at.least(2 * (OBJECT.length - HELD) - 64 * 1024);
    // Freed bytes weigh FREED_BYTE_WEIGHT: at most one collection here (the count is process-wide, so one may be due
    // from earlier reads), where bytes left to the collector would have taken three.
    const weighed = (2 * OBJECT.length * FREED_BYTE_WEIGHT) / COLLECT_EVERY_BYTES;
    expect(weighed).to.be.below(1);
    expect(engineBodyCollector.collections - collections).to.be.at.most(1);
  });

  it('a range read across many chunks is exact and freed too', async () => {
    const released = engineBodyCollector.releasedBytes;
    const start = 1_000_003;
    const end = start + 2 * (COLLECT_EVERY_BYTES + SLACK) + 777;
    const response = await get('/api/download?filepath=big/big.bin', { range: `bytes=${start}-${end}` });
    expect(response.status).to.equal(206);
    expect(Buffer.from(await response.arrayBuffer()).equals(OBJECT.subarray(start, end + 1))).to.equal(true);
    expect(engineBodyCollector.releasedBytes - released).to.be.at.least(2 * (end - start) - 64 * 1024);
  });

  it('ranges fetched in one GET, several from one chunk, each come exact: a chunk is freed only once its last piece is copied', async () => {
    // 16 ranges (transfer.maxRanges) of 5,000 bytes, 1,000 bytes apart: one GET (they are closer than the merge gap),
    // several in each chunk, and more than 64 KiB in all (a smaller body is read whole, not copied as it streams).
    const ranges = Array.from({ length: 16 }, (_, i) => [200_000 + i * 6_000, 200_000 + i * 6_000 + 4_999] as const);
    const response = await get('/api/download?filepath=big/big.bin', { range: `bytes=${ranges.map(([a, b]) => `${a}-${b}`).join(',')}` });
    expect(response.status).to.equal(206);
    const type = response.headers.get('content-type') ?? '';
    const boundary = /boundary=([^;]+)/.exec(type)?.[1];
    expect(boundary, type).to.be.a('string');
    const body = Buffer.from(await response.arrayBuffer());
    const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1);
    expect(parts).to.have.length(ranges.length);
    parts.forEach((part, i) => {
      const [a, b] = ranges[i]!;
      const bytes = Buffer.from(part.slice(part.indexOf('\r\n\r\n') + 4, -2), 'latin1');
      expect(bytes.equals(OBJECT.subarray(a, b + 1)), `part ${i}`).to.equal(true);
    });
  });

  it('an archive holds the chunks it is given: they are left to the collector, and its bytes are exact', async () => {
    const collections = engineBodyCollector.collections;
    const response = await get('/api/archive?path=big&format=tar.gz');
    expect(response.status).to.equal(200);
    const tar = gunzipSync(Buffer.from(await response.arrayBuffer()));
    const at = tar.indexOf(OBJECT.subarray(0, 64));
    expect(at).to.be.greaterThan(0);
    expect(tar.subarray(at, at + OBJECT.length).equals(OBJECT)).to.equal(true);
    expect(engineBodyCollector.collections - collections).to.be.at.least(3);
  });
});
