// Tests for DescriptorStream on a real file: pieces in order and byte-exact, chunked reads, destroy, a shrinking file, no pieces.

import { expect } from 'chai';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BodyPiece, ByteRange } from '../../src/layers/layer.js';
import { DescriptorStream } from '../../src/layers/descriptor-stream.js';

const SIZE = 1024 * 1024;
// Every byte differs from its neighbours, so a range read twice or shifted by one shows.
const CONTENT = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7 + (i >> 8)) % 256));

const r = (start: number, end: number): ByteRange => ({ start, end });
const text = (value: string) => Buffer.from(value, 'latin1');

/** What the pieces must produce: Buffers as they are, ranges as the file's bytes. */
const expected = (pieces: readonly BodyPiece[]) => Buffer.concat(pieces.map((piece) => (Buffer.isBuffer(piece) ? piece : CONTENT.subarray(piece.start, piece.end + 1))));

/** Three ways to consume a stream, so the order of Readable's calls to _read varies. */
const consumers: Array<[string, (stream: DescriptorStream) => Promise<Buffer[]>]> = [
  [
    "flowing, 'data' events",
    async (stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      await once(stream, 'end');
      return chunks;
    },
  ],
  [
    'async iteration',
    async (stream) => {
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return chunks;
    },
  ],
  [
    'piped into a slow writer with a one-byte high-water mark (back-pressure)',
    async (stream) => {
      const chunks: Buffer[] = [];
      const writer = new Writable({
        highWaterMark: 1,
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          setImmediate(callback);
        },
      });
      await pipeline(stream, writer);
      return chunks;
    },
  ],
];

describe('DescriptorStream', () => {
  let dir: string;
  let file: string;
  let fd: number;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'filegate-descriptor-stream-'));
    file = path.join(dir, 'content.bin');
    fs.writeFileSync(file, CONTENT);
    fd = fs.openSync(file, 'r');
  });

  after(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('pieces come out in order, byte-exact', () => {
    const bodies: Array<[string, BodyPiece[]]> = [
      ['one range', [r(0, 99)]],
      ['the whole file', [r(0, SIZE - 1)]],
      ['one Buffer', [text('just bytes')]],
      ['a Buffer, then a range', [text('--head--\r\n'), r(10, 19)]],
      ['a range, then a Buffer', [r(10, 19), text('--tail--')]],
      [
        'Buffers and ranges interleaved, as in a multipart body',
        [text('--b\r\nContent-Range: bytes 0-9/x\r\n\r\n'), r(0, 9), text('\r\n--b\r\n\r\n'), r(100, 299), text('\r\n--b\r\n\r\n'), r(SIZE - 5, SIZE - 1), text('\r\n--b--\r\n')],
      ],
      ['two Buffers in a row, then two ranges in a row', [text('a'), text('bc'), r(0, 0), r(1, 1), text('d')]],
      ['one-byte ranges between one-byte Buffers', [text('['), r(5, 5), text('|'), r(6, 6), text('|'), r(5, 5), text(']')]],
      ['the same range twice', [r(40, 59), text('/'), r(40, 59)]],
      ['ranges out of file order', [r(500, 599), text('/'), r(0, 99)]],
    ];

    for (const [consumer, consume] of consumers) {
      for (const chunkSize of [7, 64 * 1024]) {
        for (const [what, pieces] of bodies) {
          // 150,000 reads of 7 bytes would take seconds and prove nothing more.
          if (chunkSize < 1024 && what === 'the whole file') continue;
          it(`${what}; ${consumer}; chunkSize ${chunkSize}`, async () => {
            const chunks = await consume(new DescriptorStream(fd, pieces, chunkSize));
            const body = Buffer.concat(chunks);
            const want = expected(pieces);
            expect(body.length, 'length').to.equal(want.length);
            expect(body.equals(want), 'bytes').to.equal(true);
          });
        }
      }
    }

    it('regression: a Buffer pushed before a range must not let Readable read that range twice (which shifted every later part by one read)', async () => {
      const pieces: BodyPiece[] = [];
      // Part headers, each followed by a range that fits in one read, as multipartBody builds them.
      for (let part = 0; part < 50; part += 1) pieces.push(text(`\r\n--part ${part}\r\n\r\n`), r(part * 1000, part * 1000 + (part % 3 === 0 ? 0 : 9)));
      pieces.push(text('\r\n--end--\r\n'));
      const want = expected(pieces);
      for (const [consumer, consume] of consumers) {
        for (const chunkSize of [16, 64 * 1024]) {
          const body = Buffer.concat(await consume(new DescriptorStream(fd, pieces, chunkSize)));
          expect(body.length, `${consumer}, chunkSize ${chunkSize}: length`).to.equal(want.length);
          expect(body.equals(want), `${consumer}, chunkSize ${chunkSize}: bytes`).to.equal(true);
        }
      }
    });

    it('two thousand alternating pieces', async () => {
      const pieces: BodyPiece[] = [];
      for (let i = 0; i < 1000; i += 1) pieces.push(text(`<${i}>`), r(i * 997, i * 997 + (i % 13)));
      const body = Buffer.concat(await consumers[0]![1](new DescriptorStream(fd, pieces, 5)));
      expect(body.equals(expected(pieces))).to.equal(true);
    });
  });

  describe('chunked reads', () => {
    const cases: Array<[number, number]> = [
      [100, 16],
      [64, 16],
      [1, 16],
      [200_000, 65_536],
    ];
    for (const [length, chunkSize] of cases) {
      const count = Math.ceil(length / chunkSize);
      it(`a ${length}-byte range with chunkSize ${chunkSize} comes in ${count} chunk${count === 1 ? '' : 's'} of at most ${chunkSize} bytes`, async () => {
        const chunks: Buffer[] = [];
        const stream = new DescriptorStream(fd, [r(3, 3 + length - 1)], chunkSize);
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        await once(stream, 'end');
        expect(chunks.map((chunk) => chunk.length)).to.deep.equal(Array.from({ length: count }, (_, i) => Math.min(chunkSize, length - i * chunkSize)));
        expect(Buffer.concat(chunks).equals(CONTENT.subarray(3, 3 + length))).to.equal(true);
      });
    }
  });

  describe('destroy', () => {
    it("destroyed mid-way after a chunk: 'close' comes, no error, and the descriptor stays open", async () => {
      const stream = new DescriptorStream(fd, [r(0, SIZE - 1)], 16 * 1024);
      let received = 0;
      let errored: unknown = null;
      stream.on('error', (error) => {
        errored = error;
      });
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= 32 * 1024) stream.destroy();
      });
      await once(stream, 'close');
      expect(errored).to.equal(null);
      expect(received).to.be.lessThan(SIZE);
      expect(fs.fstatSync(fd).size, 'fstat on the descriptor still works').to.equal(SIZE);
      const probe = Buffer.alloc(16);
      fs.readSync(fd, probe, 0, 16, 1000);
      expect(probe.equals(CONTENT.subarray(1000, 1016)), 'the descriptor still reads').to.equal(true);
    });

    it("destroyed while a read is in flight: 'close' still comes, no data after it, and the descriptor stays open", async () => {
      const stream = new DescriptorStream(fd, [r(0, SIZE - 1)], 64 * 1024);
      let dataAfterDestroy = 0;
      let errored: unknown = null;
      stream.on('error', (error) => {
        errored = error;
      });
      // read(0) starts _read, and so a positioned read, without consuming anything.
      stream.read(0);
      stream.destroy();
      stream.on('data', () => {
        dataAfterDestroy += 1;
      });
      await once(stream, 'close');
      expect(errored).to.equal(null);
      expect(dataAfterDestroy).to.equal(0);
      expect(stream.destroyed).to.equal(true);
      expect(fs.fstatSync(fd).size).to.equal(SIZE);
    });

    it("destroyed with an error: 'error' then 'close', and the descriptor stays open", async () => {
      const stream = new DescriptorStream(fd, [text('head'), r(0, SIZE - 1)], 16 * 1024);
      const events: string[] = [];
      stream.on('error', (error: Error) => events.push(`error: ${error.message}`));
      stream.on('close', () => events.push('close'));
      stream.once('data', () => stream.destroy(new Error('client went away')));
      // events.once would reject on the 'error' this test expects.
      await new Promise((resolve) => stream.once('close', resolve));
      expect(events).to.deep.equal(['error: client went away', 'close']);
      expect(fs.fstatSync(fd).size).to.equal(SIZE);
    });
  });

  describe('a file that shrinks under the stream', () => {
    let shrinking: string;
    let shrinkingFd: number;

    beforeEach(() => {
      shrinking = path.join(dir, 'shrinking.bin');
      fs.writeFileSync(shrinking, CONTENT.subarray(0, 100));
      shrinkingFd = fs.openSync(shrinking, 'r');
      fs.truncateSync(shrinking, 50);
    });

    afterEach(() => fs.closeSync(shrinkingFd));

    const cases: Array<[string, BodyPiece[], number]> = [
      ['a range running past the new end', [r(0, 99)], 50],
      ['a range wholly past the new end', [r(60, 99)], 0],
      ['a later range past the new end, after a Buffer and a range within it', [r(0, 9), text('|'), r(40, 79)], 10 + 1 + 10],
    ];
    for (const [what, pieces, deliveredBeforeError] of cases) {
      it(`${what}: the stream errors instead of ending short`, async () => {
        const stream = new DescriptorStream(shrinkingFd, pieces, 16);
        const chunks: Buffer[] = [];
        let ended = false;
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          ended = true;
        });
        const [error] = (await once(stream, 'error')) as [Error];
        expect(error).to.be.instanceOf(Error);
        expect(ended, "no 'end'").to.equal(false);
        expect(Buffer.concat(chunks).length, 'only the bytes that exist').to.equal(deliveredBeforeError);
        expect(fs.fstatSync(shrinkingFd).size).to.equal(50);
      });
    }
  });

  it('a read that fails (a directory\'s descriptor) errors the stream', async () => {
    const dirFd = fs.openSync(dir, 'r');
    try {
      const stream = new DescriptorStream(dirFd, [r(0, 9)], 16);
      stream.resume();
      const [error] = (await once(stream, 'error')) as [NodeJS.ErrnoException];
      expect(error.code).to.equal('EISDIR');
    } finally {
      fs.closeSync(dirFd);
    }
  });

  describe('no pieces', () => {
    it("an empty pieces list ends at once: no data, 'end' and 'close'", async () => {
      const stream = new DescriptorStream(fd, [], 16);
      let chunks = 0;
      stream.on('data', () => {
        chunks += 1;
      });
      const closed = once(stream, 'close');
      await once(stream, 'end');
      await closed;
      expect(chunks).to.equal(0);
    });
  });
});
