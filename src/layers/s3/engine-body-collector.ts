// Bounds the garbage that object bodies leave in memory: buffers freed as soon as their bytes are copied, and a young-generation collection after every few MiB of the others.

import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Bytes of engine buffers left to the collector (those `release` could not
 * free: an archive's chunks, held until it has written them; a read that is
 * a slice of a larger buffer) between two young-generation collections.
 * Node's HTTP client hands every body chunk over in a buffer of its own (its
 * parser copies each one out of the socket's read), and V8 collects the
 * young generation for such buffers only once they reach 32 MiB (twice its
 * default semi-space, whatever `--max-semi-space-size` says). Measured on a
 * 1 GB object before downloads freed their buffers, the first download added
 * 26-40 MiB to the RSS without collections; 10-21 MiB with one every 8 MiB,
 * 5-11 MiB every 4 MiB. A scavenge of filegate's young generation takes
 * 0.3-1 ms. See docs/decisions.md, "Object bodies: buffers freed as soon as
 * they are copied".
 */
export const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * What a byte of a buffer `release` freed counts towards the next
 * collection, next to a byte left to the collector. A freed buffer still
 * leaves young garbage behind: its Buffer and ArrayBuffer objects and the
 * stream's objects for each read, about 6 KB for every 64 KiB read. Left to
 * V8, a download would fill both 16 MiB halves of the young generation
 * before its first scavenge (the first 1 GB download added 15-17 MiB to
 * the RSS); at 1/16 a download, whose reads and chunks are both freed,
 * collects once per 32 MiB of body, and the first 1 GB download adds 2-3
 * MiB. That is 32 scavenges per GB, against 256 when nothing was freed.
 */
export const FREED_BYTE_WEIGHT = 1 / 16;

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
type Transfer = (this: ArrayBuffer, newLength?: number) => ArrayBuffer;

/**
 * A function V8 gives only behind `flag`: `own` where this context already
 * has it; otherwise `flag` is set at run time, which applies to contexts
 * created afterwards, and a fresh context hands the function over
 * (`expression` evaluated there). Null where neither way gives a function.
 */
function reachBehindFlag(own: unknown, flag: string, expression: string): ((...args: never[]) => unknown) | null {
  if (typeof own === 'function') return own as (...args: never[]) => unknown;
  try {
    v8.setFlagsFromString(flag);
    const other = vm.runInNewContext(expression) as unknown;
    return typeof other === 'function' ? (other as (...args: never[]) => unknown) : null;
  } catch {
    return null;
  }
}

/**
 * `ArrayBuffer.prototype.transfer` (ES2024): native from Node 21; Node 20's
 * V8 has it behind `--harmony-rab-gsab-transfer`. The function of a fresh
 * context works on the ArrayBuffers of every context.
 */
function reachTransfer(): Transfer | null {
  const own = (ArrayBuffer.prototype as { transfer?: unknown }).transfer;
  return reachBehindFlag(own, '--harmony-rab-gsab-transfer', 'ArrayBuffer.prototype.transfer') as Transfer | null;
}

let transfer: Transfer | null | undefined;

/**
 * Frees the memory of `buffer` now, when it is the whole of its ArrayBuffer
 * (a buffer of its own, as Node hands over each socket read and each body
 * chunk, never a slice of Node's pool or of another buffer): the
 * ArrayBuffer is transferred to a new one of length 0, which detaches it and
 * lets its memory go at once. `buffer` then reads as empty, so only a buffer
 * whose bytes nothing will read again may be given. False, and nothing done,
 * for any other buffer, or where the runtime cannot transfer.
 *
 * Why not leave it to the collector: V8 counts the ArrayBuffer memory
 * allocated since its last full collection against the old generation's
 * room (`OldGenerationSpaceAvailable`), and starts a full marking once that
 * room is under the young generation's size. Right after a full collection
 * the room is as small as 24 MiB (8 MiB of growth step plus the 16 MiB
 * young generation); two buffers of every read between collections every
 * 4 MiB (the socket's read and the parser's copy) took 8 MiB of it, so a
 * stream could run one full collection after another (4-28 per GB).
 */
export function releaseBuffer(buffer: Buffer): boolean {
  const whole = buffer.buffer;
  if (buffer.byteOffset !== 0 || buffer.byteLength !== whole.byteLength || buffer.byteLength === 0) return false;
  if (!(whole instanceof ArrayBuffer)) return false;
  if (transfer === undefined) transfer = reachTransfer();
  if (transfer === null) return false;
  transfer.call(whole, 0);
  return true;
}

/**
 * V8's `gc` function, behind `--expose-gc`. A collection of the young
 * generation only (`type: "minor"`, a scavenge) is asked for: the garbage is
 * young, and a full collection would walk the whole heap. Null where V8
 * refuses.
 */
function reachMinorCollect(): MinorCollect | null {
  const gc = reachBehindFlag((globalThis as { gc?: unknown }).gc, '--expose-gc', 'gc') as ((options: { type: 'minor' }) => void) | null;
  return gc === null ? null : () => gc({ type: 'minor' });
}

/** The process's collector: every engine body in the process counts towards the same schedule. */
class EngineBodyCollector {
  private readonly schedule = new CollectionSchedule(COLLECT_EVERY_BYTES);
  private collect: MinorCollect | null | undefined;
  /** Collections asked for so far (tests read it). */
  collections = 0;
  /** Bytes freed by `release` so far (tests read it). */
  releasedBytes = 0;

  /** Frees `buffer` now where `releaseBuffer` can, and counts it towards the next collection (freed, at `FREED_BYTE_WEIGHT`). Only for a buffer nothing will read again. */
  release(buffer: Buffer): void {
    const bytes = buffer.length;
    if (releaseBuffer(buffer)) {
      this.releasedBytes += bytes;
      this.note(bytes * FREED_BYTE_WEIGHT);
    } else {
      this.note(bytes);
    }
  }

  /** Notes `bytes` of engine buffers left to the collector (or their weight); collects the young generation when the schedule says so. */
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
