// Entries that are not plain servable files: FIFOs, folders, sockets, devices, empty and oversized files, and type rules.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

/** The descriptors of this process (the server runs in it) that point into `dir`. */
function descriptorsUnder(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(`${dir}/`)) open.push(target);
    } catch {
      // closed while listing
    }
  }
  return open;
}

describe('GET /api/download: special files', () => {
  let tmp: TempDir;
  let server: TestServer;
  const socketServers: net.Server[] = [];
  let token: string;

  before(async () => {
    tmp = tempDir();
    tmp.file('data/a.txt', 'plain file\n');
    tmp.file('data/dir/inside.txt', 'inside\n');
    tmp.folder('data/folder.mp4');
    tmp.fifo('data/pipe');
    tmp.fifo('data/pipe.mp4');
    tmp.file('data/empty.txt', '');
    tmp.file('data/empty.mp4', '');
    tmp.file('data/exactly-1k.bin', Buffer.alloc(1024, 0x61));
    // Sparse: the size is in the inode, no blocks are written.
    truncateSync(tmp.file('data/big.bin', ''), 2048);
    truncateSync(tmp.file('data/huge.bin', ''), 3 * 1024 ** 3);
    tmp.file('data/clip.mp4', 'not really a video\n');
    tmp.file('data/song.mp3', 'not really audio\n');
    tmp.file('data/sound.wav', 'RIFF....WAVE\n');
    tmp.file('data/LOUD.WAV', 'RIFF....WAVE upper\n');
    tmp.file('data/notes.txt', 'notes\n');
    tmp.file('data/y.txt', 'text dressed as video\n');
    tmp.file('data/noext', 'no extension\n');
    tmp.symlink('data/x.mp4', 'y.txt');
    tmp.symlink('data/fifo-link.txt', 'pipe');
    // A character device like /dev/null (the tests run as root, as CI does).
    execFileSync('mknod', [path.join(tmp.dir, 'data', 'null-dev'), 'c', '1', '3']);

    for (const socketPath of ['data/sock', 'outside.sock']) {
      const socketServer = net.createServer();
      socketServers.push(socketServer);
      await new Promise<void>((resolve, reject) => {
        socketServer.once('error', reject);
        socketServer.listen(path.join(tmp.dir, socketPath), () => resolve());
      });
    }
    tmp.symlink('data/sock-link', 'sock');
    tmp.symlink('data/out-sock-link', '../outside.sock');

    const root = path.join(tmp.dir, 'data');
    server = await startTestServer({
      layers: {
        OsFs: { root },
        emptyOk: { root, allowEmpty: true },
        small: { root, maxFileSize: '1KB' },
        media: { root, types: ['video', 'audio'] },
        wav: { root, extensions: ['.wav'] },
      },
    });
    token = await hsToken();
  });

  after(async () => {
    await server?.close();
    await Promise.all(socketServers.map((socketServer) => new Promise<void>((resolve) => socketServer.close(() => resolve()))));
    tmp?.remove();
  });

  const download = (filepath: string, fstype?: string) => {
    const query = new URLSearchParams({ filepath, ...(fstype === undefined ? {} : { fstype }) });
    return fetch(`${server.url}/api/download?${query}`, { headers: { authorization: `Bearer ${token}` } });
  };

  describe('a FIFO never blocks the process', () => {
    it('8 parallel requests for a FIFO with no writer, plus one normal download: all answered within 2 s', async () => {
      const started = Date.now();
      const fifos = Array.from({ length: 8 }, () => download('pipe').then((response) => expectError(response, 403, 'NOT_A_FILE')));
      const normal = download('a.txt').then(async (response) => {
        expect(response.status).to.equal(200);
        expect(await response.text()).to.equal('plain file\n');
      });
      await Promise.all([...fifos, normal]);
      // The 2 s bound is the issue's own: an open that blocked on the FIFO would hold a thread-pool worker forever.
      expect(Date.now() - started).to.be.below(2000);
    });

    it('a symlink to a FIFO → 403 NOT_A_FILE', async () => {
      await expectError(await download('fifo-link.txt'), 403, 'NOT_A_FILE');
    });

    it('HEAD on a FIFO → 403 NOT_A_FILE, with no body', async () => {
      const response = await fetch(`${server.url}/api/download?filepath=pipe`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
      expect(response.status).to.equal(403);
      expect(await response.text()).to.equal('');
    });
  });

  describe('not a file', () => {
    const cases: Array<{ name: string; filepath: string; fstype?: string }> = [
      { name: 'a folder', filepath: 'dir' },
      { name: 'the layer root itself ("/")', filepath: '/' },
      { name: 'a unix socket', filepath: 'sock' },
      { name: 'a symlink to a unix socket in the root', filepath: 'sock-link' },
      { name: 'a character device', filepath: 'null-dev' },
      { name: 'a FIFO', filepath: 'pipe' },
      { name: 'a folder named like a video, on a video layer (not-a-file is checked before type)', filepath: 'folder.mp4', fstype: 'media' },
      { name: 'a FIFO named like a video, on a video layer', filepath: 'pipe.mp4', fstype: 'media' },
      { name: 'a FIFO on a layer that allows empty files', filepath: 'pipe', fstype: 'emptyOk' },
    ];
    for (const c of cases) {
      it(`${c.name} → 403 NOT_A_FILE`, async () => {
        const body = await expectError(await download(c.filepath, c.fstype), 403, 'NOT_A_FILE', [tmp.dir]);
        expect(body.error).to.include(JSON.stringify(c.filepath));
      });
    }
  });

  it('a symlink to a unix socket outside the root → 403 PATH_NOT_ALLOWED (confinement is decided before the kind)', async () => {
    await expectError(await download('out-sock-link'), 403, 'PATH_NOT_ALLOWED', [tmp.dir]);
  });

  describe('empty files', () => {
    it('an empty file → 412 FILE_EMPTY', async () => {
      await expectError(await download('empty.txt'), 412, 'FILE_EMPTY');
    });

    it('an empty file on a layer with allowEmpty: true → 200 with Content-Length 0', async () => {
      const response = await download('empty.txt', 'emptyOk');
      expect(response.status).to.equal(200);
      expectFileHeaders(response);
      expect(response.headers.get('content-length')).to.equal('0');
      expect((await response.arrayBuffer()).byteLength).to.equal(0);
    });

    it('an empty .txt on a video layer → 403 TYPE_NOT_ALLOWED (type is checked before emptiness)', async () => {
      await expectError(await download('empty.txt', 'media'), 403, 'TYPE_NOT_ALLOWED');
    });

    it('an empty .mp4 on a video layer → 412 FILE_EMPTY', async () => {
      await expectError(await download('empty.mp4', 'media'), 412, 'FILE_EMPTY');
    });
  });

  describe('maxFileSize', () => {
    it('a 2 KB sparse file on a 1 KB layer → 413 FILE_TOO_LARGE naming both sizes', async () => {
      const body = await expectError(await download('big.bin', 'small'), 413, 'FILE_TOO_LARGE');
      expect(body.error).to.include('2 KB').and.include('1 KB').and.include('"big.bin"');
    });

    it('a file of exactly maxFileSize is served', async () => {
      const response = await download('exactly-1k.bin', 'small');
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-length')).to.equal('1024');
      expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.alloc(1024, 0x61))).to.equal(true);
    });

    it('a 3 GB sparse file on the default 50 MB layer → 413 FILE_TOO_LARGE naming both sizes', async () => {
      const body = await expectError(await download('huge.bin'), 413, 'FILE_TOO_LARGE');
      expect(body.error).to.include('3 GB').and.include('50 MB');
    });

    it('an empty file on a small layer is FILE_EMPTY, not too large', async () => {
      await expectError(await download('empty.txt', 'small'), 412, 'FILE_EMPTY');
    });
  });

  describe('types and extensions', () => {
    const cases: Array<{ name: string; filepath: string; fstype: string; status: number; code?: string; body?: string }> = [
      { name: 'types [video, audio]: a .txt', filepath: 'notes.txt', fstype: 'media', status: 403, code: 'TYPE_NOT_ALLOWED' },
      { name: 'types [video, audio]: a file without extension', filepath: 'noext', fstype: 'media', status: 403, code: 'TYPE_NOT_ALLOWED' },
      { name: 'types [video, audio]: an .mp4', filepath: 'clip.mp4', fstype: 'media', status: 200, body: 'not really a video\n' },
      { name: 'types [video, audio]: an .mp3', filepath: 'song.mp3', fstype: 'media', status: 200, body: 'not really audio\n' },
      { name: 'types [video, audio]: a symlink x.mp4 → y.txt', filepath: 'x.mp4', fstype: 'media', status: 403, code: 'TYPE_NOT_ALLOWED' },
      { name: 'extensions [.wav]: a .wav', filepath: 'sound.wav', fstype: 'wav', status: 200, body: 'RIFF....WAVE\n' },
      { name: 'extensions [.wav]: an upper-case .WAV', filepath: 'LOUD.WAV', fstype: 'wav', status: 200, body: 'RIFF....WAVE upper\n' },
      { name: 'extensions [.wav]: an .mp3', filepath: 'song.mp3', fstype: 'wav', status: 403, code: 'TYPE_NOT_ALLOWED' },
      { name: 'extensions [.wav]: a .txt', filepath: 'notes.txt', fstype: 'wav', status: 403, code: 'TYPE_NOT_ALLOWED' },
      { name: 'no type rule: the symlink x.mp4 → y.txt is served', filepath: 'x.mp4', fstype: 'OsFs', status: 200, body: 'text dressed as video\n' },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.status}${c.code ? ` ${c.code}` : ''}`, async () => {
        const response = await download(c.filepath, c.fstype);
        if (c.code !== undefined) {
          await expectError(response, c.status, c.code, [tmp.dir]);
        } else {
          expect(response.status).to.equal(c.status);
          expectFileHeaders(response);
          expect(await response.text()).to.equal(c.body);
        }
      });
    }
  });

  describe('descriptors', () => {
    it('served and refused downloads leave no descriptor open (regression: a read stream with autoClose false never emits "close")', async () => {
      const requests: Array<[filepath: string, fstype: string | undefined, status: number]> = [
        ['a.txt', undefined, 200],
        ['clip.mp4', 'media', 200],
        ['x.mp4', undefined, 200],
        ['empty.txt', 'emptyOk', 200],
        ['pipe', undefined, 403],
        ['dir', undefined, 403],
        ['null-dev', undefined, 403],
        ['empty.txt', undefined, 412],
        ['big.bin', 'small', 413],
        ['notes.txt', 'media', 403],
        ['x.mp4', 'media', 403],
      ];
      for (let round = 0; round < 3; round += 1) {
        for (const [filepath, fstype, status] of requests) {
          const response = await download(filepath, fstype);
          expect(response.status, `${filepath} on ${fstype ?? 'OsFs'}`).to.equal(status);
          await response.arrayBuffer();
        }
      }
      // Descriptors are closed asynchronously; give the thread pool a moment.
      const deadline = Date.now() + 1000;
      let open = descriptorsUnder(tmp.dir);
      while (open.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        open = descriptorsUnder(tmp.dir);
      }
      expect(open).to.deep.equal([]);
    });
  });
});
