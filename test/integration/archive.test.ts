// GET and POST /api/archive: ZIP and tar.gz opened with real readers (python3 zipfile/tarfile, unzip -t), entry names and contents, what is left out, limits, authorization, client aborts and files that change mid-archive.

import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { expectError } from '../helpers/assertions.js';
import { startChildServer } from '../helpers/child-server.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { DRIVERS, layerFixture, type LayerFixture } from '../helpers/layer-fixture.js';
import { startTestServer, waitForAccessLine, waitForLog, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

type Format = 'zip' | 'tar.gz';

interface ReadEntry {
  /** The entry name as stored; folders end with "/" (tarfile's names are given one back). */
  name: string;
  dir: boolean;
  /** ZIP only: general purpose flag bit 11 (language encoding, UTF-8). */
  utf8?: boolean;
  /** ZIP only: the compression method (0 stored, 8 deflated). */
  method?: number;
  sha256: string;
  size: number;
}

interface ReadArchive {
  entries: ReadEntry[];
  /** ZIP only: testzip()'s answer, null when every CRC matched. */
  bad?: string | null;
}

// Opens an archive with Python's own readers and lists every entry with a hash of its bytes.
const READER = String.raw`
import hashlib, json, sys, tarfile, zipfile
kind, path = sys.argv[1], sys.argv[2]
out = {'entries': []}
def entry(name, is_dir, data, **extra):
    out['entries'].append(dict(name=name, dir=is_dir, sha256=hashlib.sha256(data).hexdigest(), size=len(data), **extra))
if kind == 'zip':
    with zipfile.ZipFile(path) as archive:
        out['bad'] = archive.testzip()
        for info in archive.infolist():
            entry(info.filename, info.is_dir(), b'' if info.is_dir() else archive.read(info), utf8=bool(info.flag_bits & 0x800), method=info.compress_type)
else:
    with tarfile.open(path, 'r:gz', encoding='utf-8', errors='strict') as archive:
        for member in archive.getmembers():
            if not (member.isfile() or member.isdir()):
                raise SystemExit('unexpected member type %r for %r' % (member.type, member.name))
            data = archive.extractfile(member).read() if member.isfile() else b''
            entry(member.name + ('/' if member.isdir() else ''), member.isdir(), data)
print(json.dumps(out))
`;

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** An expected entry: a file's bytes, or DIR for a folder. */
const DIR = Symbol('dir');
type Expected = Record<string, Buffer | string | typeof DIR>;

const OUTSIDE_MARKER = 'TOP-SECRET-OUTSIDE';
const LONG_ASCII = `long/${'d'.repeat(120)}/${'f'.repeat(200)}.txt`;
const LONG_WIDE = `long/${'日本語'.repeat(20)}/${'ü'.repeat(100)}.txt`;

for (const driver of DRIVERS) describe(`GET and POST /api/archive (${driver})`, () => {
  let fx: LayerFixture;
  let server: TestServer;
  let token: string;
  let outDir: string;
  let written = 0;
  const bin = randomBytes(100_000);
  const unicodeName = 'ünïcødé ☃ 日本.txt';

  /** Saves `bytes` to a fresh file in the output folder. */
  const save = (bytes: Buffer, extension: string) => {
    written += 1;
    const file = path.join(outDir, `out-${written}.${extension}`);
    writeFileSync(file, bytes);
    return file;
  };

  /** Opens `bytes` with python3 (zipfile or tarfile); throws when Python cannot read it. */
  const readArchive = (format: Format, bytes: Buffer): ReadArchive => {
    const file = save(bytes, format);
    const stdout = execFileSync('python3', ['-c', READER, format, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(stdout) as ReadArchive;
  };

  /** `unzip -t` on `bytes`: its exit status and output. */
  const unzipTest = (bytes: Buffer) => {
    const file = save(bytes, 'zip');
    const result = spawnSync('unzip', ['-t', file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  };

  /** Checks that the archive holds exactly `expected`, byte for byte, and that every name is safe. */
  const expectArchive = (format: Format, bytes: Buffer, expected: Expected): ReadArchive => {
    const read = readArchive(format, bytes);
    expect(read.entries.map((entry) => entry.name).sort()).to.deep.equal(Object.keys(expected).sort());
    for (const entry of read.entries) {
      const want = expected[entry.name]!;
      if (want === DIR) {
        expect(entry.dir, `${entry.name} is a folder`).to.equal(true);
        continue;
      }
      expect(entry.dir, `${entry.name} is a file`).to.equal(false);
      expect(entry.sha256, `contents of ${entry.name}`).to.equal(sha256(want));
    }
    expectSafeNames(read.entries.map((entry) => entry.name));
    if (format === 'zip') {
      expect(read.bad, 'testzip(): every CRC matches').to.equal(null);
      // Every name that is not plain ASCII is marked UTF-8 (general purpose bit 11).
      for (const entry of read.entries) if (/[^\x20-\x7e]/.test(entry.name)) expect(entry.utf8, `UTF-8 flag of ${entry.name}`).to.equal(true);
      const unzip = unzipTest(bytes);
      expect(unzip.status, unzip.output).to.equal(0);
      expect(unzip.output).to.match(/No errors detected/);
    }
    return read;
  };

  const get = (query: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/archive?${query}`, { headers: { Authorization: `Bearer ${token}`, ...headers } });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/archive`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** Reads a successful archive response whole and checks its headers. */
  const archiveBody = async (response: Response, format: Format, filename: string) => {
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(response.status, bytes.toString('utf8', 0, 200)).to.equal(200);
    const h = response.headers;
    expect(h.get('content-type')).to.equal(format === 'zip' ? 'application/zip' : 'application/gzip');
    // The quoted filename is the ASCII fallback (RFC 6266): anything else becomes "_".
    const fallback = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
    expect(h.get('content-disposition')).to.equal(`attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename)}`);
    expect(h.get('accept-ranges')).to.equal('none');
    expect(h.get('x-content-type-options')).to.equal('nosniff');
    expect(h.get('content-length'), 'a streamed archive has no length').to.equal(null);
    expect(h.get('x-request-id')).to.be.a('string').and.not.equal('');
    return bytes;
  };

  before(async function () {
    this.timeout(120_000);
    fx = await layerFixture(driver);
    outDir = fx.local.folder('out');
    void fx.file('outside.txt', `${OUTSIDE_MARKER}\n`);
    void fx.file('outside-dir/secret.txt', `${OUTSIDE_MARKER} in a folder\n`);

    void fx.file('data/photos/a.txt', 'alpha\n');
    void fx.file('data/photos/sub/b.bin', bin);
    void fx.file('data/photos/sub/deep/c.txt', 'gamma\n');
    void fx.file(`data/photos/${unicodeName}`, 'unicode\n');
    void fx.folder('data/photos/empty-dir');
    void fx.file('data/photos/.hidden.txt', 'hidden\n');
    void fx.file('data/photos/.hidden-dir/x.txt', 'hidden folder\n');
    void fx.file('data/docs/readme.md', '# readme\n');
    void fx.file('data/top.txt', 'top\n');

    // Zip-slip: names a Windows tool reads as a traversal, and names with line breaks.
    void fx.file('data/slip/ok.txt', 'ok\n');
    void fx.file('data/slip/..\\..\\evil.bat', 'evil\n');
    void fx.file('data/slip/cr\r\nlf.txt', 'crlf\n');
    void fx.file('data/slip/quote"and\nnewline/inner.txt', 'inner\n');

    // What the layer's file policy refuses: an empty file, one over maxFileSize (1 MB on this layer).
    void fx.file('data/policy/ok.txt', 'ok\n');
    void fx.file('data/policy/empty.txt', '');
    void fx.file('data/policy/huge.bin', Buffer.alloc(1024 * 1024 + 1, 1));

    void fx.file('data/users/42/own.txt', 'user 42\n');
    void fx.file('data/users/43/mine.txt', 'user 43\n');
    void fx.file('data/users/420/other.txt', 'user 420\n');

    void fx.file('data/same/a/x/1.txt', 'one\n');
    void fx.file('data/same/b/x/2.txt', 'two\n');

    // Names past the 100-byte ustar field, ASCII and not.
    void fx.file(`data/${LONG_ASCII}`, 'long ascii\n');
    void fx.file(`data/${LONG_WIDE}`, 'long wide\n');

    // Exactly at the limits of the 413 tests (maxEntries 3, maxBytes 1 KB), and one over.
    void fx.file('data/three/1.txt', '1\n');
    void fx.file('data/three/2.txt', '2\n');
    void fx.file('data/four/1.txt', '1\n');
    void fx.file('data/four/2.txt', '2\n');
    void fx.file('data/four/3.txt', '3\n');
    void fx.file('data/kb/exact.bin', Buffer.alloc(1024, 7));
    void fx.file('data/kb-over/over.bin', Buffer.alloc(1025, 7));

    // Left out, but counted toward maxEntries 5: for each kind, a folder at the limit (itself and 4) and one past it (itself and 5).
    for (const [folder, count] of [['at', 4], ['over', 5]] as const) {
      for (let index = 0; index < count; index += 1) {
        void fx.file(`data/left-out/empty-${folder}/e${index}.txt`, '');
        void fx.file(`data/left-out/type-${folder}/t${index}.bin`, 'not text\n');
        void fx.file(`data/left-out/large-${folder}/l${index}.txt`, 'over 8 bytes\n');
        void fx.file(`data/left-out/unsafe-${folder}/line\nbreak${index}.txt`, 'unsafe\n');
      }
      // Two files that go in and the rest left out: the sum counts.
      void fx.file(`data/left-out/mixed-${folder}/a.txt`, 'a\n');
      void fx.file(`data/left-out/mixed-${folder}/b.txt`, 'b\n');
      for (let index = 2; index < count; index += 1) void fx.file(`data/left-out/mixed-${folder}/empty${index}.txt`, '');
    }

    // Bidi controls in names: replaced with "_" in entry names; one that would then collide with a real name is left out.
    void fx.file('data/bidi/invoice\u202Egpj.exe', 'not a picture\n');
    void fx.file('data/bidi/a_b.txt', 'the real a_b\n');
    void fx.file('data/bidi/a\u202Eb.txt', 'disguised\n');
    void fx.file('data/bidi/\u2067isolated\u2069/inner.txt', 'inner\n');

    void fx.file('small/one.txt', 'one\n');
    void fx.file('small/dir/two.txt', 'two\n');
    await fx.flush();

    if (driver === 'os') {
      // What only a file system has: symlinks (in and out of the root, in loops), a FIFO, names that are not UTF-8.
      const tree = fx.local;
      tree.file('data/links/real.txt', 'real\n');
      tree.symlink('data/links/in-link.txt', '../top.txt');
      tree.symlink('data/links/out-file.txt', '../../outside.txt');
      tree.symlink('data/links/out-dir', '../../outside-dir');
      tree.fifo('data/links/fifo');

      // A folder symlink to its parent, and one to itself.
      tree.file('data/loop/a/file.txt', 'in the loop\n');
      tree.symlink('data/loop/a/up', '..');
      tree.symlink('data/loop/a/self', '.');

      tree.file('data/latin/ok.txt', 'ok\n');
      writeFileSync(Buffer.from(`${tree.dir}/data/latin/caf\xe9.txt`, 'latin1'), 'latin-1 name\n');

      tree.symlink('data/users/42/peek.txt', '../420/other.txt');
      tree.symlink('data/users/42/peek-dir', '../420');
      tree.symlink('data/users/43/up', '..');

      for (const [folder, count] of [['at', 4], ['over', 5]] as const) {
        for (let index = 0; index < count; index += 1) {
          writeFileSync(Buffer.from(`${tree.folder(`data/left-out/latin-${folder}`)}/caf\xe9${index}.txt`, 'latin1'), 'latin-1 name\n');
          tree.symlink(`data/left-out/outside-${folder}/out${index}.txt`, '../../../outside.txt');
        }
      }
    }

    server = await startTestServer({
      layers: {
        OsFs: fx.layer('data', { maxFileSize: '1MB' }),
        denyHidden: fx.layer('data', { hidden: 'deny' }),
        small: fx.layer('small'),
      },
    });
    token = await hsToken({ scope: 'files:archive' });
  });

  after(async () => {
    await server?.close();
    await fx?.cleanup();
  });

  const photos: Expected = {
    'photos/': DIR,
    'photos/a.txt': 'alpha\n',
    'photos/sub/': DIR,
    'photos/sub/b.bin': bin,
    'photos/sub/deep/': DIR,
    'photos/sub/deep/c.txt': 'gamma\n',
    [`photos/${unicodeName}`]: 'unicode\n',
    'photos/empty-dir/': DIR,
  };

  describe('entry names and contents', () => {
    const cases: Array<{ label: string; format: Format; send: () => Promise<Response>; filename: string; expected: Expected }> = [
      { label: 'GET a folder as ZIP: its own name is the top', format: 'zip', send: () => get('path=photos'), filename: 'photos.zip', expected: photos },
      { label: 'GET a folder as tar.gz', format: 'tar.gz', send: () => get('path=photos&format=tar.gz'), filename: 'photos.tar.gz', expected: photos },
      { label: 'POST a folder as ZIP', format: 'zip', send: () => post({ paths: ['photos'] }), filename: 'photos.zip', expected: photos },
      { label: 'POST a folder as tar.gz', format: 'tar.gz', send: () => post({ paths: ['photos'], format: 'tar.gz' }), filename: 'photos.tar.gz', expected: photos },
      {
        label: 'GET several paths (a file and a folder) as ZIP: "archive.zip"',
        format: 'zip',
        send: () => get('path=top.txt&path=docs'),
        filename: 'archive.zip',
        expected: { 'top.txt': 'top\n', 'docs/': DIR, 'docs/readme.md': '# readme\n' },
      },
      {
        label: 'POST several paths as tar.gz, nested ones keep only their last name',
        format: 'tar.gz',
        send: () => post({ paths: ['photos/sub/deep', 'docs/readme.md'], format: 'tar.gz' }),
        filename: 'archive.tar.gz',
        expected: { 'deep/': DIR, 'deep/c.txt': 'gamma\n', 'readme.md': '# readme\n' },
      },
      {
        label: 'GET the layer root "/" as ZIP: names start below the root',
        format: 'zip',
        send: () => get('fstype=small&path=/'),
        filename: 'archive.zip',
        expected: { 'one.txt': 'one\n', 'dir/': DIR, 'dir/two.txt': 'two\n' },
      },
      {
        label: 'POST the layer root "/" as tar.gz',
        format: 'tar.gz',
        send: () => post({ fstype: 'small', paths: ['/'], format: 'tar.gz' }),
        filename: 'archive.tar.gz',
        expected: { 'one.txt': 'one\n', 'dir/': DIR, 'dir/two.txt': 'two\n' },
      },
      {
        label: 'a single file as ZIP keeps its name',
        format: 'zip',
        send: () => get(`path=${encodeURIComponent(`photos/${unicodeName}`)}`),
        filename: `${unicodeName}.zip`,
        expected: { [unicodeName]: 'unicode\n' },
      },
    ];
    for (const { label, format, send, filename, expected } of cases) {
      it(label, async () => {
        const response = await send();
        const bytes = await archiveBody(response, format, filename);
        expectArchive(format, bytes, expected);
        expect(response.headers.get('x-archive-entries')).to.equal(String(Object.keys(expected).length));
        expect(response.headers.get('x-archive-skipped')).to.equal('0');
      });
    }

    for (const format of ['zip', 'tar.gz'] as const) {
      it(`keeps names longer than the 100-byte ustar field exactly, ASCII and not (${format})`, async () => {
        const bytes = await archiveBody(await get(`path=long&format=${format}`), format, `long.${format}`);
        const [, asciiFolder] = LONG_ASCII.split('/');
        const [, wideFolder] = LONG_WIDE.split('/');
        expectArchive(format, bytes, {
          'long/': DIR,
          [`long/${asciiFolder}/`]: DIR,
          [LONG_ASCII]: 'long ascii\n',
          [`long/${wideFolder}/`]: DIR,
          [LONG_WIDE]: 'long wide\n',
        });
      });
    }

    it('stores the non-ASCII name as UTF-8 with the language-encoding flag (bit 11) set', async () => {
      const read = expectArchive('zip', await archiveBody(await get('path=photos'), 'zip', 'photos.zip'), photos);
      const unicode = read.entries.find((entry) => entry.name === `photos/${unicodeName}`);
      expect(unicode?.utf8).to.equal(true);
    });

    it('ZIP entries are stored by default (archive.zipCompression "store"): method 0, the bytes as they are', async () => {
      const bytes = await archiveBody(await get('path=photos/sub'), 'zip', 'sub.zip');
      const read = expectArchive('zip', bytes, { 'sub/': DIR, 'sub/b.bin': bin, 'sub/deep/': DIR, 'sub/deep/c.txt': 'gamma\n' });
      expect(read.entries.filter((entry) => !entry.dir).map((entry) => entry.method)).to.deep.equal([0, 0]);
      expect(bytes.includes(bin.subarray(0, 4096))).to.equal(true);
    });

    it('archive.zipCompression "deflate" deflates the entries (method 8), and they read back byte-equal', async () => {
      const deflating = await startTestServer({ layers: { OsFs: fx.layer('data') }, archive: { zipCompression: 'deflate' } });
      try {
        const response = await fetch(`${deflating.url}/api/archive?path=photos`, { headers: { Authorization: `Bearer ${token}` } });
        const read = expectArchive('zip', await archiveBody(response, 'zip', 'photos.zip'), photos);
        expect(read.entries.filter((entry) => !entry.dir).map((entry) => entry.method)).to.deep.equal([8, 8, 8, 8]);
      } finally {
        await deflating.close();
      }
    });
  });

  it('HEAD answers the archive headers without building the archive, or is refused with 405 (regression: HEAD read and packed every file to send no body)', async () => {
    const response = await fetch(`${server.url}/api/archive?path=photos`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'archive-head-1' } });
    await waitForAccessLine(server, 'archive-head-1');
    if (response.status === 405) {
      expect(response.headers.get('allow')).to.match(/GET/);
      return;
    }
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.equal('application/zip');
    expect(response.headers.get('x-archive-entries')).to.equal(String(Object.keys(photos).length));
    const written = server.logs.filter((line) => line.msg === 'archive' && line.reqId === 'archive-head-1' && Number(line.entries) > 0);
    expect(written, 'archive lines of the HEAD request that wrote entries').to.deep.equal([]);
  });

  describe('Content-Disposition', () => {
    const cases: Array<[string, string, string]> = [
      ['a folder gives its name', 'path=photos', 'photos.zip'],
      ['name is used', 'path=photos&name=holiday', 'holiday.zip'],
      ['the extension is added once', 'path=photos&name=holiday.zip', 'holiday.zip'],
      ['tar.gz: the extension is added once', 'path=photos&format=tar.gz&name=holiday.tar.gz', 'holiday.tar.gz'],
      ['several paths are "archive"', 'path=docs&path=top.txt', 'archive.zip'],
      ['several paths with a name', 'path=docs&path=top.txt&name=bundle', 'bundle.zip'],
      ['a unicode name', `path=docs&name=${encodeURIComponent('föto ☃')}`, 'föto ☃.zip'],
    ];
    for (const [label, query, filename] of cases) {
      it(`${label}: ${filename}`, async () => {
        const format: Format = query.includes('tar.gz') ? 'tar.gz' : 'zip';
        await archiveBody(await get(query), format, filename);
      });
    }

    it('a name with a quote and CR/LF cannot break the header', async () => {
      const response = await get(`path=docs&name=${encodeURIComponent('a"b\r\nX-Evil: 1')}`);
      await response.arrayBuffer();
      expect(response.status).to.equal(200);
      expect(response.headers.get('x-evil')).to.equal(null);
      expect(response.headers.get('content-disposition')).to.match(/^attachment; filename="[^"\r\n]*"; filename\*=UTF-8''[A-Za-z0-9!#$&+.^_`|~%-]*$/);
    });
  });

  describe('what is left out', () => {
    for (const format of ['zip', 'tar.gz'] as const) {
      it(`zip-slip names (backslashes, CR/LF, a quote-and-newline folder) are left out and counted (${format})`, async () => {
        const bytes = await archiveBody(await get(`path=slip&format=${format}`), format, `slip.${format}`);
        const read = expectArchive(format, bytes, { 'slip/': DIR, 'slip/ok.txt': 'ok\n' });
        expect(read.entries.map((entry) => entry.name).join('|')).to.not.include('evil');
        expect(bytes.includes(Buffer.from('evil.bat'))).to.equal(false);
      });
    }

    it('X-Archive-Skipped counts the three zip-slip names', async () => {
      const response = await get('path=slip');
      await response.arrayBuffer();
      expect(response.headers.get('x-archive-skipped')).to.equal('3');
      expect(response.headers.get('x-archive-entries')).to.equal('2');
    });

    it('hidden files and folders are absent under hidden "ignore", and not counted', async () => {
      const response = await get('path=photos');
      const bytes = await archiveBody(response, 'zip', 'photos.zip');
      const read = expectArchive('zip', bytes, photos);
      expect(read.entries.some((entry) => entry.name.split('/').some((segment) => segment.startsWith('.')))).to.equal(false);
      expect(response.headers.get('x-archive-skipped')).to.equal('0');
    });

    it('hidden files and folders are left out and counted under hidden "deny"', async () => {
      const response = await get('fstype=denyHidden&path=photos');
      expectArchive('zip', await archiveBody(response, 'zip', 'photos.zip'), photos);
      expect(response.headers.get('x-archive-skipped')).to.equal('2');
    });

    // Symlinks and FIFOs are the os driver's.
    if (driver === 'os') it('outside symlinks (file and folder) and a FIFO are left out and counted; an in-root symlinked file is included; no hang', async () => {
      for (const format of ['zip', 'tar.gz'] as const) {
        const response = await fetch(`${server.url}/api/archive?path=links&format=${format}`, {
          headers: { Authorization: `Bearer ${token}` },
          // The FIFO must not stall the request: answered within a few seconds, or the fetch fails.
          signal: AbortSignal.timeout(5000),
        });
        const bytes = await archiveBody(response, format, `links.${format}`);
        expectArchive(format, bytes, { 'links/': DIR, 'links/real.txt': 'real\n', 'links/in-link.txt': 'top\n' });
        expect(response.headers.get('x-archive-skipped')).to.equal('3');
        expect(bytes.includes(Buffer.from(OUTSIDE_MARKER))).to.equal(false);
      }
    });

    if (driver === 'os') it('a symlink loop (a folder linked to its parent, and to itself) ends, and each real folder appears once', async () => {
      for (const format of ['zip', 'tar.gz'] as const) {
        const response = await fetch(`${server.url}/api/archive?path=loop&format=${format}`, {
          headers: { Authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(5000),
        });
        const bytes = await archiveBody(response, format, `loop.${format}`);
        expectArchive(format, bytes, { 'loop/': DIR, 'loop/a/': DIR, 'loop/a/file.txt': 'in the loop\n' });
      }
    });

    it('files the layer policy refuses (empty, over maxFileSize) are left out and counted', async () => {
      const response = await get('path=policy');
      expectArchive('zip', await archiveBody(response, 'zip', 'policy.zip'), { 'policy/': DIR, 'policy/ok.txt': 'ok\n' });
      expect(response.headers.get('x-archive-skipped')).to.equal('2');
    });

    // An object's key is always UTF-8: names that are not are the os driver's.
    if (driver === 'os') it('a name that is not valid UTF-8 is left out and counted', async () => {
      const response = await get('path=latin&format=tar.gz');
      expectArchive('tar.gz', await archiveBody(response, 'tar.gz', 'latin.tar.gz'), { 'latin/': DIR, 'latin/ok.txt': 'ok\n' });
      expect(response.headers.get('x-archive-skipped')).to.equal('1');
    });

    for (const format of ['zip', 'tar.gz'] as const) {
      it(`bidi controls in names become "_" in entry names ("invoice\\u202Egpj.exe" is "invoice_gpj.exe"); a name they would make a twin of is left out and counted (${format})`, async () => {
        const response = await get(`path=bidi&format=${format}`);
        const bytes = await archiveBody(response, format, `bidi.${format}`);
        expectArchive(format, bytes, {
          'bidi/': DIR,
          'bidi/invoice_gpj.exe': 'not a picture\n',
          'bidi/a_b.txt': 'the real a_b\n',
          'bidi/_isolated_/': DIR,
          'bidi/_isolated_/inner.txt': 'inner\n',
        });
        expect(response.headers.get('x-archive-skipped')).to.equal('1');
        expect(bytes.includes(Buffer.from('\u202E')), 'no RIGHT-TO-LEFT OVERRIDE anywhere in the archive').to.equal(false);
      });
    }

    it('logs one "archive" line with the entries, the skipped count and completed', async () => {
      const response = await get('path=slip', { 'X-Request-Id': 'archive-log-line-1' });
      await response.arrayBuffer();
      const line = await waitForLog(server, (entry) => entry.msg === 'archive' && entry.reqId === 'archive-log-line-1');
      expect(line).to.include({ entries: 2, skipped: 3, completed: true });
    });
  });

  describe('limits: 413 ARCHIVE_TOO_LARGE before any archive byte', () => {
    const limited: TestServer[] = [];
    after(async () => {
      for (const one of limited) await one.close();
    });

    const cases: Array<[string, { maxEntries?: number; maxBytes?: string }, RegExp]> = [
      ['maxEntries 3', { maxEntries: 3 }, /\b3 entries\b/],
      ['maxBytes "1KB"', { maxBytes: '1KB' }, /\b1 KB\b/],
    ];
    for (const [label, archive, figure] of cases) {
      it(`${label}: JSON error naming the limit, no archive headers or bytes`, async () => {
        const one = await startTestServer({ layers: { OsFs: fx.layer('data') }, archive });
        limited.push(one);
        for (const send of [
          () => fetch(`${one.url}/api/archive?path=photos`, { headers: { Authorization: `Bearer ${token}` } }),
          () =>
            fetch(`${one.url}/api/archive`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
              body: JSON.stringify({ paths: ['photos'], format: 'tar.gz' }),
            }),
        ]) {
          const response = await send();
          expect(response.headers.get('content-disposition')).to.equal(null);
          expect(response.headers.get('x-archive-entries')).to.equal(null);
          const body = await expectError(response, 413, 'ARCHIVE_TOO_LARGE');
          expect(body.error).to.match(figure);
        }
      });
    }

    const boundaries: Array<[string, string, Expected | null]> = [
      ['exactly 3 entries (a folder and two files) pass maxEntries 3', 'three', { 'three/': DIR, 'three/1.txt': '1\n', 'three/2.txt': '2\n' }],
      ['4 entries do not', 'four', null],
      ['exactly 1024 bytes pass maxBytes 1 KB', 'kb', { 'kb/': DIR, 'kb/exact.bin': Buffer.alloc(1024, 7) }],
      ['1025 bytes do not', 'kb-over', null],
    ];
    for (const [label, folder, expected] of boundaries) {
      it(`at the limit: ${label}`, async () => {
        const one = await startTestServer({ layers: { OsFs: fx.layer('data') }, archive: { maxEntries: 3, maxBytes: '1KB' } });
        limited.push(one);
        const response = await fetch(`${one.url}/api/archive?path=${folder}`, { headers: { Authorization: `Bearer ${token}` } });
        if (expected === null) await expectError(response, 413, 'ARCHIVE_TOO_LARGE');
        else expectArchive('zip', await archiveBody(response, 'zip', `${folder}.zip`), expected);
      });
    }

    describe('entries left out count toward maxEntries too (regression: a folder of 100,000 empty files was walked to its end)', () => {
      let counting: TestServer;
      before(async () => {
        counting = await startTestServer({
          layers: { OsFs: fx.layer('data/left-out'), textOnly: fx.layer('data/left-out', { types: ['text'] }), tiny: fx.layer('data/left-out', { maxFileSize: 8 }) },
          archive: { maxEntries: 5 },
        });
        limited.push(counting);
      });

      // [kind, layer, what goes in at the limit besides the folder]
      const kinds: Array<[string, string, string, string[]]> = [
        ['empty files (allowEmpty false)', 'OsFs', 'empty', []],
        ['a type the layer refuses', 'textOnly', 'type', []],
        ['files over maxFileSize', 'tiny', 'large', []],
        ['names with a control character', 'OsFs', 'unsafe', []],
        ['names that are not UTF-8', 'OsFs', 'latin', []],
        ['symlinks leaving the root', 'OsFs', 'outside', []],
        ['two files in and the rest empty', 'OsFs', 'mixed', ['a.txt', 'b.txt']],
      ];
      for (const [label, layer, kind, included] of kinds) {
        // Names that are not UTF-8 and symlinks are the os driver's.
        if (driver === 's3' && (kind === 'latin' || kind === 'outside')) continue;
        it(`${label}: the folder and 4 more (5) pass maxEntries 5`, async () => {
          const folder = `${kind}-at`;
          const response = await fetch(`${counting.url}/api/archive?fstype=${layer}&path=${folder}`, { headers: { Authorization: `Bearer ${token}` } });
          const expected: Expected = { [`${folder}/`]: DIR };
          for (const name of included) expected[`${folder}/${name}`] = `${name.slice(0, 1)}\n`;
          expectArchive('zip', await archiveBody(response, 'zip', `${folder}.zip`), expected);
          expect(response.headers.get('x-archive-skipped')).to.equal(String(4 - included.length));
        });

        it(`${label}: the folder and 5 more (6) are 413 ARCHIVE_TOO_LARGE before any byte`, async () => {
          const response = await fetch(`${counting.url}/api/archive?fstype=${layer}&path=${kind}-over&format=tar.gz`, { headers: { Authorization: `Bearer ${token}` } });
          expect(response.headers.get('content-disposition')).to.equal(null);
          expect(response.headers.get('x-archive-entries')).to.equal(null);
          const body = await expectError(response, 413, 'ARCHIVE_TOO_LARGE');
          expect(body.error).to.match(/\b5 entries\b/).and.match(/left out/);
        });
      }
    });
  });

  describe('authentication, authorization and bad requests', () => {
    it('a token limited to users/42 may archive users/42; symlinks to a file and a folder of users/420 inside it are silently absent', async () => {
      const limitedToken = await hsToken({ scope: 'files:archive', paths: ['users/42'] });
      const response = await fetch(`${server.url}/api/archive?path=users/42`, { headers: { Authorization: `Bearer ${limitedToken}` } });
      const bytes = await archiveBody(response, 'zip', '42.zip');
      expectArchive('zip', bytes, { '42/': DIR, '42/own.txt': 'user 42\n' });
      expect(bytes.includes(Buffer.from('user 420'))).to.equal(false);
      expect(response.headers.get('x-archive-skipped')).to.equal('0');
    });

    if (driver === 'os') it('a token limited to users/43: a folder symlink inside it that leads to "users" (outside the claim) is left out, not archived as an empty folder', async () => {
      const limitedToken = await hsToken({ scope: 'files:archive', paths: ['users/43'] });
      // Asked for by itself, the link is refused: its real path is outside the claim.
      await expectError(await fetchWith(limitedToken, 'path=users/43/up'), 403, 'FORBIDDEN');
      const response = await fetch(`${server.url}/api/archive?path=users/43`, { headers: { Authorization: `Bearer ${limitedToken}` } });
      const bytes = await archiveBody(response, 'zip', '43.zip');
      expect(bytes.includes(Buffer.from('user 42'))).to.equal(false);
      expect(bytes.includes(Buffer.from('user 420'))).to.equal(false);
      expectArchive('zip', bytes, { '43/': DIR, '43/mine.txt': 'user 43\n' });
    });

    const refusals: Array<{ label: string; send: (limited: string) => Promise<Response>; status: number; code: string }> = [
      { label: 'users/42 token: users/420 is FORBIDDEN', send: (t) => fetchWith(t, 'path=users/420'), status: 403, code: 'FORBIDDEN' },
      { label: 'users/42 token: "users" is FORBIDDEN', send: (t) => fetchWith(t, 'path=users'), status: 403, code: 'FORBIDDEN' },
      { label: 'users/42 token: the root is FORBIDDEN', send: (t) => fetchWith(t, 'path=/'), status: 403, code: 'FORBIDDEN' },
      { label: 'users/42 token: one allowed and one not is FORBIDDEN', send: (t) => fetchWith(t, 'path=users/42&path=users/420'), status: 403, code: 'FORBIDDEN' },
      { label: 'users/42 token: POST users/420 is FORBIDDEN', send: (t) => postWith(t, { paths: ['users/420'] }), status: 403, code: 'FORBIDDEN' },
    ];
    for (const { label, send, status, code } of refusals) {
      it(label, async () => {
        const limitedToken = await hsToken({ scope: 'files:archive', paths: ['users/42'] });
        await expectError(await send(limitedToken), status, code);
      });
    }

    it('a token limited to another fstype is 403 FORBIDDEN', async () => {
      const smallOnly = await hsToken({ scope: 'files:archive', fstypes: ['small'] });
      await expectError(await fetchWith(smallOnly, 'path=docs'), 403, 'FORBIDDEN');
      const ok = await fetchWith(smallOnly, 'fstype=small&path=dir');
      expectArchive('zip', await archiveBody(ok, 'zip', 'dir.zip'), { 'dir/': DIR, 'dir/two.txt': 'two\n' });
    });

    it('a token without files:archive is 403 FORBIDDEN (GET and POST)', async () => {
      const readOnly = await hsToken({ scope: 'files:read files:list' });
      await expectError(await fetchWith(readOnly, 'path=docs'), 403, 'FORBIDDEN');
      await expectError(await postWith(readOnly, { paths: ['docs'] }), 403, 'FORBIDDEN');
    });

    it('no token is 401 UNAUTHORIZED with WWW-Authenticate (GET and POST)', async () => {
      for (const response of [
        await fetch(`${server.url}/api/archive?path=docs`),
        await fetch(`${server.url}/api/archive`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"paths":["docs"]}' }),
      ]) {
        expect(response.headers.get('www-authenticate')).to.match(/^Bearer /);
        await expectError(response, 401, 'UNAUTHORIZED');
      }
    });

    const bad: Array<[string, () => Promise<Response>, number, string]> = [
      ['unknown fstype', () => get('fstype=nope&path=docs'), 400, 'UNKNOWN_FSTYPE'],
      ['POST unknown fstype', () => post({ fstype: 'nope', paths: ['docs'] }), 400, 'UNKNOWN_FSTYPE'],
      ['a ".." path', () => get('path=docs/../top.txt'), 403, 'PATH_NOT_ALLOWED'],
      ['a ".." path among good ones', () => get('path=docs&path=..'), 403, 'PATH_NOT_ALLOWED'],
      ['POST a ".." path', () => post({ paths: ['photos/../../outside.txt'] }), 403, 'PATH_NOT_ALLOWED'],
      ['a requested outside symlink', () => get('path=links/out-dir'), 403, 'PATH_NOT_ALLOWED'],
      ['a requested FIFO', () => get('path=links/fifo'), 403, 'NOT_A_FILE'],
      ['a requested path that does not exist', () => get('path=nope'), 404, 'NOT_FOUND'],
      ['a requested empty file', () => get('path=policy/empty.txt'), 412, 'FILE_EMPTY'],
      ['a requested file over maxFileSize', () => get('path=policy/huge.bin'), 413, 'FILE_TOO_LARGE'],
      ['a requested hidden folder (hidden "deny")', () => get('fstype=denyHidden&path=photos/.hidden-dir'), 403, 'PATH_NOT_ALLOWED'],
      ['a requested hidden file (hidden "ignore")', () => get('path=photos/.hidden.txt'), 404, 'NOT_FOUND'],
      ['missing path', () => get('format=zip'), 400, 'BAD_REQUEST'],
      ['an empty path', () => get('path='), 400, 'BAD_REQUEST'],
      ['an empty segment', () => get('path=photos//sub'), 400, 'BAD_REQUEST'],
      ['a backslash', () => get(`path=${encodeURIComponent('photos\\sub')}`), 400, 'BAD_REQUEST'],
      ['two paths with the same name (same/a/x and same/b/x)', () => get('path=same/a/x&path=same/b/x'), 400, 'BAD_REQUEST'],
      ['POST two paths with the same name', () => post({ paths: ['same/a/x', 'same/b/x'] }), 400, 'BAD_REQUEST'],
      ['the same path twice', () => get('path=docs&path=docs'), 400, 'BAD_REQUEST'],
      ['an unknown format', () => get('path=docs&format=rar'), 400, 'BAD_REQUEST'],
      ['a repeated format', () => get('path=docs&format=zip&format=zip'), 400, 'BAD_REQUEST'],
      ['POST bad JSON', () => post('{"paths": ['), 400, 'BAD_REQUEST'],
      ['POST with a wrong content type', () => post({ paths: ['docs'] }, { 'Content-Type': 'text/plain' }), 400, 'BAD_REQUEST'],
      ['POST without paths', () => post({ format: 'zip' }), 400, 'BAD_REQUEST'],
      ['POST with no path in paths', () => post({ paths: [] }), 400, 'BAD_REQUEST'],
      ['POST with paths not a list', () => post({ paths: 'docs' }), 400, 'BAD_REQUEST'],
      ['POST with an unknown field', () => post({ paths: ['docs'], extra: 1 }), 400, 'BAD_REQUEST'],
      ['POST with an unknown format', () => post({ paths: ['docs'], format: '7z' }), 400, 'BAD_REQUEST'],
    ];
    for (const [label, send, status, code] of bad) {
      // A symlink and a FIFO are the os driver's.
      if (driver === 's3' && (label.includes('symlink') || label.includes('FIFO'))) continue;
      it(`${label} → ${status} ${code}`, async () => {
        await expectError(await send(), status, code, [fx.local.dir]);
      });
    }

    function fetchWith(bearer: string, query: string) {
      return fetch(`${server.url}/api/archive?${query}`, { headers: { Authorization: `Bearer ${bearer}` } });
    }
    function postWith(bearer: string, body: unknown) {
      return fetch(`${server.url}/api/archive`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    }
  });
});

// Descriptors, truncation mid-read and the timing of a deletion are the os
// driver's: on an object store an archive opens objects ahead (a small one is
// read whole when opened), and what an object replaced mid-transfer does is an
// s3-only test.
describe('/api/archive: client aborts and files that change while the archive streams (os)', () => {
  const MB = 1024 * 1024;
  let tree: TempDir;
  let server: TestServer;
  let token: string;

  before(async () => {
    tree = tempDir();
    for (let index = 1; index <= 4; index += 1) truncateSync(tree.file(`data/big/part-${index}.bin`, ''), 64 * MB);
    tree.file('data/small/one.txt', 'one\n');
    tree.folder('data/work');
    // A wide tree whose walk takes long enough to leave in the middle of it.
    for (let index = 0; index < 5000; index += 1) tree.file(`data/wide/d${index % 50}/f${index}.txt`, 'x');
    server = await startTestServer({ layers: { OsFs: { root: path.join(tree.dir, 'data'), maxFileSize: '1GB' } } });
    token = await hsToken({ scope: 'files:archive' });
  });

  after(async () => {
    await server?.close();
    tree?.remove();
  });

  it('a client that leaves during the walk stops it: no archive is started, no descriptor is left open', async () => {
    const before = openDescriptors();
    await new Promise<void>((resolve) => {
      const request = http.get(`${server.url}/api/archive?path=wide`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'walk-abort' }, agent: false }, () => {
        resolve();
      });
      request.on('error', () => resolve());
      // Before any answer: the walk of 5,000 entries is still running.
      setTimeout(() => request.destroy(), 30);
    });
    const line = await waitForAccessLine(server, 'walk-abort', 10_000);
    expect(line.aborted, 'the access line says the client left').to.equal(true);
    await settle(() => openDescriptors() <= before, 5000);
    expect(openDescriptors()).to.be.at.most(before);
    // The walk's end was not followed by an archive: none was started for it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.logs.filter((entry) => entry.msg === 'archive' && entry.reqId === 'walk-abort')).to.deep.equal([]);
  });

  it('a client that aborts mid-archive leaves no descriptor open, and the server keeps serving', async () => {
    const url = (format: Format) => `${server.url}/api/archive?path=big&format=${format}`;
    await abortAfterFirstChunk(url('zip'), token); // warm up lazily opened handles
    await settle(() => false, 100);
    const before = openDescriptors();
    for (let round = 0; round < 5; round += 1) {
      await Promise.all([abortAfterFirstChunk(url('zip'), token, `abort-zip-${round}`), abortAfterFirstChunk(url('tar.gz'), token, `abort-tgz-${round}`)]);
    }
    await settle(() => openDescriptors() <= before, 5000);
    expect(openDescriptors()).to.be.at.most(before);
    // Each aborted archive logged that it did not complete.
    for (let round = 0; round < 5; round += 1) {
      for (const id of [`abort-zip-${round}`, `abort-tgz-${round}`]) {
        const line = await waitForLog(server, (entry) => entry.msg === 'archive' && entry.reqId === id);
        expect(line.completed, id).to.equal(false);
      }
    }
    const response = await fetch(`${server.url}/api/archive?path=small`, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).to.equal(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(readZipNames(tree, bytes)).to.deep.equal(['small/', 'small/one.txt']);
  });

  for (const format of ['zip', 'tar.gz'] as const) {
    it(`a file truncated while it is read gives a cut download, never a valid archive (${format})`, async () => {
      const folder = path.join(tree.dir, 'data', 'work', `shrink-${format}`);
      mkdirSync(folder);
      const victim = path.join(folder, 'shrinking.bin');
      closeSync(openSync(victim, 'w'));
      truncateSync(victim, 200 * MB);
      writeFileSync(path.join(folder, 'z-after.txt'), 'after\n');
      try {
        const requestId = `archive-shrink-${format}`;
        const result = await downloadWithPause(`${server.url}/api/archive?path=work/shrink-${format}&format=${format}`, token, () => truncateSync(victim, MB), requestId);
        expect(result.status).to.equal(200);
        // Far less than the 200 MB announced by the walk came through.
        expect(result.bytes.length).to.be.below(100 * MB);
        expect(result.cut, 'the connection ends without the chunked terminator').to.equal(true);
        const file = path.join(tree.dir, `shrunk.${format}`);
        writeFileSync(file, result.bytes);
        const python = spawnSync('python3', ['-c', VALIDATE, format, file], { encoding: 'utf8' });
        expect(python.status, `python3 opened the cut archive: ${python.stdout}${python.stderr}`).to.not.equal(0);
        if (format === 'zip') {
          const unzip = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
          expect(unzip.status, 'unzip -t on the cut archive').to.not.equal(0);
        }
        rmSync(file);
        const line = await waitForLog(server, (entry) => entry.msg === 'archive' && entry.reqId === requestId);
        expect(line.completed).to.equal(false);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  }

  it('the service process survives a file truncated mid-archive (regression: the file stream\'s error had no listener, an uncaught exception that ends the process)', async () => {
    // The real entry point in a child process: an uncaught exception ends it,
    // where mocha's own handler would only fail a test in-process.
    const child = await startChildServer({ layers: { OsFs: { root: path.join(tree.dir, 'data'), maxFileSize: '1GB' } } }, path.join(tree.dir, 'child.json'));
    const folder = path.join(tree.dir, 'data', 'work', 'shrink-child');
    mkdirSync(folder);
    const victim = path.join(folder, 'shrinking.bin');
    closeSync(openSync(victim, 'w'));
    truncateSync(victim, 200 * MB);
    try {
      const result = await downloadWithPause(`${child.url}/api/archive?path=work/shrink-child`, token, () => truncateSync(victim, MB));
      expect(result.cut, 'the cut archive ends without the chunked terminator').to.equal(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      let status: number | string;
      try {
        const response = await fetch(`${child.url}/api/archive?path=small`, { headers: { Authorization: `Bearer ${token}` } });
        await response.arrayBuffer();
        status = response.status;
      } catch (error) {
        status = `no answer: the service process is gone (${String((error as Error).cause ?? error)})`;
      }
      expect(status).to.equal(200);
    } finally {
      await child.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('a file deleted after the walk, before its turn, is left out and the archive stays valid (logged as skipped)', async () => {
    // The first entry is 64 MB of a sparse file: while the client reads
    // nothing, back-pressure holds the server inside it, so the second file
    // is deleted before the server reaches it.
    const folder = path.join(tree.dir, 'data', 'work', 'vanish');
    mkdirSync(folder);
    const big = path.join(folder, 'a-big.bin');
    closeSync(openSync(big, 'w'));
    truncateSync(big, 64 * MB);
    const gone = path.join(folder, 'b-gone.txt');
    writeFileSync(gone, 'gone\n');
    writeFileSync(path.join(folder, 'c-stays.txt'), 'stays\n');
    try {
      const result = await downloadWithPause(`${server.url}/api/archive?path=work/vanish`, token, () => rmSync(gone), 'archive-vanish-1');
      expect(result.status).to.equal(200);
      expect(result.cut).to.equal(false);
      expect(result.headers['x-archive-entries']).to.equal('4');
      const file = path.join(tree.dir, 'vanish.zip');
      writeFileSync(file, result.bytes);
      const listing = execFileSync('python3', ['-c', LIST_ZIP, file], { encoding: 'utf8' });
      expect(JSON.parse(listing)).to.deep.equal({ bad: null, names: ['vanish/', 'vanish/a-big.bin', 'vanish/c-stays.txt'] });
      const unzip = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
      expect(unzip.status, unzip.stdout).to.equal(0);
      rmSync(file);
      const line = await waitForLog(server, (entry) => entry.msg === 'archive' && entry.reqId === 'archive-vanish-1');
      expect(line).to.include({ entries: 3, skipped: 1, completed: true });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }).timeout(60_000);
});

// Exits non-zero unless the archive opens and every member reads back (CRCs for ZIP).
const VALIDATE = String.raw`
import sys, tarfile, zipfile
kind, path = sys.argv[1], sys.argv[2]
if kind == 'zip':
    with zipfile.ZipFile(path) as archive:
        bad = archive.testzip()
        if bad is not None:
            raise SystemExit('bad member %r' % bad)
else:
    with tarfile.open(path, 'r:gz') as archive:
        for member in archive.getmembers():
            if member.isfile():
                archive.extractfile(member).read()
print('valid')
`;

const LIST_ZIP = String.raw`
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    print(json.dumps({'bad': archive.testzip(), 'names': [info.filename for info in archive.infolist()]}))
`;

function readZipNames(tree: TempDir, bytes: Buffer): string[] {
  const file = path.join(tree.dir, `names-${Date.now()}.zip`);
  writeFileSync(file, bytes);
  try {
    return (JSON.parse(execFileSync('python3', ['-c', LIST_ZIP, file], { encoding: 'utf8' })) as { names: string[] }).names;
  } finally {
    rmSync(file);
  }
}

/** No entry name is absolute, has a ".." segment, a backslash, a control character or a bidi control. */
function expectSafeNames(names: readonly string[]): void {
  for (const name of names) {
    expect(name, JSON.stringify(name)).to.not.match(/^\//);
    expect(name.split('/'), JSON.stringify(name)).to.not.include('..');
    expect(name, JSON.stringify(name)).to.not.match(/[\\\u0000-\u001f\u007f-\u009f]/);
    expect(name, JSON.stringify(name)).to.not.match(/\p{Bidi_Control}/u);
  }
}

const openDescriptors = () => readdirSync('/proc/self/fd').length;

async function settle(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Starts an archive download, reads its first chunk, then destroys the connection. */
function abortAfterFirstChunk(url: string, token: string, requestId?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (requestId) headers['X-Request-Id'] = requestId;
    const request = http.get(url, { headers, agent: false }, (response) => {
      if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
      response.once('data', () => {
        request.destroy();
        resolve();
      });
    });
    request.on('error', reject);
  });
}

/**
 * Downloads `url`, pausing after the first chunk to run `between`, then reads
 * the rest. `cut` is true when the body ended in an error (the connection was
 * destroyed before the chunked body's end) rather than cleanly.
 */
function downloadWithPause(
  url: string,
  token: string,
  between: () => void,
  requestId?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: Buffer; cut: boolean }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (requestId) headers['X-Request-Id'] = requestId;
    const request = http.get(url, { headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (cut: boolean) => {
        if (settled) return;
        settled = true;
        resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes: Buffer.concat(chunks), cut });
      };
      response.once('data', (first: Buffer) => {
        chunks.push(first);
        response.pause();
        // Let the server run into back-pressure before changing the files.
        setTimeout(() => {
          try {
            between();
          } catch (error) {
            reject(error);
            return;
          }
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.resume();
        }, 200);
      });
      response.on('end', () => finish(!response.complete));
      response.on('error', () => finish(true));
      response.on('aborted', () => finish(true));
      response.on('close', () => finish(!response.complete));
    });
    request.on('error', (error) => reject(error));
  });
}
