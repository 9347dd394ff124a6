// Symlinks in downloads: followed inside the root, refused outside it or under symlinks "deny", cycles, claims on real paths, and swap races.

import { expect } from 'chai';
import { renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const OUTSIDE_MARKER = 'TOP-SECRET-OUTSIDE';
const SIBLING_MARKER = 'TOP-SECRET-SIBLING';
const PASSWD_MARKER = 'root:x:0:0';
const IN_ROOT = 'IN-ROOT-RACE\n';

describe('GET /api/download: symlinks', () => {
  let tmp: TempDir;
  let server: TestServer;
  let token: string;
  let leaks: string[];

  before(async () => {
    tmp = tempDir();
    const outside = tmp.file('outside.txt', `${OUTSIDE_MARKER}\n`);
    tmp.file('outside-dir/inner.txt', `${OUTSIDE_MARKER} inner\n`);
    tmp.file('data-secret/secret.txt', `${SIBLING_MARKER}\n`);
    const target = tmp.file('data/target.txt', 'in-root target\n');
    tmp.file('data/real-dir/inner.txt', 'in-root inner\n');
    tmp.file('data/.hidden.txt', 'hidden content\n');
    tmp.file('data/.hidden-dir/x.txt', 'hidden dir content\n');
    tmp.file('data/users/42/own.txt', 'user 42\n');
    tmp.file('data/users/43/x.txt', 'user 43\n');

    // Inside the root.
    tmp.symlink('data/link.txt', 'target.txt');
    tmp.symlink('data/abs-link.txt', target);
    tmp.symlink('data/chain-1.txt', 'chain-2.txt');
    tmp.symlink('data/chain-2.txt', 'target.txt');
    tmp.symlink('data/dir-link', 'real-dir');
    tmp.symlink('data/real-dir/up-link.txt', '../target.txt');
    tmp.symlink('data/root-link', '.');
    tmp.symlink('data/hidden-link.txt', '.hidden.txt');
    tmp.symlink('data/hidden-dir-link', '.hidden-dir');
    tmp.symlink('data/users/42/link', '../43/x.txt');
    tmp.symlink('data/users/42/own-link.txt', 'own.txt');
    // Leaving the root.
    tmp.symlink('data/out-link.txt', '../outside.txt');
    tmp.symlink('data/out-abs-link.txt', outside);
    tmp.symlink('data/out-dir-link', '../outside-dir');
    tmp.symlink('data/sibling-link.txt', '../data-secret/secret.txt');
    tmp.symlink('data/passwd-link', '/etc/passwd');
    tmp.symlink('data/root-escape', '/');
    tmp.symlink('data/real-dir/deep-out.txt', '../../outside.txt');
    // Going nowhere.
    tmp.symlink('data/dangling.txt', 'does-not-exist.txt');
    tmp.symlink('data/dangling-dir', 'no-such-dir');
    tmp.symlink('data/loop-a', 'loop-b');
    tmp.symlink('data/loop-b', 'loop-a');
    tmp.symlink('data/self', 'self');
    tmp.symlink('data/loop-dir', 'loop-dir');

    const root = path.join(tmp.dir, 'data');
    server = await startTestServer({
      layers: {
        OsFs: { root },
        strict: { root, symlinks: 'deny' },
        denyHidden: { root, hidden: 'deny' },
        allowHidden: { root, hidden: 'allow' },
        media: { root, types: ['video'] },
      },
    });
    token = await hsToken();
    leaks = [OUTSIDE_MARKER, SIBLING_MARKER, PASSWD_MARKER, tmp.dir];
  });

  after(async () => {
    await server?.close();
    tmp?.remove();
  });

  const download = (filepath: string, fstype?: string, bearer = token) => {
    const query = new URLSearchParams({ filepath, ...(fstype === undefined ? {} : { fstype }) });
    return fetch(`${server.url}/api/download?${query}`, { headers: { authorization: `Bearer ${bearer}` } });
  };

  describe('followed inside the root', () => {
    const cases: Array<{ name: string; filepath: string; fstype?: string; body: string }> = [
      { name: 'a relative symlink to a file', filepath: 'link.txt', body: 'in-root target\n' },
      { name: 'an absolute symlink to a file in the root', filepath: 'abs-link.txt', body: 'in-root target\n' },
      { name: 'a chain of two symlinks', filepath: 'chain-1.txt', body: 'in-root target\n' },
      { name: 'a symlinked folder on the way', filepath: 'dir-link/inner.txt', body: 'in-root inner\n' },
      { name: 'a symlink with ".." in its target that stays inside', filepath: 'real-dir/up-link.txt', body: 'in-root target\n' },
      { name: 'a symlinked folder then a symlink', filepath: 'dir-link/up-link.txt', body: 'in-root target\n' },
      { name: 'a symlink to the root, then a file', filepath: 'root-link/target.txt', body: 'in-root target\n' },
      { name: 'a symlink to a hidden file on a layer with hidden "allow"', filepath: 'hidden-link.txt', fstype: 'allowHidden', body: 'hidden content\n' },
    ];
    for (const c of cases) {
      it(`${c.name} → 200 with the target's body`, async () => {
        const response = await download(c.filepath, c.fstype);
        expect(response.status).to.equal(200);
        expectFileHeaders(response);
        expect(await response.text()).to.equal(c.body);
      });
    }

    it('Content-Disposition names the requested symlink, not its target', async () => {
      const response = await download('link.txt');
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-disposition')).to.equal(`attachment; filename="link.txt"; filename*=UTF-8''link.txt`);
      await response.arrayBuffer();
    });
  });

  describe('refused or absent', () => {
    const cases: Array<{ name: string; filepath: string; fstype?: string; status: number; code: string }> = [
      { name: 'a symlink to a file outside the root', filepath: 'out-link.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'an absolute symlink to a file outside the root', filepath: 'out-abs-link.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a symlink into a sibling folder sharing the root\'s prefix', filepath: 'sibling-link.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a symlink to /etc/passwd', filepath: 'passwd-link', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a symlink to / then a path below it', filepath: 'root-escape/etc/passwd', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a file inside a symlinked folder that points outside', filepath: 'out-dir-link/inner.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a symlink two levels up, from a subfolder', filepath: 'real-dir/deep-out.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a symlink two levels up, through a symlinked folder', filepath: 'dir-link/deep-out.txt', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'a dangling symlink', filepath: 'dangling.txt', status: 404, code: 'NOT_FOUND' },
      { name: 'a file below a dangling symlinked folder', filepath: 'dangling-dir/x.txt', status: 404, code: 'NOT_FOUND' },
      { name: 'a symlink to the layer root itself is a folder', filepath: 'root-link', status: 403, code: 'NOT_A_FILE' },
      { name: 'hidden "ignore": a symlink to a hidden file', filepath: 'hidden-link.txt', status: 404, code: 'NOT_FOUND' },
      { name: 'hidden "ignore": a file below a symlink to a hidden folder', filepath: 'hidden-dir-link/x.txt', status: 404, code: 'NOT_FOUND' },
      { name: 'hidden "deny": a symlink to a hidden file', filepath: 'hidden-link.txt', fstype: 'denyHidden', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'symlinks "deny": a symlink to an in-root file', filepath: 'link.txt', fstype: 'strict', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'symlinks "deny": an absolute symlink to an in-root file', filepath: 'abs-link.txt', fstype: 'strict', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'symlinks "deny": a symlinked intermediate folder', filepath: 'dir-link/inner.txt', fstype: 'strict', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'symlinks "deny": a symlink to the root on the way', filepath: 'root-link/target.txt', fstype: 'strict', status: 403, code: 'PATH_NOT_ALLOWED' },
      { name: 'symlinks "deny": a symlink leaving the root', filepath: 'out-link.txt', fstype: 'strict', status: 403, code: 'PATH_NOT_ALLOWED' },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.status} ${c.code}`, async () => {
        const response = await download(c.filepath, c.fstype);
        await expectError(response, c.status, c.code, leaks);
      });
    }

    it('symlinks "deny" still serves a plain file', async () => {
      const response = await download('target.txt', 'strict');
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('in-root target\n');
    });
  });

  describe('cycles', () => {
    const cases: Array<{ name: string; filepath: string }> = [
      { name: 'a two-link loop a → b → a', filepath: 'loop-a' },
      { name: 'the other end of the loop', filepath: 'loop-b' },
      { name: 'a self-loop', filepath: 'self' },
      { name: 'a file below a self-looping folder link', filepath: 'loop-dir/x.txt' },
    ];
    for (const c of cases) {
      it(`${c.name} → 404 promptly, and the server keeps serving`, async function () {
        // "Promptly" is what the issue asks for: a cycle must not hang a request.
        this.timeout(5000);
        await expectError(await download(c.filepath), 404, 'NOT_FOUND', leaks);
        const next = await download('target.txt');
        expect(next.status).to.equal(200);
        expect(await next.text()).to.equal('in-root target\n');
      });
    }

    it('symlinks "deny": a loop is refused as a symlink', async () => {
      await expectError(await download('loop-a', 'strict'), 403, 'PATH_NOT_ALLOWED', leaks);
    });
  });

  describe('token paths are checked on the real path too', () => {
    let user42: string;
    before(async () => {
      user42 = await hsToken({ paths: ['users/42'] });
    });

    it('users/42/link → ../43/x.txt with paths ["users/42"] → 403 FORBIDDEN', async () => {
      await expectError(await download('users/42/link', undefined, user42), 403, 'FORBIDDEN', ['user 43', ...leaks]);
    });

    it('a symlink that stays within the claim is served', async () => {
      const response = await download('users/42/own-link.txt', undefined, user42);
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('user 42\n');
    });

    it('the same symlink is served to a token without a paths claim', async () => {
      const response = await download('users/42/link');
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('user 43\n');
    });
  });

  describe('swap races', () => {
    /**
     * Requests `filepath` from `workers` parallel loops until `total` have
     * been answered or `budgetMs` is spent, while `swap` runs between turns of
     * the event loop; the server's opens run on the thread pool meanwhile.
     */
    async function raceRequests(filepath: string, swap: () => void, options: { total: number; budgetMs: number; workers: number; fstype?: string }) {
      const seen: Array<{ status: number; text: string }> = [];
      let stop = false;
      const swapper = (async () => {
        while (!stop) {
          swap();
          await nextTurn();
        }
      })();
      const deadline = Date.now() + options.budgetMs;
      let issued = 0;
      const worker = async () => {
        while (issued < options.total && Date.now() < deadline) {
          issued += 1;
          const response = await download(filepath, options.fstype);
          seen.push({ status: response.status, text: await response.text() });
        }
      };
      try {
        await Promise.all(Array.from({ length: options.workers }, worker));
      } finally {
        stop = true;
        await swapper;
      }
      return seen;
    }

    function expectOnlyInRootOrRefused(seen: Array<{ status: number; text: string }>, inRoot: string) {
      expect(seen.length).to.be.greaterThan(0);
      for (const { status, text } of seen) {
        for (const marker of [OUTSIDE_MARKER, tmp.dir]) expect(text).to.not.include(marker);
        if (status === 200) {
          expect(text).to.equal(inRoot);
        } else {
          expect([403, 404], `status ${status}: ${text}`).to.include(status);
          const body = JSON.parse(text) as { code: string };
          expect(body.code).to.equal(status === 403 ? 'PATH_NOT_ALLOWED' : 'NOT_FOUND');
        }
      }
    }

    it('a file swapped between an in-root file and a symlink to an outside file never serves the outside file', async function () {
      this.timeout(20000);
      const racePath = path.join(tmp.dir, 'data', 'race.txt');
      const fileTemp = path.join(tmp.dir, 'data', '.race-file');
      const linkTemp = path.join(tmp.dir, 'data', '.race-link');
      const outside = path.join(tmp.dir, 'outside.txt');
      writeFileSync(racePath, IN_ROOT);
      let toLink = true;
      const seen = await raceRequests(
        'race.txt',
        () => {
          // rename(2) replaces the name atomically: the path is always one or the other.
          if (toLink) {
            rmSync(linkTemp, { force: true });
            symlinkSync(outside, linkTemp);
            renameSync(linkTemp, racePath);
          } else {
            writeFileSync(fileTemp, IN_ROOT);
            renameSync(fileTemp, racePath);
          }
          toLink = !toLink;
        },
        { total: 300, budgetMs: 10_000, workers: 8 },
      );
      expectOnlyInRootOrRefused(seen, IN_ROOT);
    });

    it('a folder link swapped between an in-root folder and an outside folder never serves the outside file', async function () {
      this.timeout(20000);
      tmp.file('data/race-real/inner.txt', IN_ROOT);
      const raceLink = path.join(tmp.dir, 'data', 'race-dir');
      const linkTemp = path.join(tmp.dir, 'data', '.race-dir-link');
      const targets = ['race-real', path.join(tmp.dir, 'outside-dir')];
      symlinkSync(targets[0]!, raceLink);
      let turn = 0;
      const seen = await raceRequests(
        'race-dir/inner.txt',
        () => {
          turn += 1;
          rmSync(linkTemp, { force: true });
          symlinkSync(targets[turn % 2]!, linkTemp);
          renameSync(linkTemp, raceLink);
        },
        { total: 300, budgetMs: 10_000, workers: 8 },
      );
      expectOnlyInRootOrRefused(seen, IN_ROOT);
    });

    // The descriptor's path in /proc reads "<path> (deleted)" once its name is
    // replaced; that suffix is no symlink and no other file type.
    for (const fstype of ['strict', 'media']) {
      it(`a regular file atomically replaced by another in-root file is always served on layer "${fstype}" (regression: "(deleted)" in /proc/self/fd)`, async function () {
        this.timeout(20000);
        const livePath = path.join(tmp.dir, 'data', `replaced-${fstype}.mp4`);
        const fileTemp = path.join(tmp.dir, 'data', `.replaced-${fstype}`);
        writeFileSync(livePath, IN_ROOT);
        const seen = await raceRequests(
          `replaced-${fstype}.mp4`,
          () => {
            writeFileSync(fileTemp, IN_ROOT);
            renameSync(fileTemp, livePath);
          },
          { total: 300, budgetMs: 10_000, workers: 8, fstype },
        );
        const refused = seen.filter(({ status }) => status !== 200);
        expect(refused.length, `refused ${refused.length} of ${seen.length}, e.g. ${refused[0]?.text}`).to.equal(0);
        for (const { text } of seen) expect(text).to.equal(IN_ROOT);
      });
    }
  });
});
