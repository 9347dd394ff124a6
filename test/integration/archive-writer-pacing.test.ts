// The archive writer lets other requests run while it writes many small files to a client that never pushes back: counted in turns of the event loop, not in milliseconds.

import { expect } from 'chai';
import { Writable } from 'node:stream';
import { walkSelection } from '../../src/archives/archive-walk.js';
import { writeArchive, type ArchiveFormat } from '../../src/archives/send-archive.js';
import type { Principal } from '../../src/auth/principal.js';
import { configSchema } from '../../src/config/schema.js';
import { createLayers } from '../../src/layers/create-layers.js';
import type { Layer } from '../../src/layers/layer.js';
import { parseLayerPath } from '../../src/paths/layer-path.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { TEST_SECRET } from '../helpers/server.js';
import { countTurnsDuring } from '../helpers/event-loop.js';

const FILES = 2000;
const EVERYONE: Principal = { subject: 'tester', scopes: new Set(['files:archive']), paths: null, fstypes: null };

/** A destination that takes every chunk at once: the writer never waits on it. */
function fastSink(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

describe('the archive writer and the event loop (regression: 10,000 small entries ran with no turn of the loop for hundreds of ms)', () => {
  let tree: TempDir;
  let layer: Layer;

  before(async () => {
    tree = tempDir('filegate-writer-pacing-');
    for (let index = 0; index < FILES; index += 1) tree.file(`many/f${index}.txt`, 'x'.repeat(1024));
    const config = configSchema.parse({ layers: { OsFs: { root: tree.dir } }, auth: { secret: TEST_SECRET } });
    layer = (await createLayers(config)).byName.get('OsFs')!;
  });

  after(() => tree?.remove());

  // ZIP only: archiver's tar turns the loop after every entry on its own (setImmediate in its queue).
  for (const format of ['zip'] satisfies ArchiveFormat[]) {
    it(`a ${format} of ${FILES} files of 1 KiB to a client that never pushes back lets the event loop turn at least once every 64 entries`, async () => {
      const selection = await walkSelection(layer, EVERYONE, [parseLayerPath('many', 'path')], { maxEntries: 100_000, maxBytes: 1024 ** 3 });
      expect(selection.entries.length).to.equal(FILES + 1);
      const { result: outcome, turns } = await countTurnsDuring(() =>
        writeArchive(fastSink(), layer, EVERYONE, selection, { format, filename: `many.${format}`, zipCompression: 'store', gzipLevel: 1 }),
      );
      expect(outcome.completed).to.equal(true);
      expect(outcome.entries).to.equal(FILES + 1);
      expect(turns, `${turns} turns of the event loop for ${FILES} entries`).to.be.at.least(Math.floor(FILES / 64));
    });
  }
});
