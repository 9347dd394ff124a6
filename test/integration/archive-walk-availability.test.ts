// An archive walk of a folder of 100,000 entries never holds the event loop: it yields between small batches, counts every entry it looks at toward archive.maxEntries, and stops at the next entry once the client leaves.

import { expect } from 'chai';
import { closeSync, openSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { walkSelection, type ArchiveLimits } from '../../src/archives/archive-walk.js';
import type { Principal } from '../../src/auth/principal.js';
import { configSchema } from '../../src/config/schema.js';
import { FilegateError } from '../../src/errors.js';
import { createLayers } from '../../src/layers/create-layers.js';
import type { Layer } from '../../src/layers/layer.js';
import { parseLayerPath } from '../../src/paths/layer-path.js';
import { expectError } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, TEST_SECRET, waitForLog, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const FILES = 100_000;
const NO_LIMIT: ArchiveLimits = { maxEntries: 1_000_000, maxBytes: 1024 ** 4 };
const EVERYONE: Principal = { subject: 'tester', scopes: new Set(['files:archive']), paths: null, fstypes: null };
const FLAT = parseLayerPath('flat', 'path');

/** The real layer, counting the entries it is asked to open, and keeping their paths in the order they were opened. */
function countingLayer(layer: Layer): { layer: Layer; opens: () => number; opened: string[] } {
  const opened: string[] = [];
  const counted = new Proxy(layer, {
    get(target, key) {
      if (key === 'open') {
        return (...args: Parameters<Layer['open']>) => {
          opened.push(args[0].text);
          return target.open(...args);
        };
      }
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { layer: counted, opens: () => opened.length, opened };
}

/**
 * Runs `walk` while counting the turns of the event loop (one setImmediate
 * each), and returns its result with how many entries had been opened at
 * each turn; `onTurn` runs at every turn.
 */
async function whileTurning<T>(opens: () => number, walk: () => Promise<T>, onTurn: (opened: number) => void = () => {}): Promise<{ result: T; seen: number[] }> {
  const seen: number[] = [];
  let running = true;
  const turn = () => {
    if (!running) return;
    seen.push(opens());
    onTurn(opens());
    setImmediate(turn);
  };
  setImmediate(turn);
  try {
    return { result: await walk(), seen };
  } finally {
    running = false;
  }
}

describe('archive walk of a folder of 100,000 empty files (each left out: allowEmpty is false)', function () {
  this.timeout(120_000);
  let tree: TempDir;
  let layer: Layer;

  before(async () => {
    tree = tempDir();
    const flat = tree.folder('flat');
    for (let index = 0; index < FILES; index += 1) closeSync(openSync(path.join(flat, `e${index}.txt`), 'w'));
    const config = configSchema.parse({ layers: { OsFs: { root: tree.dir } }, auth: { secret: TEST_SECRET } });
    layer = (await createLayers(config)).byName.get('OsFs')!;
  });

  after(() => tree?.remove());

  describe('walkSelection (in-process, the real "os" layer with its default inline I/O)', () => {
    it('lets the event loop turn between small batches while it opens the entries, with no signal, as a package build calls it (regression: it held the loop from the first entry to the last)', async () => {
      const { layer: counted, opens } = countingLayer(layer);
      const { result: selection, seen } = await whileTurning(opens, () => walkSelection(counted, EVERYONE, [FLAT], NO_LIMIT));
      const total = opens();
      expect(total, 'the folder and each of its entries opened once').to.equal(FILES + 1);
      // Turns taken after the first entry was opened and before the last one.
      const during = seen.filter((opened) => opened > 1 && opened < total);
      expect(during.length, 'event-loop turns while entries were being opened').to.be.at.least(100);
      // The most entries opened between two turns: one batch, not the folder.
      const marks = [...seen.filter((opened) => opened >= 1), total];
      const longest = Math.max(...marks.slice(1).map((opened, index) => opened - marks[index]!));
      expect(longest, 'entries opened between two turns of the event loop').to.be.at.most(256);
      expect(selection.skipped).to.equal(FILES);
      expect(selection.looked).to.equal(FILES + 1);
    });

    it('opens the entries in name order, though its names were sorted in runs of 1,024 merged between turns (sortInTurns)', async () => {
      const { layer: counted, opened } = countingLayer(layer);
      await walkSelection(counted, EVERYONE, [FLAT], NO_LIMIT);
      // The folder, then e0.txt, e1.txt, e10.txt, ...: not the order the files were made in, nor the folder's own.
      expect(opened).to.deep.equal(['flat', ...Array.from({ length: FILES }, (_, index) => `flat/e${index}.txt`).sort()]);
    });

    it('stops at the next entry once its signal is aborted, with what it has', async () => {
      const { layer: counted, opens } = countingLayer(layer);
      const controller = new AbortController();
      let openedAtAbort: number | null = null;
      const { result: selection } = await whileTurning(
        opens,
        () => walkSelection(counted, EVERYONE, [FLAT], NO_LIMIT, controller.signal),
        (opened) => {
          if (openedAtAbort === null && opened >= 1000) {
            openedAtAbort = opened;
            controller.abort();
          }
        },
      );
      expect(openedAtAbort, 'the abort came while the walk ran').to.be.a('number').and.below(FILES);
      expect(opens() - openedAtAbort!, 'entries opened after the abort').to.equal(0);
      expect(selection.looked).to.equal(openedAtAbort);
    });

    it('counts the entries it leaves out toward maxEntries: ARCHIVE_TOO_LARGE at the first entry past it, not after the whole folder', async () => {
      const { layer: counted, opens } = countingLayer(layer);
      const error = await walkSelection(counted, EVERYONE, [FLAT], { ...NO_LIMIT, maxEntries: 1000 }).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error).to.be.instanceOf(FilegateError);
      expect((error as FilegateError).code).to.equal('ARCHIVE_TOO_LARGE');
      expect((error as FilegateError).message).to.match(/\b1000 entries\b/).and.match(/left out/);
      // The folder and 999 left-out entries are at the limit; the next name passes it, and is not even opened.
      expect(opens()).to.equal(1000);
    });
  });

  describe('GET /api/archive', () => {
    let server: TestServer;
    let token: string;

    before(async () => {
      server = await startTestServer({ layers: { OsFs: { root: tree.dir } }, archive: { maxEntries: 200_000 } });
      token = await hsToken({ scope: 'files:archive' });
    });

    after(async () => {
      await server?.close();
    });

    it('with the default maxEntries (10,000): 413 ARCHIVE_TOO_LARGE before any byte, though every entry would be left out (regression: walked to the end and sent an archive of one folder)', async () => {
      const defaults = await startTestServer({ layers: { OsFs: { root: tree.dir } } });
      try {
        const response = await fetch(`${defaults.url}/api/archive?path=flat`, { headers: { Authorization: `Bearer ${token}` } });
        expect(response.headers.get('content-disposition')).to.equal(null);
        const body = await expectError(response, 413, 'ARCHIVE_TOO_LARGE');
        expect(body.error).to.match(/\b10000 entries\b/);
      } finally {
        await defaults.close();
      }
    });

    it('a client that leaves during the walk stops it at the next entry: logged with the entries looked at, far fewer than the folder holds', async () => {
      await new Promise<void>((resolve) => {
        const request = http.get(`${server.url}/api/archive?path=flat`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'walk-left' }, agent: false }, () => resolve());
        request.on('error', () => resolve());
        // Leaves during the walk: with every entry walked, it has 100,001 to look at.
        setTimeout(() => request.destroy(), 50);
      });
      const line = await waitForLog(server, (entry) => entry.msg === 'archive walk stopped: the client left' && entry.reqId === 'walk-left', 30_000);
      expect(line.looked).to.be.a('number').and.below(FILES);
      expect(server.logs.filter((entry) => entry.msg === 'archive' && entry.reqId === 'walk-left')).to.deep.equal([]);
    });
  });
});
