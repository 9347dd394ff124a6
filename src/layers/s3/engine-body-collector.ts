// Bounds the garbage that object bodies leave in memory: a young-generation collection after every few MiB read from an engine.

import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Engine body bytes between two collections. Node's HTTP client hands every
 * body chunk over in a buffer of its own (its parser copies each one out of
 * the socket's read), so a download's freed chunks pile up until V8 collects
 * the young generation, which it does for them only once their buffers
 * reach 32 MiB (twice its default semi-space, whatever
 * `--max-semi-space-size` says). Measured on a 1 GB object, the first
 * download added 26-40 MiB to the RSS without this; 10-21 MiB with a
 * collection every 8 MiB, 5-11 MiB every 4 MiB, and no slower (rather
 * faster: freed buffers are reused while still in the cache). A scavenge of
 * filegate's young generation takes about 1 ms: some 180 a second at
 * 750 MB/s. See docs/decisions.md, "Object bodies: a minor GC every 4 MiB".
 */
export const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * Counts body bytes and says when a collection is due: the pure part of the
 * collector, so its arithmetic is tested without a garbage collector.
 */
export class CollectionSchedule {
  private pending = 0;

  constructor(private readonly everyBytes: number) {}

  /** Notes `bytes` more read; true when a collection is due now (the count then starts again). */
  note(bytes: number): boolean {
    this.pending += bytes;
    if (this.pending < this.everyBytes) return false;
    this.pending = 0;
    return true;
  }
}

type MinorCollect = () => void;

/**
 * V8's `gc` function, reached without starting the process with a flag:
 * `--expose-gc` set at run time applies to contexts created afterwards, so a
 * fresh context hands it over. A collection of the young generation only
 * (`type: "minor"`, a scavenge) is asked for: the garbage is young, and a
 * full collection would walk the whole heap. Null where V8 refuses.
 */
function reachMinorCollect(): MinorCollect | null {
  try {
    let gc = (globalThis as { gc?: unknown }).gc;
    if (typeof gc !== 'function') {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as unknown;
    }
    if (typeof gc !== 'function') return null;
    const collect = gc as (options: { type: 'minor' }) => void;
    return () => collect({ type: 'minor' });
  } catch {
    return null;
  }
}

/** The process's collector: every engine body in the process counts towards the same schedule. */
class EngineBodyCollector {
  private readonly schedule = new CollectionSchedule(COLLECT_EVERY_BYTES);
  private collect: MinorCollect | null | undefined;
  /** Collections asked for so far (tests read it). */
  collections = 0;

  /** Notes `bytes` of an engine body read; collects the young generation when the schedule says so. */
  note(bytes: number): void {
    if (!this.schedule.note(bytes)) return;
    // Reached on first use, not at import: a process that never reads an object store sets no flag.
    if (this.collect === undefined) this.collect = reachMinorCollect();
    if (this.collect === null) return;
    this.collect();
    this.collections += 1;
  }
}

export const engineBodyCollector = new EngineBodyCollector();
