// Table tests for BufferPool (sizing, the budget, recycling, the idle bound) and pumpPieces (order, back-pressure, failures, buffer release).

import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { BufferPool, pumpPieces, type PositionalRead } from '../../src/layers/descriptor-pump.js';
import type { BodyPiece, ByteRange } from '../../src/layers/layer.js';

const KB = 1024;
const MB = 1024 * KB;
/** A body far larger than any chunk: the size then depends on the share alone. */
const HUGE = 1024 ** 4;
const MIN_CHUNK = 64 * KB;

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
const sizeText = (n: number) => (n >= MB && n % MB === 0 ? `${n / MB} MB` : n >= KB && n % KB === 0 ? `${n / KB} KB` : `${n} B`);

/**
 * The buffer size a transfer of `bodyBytes` gets with `activeBefore`
 * transfers already running; releases everything after. Those hold one-byte
 * bodies (two minChunk buffers each), so the share decides, not the room left.
 */
function sizeWith(pool: BufferPool, activeBefore: number, bodyBytes: number): number {
  const held = Array.from({ length: activeBefore }, () => pool.acquire(1));
  const pair = pool.acquire(bodyBytes);
  held.push(pair);
  try {
    expect(pair[0].length, 'both buffers of a transfer have one size').to.equal(pair[1].length);
    expect(pair[0], 'two distinct buffers').to.not.equal(pair[1]);
    return pair[0].length;
  } finally {
    for (const buffers of held) pool.release(buffers, false);
  }
}

/**
 * Takes every idle buffer out of the pool by acquiring each size alone
 * (`bodyBytes` = the size gives exactly that size) and dropping the pair
 * unrecycled; returns the idle buffers found among `known`.
 */
function drainIdle(pool: BufferPool, known: ReadonlySet<Buffer>, maxChunk: number, minChunk = MIN_CHUNK): Buffer[] {
  const found: Buffer[] = [];
  for (let size = minChunk; size <= maxChunk; size *= 2) {
    for (;;) {
      const pair = pool.acquire(size);
      pool.release(pair, false);
      const recycled = pair.filter((buffer) => known.has(buffer));
      found.push(...recycled);
      if (recycled.length < 2) break;
    }
  }
  return found;
}

/** The pool lets go of every transfer: one acquired alone gets the full chunk again (a leaked `active` would halve the share). */
function expectAllReleased(pool: BufferPool, maxChunk: number): void {
  const pair = pool.acquire(HUGE);
  pool.release(pair, false);
  expect(pair[0].length, 'a transfer alone after all were released gets maxChunk again').to.equal(maxChunk);
}

describe('BufferPool', () => {
  describe('acquire: buffer size for [maxChunk, budget, transfers already running, body bytes]', () => {
    const cases: Array<[number, number, number, number, number, string]> = [
      [2 * MB, 32 * MB, 0, HUGE, 2 * MB, 'alone with a big body: maxChunk'],
      [2 * MB, 32 * MB, 0, 1 * 1024 * MB, 2 * MB, 'alone with a 1 GB body: maxChunk'],
      [2 * MB, 32 * MB, 7, HUGE, 2 * MB, '8 at once: the share (2 MB) still allows maxChunk'],
      [2 * MB, 32 * MB, 8, HUGE, 1 * MB, '9 at once: the share (1.78 MB) rounds down to 1 MB'],
      [2 * MB, 32 * MB, 15, HUGE, 1 * MB, '16 at once: 1 MB'],
      [2 * MB, 32 * MB, 16, HUGE, 512 * KB, '17 at once: 512 KB'],
      [2 * MB, 32 * MB, 99, HUGE, 128 * KB, '100 at once: the share (164 KB) rounds down to 128 KB'],
      [2 * MB, 32 * MB, 255, HUGE, 64 * KB, '256 at once: the share is exactly minChunk'],
      [2 * MB, 32 * MB, 299, HUGE, 64 * KB, '300 at once: never below minChunk'],
      [2 * MB, 1 * MB, 0, HUGE, 512 * KB, 'alone, budget smaller than 2 × maxChunk: half the budget'],
      [2 * MB, 256 * KB, 3, HUGE, 64 * KB, 'share below minChunk: minChunk'],
      [2 * MB, 32 * MB, 0, 100 * KB, 128 * KB, 'a 100 KB body: 128 KB'],
      [2 * MB, 32 * MB, 0, 1 * MB, 1 * MB, 'a 1 MB body: 1 MB'],
      [2 * MB, 32 * MB, 0, 1 * MB + 1, 2 * MB, 'a body one byte over 1 MB: 2 MB'],
      [2 * MB, 32 * MB, 0, 2 * MB - 1, 2 * MB, 'a body one byte under maxChunk: maxChunk'],
      [2 * MB, 32 * MB, 0, 2 * MB, 2 * MB, 'a body of exactly maxChunk: maxChunk'],
      [2 * MB, 32 * MB, 0, 64 * KB, 64 * KB, 'a 64 KB body: 64 KB'],
      [2 * MB, 32 * MB, 0, 1, 64 * KB, 'a one-byte body: minChunk'],
      [2 * MB, 32 * MB, 0, 0, 64 * KB, 'no range bytes at all (Buffers only): minChunk'],
      [2 * MB, 32 * MB, 99, 100 * KB, 128 * KB, 'a 100 KB body among 100 transfers: 128 KB'],
      [2 * MB, 32 * MB, 99, 50 * KB, 64 * KB, 'a 50 KB body among 100 transfers: minChunk'],
      [2 * MB, 32 * MB, 299, 1 * MB, 64 * KB, 'a 1 MB body among 300 transfers: the share wins, minChunk'],
      [96 * KB, 32 * MB, 0, HUGE, 96 * KB, 'non-power-of-two maxChunk (96 KB) alone: the cap'],
      [96 * KB, 32 * MB, 0, 80 * KB, 96 * KB, 'non-power-of-two maxChunk (96 KB), an 80 KB body: never above the cap'],
      [3 * MB, 32 * MB, 0, HUGE, 3 * MB, 'non-power-of-two maxChunk (3 MB) alone: the cap'],
      [3 * MB, 32 * MB, 0, 2.5 * MB, 3 * MB, 'non-power-of-two maxChunk (3 MB), a 2.5 MB body: never above the cap'],
      [3 * MB, 32 * MB, 0, 1.5 * MB, 2 * MB, 'non-power-of-two maxChunk (3 MB), a 1.5 MB body: 2 MB'],
    ];
    for (const [maxChunk, budget, activeBefore, bodyBytes, expected, what] of cases) {
      it(`${what}: [${sizeText(maxChunk)}, ${sizeText(budget)}, ${activeBefore}, ${bodyBytes === HUGE ? 'huge' : sizeText(bodyBytes)}] → ${sizeText(expected)}`, () => {
        const size = sizeWith(new BufferPool(maxChunk, budget), activeBefore, bodyBytes);
        expect(size, 'never above maxChunk').to.be.at.most(Math.max(maxChunk, MIN_CHUNK));
        expect(size, 'never below minChunk').to.be.at.least(MIN_CHUNK);
        expect(size).to.equal(expected);
      });
    }

    it('with a power-of-two maxChunk every size handed out is a power of two', () => {
      const pool = new BufferPool(2 * MB, 32 * MB);
      for (const activeBefore of [0, 1, 5, 9, 33, 77, 200]) {
        for (const bodyBytes of [0, 1, 1000, 65_535, 65_537, 100 * KB, 700 * KB, 1.5 * MB, 3 * MB, HUGE]) {
          const size = sizeWith(pool, activeBefore, bodyBytes);
          expect(isPowerOfTwo(size), `${activeBefore} running, body ${bodyBytes}: ${size}`).to.equal(true);
        }
      }
    });

    it('a custom minChunk is the floor', () => {
      expect(sizeWith(new BufferPool(1 * MB, 1 * MB, 16 * KB), 100, HUGE)).to.equal(16 * KB);
      expect(sizeWith(new BufferPool(1 * MB, 1 * MB, 16 * KB), 0, 100)).to.equal(16 * KB);
    });
  });

  describe('the budget holds for N transfers starting at once, before any refits and after: buffers above minChunk never exceed it', () => {
    // [maxChunk, budget]; N runs to 1.5 × budget / (2 × minChunk), past the last N whose share is still minChunk.
    // Beyond the budget the pool only makes minChunk buffers, two per transfer at most.
    const cases: Array<[number, number]> = [
      [64 * KB, 4 * MB],
      [256 * KB, 8 * MB],
      [1 * MB, 16 * MB],
      [2 * MB, 32 * MB],
    ];
    for (const [maxChunk, budget] of cases) {
      const limit = Math.floor((1.5 * budget) / (2 * MIN_CHUNK));
      for (const refit of [false, true]) {
        it(`maxChunk ${sizeText(maxChunk)}, budget ${sizeText(budget)}, 1 to ${limit} transfers, ${refit ? 'each refitting its buffers after every start' : 'all starting before any refits'}`, () => {
          const pool = new BufferPool(maxChunk, budget);
          const held: Array<[Buffer, Buffer]> = [];
          try {
            for (let n = 1; n <= limit; n += 1) {
              held.push(pool.acquire(HUGE));
              if (refit) for (const pair of held) for (const i of [0, 1] as const) pair[i] = pool.fit(pair[i], HUGE);
              const buffers = held.flat();
              const heldBytes = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
              const large = buffers.filter((buffer) => buffer.length > MIN_CHUNK).reduce((sum, buffer) => sum + buffer.length, 0);
              expect(large, `${n} transfers: buffers above minChunk`).to.be.at.most(budget);
              expect(heldBytes, `${n} transfers: held`).to.be.at.most(budget + 2 * MIN_CHUNK * n);
            }
          } finally {
            for (const pair of held) pool.release(pair, false);
          }
        });
      }
    }

    it('20 transfers of 2 MB reads starting at once within a 32 MB budget hold 32 MB, not the 52 MB their shares add up to', () => {
      const pool = new BufferPool(2 * MB, 32 * MB);
      const held = Array.from({ length: 20 }, () => pool.acquire(HUGE));
      const heldBytes = held.flat().reduce((sum, buffer) => sum + buffer.length, 0);
      for (const pair of held) pool.release(pair, false);
      expect(heldBytes).to.be.at.most(32 * MB + 2 * 20 * MIN_CHUNK);
      expect(held[0]![0].length, 'the first gets maxChunk').to.equal(2 * MB);
      expect(held[19]![0].length, 'the last finds the budget spent: minChunk').to.equal(MIN_CHUNK);
    });
  });

  describe('fit', () => {
    it('never shrinks a running transfer\'s buffer; one that started small grows as others end', () => {
      const pool = new BufferPool(2 * MB, 32 * MB);
      const first = Array.from({ length: 8 }, () => pool.acquire(HUGE));
      let [late] = pool.acquire(HUGE);
      expect(late.length, 'the budget is spent by the first eight: minChunk').to.equal(MIN_CHUNK);
      const a = first[0]![0];
      expect(pool.fit(a, HUGE), 'the first keeps its 2 MB among nine').to.equal(a);
      late = pool.fit(late, HUGE);
      expect(late.length, 'no room yet').to.equal(MIN_CHUNK);
      for (const pair of first.slice(1)) pool.release(pair, true);
      late = pool.fit(late, HUGE);
      expect(late.length, 'two transfers left: the full chunk').to.equal(2 * MB);
      pool.release(first[0]!, false);
    });

    it('keeps the buffer it has for the short last reads of a body', () => {
      const pool = new BufferPool(2 * MB, 32 * MB);
      const [a] = pool.acquire(HUGE);
      expect(pool.fit(a, 100 * KB)).to.equal(a);
    });

    it('lets idle buffers of another size go to make room, rather than leave a transfer small', () => {
      const pool = new BufferPool(2 * MB, 8 * MB);
      // Thirty-two one-byte bodies leave 4 MB of 64 KB buffers idle (half the budget).
      const small = Array.from({ length: 32 }, () => pool.acquire(1));
      for (const pair of small) pool.release(pair, true);
      const a = pool.acquire(HUGE);
      const b = pool.acquire(HUGE);
      expect([a[0].length, b[0].length], 'two transfers share 8 MB: 2 MB each').to.deep.equal([2 * MB, 2 * MB]);
      for (const pair of [a, b]) pool.release(pair, false);
    });

    it('takes a larger idle buffer rather than a new small one when the budget has no room', () => {
      const pool = new BufferPool(2 * MB, 8 * MB);
      const big = pool.acquire(HUGE);
      pool.release(big, true);
      // Two 1 MB bodies take the 4 MB of room the idle 2 MB pair leaves.
      const hogs = [pool.acquire(1 * MB), pool.acquire(1 * MB)];
      expect(hogs.flat().map((buffer) => buffer.length)).to.deep.equal([1 * MB, 1 * MB, 1 * MB, 1 * MB]);
      const third = pool.acquire(1 * MB);
      expect(big, 'the 2 MB buffers idle since the first transfer').to.have.members(third);
      for (const pair of [...hogs, third]) pool.release(pair, false);
    });
  });

  describe('release', () => {
    it('release(…, true): the next acquire of the same size returns the very same Buffers', () => {
      const pool = new BufferPool(2 * MB, 32 * MB);
      for (const bodyBytes of [HUGE, 100 * KB, 1]) {
        const first = pool.acquire(bodyBytes);
        pool.release(first, true);
        const second = pool.acquire(bodyBytes);
        pool.release(second, true);
        // Identity, never contents: the buffers hold whatever memory they were allocated with.
        expect(second, `body ${bodyBytes}: the same Buffer objects`).to.have.members(first);
      }
    });

    it('release(…, true): buffers of one size are not handed out for another size', () => {
      const pool = new BufferPool(2 * MB, 32 * MB);
      const big = pool.acquire(HUGE);
      pool.release(big, true);
      const small = pool.acquire(100 * KB);
      pool.release(small, false);
      expect(small[0].length).to.equal(128 * KB);
      expect(big.includes(small[0]) || big.includes(small[1])).to.equal(false);
      const again = pool.acquire(HUGE);
      pool.release(again, false);
      expect(again, 'the 2 MB pair is still idle').to.have.members(big);
    });

    it('release(…, false): the next acquire gets new Buffers', () => {
      const pool = new BufferPool(2 * MB, 32 * MB);
      const first = pool.acquire(HUGE);
      pool.release(first, false);
      const second = pool.acquire(HUGE);
      pool.release(second, false);
      expect(second.includes(first[0]) || second.includes(first[1])).to.equal(false);
    });

    it('release(…, false) of one transfer leaves buffers recycled earlier idle', () => {
      const pool = new BufferPool(2 * MB, 32 * MB);
      const kept = pool.acquire(HUGE);
      const dropped = pool.acquire(HUGE);
      pool.release(kept, true);
      pool.release(dropped, false);
      const next = pool.acquire(HUGE);
      pool.release(next, false);
      expect(next, 'the Buffers recycled earlier').to.have.members(kept);
    });

    // [maxChunk, budget, bodies of the transfers acquired at once and then all released reusable]
    const idleCases: Array<[number, number, number[], string]> = [
      [2 * MB, 8 * MB, [HUGE, HUGE, HUGE, HUGE], 'four big transfers'],
      [2 * MB, 8 * MB, Array<number>(20).fill(HUGE), 'twenty big transfers'],
      [2 * MB, 1 * MB, Array<number>(12).fill(1), 'twelve one-byte bodies (64 KB each), budget 1 MB'],
      [2 * MB, 4 * MB, [HUGE, 100 * KB, 1, 700 * KB, HUGE, 1 * MB, 1, 1, HUGE, 300 * KB], 'mixed sizes'],
      [256 * KB, 512 * KB, Array<number>(8).fill(HUGE), 'small budget'],
    ];
    for (const [maxChunk, budget, bodies, what] of idleCases) {
      it(`idle buffers never exceed budget / 2: ${what} (budget ${sizeText(budget)})`, () => {
        const pool = new BufferPool(maxChunk, budget);
        const pairs = bodies.map((bodyBytes) => pool.acquire(bodyBytes));
        const known = new Set(pairs.flat());
        for (const pair of pairs) pool.release(pair, true);
        const idle = drainIdle(pool, known, maxChunk);
        const idleBytes = idle.reduce((sum, buffer) => sum + buffer.length, 0);
        expect(idleBytes, 'idle bytes').to.be.at.most(budget / 2);
        expect(idle.length, 'some buffers were kept for reuse').to.be.greaterThan(0);
        expect(new Set(idle).size, 'no buffer kept twice').to.equal(idle.length);
        expectAllReleased(pool, Math.min(maxChunk, 2 ** Math.floor(Math.log2(budget / 2))));
      });
    }

    it('idle buffers never exceed budget / 2 across many rounds of acquire and release', () => {
      const maxChunk = 1 * MB;
      const budget = 4 * MB;
      const pool = new BufferPool(maxChunk, budget);
      const known = new Set<Buffer>();
      const bodies = [HUGE, 1, 100 * KB, HUGE, 600 * KB, 1, HUGE, 200 * KB];
      for (let round = 0; round < 5; round += 1) {
        const pairs = bodies.map((bodyBytes, i) => pool.acquire(bodyBytes + round * i));
        for (const pair of pairs) for (const buffer of pair) known.add(buffer);
        for (const pair of pairs) pool.release(pair, true);
      }
      const idle = drainIdle(pool, known, maxChunk);
      expect(idle.reduce((sum, buffer) => sum + buffer.length, 0)).to.be.at.most(budget / 2);
    });
  });
});

// ---------------------------------------------------------------------------

const SIZE = 100_000;
// Every byte differs from its neighbours, so a chunk read twice, shifted or overwritten shows.
const CONTENT = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7 + (i >> 8)) % 256));
/** Small chunks, so a 100,000-byte file is 25 reads. */
const CHUNK = 4 * KB;
/** Alone a transfer gets CHUNK; were one transfer not released, the next would get CHUNK / 2. */
const newPool = () => new BufferPool(CHUNK, 2 * CHUNK, 256);

const r = (start: number, end: number): ByteRange => ({ start, end });
const text = (value: string) => Buffer.from(value, 'latin1');
const expectedBody = (pieces: readonly BodyPiece[], content: Buffer = CONTENT) =>
  Buffer.concat(pieces.map((piece) => (Buffer.isBuffer(piece) ? piece : content.subarray(piece.start, piece.end + 1))));

/** fs.read on an open descriptor, as OsOpenFile.writeTo reads. */
const fsRead =
  (fd: number): PositionalRead =>
  (buffer, length, position) =>
    new Promise((resolve, reject) => fs.read(fd, buffer, 0, length, position, (error, count) => (error ? reject(error) : resolve(count))));

/** An in-memory file: a pure callback over a Buffer, returning at most `maxPerRead` bytes per call (short reads). */
const memoryRead =
  (content: Buffer, maxPerRead = Infinity): PositionalRead =>
  async (buffer, length, position) => {
    await Promise.resolve();
    const count = Math.max(0, Math.min(length, maxPerRead, content.length - position));
    content.copy(buffer, 0, position, position + count);
    return count;
  };

type Deferral = (done: () => void) => void;

/**
 * A Writable that keeps each chunk by reference until its write completes
 * and copies it only then, as a socket would: a buffer overwritten while its
 * write is pending shows up as wrong bytes. Tracks the memory of the chunks
 * whose write is pending, and of those whose write callback (the one the
 * pump passed to `write`) has run.
 */
class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  private readonly pending: ArrayBufferLike[] = [];
  readonly callbacksRun: ArrayBufferLike[] = [];
  writesReceived = 0;

  constructor(
    private readonly defer: Deferral = setImmediate,
    private readonly onReceive: (collector: Collector) => void = () => {},
  ) {
    super();
    const write = this.write.bind(this);
    this.write = ((chunk: Buffer, callback?: (error: Error | null | undefined) => void) =>
      write(chunk, (error) => {
        this.callbacksRun.push(chunk.buffer);
        callback?.(error);
      })) as Writable['write'];
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writesReceived += 1;
    this.pending.push(chunk.buffer);
    this.onReceive(this);
    this.defer(() => {
      this.chunks.push(Buffer.from(chunk));
      this.pending.splice(this.pending.indexOf(chunk.buffer), 1);
      callback();
    });
  }

  isPending(buffer: Buffer): boolean {
    return this.pending.includes(buffer.buffer);
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Wraps a read to count calls and reads in flight, and to check, at each call, what back-pressure promises. */
function observedRead(inner: PositionalRead, out: Collector) {
  const state = { started: 0, inFlight: 0, maxAhead: 0, targets: new Set<ArrayBufferLike>(), overwritesPending: 0 };
  const read: PositionalRead = async (buffer, length, position) => {
    state.started += 1;
    state.inFlight += 1;
    state.targets.add(buffer.buffer);
    // Writes of read chunks whose callback has run; literal Buffers are not reads.
    const completed = out.callbacksRun.filter((memory) => state.targets.has(memory)).length;
    state.maxAhead = Math.max(state.maxAhead, state.started - completed);
    if (out.isPending(buffer)) state.overwritesPending += 1;
    try {
      return await inner(buffer, length, position);
    } finally {
      state.inFlight -= 1;
    }
  };
  return { read, state };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected pumpPieces to reject, but it resolved');
}

/** Lets timers, immediates and Node's rejection bookkeeping run, so a late unhandled rejection is seen. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('pumpPieces', () => {
  let dir: string;
  let fd: number;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'filegate-descriptor-pump-'));
    fs.writeFileSync(path.join(dir, 'content.bin'), CONTENT);
    fd = fs.openSync(path.join(dir, 'content.bin'), 'r');
  });

  after(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('pieces in order, byte-exact; onWrite sums to the count; the pool gets its buffers back', () => {
    const bodies: Array<[string, BodyPiece[]]> = [
      ['no pieces', []],
      ['one Buffer', [text('just bytes')]],
      ['the whole file: one range spanning 25 chunks', [r(0, SIZE - 1)]],
      ['a range spanning many chunks, unaligned at both ends', [r(1, SIZE - 2)]],
      ['exactly one chunk, then exactly two', [r(0, CHUNK - 1), r(CHUNK, 3 * CHUNK - 1)]],
      ['one chunk plus one byte', [r(10, 10 + CHUNK)]],
      ['ranges of 1 byte', [r(0, 0), r(1, 1), r(SIZE - 1, SIZE - 1), r(5, 5), r(5, 5)]],
      ['one-byte ranges between one-byte Buffers', [text('['), r(5, 5), text('|'), r(6, 6), text(']')]],
      [
        'Buffers interleaved with ranges, as in a multipart body',
        [
          text('--b\r\nContent-Range: bytes 0-9999/100000\r\n\r\n'),
          r(0, 9999),
          text('\r\n--b\r\n\r\n'),
          r(50_000, 50_000),
          text('\r\n--b\r\n\r\n'),
          r(60_000, SIZE - 1),
          text('\r\n--b--\r\n'),
        ],
      ],
      ['two Buffers in a row, then two ranges in a row', [text('a'), text('bc'), r(0, CHUNK + 1), r(7, 9), text('d')]],
      ['ranges out of file order and repeated', [r(90_000, 99_999), text('/'), r(0, 8191), text('/'), r(90_000, 99_999)]],
    ];
    const readers: Array<[string, (fd: number) => PositionalRead]> = [
      ['fs.read on a temp file', (fd) => fsRead(fd)],
      ['in-memory reads of at most 1,000 bytes (short reads)', () => memoryRead(CONTENT, 1000)],
    ];
    for (const [readerName, makeRead] of readers) {
      for (const [what, pieces] of bodies) {
        it(`${what}; ${readerName}`, async () => {
          const pool = newPool();
          const out = new Collector();
          let reported = 0;
          const count = await pumpPieces(pieces, makeRead(fd), out, pool, (bytes) => {
            reported += bytes;
          });
          const want = expectedBody(pieces);
          expect(count, 'resolved count').to.equal(want.length);
          expect(reported, 'onWrite sum').to.equal(count);
          const body = out.body;
          expect(body.length, 'bytes written').to.equal(want.length);
          expect(body.equals(want), 'bytes').to.equal(true);
          expectAllReleased(pool, CHUNK);
        });
      }
    }

    it('many alternating pieces', async () => {
      const pieces: BodyPiece[] = [];
      for (let i = 0; i < 300; i += 1) pieces.push(text(`<${i}>`), r(i * 313, i * 313 + (i % 5 === 0 ? 0 : (i * 97) % 6000)));
      const out = new Collector();
      const pool = newPool();
      const count = await pumpPieces(pieces, fsRead(fd), out, pool);
      expect(count).to.equal(expectedBody(pieces).length);
      expect(out.body.equals(expectedBody(pieces))).to.equal(true);
      expectAllReleased(pool, CHUNK);
    });
  });

  describe('back-pressure: at most 2 reads ahead of completed writes, no buffer read into while its write is pending', () => {
    const writers: Array<[string, Deferral]> = [
      ['write callback after a timer', (done) => setTimeout(done, 1)],
      ['write callback on the next turn', (done) => setImmediate(done)],
      ['write callback at once', (done) => done()],
    ];
    const bodies: Array<[string, BodyPiece[]]> = [
      ['one range of 25 chunks', [r(0, SIZE - 1)]],
      ['Buffers between multi-chunk ranges', [text('head'), r(0, 5 * CHUNK), text('mid'), r(3, 3), text('mid'), r(SIZE - 3 * CHUNK, SIZE - 1), text('tail')]],
    ];
    for (const [writer, defer] of writers) {
      for (const [what, pieces] of bodies) {
        it(`${what}; ${writer}`, async () => {
          const out = new Collector(defer);
          const { read, state } = observedRead(memoryRead(CONTENT), out);
          const pool = newPool();
          const count = await pumpPieces(pieces, read, out, pool);
          expect(count).to.equal(expectedBody(pieces).length);
          expect(state.maxAhead, 'reads started minus writes completed').to.be.at.most(2);
          expect(state.maxAhead, 'double-buffered: the next chunk is read while one is written').to.equal(2);
          expect(state.overwritesPending, 'reads into a buffer whose write was pending').to.equal(0);
          expect(state.targets.size, 'a transfer reads into two buffers, no more').to.equal(2);
          expect(out.body.equals(expectedBody(pieces)), 'bytes').to.equal(true);
          expectAllReleased(pool, CHUNK);
        });
      }
    }

    it('a finished transfer recycles its two buffers into the next; a failed one does not', async () => {
      // Budget 4 chunks: both buffers fit in the idle half.
      const pool = new BufferPool(CHUNK, 4 * CHUNK, 256);
      const runs: Array<Set<ArrayBufferLike>> = [];
      for (let i = 0; i < 2; i += 1) {
        const out = new Collector();
        const { read, state } = observedRead(memoryRead(CONTENT), out);
        await pumpPieces([r(0, 5 * CHUNK)], read, out, pool);
        runs.push(state.targets);
      }
      expect([...runs[1]!], 'second transfer reuses the first one\'s buffers').to.have.members([...runs[0]!]);

      const failing = new Collector();
      const broken: PositionalRead = async (buffer, length, position) => {
        if (position > 2 * CHUNK) throw new Error('EIO');
        return memoryRead(CONTENT)(buffer, length, position);
      };
      const observed = observedRead(broken, failing);
      await rejectionOf(pumpPieces([r(0, 5 * CHUNK)], observed.read, failing, pool));
      expect([...observed.state.targets], 'the failed transfer had the recycled buffers').to.have.members([...runs[0]!]);

      const out = new Collector();
      const after = observedRead(memoryRead(CONTENT), out);
      await pumpPieces([r(0, 5 * CHUNK)], after.read, out, pool);
      for (const target of after.state.targets) expect(runs[0]!.has(target), 'buffers of a failed transfer are not reused').to.equal(false);
    });
  });

  describe('failures: rejects, no read in flight once settled, buffers released, no unhandled rejection', () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    beforeEach(() => {
      unhandled.length = 0;
      process.on('unhandledRejection', onUnhandled);
    });
    afterEach(() => {
      process.off('unhandledRejection', onUnhandled);
    });

    type Setup = { read: PositionalRead; out: Collector; pieces: BodyPiece[] };
    const failures: Array<[string, () => Setup, RegExp]> = [
      [
        'a read that rejects (third read, while a write is pending)',
        () => {
          let calls = 0;
          const inner = memoryRead(CONTENT);
          const read: PositionalRead = async (buffer, length, position) => {
            calls += 1;
            if (calls === 3) {
              await new Promise((resolve) => setTimeout(resolve, 5));
              throw new Error('EIO: i/o error, read');
            }
            return inner(buffer, length, position);
          };
          return { read, out: new Collector((done) => setTimeout(done, 10)), pieces: [text('head'), r(0, SIZE - 1)] };
        },
        /EIO/,
      ],
      [
        'a read that rejects at once (first read)',
        () => ({
          read: () => Promise.reject(new Error('EBADF: bad file descriptor, read')),
          out: new Collector(),
          pieces: [r(0, SIZE - 1)],
        }),
        /EBADF/,
      ],
      [
        'read returns 0 before the range ends (the file became shorter)',
        () => ({ read: memoryRead(CONTENT.subarray(0, 10_000)), out: new Collector(), pieces: [r(0, SIZE - 1)] }),
        /shorter/,
      ],
      [
        'read returns 0 at the very first byte of a later range',
        () => ({ read: memoryRead(CONTENT.subarray(0, 50_000)), out: new Collector(), pieces: [r(0, 99), text('--'), r(50_000, 50_010)] }),
        /shorter/,
      ],
      [
        'out destroyed while a write is pending',
        () => {
          const out = new Collector(
            (done) => (out.writesReceived < 3 ? setImmediate(done) : undefined),
            (collector) => {
              if (collector.writesReceived === 3) setImmediate(() => collector.destroy());
            },
          );
          return { read: memoryRead(CONTENT), out, pieces: [r(0, SIZE - 1)] };
        },
        /closed/,
      ],
      [
        'regression: out destroyed while a read is in flight and a write is pending (a client gone mid-download) must not leave the write\'s rejection unhandled',
        () => {
          // Writes after the second never complete, as on a stalled socket.
          const out = new Collector((done) => (out.writesReceived < 2 ? setImmediate(done) : undefined));
          const inner = memoryRead(CONTENT);
          let calls = 0;
          const read: PositionalRead = async (buffer, length, position) => {
            calls += 1;
            if (calls === 3) {
              setImmediate(() => out.destroy());
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
            return inner(buffer, length, position);
          };
          return { read, out, pieces: [r(0, SIZE - 1)] };
        },
        /closed/,
      ],
      [
        'regression: out destroyed with an error while a read is in flight must not leave a rejection unhandled',
        () => {
          const out = new Collector();
          const inner = memoryRead(CONTENT);
          let calls = 0;
          const read: PositionalRead = async (buffer, length, position) => {
            calls += 1;
            if (calls === 4) {
              out.destroy(new Error('ECONNRESET'));
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
            return inner(buffer, length, position);
          };
          out.on('error', () => {});
          return { read, out, pieces: [r(0, SIZE - 1)] };
        },
        /closed|ECONNRESET/,
      ],
      [
        'out ended before the pump starts',
        () => {
          const out = new Collector();
          out.end();
          return { read: memoryRead(CONTENT), out, pieces: [text('head'), r(0, SIZE - 1)] };
        },
        /closed/,
      ],
    ];
    for (const [what, setup, message] of failures) {
      it(`${what} → rejects with ${message}`, async () => {
        const { read: inner, out, pieces } = setup();
        const { read, state } = observedRead(inner, out);
        const pool = newPool();
        let inFlightAtSettle = -1;
        const error = await rejectionOf(
          pumpPieces(pieces, read, out, pool).finally(() => {
            inFlightAtSettle = state.inFlight;
          }),
        );
        expect(error.message).to.match(message);
        expect(inFlightAtSettle, 'reads in flight when pumpPieces settled').to.equal(0);
        expect(state.overwritesPending, 'reads into a buffer whose write was pending').to.equal(0);
        expectAllReleased(pool, CHUNK);
        await settle();
        expect(unhandled.map(String), 'unhandled promise rejections').to.deep.equal([]);
      });
    }

    it('a real temp file truncated under an open descriptor → rejects with a message about the file becoming shorter', async () => {
      const file = path.join(dir, 'shrinking.bin');
      fs.writeFileSync(file, CONTENT);
      const shrinking = fs.openSync(file, 'r');
      try {
        fs.truncateSync(file, 30_000);
        const pool = newPool();
        const out = new Collector();
        const error = await rejectionOf(pumpPieces([text('head'), r(0, SIZE - 1)], fsRead(shrinking), out, pool));
        expect(error.message).to.match(/became shorter/);
        expect(out.body.equals(Buffer.concat([text('head'), CONTENT.subarray(0, 30_000)])), 'what was there was written, in order').to.equal(true);
        expectAllReleased(pool, CHUNK);
      } finally {
        fs.closeSync(shrinking);
      }
    });
  });
});
