// GET /api/list: the listing's shape and links, every sort and filter, pagination exactly once over a folder that changes between pages, cursors, limits, token claims, and what is left out (hidden, symlinks leaving the root, special files, names that cannot be addressed).

import { expect } from 'chai';
import { utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listResponseSchema, type ListingView } from '../../src/routes/list.js';
import { expectError } from '../helpers/assertions.js';
import { DRIVERS, layerFixture, type LayerFixture } from '../helpers/layer-fixture.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const OUTSIDE_MARKER = 'OUTSIDE-THE-ROOT';

for (const driver of DRIVERS) describe(`GET /api/list (${driver})`, () => {
  let fx: LayerFixture;
  let server: TestServer;
  let token: string;

  const get = (query: string, bearer: string | null = token) =>
    fetch(`${server.url}/api/list?${query}`, { headers: bearer === null ? {} : { Authorization: `Bearer ${bearer}` } });

  /** Lists with `query`, expects 200 and a body of the documented shape, and returns it. */
  const list = async (query: string, bearer: string | null = token): Promise<ListingView> => {
    const response = await get(query, bearer);
    const text = await response.text();
    expect(response.status, text).to.equal(200);
    expect(response.headers.get('content-type')).to.match(/^application\/json/);
    expect(response.headers.get('cache-control')).to.equal('no-store');
    expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(text, 'no absolute server path in a listing').to.not.include(fx.local.dir);
    return listResponseSchema.parse(JSON.parse(text));
  };

  const names = (view: ListingView) => view.entries.map((entry) => entry.name);

  /** Every page of a listing with `limit`, following next_cursor; `between` runs after each page but the last. */
  const walk = async (query: string, limit: number, between: (page: ListingView, index: number) => Promise<void> | void = () => {}) => {
    const pages: ListingView[] = [];
    let cursor: string | null = null;
    do {
      const view = await list(`${query}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      pages.push(view);
      cursor = view.next_cursor;
      if (cursor !== null) await between(view, pages.length);
      if (pages.length > 500) throw new Error('the walk does not end');
    } while (cursor !== null);
    return pages;
  };

  // Times can be set on disk only (an object's time is its upload's): the os driver's tree gets these.
  const setTime = (relative: string, seconds: number) => {
    if (driver === 'os') utimesSync(path.join(fx.local.dir, 'root', relative), seconds, seconds);
  };
  const T = 1_700_000_000;

  before(async function () {
    this.timeout(120_000);
    fx = await layerFixture(driver);
    void fx.folder('root');
    void fx.file('outside.txt', `${OUTSIDE_MARKER}\n`);
    void fx.file('outside-dir/secret.txt', `${OUTSIDE_MARKER}\n`);

    void fx.folder('root/big');
    void fx.file('root/shape/hello.txt', 'hello\n');
    void fx.file('root/shape/inner/deep.txt', 'deep\n');
    void fx.file('root/shape/ünï cødé ☃.txt', 'unicode\n');
    void fx.file('root/shape/a&b#c%d+e f.json', '{}\n');
    void fx.file('root/shape/empty.txt', '');

    // Sizes and times chosen so that every sort gives another order.
    const sized: Array<[string, number, number]> = [
      ['file10.txt', 5, 1],
      ['file2.txt', 30, 3],
      ['File3.md', 1, 2],
      ['image.png', 20, 5],
    ];
    for (const [name, size] of sized) void fx.file(`root/sorting/${name}`, 'x'.repeat(size));
    for (const name of ['d2', 'd10', 'Da', 'g-folder']) void fx.folder(`root/sorting/${name}`);

    for (const name of ['a.mp4', 'b.mp3', 'c.png', 'd.txt', 'e.pdf', 'f.zip', 'g.json', 'h.bin', 'Report-Final.PDF']) void fx.file(`root/types/${name}`, 'data\n');
    void fx.folder('root/types/sub');

    for (let i = 0; i < 250; i += 1) void fx.file(`root/many/f-${i}.txt`, `${i}\n`);
    for (let i = 0; i < 10; i += 1) void fx.folder(`root/many/dir-${i}`);
    // More entries than the layer reads at once (a folder's batch, a LIST page of 1,000), so the folder comes in several.
    for (let i = 0; i < 3000; i += 1) void fx.file(`root/big/e-${i}.txt`, 'x'.repeat(i % 50));

    void fx.file('root/users/42/own.txt', 'user 42\n');
    void fx.file('root/users/420/other.txt', 'user 420\n');
    void fx.file('root/users/43/mine.txt', 'user 43\n');
    void fx.file('root/users/readme.txt', 'readme\n');

    void fx.file('root/hidden/visible.txt', 'visible\n');
    void fx.file('root/hidden/.dot.txt', 'dot\n');
    void fx.file('root/hidden/.dotdir/x.txt', 'x\n');

    void fx.file('root/names/ok.txt', 'ok\n');
    void fx.file('root/names/line\nbreak.txt', 'newline\n');
    void fx.file('root/names/back\\slash.txt', 'backslash\n');
    void fx.file('root/names/esc\u001b[31m.txt', 'escape\n');

    void fx.file('root/jobs/7/out_1.png', 'png\n');
    void fx.file('root/jobs/7/out_2.png', 'png\n');
    void fx.file('root/jobs/7/out_10.png', 'png\n');
    void fx.file('root/jobs/7/log.txt', 'log\n');

    void fx.folder('root/mutating');
    await fx.flush();

    if (driver === 'os') {
      // What only a file system has: times, symlinks, a FIFO, a name that is not UTF-8.
      const local = fx.local;
      setTime('shape/hello.txt', T);
      for (const [name, , time] of sized) setTime(`sorting/${name}`, T + time);
      for (const [name, time] of [['d2', 0], ['d10', 4], ['Da', 6], ['g-folder', 7]] as const) setTime(`sorting/${name}`, T + time);

      local.symlink('root/users/42/peek.txt', '../420/other.txt');
      local.symlink('root/users/42/peek-dir', '../420');

      local.file('root/links/real.txt', 'real\n');
      local.symlink('root/links/in-file.txt', '../shape/hello.txt');
      local.symlink('root/links/in-dir', '../shape');
      local.symlink('root/links/out-file.txt', '../../outside.txt');
      local.symlink('root/links/out-dir', '../../outside-dir');
      local.symlink('root/links/dangling.txt', 'nowhere.txt');
      local.symlink('root/links/loop', 'loop');
      local.symlink('root/links/to-hidden.txt', '../hidden/.dot.txt');
      local.symlink('root/links/disguised.mp4', 'real.txt');
      local.fifo('root/links/fifo');
      local.symlink('root/links/to-fifo', 'fifo');

      writeFileSync(Buffer.from(`${local.dir}/root/names/caf\xe9.txt`, 'latin1'), 'latin-1 name\n');
    }

    server = await startTestServer({
      layers: {
        OsFs: fx.layer('root'),
        media: fx.layer('root', { types: ['video', 'image'] }),
        allowHidden: fx.layer('root', { hidden: 'allow' }),
        denyHidden: fx.layer('root', { hidden: 'deny' }),
        // Options of the os driver only.
        ...(driver === 'os' ? { noLinks: fx.layer('root', { symlinks: 'deny' }), threads: fx.layer('root', { io: 'threads' }) } : {}),
      },
      routes: [{ path: '/outputs/:job', list: 'jobs/{job}', prefix: 'out_', params: { job: { pattern: '[0-9]+' } } }],
    });
    token = await hsToken({ scope: 'files:read files:list' });
  });

  after(async () => {
    await server?.close();
    await fx?.cleanup();
  });

  describe('shape', () => {
    it('answers {fstype, path, entries, total, next_cursor} with each entry\'s fields and links', async () => {
      const view = await list('path=shape');
      expect(view.fstype).to.equal('OsFs');
      expect(view.path).to.equal('shape');
      expect(view.total).to.equal(5);
      expect(view.next_cursor).to.equal(null);
      expect(names(view)).to.deep.equal(['inner', 'a&b#c%d+e f.json', 'empty.txt', 'hello.txt', 'ünï cødé ☃.txt']);
      expect(view.entries[0]).to.deep.equal({
        name: 'inner',
        path: 'shape/inner',
        kind: 'directory',
        modified: view.entries[0]!.modified,
        list_url: '/api/list?path=shape%2Finner&fstype=OsFs',
      });
      expect(view.entries.find((entry) => entry.name === 'hello.txt')).to.deep.equal({
        name: 'hello.txt',
        path: 'shape/hello.txt',
        kind: 'file',
        size: 6,
        modified: new Date((await fx.stat('root/shape/hello.txt')).mtimeMs).toISOString(),
        mime: 'text/plain',
        type: 'text',
        download_url: '/api/download?filepath=shape%2Fhello.txt&fstype=OsFs',
      });
      const json = view.entries.find((entry) => entry.name === 'a&b#c%d+e f.json')!;
      expect(json).to.include({ mime: 'application/json', type: 'data', download_url: '/api/download?filepath=shape%2Fa%26b%23c%25d%2Be%20f.json&fstype=OsFs' });
    });

    it('lists the layer root for no path and for "/"', async () => {
      for (const query of ['', 'path=%2F']) {
        const view = await list(query);
        expect(view.path, query).to.equal('/');
        expect(names(view), query).to.include.members(['shape', 'sorting', 'users']);
        expect(view.entries.find((entry) => entry.name === 'shape'), query).to.include({ path: 'shape', kind: 'directory' });
      }
    });

    it('lists an empty file: the listing shows it, a download would answer FILE_EMPTY', async () => {
      const entry = (await list('path=shape')).entries.find((item) => item.name === 'empty.txt');
      expect(entry).to.include({ kind: 'file', size: 0 });
    });

    it('every link works with the same token, and leads to the entry itself', async () => {
      const view = await list('path=shape');
      for (const entry of view.entries) {
        const link = entry.kind === 'file' ? entry.download_url : entry.list_url;
        const response = await fetch(`${server.url}${link}`, { headers: { Authorization: `Bearer ${token}` } });
        if (entry.kind === 'directory') {
          expect(response.status, link).to.equal(200);
          expect(((await response.json()) as ListingView).path).to.equal(entry.path);
        } else if (entry.size === 0) {
          await expectError(response, 412, 'FILE_EMPTY');
        } else {
          expect(response.status, link).to.equal(200);
          expect((await response.arrayBuffer()).byteLength, link).to.equal(entry.size);
        }
      }
    });

    it('links keep the layer they were listed from', async () => {
      const view = await list('path=types&fstype=media');
      expect(view.fstype).to.equal('media');
      const video = view.entries.find((entry) => entry.name === 'a.mp4');
      expect(video).to.include({ download_url: '/api/download?filepath=types%2Fa.mp4&fstype=media' });
    });

    it('answers HEAD with the headers and no body', async () => {
      const response = await fetch(`${server.url}/api/list?path=shape`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } });
      expect(response.status).to.equal(200);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      expect(await response.text()).to.equal('');
    });
  });

  describe('sort, order and dirs', () => {
    const cases: Array<[string, string[]]> = [
      ['sort=name&order=asc&dirs=first', ['d2', 'd10', 'Da', 'g-folder', 'file2.txt', 'File3.md', 'file10.txt', 'image.png']],
      ['sort=name&order=desc&dirs=first', ['g-folder', 'Da', 'd10', 'd2', 'image.png', 'file10.txt', 'File3.md', 'file2.txt']],
      ['sort=name&order=asc&dirs=mixed', ['d2', 'd10', 'Da', 'file2.txt', 'File3.md', 'file10.txt', 'g-folder', 'image.png']],
      ['sort=name&order=desc&dirs=mixed', ['image.png', 'g-folder', 'file10.txt', 'File3.md', 'file2.txt', 'Da', 'd10', 'd2']],
      ['sort=size&order=asc&dirs=first', ['d2', 'd10', 'Da', 'g-folder', 'File3.md', 'file10.txt', 'image.png', 'file2.txt']],
      ['sort=size&order=desc&dirs=first', ['g-folder', 'Da', 'd10', 'd2', 'file2.txt', 'image.png', 'file10.txt', 'File3.md']],
      ['sort=size&order=asc&dirs=mixed', ['d2', 'd10', 'Da', 'g-folder', 'File3.md', 'file10.txt', 'image.png', 'file2.txt']],
      ['sort=size&order=desc&dirs=mixed', ['file2.txt', 'image.png', 'file10.txt', 'File3.md', 'g-folder', 'Da', 'd10', 'd2']],
      ['sort=modified&order=asc&dirs=first', ['d2', 'd10', 'Da', 'g-folder', 'file10.txt', 'File3.md', 'file2.txt', 'image.png']],
      ['sort=modified&order=desc&dirs=first', ['g-folder', 'Da', 'd10', 'd2', 'image.png', 'file2.txt', 'File3.md', 'file10.txt']],
      ['sort=modified&order=asc&dirs=mixed', ['d2', 'file10.txt', 'File3.md', 'file2.txt', 'd10', 'image.png', 'Da', 'g-folder']],
      ['sort=modified&order=desc&dirs=mixed', ['g-folder', 'Da', 'image.png', 'd10', 'file2.txt', 'File3.md', 'file10.txt', 'd2']],
      ['', ['d2', 'd10', 'Da', 'g-folder', 'file2.txt', 'File3.md', 'file10.txt', 'image.png']],
    ];
    for (const [query, expected] of cases) {
      // Orders by time need times set on disk; an object's time is its upload's.
      if (driver === 's3' && query.includes('sort=modified')) continue;
      it(`${query || 'the defaults (name, asc, folders first)'}: ${expected.join(' ')}`, async () => {
        expect(names(await list(`path=sorting&${query}`))).to.deep.equal(expected);
      });
      it(`${query || 'the defaults'}, one entry per page, gives the same order`, async () => {
        const pages = await walk(`path=sorting&${query}`, 1);
        expect(pages.flatMap(names)).to.deep.equal(expected);
      });
    }

    for (const [parameter, value] of [['sort', 'date'], ['sort', 'NAME'], ['order', 'up'], ['dirs', 'last'], ['sort', '']] as const) {
      it(`${parameter}=${JSON.stringify(value)} is 400 naming it`, async () => {
        const body = await expectError(await get(`path=sorting&${parameter}=${value}`), 400, 'BAD_REQUEST');
        expect(body.error).to.include(`"${parameter}"`);
      });
    }

    it('a repeated sort is 400', async () => {
      await expectError(await get('path=sorting&sort=name&sort=size'), 400, 'BAD_REQUEST');
    });
  });

  describe('filters', () => {
    const cases: Array<[string, string[]]> = [
      ['type=video', ['sub', 'a.mp4']],
      ['type=video&type=audio', ['sub', 'a.mp4', 'b.mp3']],
      ['type=video,image', ['sub', 'a.mp4', 'c.png']],
      ['type=document', ['sub', 'e.pdf', 'Report-Final.PDF']],
      ['type=data&type=archive&type=text', ['sub', 'd.txt', 'f.zip', 'g.json']],
      ['q=REPORT', ['Report-Final.PDF']],
      ['q=report', ['Report-Final.PDF']],
      ['q=.p', ['c.png', 'e.pdf', 'Report-Final.PDF']],
      ['q=su', ['sub']],
      ['q=nothing-like-this', []],
      ['q=', ['sub', 'a.mp4', 'b.mp3', 'c.png', 'd.txt', 'e.pdf', 'f.zip', 'g.json', 'h.bin', 'Report-Final.PDF']],
      ['q=.P&type=image', ['c.png']],
    ];
    for (const [query, expected] of cases) {
      it(`${query}: ${expected.join(' ') || 'nothing'}, total ${expected.length}`, async () => {
        const view = await list(`path=types&${query}`);
        expect(names(view)).to.deep.equal(expected);
        expect(view.total).to.equal(expected.length);
      });
    }

    it('shows each file\'s category, and null for a type in none', async () => {
      const view = await list('path=types');
      const types = Object.fromEntries(view.entries.filter((entry) => entry.kind === 'file').map((entry) => [entry.name, entry.kind === 'file' ? entry.type : undefined]));
      expect(types).to.deep.equal({ 'a.mp4': 'video', 'b.mp3': 'audio', 'c.png': 'image', 'd.txt': 'text', 'e.pdf': 'document', 'f.zip': 'archive', 'g.json': 'data', 'h.bin': null, 'Report-Final.PDF': 'document' });
    });

    for (const value of ['bogus', '', 'video,', 'VIDEO']) {
      it(`type=${JSON.stringify(value)} is 400 naming the parameter`, async () => {
        const body = await expectError(await get(`path=types&type=${encodeURIComponent(value)}`), 400, 'BAD_REQUEST');
        expect(body.error).to.include('"type"');
      });
    }

    it('leaves out the files of a type the layer does not serve (a download would refuse them)', async () => {
      const view = await list('path=types&fstype=media');
      expect(names(view)).to.deep.equal(['sub', 'a.mp4', 'c.png']);
      expect(view.total).to.equal(3);
    });
  });

  describe('limit', () => {
    it('is 100 by default', async () => {
      const view = await list('path=many');
      expect(view.entries).to.have.length(100);
      expect(view.total).to.equal(260);
      expect(view.next_cursor).to.be.a('string');
    });

    it('takes 1 and 1000', async () => {
      expect((await list('path=many&limit=1')).entries).to.have.length(1);
      const all = await list('path=many&limit=1000');
      expect(all.entries).to.have.length(260);
      expect(all.next_cursor).to.equal(null);
    });

    for (const value of ['0', '1001', 'abc', '-1', '1.5', '1e3', '+5', '', '007', ' 5']) {
      it(`limit=${JSON.stringify(value)} is 400 naming it`, async () => {
        const body = await expectError(await get(`path=many&limit=${encodeURIComponent(value)}`), 400, 'BAD_REQUEST');
        expect(body.error).to.include('"limit"');
      });
    }
  });

  describe('pagination', () => {
    it('walks 260 entries 7 at a time: each exactly once, in order, with the total on every page', async () => {
      const pages = await walk('path=many', 7);
      const seen = pages.flatMap(names);
      expect(pages).to.have.length(Math.ceil(260 / 7));
      expect(pages.slice(0, -1).every((page) => page.entries.length === 7)).to.equal(true);
      expect(pages.every((page) => page.total === 260)).to.equal(true);
      const expected = [...Array.from({ length: 10 }, (_, i) => `dir-${i}`), ...Array.from({ length: 250 }, (_, i) => `f-${i}.txt`)];
      expect(seen).to.deep.equal(expected);
    });

    it('walks a folder changed between pages: new entries after the position appear, none twice, removed ones vanish', async function () {
      this.timeout(60_000);
      const dir = 'root/mutating';
      const originals = Array.from({ length: 250 }, (_, i) => `n-${i}.txt`);
      for (const name of originals) void fx.file(`${dir}/${name}`, 'x');
      await fx.flush();
      const seenSoFar = new Set<string>();
      const removed = new Set<string>();
      const pages = await walk('path=mutating', 7, async (view, index) => {
        for (const name of names(view)) seenSoFar.add(name);
        // One entry before the position (never shown) and one after it (shown later).
        void fx.file(`${dir}/a-before-${index}.txt`, 'x');
        void fx.file(`${dir}/z-after-${index}.txt`, 'x');
        // One entry not shown yet is removed (it never appears), and one already shown (it is simply gone).
        const unseen = originals.findLast((name) => !seenSoFar.has(name) && !removed.has(name));
        if (unseen !== undefined) {
          void fx.remove(`${dir}/${unseen}`);
          removed.add(unseen);
        }
        void fx.remove(`${dir}/${names(view)[0]!}`);
        await fx.flush();
      });
      const seen = pages.flatMap(names);
      expect(new Set(seen).size, 'no entry twice').to.equal(seen.length);
      expect(seen.filter((name) => name.startsWith('a-before-')), 'created before the position: never shown').to.deep.equal([]);
      expect(seen.filter((name) => name.startsWith('n-')), 'every original shown once, unless removed before its turn').to.deep.equal(originals.filter((name) => !removed.has(name)));
      // Each entry created after the position, after every page but the last, is shown in its place at the end.
      const after = Array.from({ length: pages.length - 1 }, (_, i) => `z-after-${i + 1}.txt`);
      expect(seen.slice(-after.length)).to.deep.equal(after);
      expect(removed.size).to.be.greaterThan(10);
    });

    for (const [fstype, sort] of [['OsFs', 'name'], ['OsFs', 'size'], ['threads', 'name'], ['threads', 'modified']] as const) {
      // io "threads" is an option of the os driver.
      if (driver === 's3' && fstype === 'threads') continue;
      it(`walks 3,000 entries (several reads of the folder) by ${sort} on ${fstype === 'threads' ? 'a thread-pool' : 'an inline'} layer: each exactly once`, async () => {
        const pages = await walk(`path=big&fstype=${fstype}&sort=${sort}`, 999);
        const seen = pages.flatMap(names);
        expect(pages).to.have.length(4);
        expect(new Set(seen).size).to.equal(3000);
        expect(seen).to.have.length(3000);
        if (sort === 'name') expect(seen.slice(0, 3)).to.deep.equal(['e-0.txt', 'e-1.txt', 'e-2.txt']);
        if (sort === 'size') {
          const sizes = pages.flatMap((page) => page.entries.map((entry) => (entry.kind === 'file' ? entry.size : -1)));
          expect(sizes).to.deep.equal([...sizes].sort((a, b) => a - b));
        }
      });
    }

    it('the next page starts right after the last entry of the previous one', async () => {
      const first = await list('path=many&limit=5');
      const second = await list(`path=many&limit=5&cursor=${encodeURIComponent(first.next_cursor!)}`);
      expect(names(second)).to.deep.equal(['dir-5', 'dir-6', 'dir-7', 'dir-8', 'dir-9']);
    });

    it('the limit may change between pages', async () => {
      const first = await list('path=many&limit=3');
      const second = await list(`path=many&limit=4&cursor=${encodeURIComponent(first.next_cursor!)}`);
      expect(names(second)).to.deep.equal(['dir-3', 'dir-4', 'dir-5', 'dir-6']);
    });
  });

  describe('cursor', () => {
    let cursor: string;
    before(async () => {
      cursor = (await list('path=many&limit=5')).next_cursor!;
    });

    const flip = (text: string, index: number) => `${text.slice(0, index)}${text[index] === 'A' ? 'B' : 'A'}${text.slice(index + 1)}`;
    const tampered: Array<[string, () => string]> = [
      ['one character of the payload changed', () => flip(cursor, 3)],
      ['the last character of the tag changed', () => flip(cursor, cursor.length - 1)],
      ['the first character of the tag changed', () => flip(cursor, cursor.indexOf('.') + 1)],
      ['the tag removed', () => cursor.slice(0, cursor.indexOf('.'))],
      ['the tag alone', () => cursor.slice(cursor.indexOf('.'))],
      ['cut short', () => cursor.slice(0, -5)],
      ['garbage', () => 'not-a-cursor'],
      ['empty', () => ''],
      ['a forged payload with a copied tag', () => `${Buffer.from(JSON.stringify({ v: 1, s: 'x', d: false, k: 0, n: 'f-200.txt' })).toString('base64url')}${cursor.slice(cursor.indexOf('.'))}`],
      ['far too long', () => 'A'.repeat(5000)],
    ];
    for (const [label, make] of tampered) {
      it(`${label}: 400`, async () => {
        const body = await expectError(await get(`path=many&limit=5&cursor=${encodeURIComponent(make())}`), 400, 'BAD_REQUEST');
        expect(body.error).to.include('"cursor"');
      });
    }

    const otherQueries = ['path=many&limit=5&sort=size', 'path=many&limit=5&order=desc', 'path=many&limit=5&dirs=mixed', 'path=many&limit=5&q=f', 'path=many&limit=5&type=text', 'path=shape&limit=5', 'path=many&limit=5&fstype=allowHidden'];
    for (const query of otherQueries) {
      it(`reused with ${query}: 400`, async () => {
        const body = await expectError(await get(`${query}&cursor=${encodeURIComponent(cursor)}`), 400, 'BAD_REQUEST');
        expect(body.error).to.include('another listing');
      });
    }

    it('holds no absolute path, only the position', () => {
      // key id . payload . tag
      const payload = Buffer.from(cursor.split('.')[1]!, 'base64url').toString('utf8');
      expect(payload).to.not.include(fx.local.dir);
      expect(payload).to.include('dir-4');
    });
  });

  describe('claims', () => {
    it('a token limited to users/42 listing users sees only 42', async () => {
      const limited = await hsToken({ scope: 'files:list', paths: ['users/42'] });
      const view = await list('path=users', limited);
      expect(names(view)).to.deep.equal(['42']);
      expect(view.total).to.equal(1);
    });

    it('a token limited to users/42 listing the root sees only users', async () => {
      const limited = await hsToken({ scope: 'files:list', paths: ['users/42'] });
      expect(names(await list('', limited))).to.deep.equal(['users']);
    });

    it('a token limited to users/42 lists users/42', async () => {
      const limited = await hsToken({ scope: 'files:list', paths: ['users/42'] });
      expect(names(await list('path=users/42', limited))).to.deep.equal(['own.txt']);
    });

    // Symlinks are the os driver's.
    if (driver === 'os') it('a token limited to users/42 lists users/42 without symlinks that lead to users/420, which a free token sees', async () => {
      const limited = await hsToken({ scope: 'files:list', paths: ['users/42'] });
      expect(names(await list('path=users/42', limited))).to.deep.equal(['own.txt']);
      const free = await hsToken({ scope: 'files:list' });
      expect(names(await list('path=users/42', free))).to.deep.equal(['peek-dir', 'own.txt', 'peek.txt']);
      await expectError(await get('path=users/42/peek-dir', limited), 403, 'FORBIDDEN');
    });

    it('a token limited to users/42 may not list users/420 (no string prefix match) nor users/43', async () => {
      const limited = await hsToken({ scope: 'files:list', paths: ['users/42'] });
      await expectError(await get('path=users/420', limited), 403, 'FORBIDDEN');
      await expectError(await get('path=users/43', limited), 403, 'FORBIDDEN');
    });

    it('an fstypes claim limits the layers', async () => {
      const mediaOnly = await hsToken({ scope: 'files:list', fstypes: ['media'] });
      await expectError(await get('path=types', mediaOnly), 403, 'FORBIDDEN');
      expect(names(await list('path=types&fstype=media', mediaOnly))).to.include('a.mp4');
    });

    it('a token without files:list is 403', async () => {
      const readOnly = await hsToken({ scope: 'files:read' });
      const body = await expectError(await get('path=shape', readOnly), 403, 'FORBIDDEN');
      expect(body.error).to.include('files:list');
    });

    it('no token is 401, before any parameter is looked at', async () => {
      const response = await get('path=..&limit=0', null);
      await expectError(response, 401, 'UNAUTHORIZED');
      expect(response.headers.get('www-authenticate')).to.match(/^Bearer /);
    });
  });

  describe('what is left out', () => {
    // Symlinks and FIFOs are the os driver's: the tests that name them run on it only.
    it('hidden entries: absent under hidden "ignore" (the default) and "deny", present under "allow"', async () => {
      expect(names(await list('path=hidden'))).to.deep.equal(['visible.txt']);
      expect(names(await list('path=hidden&fstype=denyHidden'))).to.deep.equal(['visible.txt']);
      expect(names(await list('path=hidden&fstype=allowHidden'))).to.deep.equal(['.dotdir', '.dot.txt', 'visible.txt']);
    });

    it('a hidden folder: 404 under "ignore", 403 under "deny", listed under "allow"', async () => {
      await expectError(await get('path=hidden/.dotdir'), 404, 'NOT_FOUND');
      await expectError(await get('path=hidden/.dotdir&fstype=denyHidden'), 403, 'PATH_NOT_ALLOWED');
      expect(names(await list('path=hidden/.dotdir&fstype=allowHidden'))).to.deep.equal(['x.txt']);
    });

    if (driver === 'os') it('symlinks inside the root are listed as what they lead to; leaving the root, dangling, cyclic, hidden or to a FIFO, absent', async () => {
      const view = await list('path=links');
      expect(names(view)).to.deep.equal(['in-dir', 'disguised.mp4', 'in-file.txt', 'real.txt']);
      expect(view.entries[0]).to.include({ kind: 'directory', path: 'links/in-dir', list_url: '/api/list?path=links%2Fin-dir&fstype=OsFs' });
      expect(view.entries.find((entry) => entry.name === 'in-file.txt')).to.include({ kind: 'file', size: 6, type: 'text' });
      expect(JSON.stringify(view)).to.not.include(OUTSIDE_MARKER);
      expect(view.total).to.equal(4);
    });

    if (driver === 'os') it('a symlink whose target\'s type the layer does not serve is absent (a link cannot dress a .txt as an .mp4)', async () => {
      expect(names(await list('path=links&fstype=media'))).to.deep.equal(['in-dir']);
    });

    if (driver === 'os') it('under symlinks "deny" every symlink is absent', async () => {
      expect(names(await list('path=links&fstype=noLinks'))).to.deep.equal(['real.txt']);
    });

    if (driver === 'os') it('a folder reached through a symlink inside the root lists what it leads to; one leaving the root is 403', async () => {
      expect(names(await list('path=links/in-dir'))).to.deep.equal(names(await list('path=shape')));
      await expectError(await get('path=links/out-dir'), 403, 'PATH_NOT_ALLOWED');
      await expectError(await get('path=links/in-dir&fstype=noLinks'), 403, 'PATH_NOT_ALLOWED');
    });

    if (driver === 'os') it('a FIFO is absent: a listing holds files and folders only', async () => {
      const view = await list('path=links');
      expect(names(view)).to.not.include('fifo');
      expect(names(view)).to.not.include('to-fifo');
    });

    it('names that are not valid UTF-8, or hold a line break, backslash or escape, are absent: they cannot be asked for', async () => {
      const view = await list('path=names');
      expect(names(view)).to.deep.equal(['ok.txt']);
      expect(view.total).to.equal(1);
    });
  });

  describe('errors', () => {
    const cases: Array<[string, string, number, string]> = [
      ['a path that is a file', 'path=shape/hello.txt', 403, 'NOT_A_FILE'],
      ['a FIFO', 'path=links/fifo', 403, 'NOT_A_FILE'],
      ['a missing folder', 'path=no/such/folder', 404, 'NOT_FOUND'],
      ['a ".." segment', 'path=shape/../..', 403, 'PATH_NOT_ALLOWED'],
      ['a "." segment', 'path=./shape', 403, 'PATH_NOT_ALLOWED'],
      ['an empty segment', 'path=shape//inner', 400, 'BAD_REQUEST'],
      ['a trailing slash', 'path=shape/', 400, 'BAD_REQUEST'],
      ['an empty path', 'path=', 400, 'BAD_REQUEST'],
      ['a repeated path', 'path=shape&path=types', 400, 'BAD_REQUEST'],
      ['an unknown fstype', 'path=shape&fstype=nope', 400, 'UNKNOWN_FSTYPE'],
      ['a symlink leaving the root', 'path=links/out-dir', 403, 'PATH_NOT_ALLOWED'],
    ];
    for (const [label, query, status, code] of cases) {
      // A FIFO and a symlink are the os driver's.
      if (driver === 's3' && query.startsWith('path=links/')) continue;
      it(`${label}: ${status} ${code}`, async () => {
        const body = await expectError(await get(query), status, code);
        if (code === 'NOT_A_FILE') expect(body.error).to.include('not a folder');
      });
    }

    it('a parameter is refused before authorization: 400 for a bad limit, even on a folder the token may not list', async () => {
      const limited = await hsToken({ scope: 'files:list', paths: ['users/42'] });
      await expectError(await get('path=shape&limit=0', limited), 400, 'BAD_REQUEST');
    });
  });

  describe('a list route alias', () => {
    const alias = (query: string) => fetch(`${server.url}/outputs/7${query}`, { headers: { Authorization: `Bearer ${token}` } });

    it('lists the templated folder, only names starting with the prefix, with the same parameters', async () => {
      const response = await alias('?order=desc');
      expect(response.status).to.equal(200);
      const view = listResponseSchema.parse(await response.json());
      expect(view.path).to.equal('jobs/7');
      expect(names(view)).to.deep.equal(['out_10.png', 'out_2.png', 'out_1.png']);
    });

    it('pages with its own cursors, which the list route refuses', async () => {
      const first = listResponseSchema.parse(await (await alias('?limit=2')).json());
      expect(names(first)).to.deep.equal(['out_1.png', 'out_2.png']);
      const second = listResponseSchema.parse(await (await alias(`?limit=2&cursor=${encodeURIComponent(first.next_cursor!)}`)).json());
      expect(names(second)).to.deep.equal(['out_10.png']);
      expect(second.next_cursor).to.equal(null);
      await expectError(await get(`path=jobs/7&limit=2&cursor=${encodeURIComponent(first.next_cursor!)}`), 400, 'BAD_REQUEST');
    });
  });
});
