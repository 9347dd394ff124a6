// Builds one fixture tree for either storage driver, files in a temp folder (os) or objects in a fresh bucket of the test engine (s3), and the layer configs that serve folders of it, so one test table runs against both.

import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { EngineClient } from '../../src/layers/s3/engine-client.js';
import { tempDir, type TempDir } from './fixtures.js';
import { createTestBucket, startObjectStore, type ObjectStore } from './object-store.js';
import type { TestConfig } from './server.js';

export type Driver = 'os' | 's3';

/** Every driver the shared tables run against. */
export const DRIVERS: readonly Driver[] = ['os', 's3'];

/** One layer's config, as `startTestServer` takes it. */
export type LayerInput = TestConfig['layers'][string];

/** What the storage records for a file: its size and its time (on s3, the upload's in whole seconds, which cannot be set). */
export interface StoredFile {
  readonly size: number;
  readonly mtimeMs: number;
}

export interface LayerFixture {
  readonly driver: Driver;
  /**
   * A local temp folder of the test's own, on both drivers: outputs, child
   * configs, archives to open. On os it is also where the tree lives, so
   * what only a file system has (symlinks, FIFOs, times, names that are not
   * UTF-8) is made through it, by os-only code.
   */
  readonly local: TempDir;
  /**
   * Stores a file at `relative` (a path from the fixture's base, "/"
   * separated, taken literally: no segment is resolved). On s3 the upload
   * is queued: `flush()` waits for it; the returned promise may be awaited
   * too. Queued uploads run in any order: await one before storing the same
   * path again.
   */
  file(relative: string, content?: string | Buffer): Promise<void>;
  /** Makes a folder: on disk a directory, on s3 an empty `relative/` marker object. */
  folder(relative: string): Promise<void>;
  /** Removes the file at `relative`, or the folder and everything under it; runs after every operation queued before it. */
  remove(relative: string): Promise<void>;
  /** Stores on s3 what the local folder `relative` holds, under the same keys (on os it already is the tree). */
  fromLocal(relative: string): Promise<void>;
  /** Waits for every queued operation; rejects with the first that failed. */
  flush(): Promise<void>;
  /** The size and time the storage records for the file at `relative`. */
  stat(relative: string): Promise<StoredFile>;
  /**
   * A layer whose root is the folder `root` of the fixture ("data" → on os
   * `<local>/data`, on s3 the bucket's prefix "data/"), with `options`
   * (maxFileSize, types, hidden, …) laid over it. What lies outside `root`
   * in the fixture exists, and must stay out of the layer's reach.
   */
  layer(root: string, options?: Record<string, unknown>): LayerInput;
  /** Waits for what is queued, then removes the local folder and the large objects; call it once, in `after`. */
  cleanup(): Promise<void>;
}

// Uploads in flight at once: enough to hide the round trips, few enough for a 2-core machine shared with other runs.
const UPLOADS_IN_FLIGHT = 16;
// Objects at least this large are deleted at cleanup: the test engine keeps every object in memory until it stops.
const LARGE_OBJECT = 256 * 1024;

/**
 * A fixture for `driver`: on os a fresh temp folder, on s3 the same temp
 * folder (for local outputs) plus a fresh bucket of the per-process test
 * engine, which is started on first use (give the calling hook
 * `this.timeout(120_000)`).
 */
export async function layerFixture(driver: Driver): Promise<LayerFixture> {
  const local = tempDir(`filegate-${driver}-fixture-`);
  if (driver === 'os') return osFixture(local);
  try {
    const store = await startObjectStore();
    return s3Fixture(local, store, await createTestBucket());
  } catch (error) {
    local.remove();
    throw error;
  }
}

function osFixture(local: TempDir): LayerFixture {
  const at = (relative: string) => path.join(local.dir, relative);
  return {
    driver: 'os',
    local,
    async file(relative, content) {
      local.file(relative, content);
    },
    async folder(relative) {
      local.folder(relative);
    },
    async remove(relative) {
      rmSync(at(relative), { recursive: true, force: true });
    },
    async fromLocal() {},
    async flush() {},
    async stat(relative) {
      const stat = statSync(at(relative));
      return { size: stat.size, mtimeMs: stat.mtimeMs };
    },
    layer(root, options = {}) {
      return { root: at(root), ...options } as LayerInput;
    },
    async cleanup() {
      local.remove();
    },
  };
}

function s3Fixture(local: TempDir, store: ObjectStore, client: EngineClient): LayerFixture {
  const queue = createQueue(UPLOADS_IN_FLIGHT);
  const large = new Set<string>();

  /** Every key at or under `relative` (the object itself, and any below `relative/`). */
  async function keysUnder(relative: string): Promise<string[]> {
    const keys: string[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const page = await client.list(`${relative}/`, startAfter === undefined ? {} : { startAfter });
      keys.push(...page.objects.map((object) => object.key));
      if (!page.isTruncated || page.nextStartAfter === undefined) break;
      startAfter = page.nextStartAfter;
    }
    return keys;
  }

  const fixture: LayerFixture = {
    driver: 's3',
    local,
    file(relative, content = 'content\n') {
      const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      if (body.length >= LARGE_OBJECT) large.add(relative);
      return queue.add(() => client.put(relative, body).then(() => undefined));
    },
    folder(relative) {
      return queue.add(() => client.put(`${relative}/`, Buffer.alloc(0)).then(() => undefined));
    },
    remove(relative) {
      return queue.barrier(async () => {
        const keys = [relative, ...(await keysUnder(relative))];
        await Promise.all(keys.map((key) => client.delete(key)));
        for (const key of keys) large.delete(key);
      });
    },
    fromLocal(relative) {
      const walk = (folder: string): void => {
        for (const entry of readdirSync(path.join(local.dir, folder), { withFileTypes: true })) {
          const child = `${folder}/${entry.name}`;
          if (entry.isDirectory()) walk(child);
          else if (entry.isFile()) void fixture.file(child, readFileSync(path.join(local.dir, child)));
        }
      };
      walk(relative);
      return queue.settled();
    },
    flush() {
      return queue.settled();
    },
    async stat(relative) {
      await queue.settled();
      const head = await client.head(relative);
      return { size: head.size, mtimeMs: head.lastModifiedMs };
    },
    layer(root, options = {}) {
      return {
        driver: 's3',
        endpoint: store.endpoint,
        region: store.region,
        bucket: client.bucket,
        prefix: root === '' ? '' : `${root}/`,
        forcePathStyle: true,
        credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
        ...options,
      } as unknown as LayerInput;
    },
    async cleanup() {
      try {
        await queue.settled().catch(() => {});
        await Promise.all([...large].map((key) => client.delete(key).catch(() => {})));
      } finally {
        client.close();
        local.remove();
      }
    },
  };
  return fixture;
}

interface Queue {
  /** Runs `task` when a slot is free (and after the last barrier); the promise it returns never goes unhandled. */
  add(task: () => Promise<void>): Promise<void>;
  /** Runs `task` once everything queued before it has settled; later tasks wait for it. */
  barrier(task: () => Promise<void>): Promise<void>;
  /** Resolves when everything queued so far has settled; rejects with the first failure since the last call. */
  settled(): Promise<void>;
}

/** A bounded queue of storage operations: at most `limit` in flight, barriers for operations that must see the ones before. */
function createQueue(limit: number): Queue {
  const pending = new Set<Promise<void>>();
  const waiting: Array<() => void> = [];
  let running = 0;
  let gate: Promise<void> = Promise.resolve();
  let failure: unknown;

  const acquire = async () => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
  };
  const release = () => {
    running -= 1;
    waiting.shift()?.();
  };
  const track = (work: Promise<void>) => {
    const tracked = work.catch((error: unknown) => {
      failure ??= error;
      throw error;
    });
    // Marked handled here: a caller that does not await it still sees the failure in settled().
    tracked.catch(() => {});
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked)).catch(() => {});
    return tracked;
  };

  return {
    add(task) {
      const after = gate;
      return track(
        (async () => {
          await after;
          await acquire();
          try {
            await task();
          } finally {
            release();
          }
        })(),
      );
    },
    barrier(task) {
      const before = Promise.allSettled([...pending]);
      const work = track(before.then(() => task()));
      gate = work.catch(() => {});
      return work;
    },
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      if (failure !== undefined) {
        const error = failure;
        failure = undefined;
        throw error;
      }
    },
  };
}
