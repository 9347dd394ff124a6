// The API the browse page is built on, over HTTP against a real server: GET /api/access, POST /api/sign/batch and POST /api/sign/archive, and the archive link used with no token.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expectError } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const SIGNING_KEY = 'sign-links-signing-key-long-enough-0123456789';
const EVERYTHING = 'files:read files:list files:sign files:archive';

// Python's own ZIP reader: each entry's name and text.
const ZIP_READER = String.raw`
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    assert archive.testzip() is None
    print(json.dumps({info.filename: (None if info.is_dir() else archive.read(info).decode()) for info in archive.infolist()}))
`;

describe('the browse page\'s API: access, batch signing, archive links', () => {
  let tree: TempDir;
  let server: TestServer;
  let token: string;

  before(async () => {
    tree = tempDir();
    tree.file('docs/a.txt', 'a\n');
    tree.file('docs/b.txt', 'b\n');
    tree.file('docs/sub/c.txt', 'c\n');
    tree.file('empty.txt', '');
    tree.file('private/secret.txt', 's\n');
    server = await startTestServer({
      layers: { OsFs: { root: tree.dir }, media: { root: tree.dir } },
      signing: { keys: { k1: SIGNING_KEY }, currentKey: 'k1' },
    });
    token = await hsToken({ sub: 'alice', scope: EVERYTHING });
  });

  after(async () => {
    await server?.close();
    tree?.remove();
  });

  const post = (route: string, body: unknown, as: string | null = token) =>
    fetch(`${server.url}${route}`, { method: 'POST', headers: { ...(as === null ? {} : { Authorization: `Bearer ${as}` }), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  describe('GET /api/access', () => {
    it('answers the token\'s grants and the layers it may name, not to be cached', async () => {
      const response = await fetch(`${server.url}/api/access`, { headers: { Authorization: `Bearer ${await hsToken({ sub: 'bob', scope: 'files:list files:read', fstypes: ['media'], paths: ['docs'] })}` } });
      expect(response.status).to.equal(200);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      const view = (await response.json()) as Record<string, unknown>;
      expect({ ...view, expires_at: typeof view.expires_at }).to.deep.equal({ subject: 'bob', scopes: ['files:read', 'files:list'], paths: ['docs'], expires_at: 'string', layers: [{ fstype: 'media', default: false }] });
    });

    it('needs a token (401) that may list (403)', async () => {
      await expectError(await fetch(`${server.url}/api/access`), 401, 'UNAUTHORIZED');
      const body = await expectError(await fetch(`${server.url}/api/access`, { headers: { Authorization: `Bearer ${await hsToken({ scope: 'files:read' })}` } }), 403, 'FORBIDDEN');
      expect(body.error).to.match(/files:list/);
    });
  });

  describe('POST /api/sign/batch', () => {
    it('signs each file it may and refuses each other one, in order; each URL then works without a token', async () => {
      const limited = await hsToken({ sub: 'alice', scope: 'files:read files:sign', paths: ['docs', 'empty.txt'] });
      const response = await post('/api/sign/batch', { filepaths: ['docs/a.txt', 'empty.txt', 'private/secret.txt', 'docs/nope.txt', 'docs/b.txt'], disposition: 'inline', expires_in: '10m' }, limited);
      expect(response.status).to.equal(200);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      const { files } = (await response.json()) as { files: Array<{ filepath: string; code?: string; download_url?: string; head_url?: string; expiry?: number }> };
      expect(files.map((file) => [file.filepath, file.code ?? 'signed'])).to.deep.equal([
        ['docs/a.txt', 'signed'], ['empty.txt', 'FILE_EMPTY'], ['private/secret.txt', 'FORBIDDEN'], ['docs/nope.txt', 'NOT_FOUND'], ['docs/b.txt', 'signed'],
      ]);
      for (const [file, text] of [[files[0]!, 'a\n'], [files[4]!, 'b\n']] as const) {
        const fetched = await fetch(file.download_url!);
        expect([fetched.status, await fetched.text(), fetched.headers.get('content-disposition')?.startsWith('inline')]).to.deep.equal([200, text, true]);
        expect((await fetch(file.head_url!, { method: 'HEAD' })).status).to.equal(200);
        expect(file.expiry).to.be.closeTo(Math.floor(Date.now() / 1000) + 600, 5);
      }
    });

    it('refuses more than 100 files, a token without files:sign, and no token, as a whole', async () => {
      const many = await expectError(await post('/api/sign/batch', { filepaths: Array.from({ length: 101 }, (_, index) => `docs/${index}.txt`) }), 400, 'BAD_REQUEST');
      expect(many.error).to.match(/filepaths/);
      await expectError(await post('/api/sign/batch', { filepaths: ['docs/a.txt'] }, await hsToken({ scope: 'files:read' })), 403, 'FORBIDDEN');
      await expectError(await post('/api/sign/batch', { filepaths: ['docs/a.txt'] }, null), 401, 'UNAUTHORIZED');
      await expectError(await post('/api/sign/batch', { filepaths: ['docs/a.txt'], fstype: 'nowhere' }), 400, 'UNKNOWN_FSTYPE');
    });
  });

  describe('POST /api/sign/archive and the link', () => {
    const readZip = (bytes: Buffer) => {
      // A hidden name: the layer leaves it out of every listing and archive, and the tree's removal takes it.
      const file = path.join(tree.dir, '.link.zip');
      writeFileSync(file, bytes);
      return JSON.parse(execFileSync('python3', ['-c', ZIP_READER, file], { encoding: 'utf8' })) as Record<string, string | null>;
    };

    it('answers a link that, with no token, starts the ZIP of exactly the selection, named as asked', async () => {
      const response = await post('/api/sign/archive', { paths: ['docs/sub', 'docs/a.txt'], name: 'picked', expires_in: 120 });
      expect(response.status).to.equal(200);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      const link = (await response.json()) as { download_url: string; expiry: number; entries: number; skipped: number; bytes: number };
      expect([link.entries, link.skipped, link.bytes]).to.deep.equal([3, 0, 4]);
      expect(link.expiry).to.be.closeTo(Math.floor(Date.now() / 1000) + 120, 5);
      const zip = await fetch(link.download_url);
      expect(zip.status).to.equal(200);
      expect(zip.headers.get('content-disposition')).to.match(/filename="picked\.zip"/);
      expect(readZip(Buffer.from(await zip.arrayBuffer()))).to.deep.equal({ 'sub/': null, 'sub/c.txt': 'c\n', 'a.txt': 'a\n' });
    });

    it('the link is good for GET only, as it was signed: HEAD, a changed path or a POST are refused', async () => {
      const link = ((await (await post('/api/sign/archive', { paths: ['docs/a.txt'] })).json()) as { download_url: string }).download_url;
      // A HEAD answer has no body to read the code from: its status says it.
      expect((await fetch(link, { method: 'HEAD' })).status).to.equal(403);
      const widened = new URL(link);
      widened.searchParams.append('path', 'private');
      const body = await expectError(await fetch(widened), 403, 'FORBIDDEN');
      expect(body.error).to.match(/does not match/);
      // Only GET /api/archive takes a signature; POST still needs a token.
      await expectError(await fetch(link, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ paths: ['private'] }) }), 401, 'UNAUTHORIZED');
    });

    it('an expired link is refused, saying when it expired', async () => {
      const link = ((await (await post('/api/sign/archive', { paths: ['docs'], expires_in: 1 })).json()) as { download_url: string }).download_url;
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const body = await expectError(await fetch(link), 403, 'FORBIDDEN');
      expect(body.error).to.match(/expired at \d{4}-\d\d-\d\dT/);
    });

    it('what the archive would refuse is answered when signing: a path outside the token, a path absent, an empty file asked for', async () => {
      const limited = await hsToken({ sub: 'alice', scope: 'files:sign files:archive', paths: ['docs'] });
      await expectError(await post('/api/sign/archive', { paths: ['docs', 'private'] }, limited), 403, 'FORBIDDEN');
      await expectError(await post('/api/sign/archive', { paths: ['docs/nope'] }), 404, 'NOT_FOUND');
      await expectError(await post('/api/sign/archive', { paths: ['empty.txt'] }), 412, 'FILE_EMPTY');
      await expectError(await post('/api/sign/archive', { paths: ['docs'] }, await hsToken({ scope: 'files:archive files:read' })), 403, 'FORBIDDEN');
    });

    it('GET /api/archive without a token or a signature is still 401', async () => {
      await expectError(await fetch(`${server.url}/api/archive?path=docs`), 401, 'UNAUTHORIZED');
    });
  });
});
