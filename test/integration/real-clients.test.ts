// Real download clients against the real server: curl and wget resume with Range, aria2c downloads in parallel segments, wget and curl save files under the names Content-Disposition gives them, and README.md's resume, range and revalidation commands work as printed.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { readmeBlock, readmeInlineCode, readmeShellBlocks } from '../helpers/readme-blocks.js';
import { startTestServer, TEST_SECRET, waitForAccessLine, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const BLOB = randomBytes(2 * 1024 * 1024);
const BIG = randomBytes(8 * 1024 * 1024);
const PARTIAL = 300 * 1024;
const UNICODE_NAME = 'résumé 日本.txt';
const UNICODE_CONTENT = 'a file with a unicode name\n';
// content-disposition.ts: every non-ASCII character of the fallback becomes "_".
const ASCII_FALLBACK = 'r_sum_ __.txt';
const CLIENT_TIMEOUT_MS = 15_000;
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The origin README.md's commands name; the tests put their server's in its place. */
const README_ORIGIN = 'http://localhost:8080';

/** Fails with a clear message when a client is not installed, instead of skipping the test. */
function requireTool(tool: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  throw new Error(`${tool} is not installed (not found on PATH); .ci/run installs it with apt-get (apt-get install -y curl wget aria2)`);
}

// The clients must talk to the loopback server directly, whatever proxy the environment names.
const clientEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/_proxy$/i.test(name)));

/** Runs a client with a timeout; rejects with its exit code and stderr when it fails. */
function run(tool: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = clientEnv): Promise<{ stdout: string; stderr: string }> {
  const file = requireTool(tool);
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: CLIENT_TIMEOUT_MS, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')} failed (${error.code ?? error.signal ?? error.message}): ${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

describe('real clients', function () {
  this.timeout(30_000);
  let tmp: TempDir;
  let server: TestServer;
  let token: string;
  let outputs = 0;

  before(async () => {
    tmp = tempDir();
    tmp.file('data/blob.bin', BLOB);
    tmp.file('data/big.bin', BIG);
    tmp.file(`data/${UNICODE_NAME}`, UNICODE_CONTENT);
    // The file README.md's resume block downloads, 2 MB here so a cut copy has something left to resume.
    tmp.file('data/audio/tone.wav', BLOB);
    server = await startTestServer({ layers: { OsFs: { root: path.join(tmp.dir, 'data') } } });
    token = await hsToken();
  });

  after(async () => {
    await server?.close();
    tmp?.remove();
  });

  const url = (filepath: string) => `${server.url}/api/download?filepath=${encodeURIComponent(filepath)}`;
  /** A fresh, empty working folder for one client run. */
  const workDir = () => {
    outputs += 1;
    return tmp.folder(`out/${outputs}`);
  };
  const accessLines = (requestId: string) => server.logs.filter((line) => line.msg === 'request' && line.reqId === requestId);

  describe('curl', () => {
    it('curl -C - resumes a download cut after 300 KB into a byte-exact file, with one 206 for the rest', async () => {
      const dir = workDir();
      const out = path.join(dir, 'blob.bin');
      writeFileSync(out, BLOB.subarray(0, PARTIAL));
      await run('curl', ['-sS', '-C', '-', '-o', out, '-H', `Authorization: Bearer ${token}`, '-H', 'X-Request-Id: curl-resume', url('blob.bin')], dir);
      expect(readFileSync(out).equals(BLOB), 'the resumed file is byte-exact').to.equal(true);
      const line = await waitForAccessLine(server, 'curl-resume');
      expect(line).to.include({ status: 206, bytes: BLOB.length - PARTIAL });
    });

    it('curl -C - on a file already complete gets 416 and leaves it intact', async () => {
      const dir = workDir();
      const out = path.join(dir, 'blob.bin');
      writeFileSync(out, BLOB);
      await run('curl', ['-sS', '-C', '-', '-o', out, '-H', `Authorization: Bearer ${token}`, '-H', 'X-Request-Id: curl-complete', url('blob.bin')], dir);
      expect(readFileSync(out).equals(BLOB)).to.equal(true);
      const line = await waitForAccessLine(server, 'curl-complete');
      expect(line).to.include({ status: 416, code: 'RANGE_NOT_SATISFIABLE' });
    });

    it('curl -OJ (which reads only filename=) saves the file under its ASCII fallback name', async () => {
      const dir = workDir();
      await run('curl', ['-sS', '-f', '-O', '-J', '-H', `Authorization: Bearer ${token}`, url(UNICODE_NAME)], dir);
      expect(readdirSync(dir)).to.deep.equal([ASCII_FALLBACK]);
      expect(readFileSync(path.join(dir, ASCII_FALLBACK), 'utf8')).to.equal(UNICODE_CONTENT);
    });
  });

  describe('wget', () => {
    it('wget -c resumes a download cut after 300 KB into a byte-exact file, with one 206 for the rest', async () => {
      const dir = workDir();
      const out = path.join(dir, 'blob.bin');
      writeFileSync(out, BLOB.subarray(0, PARTIAL));
      await run('wget', ['-q', '-c', '-O', out, `--header=Authorization: Bearer ${token}`, '--header=X-Request-Id: wget-resume', url('blob.bin')], dir);
      expect(readFileSync(out).equals(BLOB), 'the resumed file is byte-exact').to.equal(true);
      const line = await waitForAccessLine(server, 'wget-resume');
      expect(line).to.include({ status: 206, bytes: BLOB.length - PARTIAL });
    });

    it('wget -c on a file already complete gets 416 and leaves it intact', async () => {
      const dir = workDir();
      const out = path.join(dir, 'blob.bin');
      writeFileSync(out, BLOB);
      await run('wget', ['-q', '-c', '-O', out, `--header=Authorization: Bearer ${token}`, '--header=X-Request-Id: wget-complete', url('blob.bin')], dir);
      expect(readFileSync(out).equals(BLOB)).to.equal(true);
      const line = await waitForAccessLine(server, 'wget-complete');
      expect(line).to.include({ status: 416, code: 'RANGE_NOT_SATISFIABLE' });
    });

    it('wget --content-disposition saves a unicode-named file under its UTF-8 name (from filename*)', async () => {
      const dir = workDir();
      // nocontrol: older wgets otherwise escape UTF-8 bytes in 0x80-0x9f (such as those of 日本) as "%97".
      await run('wget', ['-q', '--content-disposition', '--restrict-file-names=nocontrol', `--header=Authorization: Bearer ${token}`, url(UNICODE_NAME)], dir);
      expect(readdirSync(dir)).to.deep.equal([UNICODE_NAME]);
      expect(readFileSync(path.join(dir, UNICODE_NAME), 'utf8')).to.equal(UNICODE_CONTENT);
    });
  });

  describe('aria2c', () => {
    it('aria2c -x4 -s4 downloads an 8 MB file in parallel Range segments, byte-exact', async () => {
      const dir = workDir();
      mkdirSync(path.join(dir, 'downloads'));
      const args = [
        '-q', '-x4', '-s4',
        // The default minimum segment is 20 MB; 1 MB lets an 8 MB file split four ways.
        '-k1M',
        '--file-allocation=none',
        '--auto-file-renaming=false',
        `--header=Authorization: Bearer ${token}`,
        '--header=X-Request-Id: aria2-segmented',
        '-d', path.join(dir, 'downloads'),
        '-o', 'big.bin',
        url('big.bin'),
      ];
      await run('aria2c', args, dir);
      expect(readdirSync(path.join(dir, 'downloads'))).to.deep.equal(['big.bin']);
      expect(readFileSync(path.join(dir, 'downloads', 'big.bin')).equals(BIG), 'the segmented download is byte-exact').to.equal(true);
      // Segments are separate Range requests; several must have been answered 206.
      const deadline = Date.now() + 2000;
      while (accessLines('aria2-segmented').filter((line) => line.status === 206).length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const partial = accessLines('aria2-segmented').filter((line) => line.status === 206);
      expect(partial.length, '206 answers to aria2c segments').to.be.at.least(2);
    });
  });

  describe("README.md's resume, range and revalidation block, run as printed", () => {
    const MARKER = 'test/integration/real-clients.test.ts runs this block';
    let commands: readonly string[];
    let readmeToken: string;

    /** The block's one command that `pattern` picks out, with this server's origin in place of the README's. */
    const command = (pattern: RegExp) => {
      const found = commands.filter((line) => pattern.test(line));
      expect(found, `README.md's block has one command matching ${pattern}`).to.have.length(1);
      expect(found[0], 'the command names the README origin').to.include(README_ORIGIN);
      return found[0]!.replaceAll(README_ORIGIN, server.url);
    };
    /** Runs `script` with bash in `cwd`, $TOKEN set to the token the README's own TOKEN line minted. */
    const shell = (script: string, cwd: string) => run('bash', ['-euo', 'pipefail', '-c', script], cwd, { ...clientEnv, TOKEN: readmeToken });
    /** The access lines logged after the first `since` lines; waits until `count` are there. */
    const accessLinesAfter = async (since: number, count: number) => {
      const deadline = Date.now() + 2000;
      const fresh = () => server.logs.slice(since).filter((line) => line.msg === 'request');
      while (fresh().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      return fresh();
    };

    before(async () => {
      commands = readmeBlock(MARKER);
      // The block's TOKEN line, run as printed from the checkout: npm run token with the test server's secret,
      // and a signing key of the test's own so the script writes no development key into the checkout.
      const tokenLine = commands.find((line) => line.startsWith('TOKEN='));
      expect(tokenLine, 'the block mints its token with npm run token').to.match(/^TOKEN=\$\(npm run -s token -- .*\)$/);
      const configFile = tmp.file('readme-token-config.json', JSON.stringify({ signing: { keys: { t: 'a-signing-key-for-the-readme-test-0123456789' }, currentKey: 't' } }));
      const env: NodeJS.ProcessEnv = { ...clientEnv, FILEGATE_JWT_SECRET: TEST_SECRET, FILEGATE_CONFIG: configFile };
      delete env.NODE_ENV;
      readmeToken = (await run('bash', ['-euo', 'pipefail', '-c', `${tokenLine!}\nprintf %s "$TOKEN"`], REPO, env)).stdout;
      expect(readmeToken.split('.'), 'npm run token printed a JWT').to.have.length(3);
    });

    it('curl -C - -o as printed resumes a copy cut after 300 KB into a byte-exact file, with one 206 for the rest', async () => {
      const dir = workDir();
      writeFileSync(path.join(dir, 'tone.wav'), BLOB.subarray(0, PARTIAL));
      const since = server.logs.length;
      await shell(command(/^curl -C - /), dir);
      expect(readFileSync(path.join(dir, 'tone.wav')).equals(BLOB), 'the resumed file is byte-exact').to.equal(true);
      const [line] = await accessLinesAfter(since, 1);
      expect(line).to.include({ status: 206, bytes: BLOB.length - PARTIAL, subject: 'alice' });
    });

    it('wget -c -O as printed resumes a copy cut after 300 KB into a byte-exact file, with one 206 for the rest', async () => {
      const dir = workDir();
      writeFileSync(path.join(dir, 'tone.wav'), BLOB.subarray(0, PARTIAL));
      const since = server.logs.length;
      await shell(command(/^wget -c /), dir);
      expect(readFileSync(path.join(dir, 'tone.wav')).equals(BLOB), 'the resumed file is byte-exact').to.equal(true);
      const [line] = await accessLinesAfter(since, 1);
      expect(line).to.include({ status: 206, bytes: BLOB.length - PARTIAL });
    });

    it('curl -C - -o as printed downloads the whole file when there is no copy yet', async () => {
      const dir = workDir();
      await shell(command(/^curl -C - /), dir);
      expect(readFileSync(path.join(dir, 'tone.wav')).equals(BLOB)).to.equal(true);
    });

    it('curl -r 0-1023 as printed saves the first 1024 bytes', async () => {
      const dir = workDir();
      await shell(command(/^curl -r 0-1023 /), dir);
      const saved = readdirSync(dir);
      expect(saved).to.have.length(1);
      expect(readFileSync(path.join(dir, saved[0]!)).equals(BLOB.subarray(0, 1024))).to.equal(true);
    });

    it('the ETag line and the If-None-Match line as printed answer 304', async () => {
      const dir = workDir();
      const since = server.logs.length;
      const { stdout } = await shell(`${command(/^ETAG=/)}\n${command(/If-None-Match/)}`, dir);
      expect(stdout).to.equal('304\n');
      const lines = await accessLinesAfter(since, 2);
      expect(lines.map((line) => [line.method, line.status])).to.deep.equal([['HEAD', 200], ['GET', 304]]);
    });
  });

  describe("README.md's curl commands", () => {
    it('no curl command in README.md, in a block or inline, combines -C - with -J (curl refuses it), and each names its file with -o', () => {
      const written = [...readmeShellBlocks().flatMap((block) => block.commands), ...readmeInlineCode()];
      const curls = written.filter((line) => /(^|[|;&(]\s*)curl\s/.test(line));
      expect(curls.length, 'README.md has curl commands').to.be.greaterThan(5);
      const flagsOf = (line: string) => line.split(/\s+/).filter((word) => /^-[A-Za-z]+$/.test(word)).join('');
      const both = curls.filter((line) => /(^|\s)-C\s+-(\s|$)/.test(line) && flagsOf(line).includes('J'));
      expect(both, 'curl -C - with -J').to.deep.equal([]);
      // -C - continues the file -o names; with -O alone curl would name it after the URL ("download").
      const resumes = curls.filter((line) => /(^|\s)-C\s+-(\s|$)/.test(line));
      expect(resumes.length, 'README.md shows a resume').to.be.greaterThan(0);
      expect(resumes.filter((line) => !/(^|\s)-o\s/.test(line)), 'curl -C - without -o').to.deep.equal([]);
    });
  });
});
