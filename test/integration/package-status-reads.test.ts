// A package's status read while its build ends: the answer is the manifest's (or the build's outcome), never "interrupted".

import { expect } from 'chai';
import path from 'node:path';
import type { Principal } from '../../src/auth/principal.js';
import { configSchema } from '../../src/config/schema.js';
import { createLayers } from '../../src/layers/create-layers.js';
import { createLogger } from '../../src/logger.js';
import { PackageService } from '../../src/packages/package-service.js';
import { FolderPackageStore, type PackageStore } from '../../src/packages/package-store.js';
import { parseLayerPath } from '../../src/paths/layer-path.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { TEST_SECRET } from '../helpers/server.js';

const HEARTBEAT_MS = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a package status read that races the end of its build', function () {
  this.timeout(20_000);
  let tree: TempDir;

  before(() => {
    tree = tempDir('filegate-package-reads-');
    tree.file('data/sel/a.txt', 'alpha\n');
  });

  after(() => tree?.remove());

  it('a manifest read while the build ran, judged once the build has let it go, is still "running" (not failed as interrupted); the next read is "ready"', async () => {
    const config = configSchema.parse({ layers: { OsFs: { root: path.join(tree.dir, 'data') } }, auth: { secret: TEST_SECRET } });
    const layers = await createLayers(config);
    const folder = new FolderPackageStore(path.join(tree.dir, 'packages'), { readSize: config.transfer.readSize, pool: layers.pool });
    // The build waits at its archive until `release`; the first read that finds the package running
    // lets the build finish, waits until the service holds nothing, and until the manifest it read is
    // more than three heartbeats old, and only then hands it over: a read whose answer arrives late.
    let release: () => void = () => {};
    const building = new Promise<void>((resolve) => (release = resolve));
    let lateRead = false;
    let service: PackageService;
    const store: PackageStore = {
      init: () => folder.init(),
      newId: () => folder.newId(),
      create: (manifest) => folder.create(manifest),
      update: (id, changes, when) => folder.update(id, changes, when),
      list: () => folder.list(),
      remove: (id) => folder.remove(id),
      archives: folder.archives,
      async openArchive(manifest, expectedBytes) {
        await building;
        return (folder as PackageStore).openArchive(manifest, expectedBytes);
      },
      async read(id) {
        const manifest = await folder.read(id);
        if (manifest?.status === 'running' && !lateRead) {
          lateRead = true;
          release();
          await service.idle();
          await sleep(4 * HEARTBEAT_MS);
        }
        return manifest;
      },
    };
    service = new PackageService(
      store,
      layers,
      {
        retentionMs: 3_600_000,
        maxConcurrent: 1,
        heartbeatMs: HEARTBEAT_MS,
        sweepIntervalMs: 3_600_000,
        maxPerSubject: 10,
        maxBytesPerSubject: Number.MAX_SAFE_INTEGER,
        maxQueued: 10,
        limits: { maxEntries: 100, maxBytes: 1_000_000 },
        archive: { zipCompression: 'store', gzipLevel: 1 },
      },
      createLogger('silent'),
    );
    await service.start();
    try {
      const alice: Principal & { subject: string } = { subject: 'alice', scopes: new Set(['files:archive']), paths: null, fstypes: null };
      const created = await service.create(alice, { layer: 'OsFs', targets: [parseLayerPath('sel', 'path')], format: 'zip', filename: 'sel.zip' });
      let view = await service.find(alice, created.id);
      for (let tries = 0; !lateRead && tries < 200; tries += 1) {
        await sleep(5);
        view = await service.find(alice, created.id);
      }
      expect(lateRead, 'a read found the package running').to.equal(true);
      expect({ status: view?.status, error: view?.error }).to.deep.equal({ status: 'running', error: undefined });
      const after = await service.find(alice, created.id);
      expect(after?.status).to.equal('ready');
    } finally {
      service.stop();
    }
  });
});
