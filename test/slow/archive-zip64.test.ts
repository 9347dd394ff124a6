// A ZIP archive larger than 4 GB (ZIP64), streamed from sparse files and verified by python3's zipfile (CRCs) and `unzip -t`.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const GB = 1024 ** 3;
const BIG = Math.round(2.2 * GB);
const FOUR_GB = 2 ** 32;

/** A marker written into a sparse file at an offset: the rest of the file reads as zeros. */
interface Marker {
  readonly offset: number;
  readonly text: string;
}

/** Creates a sparse file of `size` bytes holding `markers`, and returns its CRC-32 computed here, independently of the server. */
function sparseFile(file: string, size: number, markers: readonly Marker[]): number {
  const fd = openSync(file, 'w');
  try {
    // Writes at offsets leave holes before them: no disk blocks for the zeros.
    for (const { offset, text } of markers) writeSync(fd, Buffer.from(text), 0, Buffer.byteLength(text), offset);
  } finally {
    closeSync(fd);
  }
  truncateSync(file, size);
  const sorted = [...markers].sort((a, b) => a.offset - b.offset);
  const zeros = Buffer.alloc(64 * 1024 * 1024);
  let crc = 0;
  let position = 0;
  const zerosUntil = (end: number) => {
    while (position < end) {
      const count = Math.min(zeros.length, end - position);
      crc = zlib.crc32(zeros.subarray(0, count), crc);
      position += count;
    }
  };
  for (const { offset, text } of sorted) {
    zerosUntil(offset);
    crc = zlib.crc32(Buffer.from(text), crc);
    position += Buffer.byteLength(text);
  }
  zerosUntil(size);
  return crc >>> 0;
}

/**
 * A writable that saves what it receives to `file` byte for byte, but leaves
 * a hole for every all-zero block instead of writing it: the archive of
 * sparse files stays sparse on disk, so the test measures the server and not
 * this machine's disk.
 */
function sparseWriter(file: string): Writable {
  const BLOCK = 1024 * 1024;
  const zeros = Buffer.alloc(BLOCK);
  const fd = openSync(file, 'w');
  let position = 0;
  return new Writable({
    highWaterMark: 4 * BLOCK,
    write(chunk: Buffer, _encoding, callback) {
      try {
        for (let start = 0; start < chunk.length; start += BLOCK) {
          const block = chunk.subarray(start, Math.min(start + BLOCK, chunk.length));
          if (!block.equals(zeros.subarray(0, block.length))) writeSync(fd, block, 0, block.length, position);
          position += block.length;
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    final(callback) {
      try {
        ftruncateSync(fd, position);
        closeSync(fd);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    destroy(error, callback) {
      try {
        closeSync(fd);
      } catch {
        // already closed by final
      }
      callback(error);
    },
  });
}

/** Runs a command to its end: its exit status and its output (stdout, then stderr). */
function run(command: string, args: readonly string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output: `${stdout}${stderr}` }));
  });
}

// Lists every entry with its stored size and CRC, after testzip() has read
// every entry back and checked it against its CRC; prints the small file too.
const INSPECT = String.raw`
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    bad = archive.testzip()
    entries = [dict(name=i.filename, size=i.file_size, crc=i.CRC, method=i.compress_type, offset=i.header_offset) for i in archive.infolist()]
    tail = archive.read('big/z-after.txt').decode('utf-8')
print(json.dumps(dict(bad=bad, entries=entries, tail=tail)))
`;

describe('slow: a ZIP archive over 4 GB (ZIP64) from sparse files', function () {
  this.timeout(180_000);
  let tree: TempDir;
  let server: TestServer;
  let archiveFile: string;
  const crcs: Record<string, number> = {};
  const tailText = 'written after the 4 GB mark\n';

  before(async () => {
    tree = tempDir();
    const folder = tree.folder('data/big');
    for (const name of ['a.bin', 'b.bin']) {
      crcs[`big/${name}`] = sparseFile(path.join(folder, name), BIG, [
        { offset: 0, text: `HEAD of ${name}` },
        { offset: 1.5 * GB, text: `MIDDLE of ${name}` },
        { offset: BIG - 16, text: `TAIL ${name}`.padEnd(16, '!') },
      ]);
    }
    tree.file('data/big/z-after.txt', tailText);
    archiveFile = path.join(tree.dir, 'big.zip');
    server = await startTestServer({ layers: { OsFs: { root: path.join(tree.dir, 'data'), maxFileSize: '3GB' } } });
  });

  after(async () => {
    await server?.close();
    // The sparse fixtures and the (sparse) downloaded archive, 9 GB as the files say.
    tree?.remove();
  });

  it('streams a > 4 GB store-mode ZIP that python3 zipfile (testzip) and unzip -t verify, with exact sizes and CRCs', async () => {
    const started = Date.now();
    const token = await hsToken({ scope: 'files:archive' });
    const status = await new Promise<{ status: number; complete: boolean; entries: string | undefined }>((resolve, reject) => {
      const request = http.get(`${server.url}/api/archive?path=big`, { headers: { Authorization: `Bearer ${token}` }, agent: false }, (response) => {
        pipeline(response, sparseWriter(archiveFile)).then(
          () => resolve({ status: response.statusCode ?? 0, complete: response.complete, entries: response.headers['x-archive-entries'] as string | undefined }),
          reject,
        );
      });
      request.on('error', reject);
    });
    const streamed = Date.now();
    expect(status).to.deep.equal({ status: 200, complete: true, entries: '4' });
    const size = statSync(archiveFile).size;
    expect(size).to.be.above(2 * BIG).and.above(FOUR_GB);

    // The two readers work on their own, so they run side by side.
    const [python, unzip] = await Promise.all([run('python3', ['-c', INSPECT, archiveFile]), run('unzip', ['-t', archiveFile])]);
    expect(python.status, python.output).to.equal(0);
    const inspected = JSON.parse(python.output) as {
      bad: string | null;
      entries: Array<{ name: string; size: number; crc: number; method: number; offset: number }>;
      tail: string;
    };
    expect(inspected.bad, 'testzip(): every CRC matches the data').to.equal(null);
    expect(inspected.entries.map(({ name, size: entrySize, crc }) => ({ name, size: entrySize, crc }))).to.deep.equal([
      { name: 'big/', size: 0, crc: 0 },
      { name: 'big/a.bin', size: BIG, crc: crcs['big/a.bin'] },
      { name: 'big/b.bin', size: BIG, crc: crcs['big/b.bin'] },
      { name: 'big/z-after.txt', size: tailText.length, crc: zlib.crc32(tailText) >>> 0 },
    ]);
    // Stored, not deflated; the last entry starts past 4 GB, so it needs a ZIP64 offset.
    expect(inspected.entries.filter((entry) => !entry.name.endsWith('/')).map((entry) => entry.method)).to.deep.equal([0, 0, 0]);
    expect(inspected.entries.at(-1)!.offset).to.be.above(FOUR_GB);
    expect(inspected.tail).to.equal(tailText);

    expect(unzip.status, unzip.output).to.equal(0);
    expect(unzip.output).to.match(/No errors detected/);
    const done = Date.now();
    // Not a pass criterion: how long each step took, for the CI budget.
    console.log(`      zip64: ${(size / GB).toFixed(2)} GB streamed in ${((streamed - started) / 1000).toFixed(1)} s, then zipfile and unzip -t side by side in ${((done - streamed) / 1000).toFixed(1)} s`);
  });
});
