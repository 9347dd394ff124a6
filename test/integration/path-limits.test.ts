// Both sides of every path limit of the SPEC (4096 bytes, a 255-byte segment, 64 levels) over HTTP, for downloads, listings and archives: at the limit a path is served (or, past what the file system can reach, 404), one byte or level over it is 400.

import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

// File names of exactly 255 bytes, and the same one byte longer, in 1-, 2-, 3- and 4-byte characters.
const NAMES: Array<{ what: string; at: string; over: string }> = [
  { what: 'ASCII', at: `${'x'.repeat(251)}.txt`, over: `${'x'.repeat(252)}.txt` },
  { what: '2-byte characters', at: `${'é'.repeat(125)}a.txt`, over: `${'é'.repeat(126)}.txt` },
  { what: '3-byte characters', at: `${'日'.repeat(83)}ab.txt`, over: `${'日'.repeat(84)}.txt` },
  { what: '4-byte characters', at: `${'😀'.repeat(62)}abc.txt`, over: `${'😀'.repeat(63)}.txt` },
];
const FOLDER_255 = 'F'.repeat(255);
const FOLDER_256 = 'F'.repeat(256);

const levels = (count: number) => Array.from({ length: count }, (_, index) => `d${index}`);
// A file 64 levels down (63 folders), and a folder 64 levels down (64 folders).
const FILE_64 = [...levels(63), 'f.txt'].join('/');
const FILE_65 = [...levels(64), 'f.txt'].join('/');
const FOLDER_64 = levels(64).join('/');
const FOLDER_65 = levels(65).join('/');

// 16 folders of 240 bytes, then a last name of 240 bytes: 17 × 240 + 16 separators = 4096 bytes.
const LONG_PARENTS = Array.from({ length: 16 }, (_, index) => `${String(index).padStart(2, '0')}${'p'.repeat(238)}`);
const FILE_4096 = [...LONG_PARENTS, 'f'.repeat(240)].join('/');
const FOLDER_4096 = [...LONG_PARENTS, 'g'.repeat(240)].join('/');
const FILE_4097 = `${FILE_4096}x`;
const FOLDER_4097 = `${FOLDER_4096}x`;

describe('path limits, at and over each one, for downloads, listings and archives', () => {
  let tmp: TempDir;
  let root: string;
  let server: TestServer;
  let token: string;

  before(async () => {
    tmp = tempDir('filegate-path-limits-');
    root = tmp.folder('root');
    for (const { at } of NAMES) tmp.file(`root/${at}`, `named ${at}\n`);
    tmp.file(`root/${FOLDER_255}/in.txt`, 'inside a 255-byte folder name\n');
    tmp.file(`root/${FILE_64}`, 'sixty-four levels down\n');
    mkdirSync(path.join(root, FOLDER_64), { recursive: true });
    // Under the 64th folder, so 65 levels down: never offered by a listing, as no download may ask for it.
    tmp.file(`root/${FOLDER_64}/too-deep.txt`, 'sixty-five levels down\n');
    // The 4096-byte paths exist: joined to the root they pass PATH_MAX, so they are made from inside their parent.
    const parents = path.join(root, ...LONG_PARENTS);
    mkdirSync(parents, { recursive: true });
    execFileSync('sh', ['-c', 'printf "a 4096-byte path\\n" > "$1" && mkdir "$2"', 'sh', 'f'.repeat(240), 'g'.repeat(240)], { cwd: parents });
    server = await startTestServer({ layers: { OsFs: { root } } });
    token = await hsToken({ scope: 'files:read files:list files:archive' });
  });

  after(async () => {
    await server?.close();
    // Node's recursive removal walks by path and stops at PATH_MAX; rm walks by descriptor.
    if (tmp) execFileSync('rm', ['-rf', tmp.dir]);
  });

  it('the fixtures have the sizes the cases claim', () => {
    expect(NAMES.map(({ at }) => bytes(at))).to.deep.equal([255, 255, 255, 255]);
    expect(NAMES.map(({ over }) => bytes(over))).to.deep.equal([256, 256, 256, 256]);
    expect([bytes(FOLDER_255), bytes(FOLDER_256)]).to.deep.equal([255, 256]);
    expect([FILE_64, FILE_65, FOLDER_64, FOLDER_65].map((text) => text.split('/').length)).to.deep.equal([64, 65, 64, 65]);
    expect([FILE_4096, FOLDER_4096, FILE_4097, FOLDER_4097].map(bytes)).to.deep.equal([4096, 4096, 4097, 4097]);
    // Joined to the root, a 4096-byte path passes PATH_MAX (4096 bytes with its final NUL).
    expect(bytes(path.join(root, FILE_4096))).to.be.above(4095);
  });

  const get = (route: string, parameter: string, value: string) =>
    fetch(`${server.url}${route}?${parameter}=${encodeURIComponent(value)}`, { headers: { Authorization: `Bearer ${token}` } });
  const download = (filepath: string) => get('/api/download', 'filepath', filepath);
  const list = (folder: string) => get('/api/list', 'path', folder);
  const archive = (target: string) => get('/api/archive', 'path', target);

  /** Expects 400 BAD_REQUEST whose message names the limit passed. */
  const expectRefused = async (response: Response, says: string) => {
    const body = await expectError(response, 400, 'BAD_REQUEST', [tmp.dir]);
    expect(body.error).to.include(says);
  };

  /** Expects an archive answered whole: 200, a ZIP holding `holds`. */
  const expectArchive = async (response: Response, holds: string) => {
    expect(response.status, await response.clone().text()).to.equal(200);
    expect(response.headers.get('content-type')).to.equal('application/zip');
    expect(Buffer.from(await response.arrayBuffer()).includes(holds)).to.equal(true);
  };

  describe('a segment of 255 bytes, and of 256', () => {
    for (const { what, at, over } of NAMES) {
      it(`download: a 255-byte name in ${what} is served (200)`, async () => {
        const response = await download(at);
        expectFileHeaders(response);
        expect(response.status).to.equal(200);
        expect(await response.text()).to.equal(`named ${at}\n`);
      });

      it(`download: a 256-byte name in ${what} is 400`, async () => {
        await expectRefused(await download(over), '255 bytes');
      });
    }

    it('listing: a folder with a 255-byte name is listed (200), and its 255-byte files are offered', async () => {
      const response = await list(FOLDER_255);
      expect(response.status).to.equal(200);
      expect(((await response.json()) as { entries: Array<{ name: string }> }).entries.map((entry) => entry.name)).to.deep.equal(['in.txt']);
      const rootView = (await (await list('/')).json()) as { entries: Array<{ name: string }> };
      expect(rootView.entries.map((entry) => entry.name)).to.include.members([FOLDER_255, ...NAMES.map(({ at }) => at)]);
    });

    it('listing: a 256-byte folder name is 400', async () => {
      await expectRefused(await list(FOLDER_256), '255 bytes');
    });

    it('archive: a folder with a 255-byte name is archived (200)', async () => {
      await expectArchive(await archive(FOLDER_255), `${FOLDER_255}/in.txt`);
    });

    it('archive: a 256-byte name is 400', async () => {
      await expectRefused(await archive(FOLDER_256), '255 bytes');
    });
  });

  describe('64 levels, and 65', () => {
    it('download: a file 64 levels down is served (200)', async () => {
      const response = await download(FILE_64);
      expectFileHeaders(response);
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('sixty-four levels down\n');
    });

    it('download: 65 levels is 400', async () => {
      await expectRefused(await download(FILE_65), '64 levels');
    });

    it('listing: a folder 64 levels down is listed (200), without the entries a download could not ask for', async () => {
      const response = await list(FOLDER_64);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.deep.include({ entries: [], total: 0 });
    });

    it('listing: 65 levels is 400', async () => {
      await expectRefused(await list(FOLDER_65), '64 levels');
    });

    it('archive: a file 64 levels down is archived (200)', async () => {
      await expectArchive(await archive(FILE_64), 'sixty-four levels down');
    });

    it('archive: 65 levels is 400', async () => {
      await expectRefused(await archive(FOLDER_65), '64 levels');
    });
  });

  describe('4096 bytes, and 4097', () => {
    /**
     * A 4096-byte path passes the SPEC's limit, but joined to the layer's
     * root it passes the kernel's PATH_MAX, so nothing can be reached there:
     * 404 saying so, as nginx answers, never 400.
     */
    const expectTooLongToReach = async (response: Response, shown: string) => {
      const body = await expectError(response, 404, 'NOT_FOUND', [tmp.dir, 'ENAMETOOLONG']);
      expect(body.error).to.include('too long for layer "OsFs" to reach').and.include(shown.slice(0, 100));
    };

    it('download: a 4096-byte path is not refused by the limit (404: too long for the file system to reach)', async () => {
      await expectTooLongToReach(await download(FILE_4096), FILE_4096);
    });

    it('download: a 4097-byte path is 400', async () => {
      await expectRefused(await download(FILE_4097), '4096 bytes');
    });

    it('listing: a 4096-byte path is not refused by the limit (404: too long for the file system to reach)', async () => {
      await expectTooLongToReach(await list(FOLDER_4096), FOLDER_4096);
    });

    it('listing: a 4097-byte path is 400', async () => {
      await expectRefused(await list(FOLDER_4097), '4096 bytes');
    });

    it('archive: a 4096-byte path is not refused by the limit (404: too long for the file system to reach)', async () => {
      await expectTooLongToReach(await archive(FOLDER_4096), FOLDER_4096);
    });

    it('archive: a 4097-byte path is 400', async () => {
      await expectRefused(await archive(FOLDER_4097), '4096 bytes');
    });
  });
});
