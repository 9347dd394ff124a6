// ZipWriter: archives opened by Python's zipfile and by unzip, in store, deflate and ZIP64 forms; DOS time clamping; a destroyed writer never leaves an add waiting.

import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { toDosDateTime, ZipWriter, type ZipWriterOptions } from '../../src/archives/zip-writer.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';

// Lists every entry as zipfile reads it, after testzip() has checked every CRC.
const READER = String.raw`
import json, sys, zipfile, hashlib
with zipfile.ZipFile(sys.argv[1]) as archive:
    out = {'bad': archive.testzip(), 'entries': []}
    for info in archive.infolist():
        data = b'' if info.is_dir() else archive.read(info)
        out['entries'].append(dict(name=info.filename, dir=info.is_dir(), size=len(data), sha=hashlib.sha256(data).hexdigest(),
            utf8=bool(info.flag_bits & 0x800), method=info.compress_type, mode=info.external_attr >> 16, date=list(info.date_time)))
print(json.dumps(out))
`;

interface Entry {
  name: string;
  dir: boolean;
  size: number;
  sha: string;
  utf8: boolean;
  method: number;
  mode: number;
  date: number[];
}

const sha = (data: Buffer) => execFileSync('sha256sum', { input: data }).toString().split(' ')[0];

/** Collects a writer's whole output. */
async function collect(writer: ZipWriter, add: (writer: ZipWriter) => Promise<void>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const done = pipeline(writer, sink);
  await add(writer);
  await writer.finish();
  await done;
  return Buffer.concat(chunks);
}

describe('ZipWriter', () => {
  let dir: TempDir;
  let written = 0;
  const big = randomBytes(300_000);
  const text = Buffer.from('hello, zip\n'.repeat(1000));
  const mtime = new Date(2026, 10, 23, 14, 30, 58);

  before(() => {
    dir = tempDir('zip-writer-');
  });
  after(() => dir.remove());

  const save = (bytes: Buffer) => {
    written += 1;
    const file = path.join(dir.dir, `w-${written}.zip`);
    writeFileSync(file, bytes);
    return file;
  };
  const read = (file: string): { bad: string | null; entries: Entry[] } =>
    JSON.parse(execFileSync('python3', ['-c', READER, file], { maxBuffer: 256 * 1024 * 1024 }).toString());
  const unzipTest = (file: string) => spawnSync('unzip', ['-tqq', file], { encoding: 'utf8' });

  /** Writes a folder, a small file, a UTF-8 name, an empty file and a streamed file. */
  const sample = async (options: ZipWriterOptions) =>
    collect(new ZipWriter(options), async (writer) => {
      await writer.addDirectory('docs/', mtime);
      await writer.addBuffer('docs/a.txt', text, mtime);
      await writer.addBuffer('docs/ünï ☃ 日本.txt', Buffer.from('unicode'), mtime);
      await writer.addBuffer('docs/empty', Buffer.alloc(0), mtime);
      await writer.addStream('big.bin', Readable.from([big.subarray(0, 100_000), big.subarray(100_000)]), big.length, mtime);
    });

  const forms: Array<[string, ZipWriterOptions, number]> = [
    ['stored', { deflate: false }, 0],
    ['deflated', { deflate: true, level: 6 }, 8],
    ['stored, every entry ZIP64', { deflate: false, forceZip64: true }, 0],
    ['deflated, every entry ZIP64', { deflate: true, level: 6, forceZip64: true }, 8],
  ];
  for (const [form, options, method] of forms) {
    it(`${form}: zipfile reads every entry byte for byte with its CRC, and unzip -t agrees`, async () => {
      const file = save(await sample(options));
      const archive = read(file);
      expect(archive.bad).to.equal(null);
      expect(archive.entries.map((e) => [e.name, e.dir, e.size, e.sha])).to.deep.equal([
        ['docs/', true, 0, sha(Buffer.alloc(0))],
        ['docs/a.txt', false, text.length, sha(text)],
        ['docs/ünï ☃ 日本.txt', false, 7, sha(Buffer.from('unicode'))],
        ['docs/empty', false, 0, sha(Buffer.alloc(0))],
        ['big.bin', false, big.length, sha(big)],
      ]);
      expect(archive.entries.every((e) => e.utf8)).to.equal(true);
      // An empty file is stored, whatever the method: there is nothing to deflate.
      expect(archive.entries.filter((e) => !e.dir && e.size > 0).map((e) => e.method)).to.deep.equal([method, method, method]);
      expect(archive.entries.map((e) => e.mode.toString(8))).to.deep.equal(['40755', '100644', '100644', '100644', '100644']);
      expect(archive.entries[1]!.date).to.deep.equal([2026, 11, 23, 14, 30, 58]);
      const tested = unzipTest(file);
      expect(tested.status, tested.stdout + tested.stderr).to.equal(0);
    });
  }

  it('deflate makes compressible entries smaller than storing them', async () => {
    const stored = await sample({ deflate: false });
    const deflated = await sample({ deflate: true, level: 6 });
    expect(deflated.length).to.be.below(stored.length - text.length / 2);
  });

  it('writes the ZIP64 end records only when asked or needed', async () => {
    const plain = await sample({ deflate: false });
    const forced = await sample({ deflate: false, forceZip64: true });
    const zip64End = Buffer.from([0x50, 0x4b, 0x06, 0x06]);
    expect(plain.includes(zip64End)).to.equal(false);
    expect(forced.includes(zip64End)).to.equal(true);
  });

  it('more than 65,535 entries: ZIP64 end records carry the count, and both readers see every entry', async function () {
    this.timeout(60_000);
    const count = 70_000;
    const bytes = await collect(new ZipWriter({ deflate: false }), async (writer) => {
      for (let i = 0; i < count; i += 1) await writer.addBuffer(`e/${i}`, Buffer.from(String(i)), mtime);
    });
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).to.equal(true);
    const file = save(bytes);
    const counted = execFileSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(len(z.infolist()), z.testzip(), z.read("e/69999").decode())', file]).toString().trim();
    expect(counted).to.equal('70000 None 69999');
    const tested = unzipTest(file);
    expect(tested.status, tested.stdout + tested.stderr).to.equal(0);
  });

  it('a destroyed writer lets an add waiting on a full reader return at once', async () => {
    const writer = new ZipWriter({ deflate: false });
    // Nobody reads: the first block fills the buffer, so the add waits.
    const adding = writer.addBuffer('a', randomBytes(512 * 1024), mtime);
    let settled = false;
    void adding.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).to.equal(false);
    writer.destroy();
    await adding;
    expect(settled).to.equal(true);
  });

  it('a failing stream rejects its add with the stream error', async () => {
    const writer = new ZipWriter({ deflate: false });
    writer.resume();
    const failing = new Readable({
      read() {
        this.destroy(new Error('the file became shorter'));
      },
    });
    let caught: unknown;
    try {
      await writer.addStream('x', failing, 10, mtime);
    } catch (error) {
      caught = error;
    }
    expect((caught as Error | undefined)?.message).to.equal('the file became shorter');
  });

  describe('toDosDateTime', () => {
    const cases: Array<[string, Date, [number, number, number, number, number, number]]> = [
      ['an ordinary time, seconds in two-second steps', new Date(2026, 10, 23, 14, 30, 59), [2026, 11, 23, 14, 30, 58]],
      ['before 1980 is clamped to 1980-01-01', new Date(1970, 0, 1, 0, 0, 0), [1980, 1, 1, 0, 0, 0]],
      ['after 2107 is clamped to its last second', new Date(2200, 5, 1), [2107, 12, 31, 23, 59, 58]],
      ['an invalid date is 1980-01-01', new Date(Number.NaN), [1980, 1, 1, 0, 0, 0]],
    ];
    for (const [name, when, expected] of cases) {
      it(name, () => {
        const { time, date } = toDosDateTime(when);
        expect([(date >> 9) + 1980, (date >> 5) & 15, date & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2]).to.deep.equal(expected);
      });
    }
  });
});
