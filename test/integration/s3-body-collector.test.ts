// A big object read from the engine is collected as it goes (a young-generation GC every COLLECT_EVERY_BYTES), and still comes byte for byte.

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { EngineClient } from '../../src/layers/s3/engine-client.js';
import { COLLECT_EVERY_BYTES, engineBodyCollector } from '../../src/layers/s3/engine-body-collector.js';
import { createTestBucket, startObjectStore, type ObjectStore } from '../helpers/object-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const PREFIX = 'collect/';
// A collection restarts the count at the chunk that reached the threshold, so each may take one chunk
// (at most 256 KiB here) more than the threshold; the first 64 KiB come with the checks' GET.
const SLACK = 256 * 1024;
const OBJECT = randomBytes(3 * (COLLECT_EVERY_BYTES + SLACK) + 64 * 1024 + 12_345);

describe('s3 layer: object bodies collected as they are read (radosgw)', function () {
  this.timeout(120_000);
  let store: ObjectStore;
  let client: EngineClient;
  let server: TestServer;
  let token: string;

  before(async () => {
    store = await startObjectStore();
    client = await createTestBucket();
    await client.put(`${PREFIX}big.bin`, OBJECT);
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
    token = await hsToken({ scope: 'files:read' });
  });

  after(async () => {
    await server?.close();
    client?.close();
  });

  it('a whole download collects once per threshold read and comes byte for byte', async () => {
    const before = engineBodyCollector.collections;
    const response = await fetch(`${server.url}/api/download?filepath=big.bin`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).to.equal(200);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.equals(OBJECT)).to.equal(true);
    expect(engineBodyCollector.collections - before).to.be.at.least(3);
  });

  it('a range read across thresholds is collected too, and is exact', async () => {
    const before = engineBodyCollector.collections;
    const start = 1_000_003;
    const end = start + 2 * (COLLECT_EVERY_BYTES + SLACK) + 777;
    const response = await fetch(`${server.url}/api/download?filepath=big.bin`, { headers: { authorization: `Bearer ${token}`, range: `bytes=${start}-${end}` } });
    expect(response.status).to.equal(206);
    expect(Buffer.from(await response.arrayBuffer()).equals(OBJECT.subarray(start, end + 1))).to.equal(true);
    expect(engineBodyCollector.collections - before).to.be.at.least(2);
  });
});
