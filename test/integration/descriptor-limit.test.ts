// Out of file descriptors: 503 UNAVAILABLE with Retry-After, no crash, and the service serves again once they free up.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { hsToken } from '../helpers/tokens.js';

const MB = 1024 * 1024;
// The service holds about 25 descriptors once it listens: a few dozen held
// downloads (a socket and a file each) use up the rest.
const DESCRIPTOR_LIMIT = 96;

type Outcome =
  | { kind: 'held'; response: http.IncomingMessage }
  | { kind: 'answer'; status: number; retryAfter: string | undefined; code: string | undefined }
  | { kind: 'failed'; error: string };

/** Starts a download on a connection of its own; a 200 is held open unread, anything else is read whole. */
function attempt(url: string, token: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const failed = (error: NodeJS.ErrnoException) => resolve({ kind: 'failed', error: error.code ?? error.message });
    const request = http.get(url, { headers: { Authorization: `Bearer ${token}` }, agent: false }, (response) => {
      if (response.statusCode === 200) {
        response.pause();
        response.on('error', () => {});
        resolve({ kind: 'held', response });
        return;
      }
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          code = undefined;
        }
        resolve({ kind: 'answer', status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'], code });
      });
      response.on('error', failed);
    });
    // libuv closes the connections it cannot accept: those clients see a reset.
    request.on('error', failed);
  });
}

/** Downloads in waves of ten, holding every 200 open, until one is refused with an answer (or 30 waves). */
async function exhaust(url: string, token: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let wave = 0; wave < 30 && !outcomes.some((outcome) => outcome.kind === 'answer'); wave += 1) {
    outcomes.push(...(await Promise.all(Array.from({ length: 10 }, () => attempt(url, token)))));
  }
  return outcomes;
}

function release(outcomes: readonly Outcome[]): void {
  for (const outcome of outcomes) if (outcome.kind === 'held') outcome.response.destroy();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('running out of file descriptors', () => {
  let tree: TempDir;
  let child: ChildServer | null = null;
  const content = randomBytes(8 * MB);

  /**
   * Starts the service, then lowers its descriptor limit with util-linux
   * prlimit: lowered before the start, loading the modules (dozens of files
   * opened at once) would itself run out, now and then.
   */
  const start = async (name: string) => {
    const started = await startChildServer(
      {
        layers: { OsFs: { root: path.join(tree.dir, 'data'), maxFileSize: '1GB' } },
        packages: { dir: path.join(tree.dir, `${name}-packages`) },
        // The per-subject cap would answer 429 long before descriptors run out.
        limits: { concurrentPerSubject: 0 },
      },
      path.join(tree.dir, `${name}.json`),
    );
    execFileSync('prlimit', ['--pid', String(started.pid), `--nofile=${DESCRIPTOR_LIMIT}:${DESCRIPTOR_LIMIT}`]);
    return started;
  };

  before(() => {
    tree = tempDir();
    tree.file('data/big.bin', content);
  });

  afterEach(async () => {
    await child?.stop();
    child = null;
  });

  after(() => tree.remove());

  it('answers downloads 503 UNAVAILABLE with Retry-After, never 500, stays up, and serves byte-exact once descriptors free up', async function () {
    this.timeout(60_000);
    child = await start('downloads');
    const token = await hsToken();
    const url = `${child.url}/api/download?filepath=big.bin`;
    const idle = child.openDescriptors();
    const outcomes = await exhaust(url, token);
    const answers = outcomes.filter((outcome) => outcome.kind === 'answer');
    try {
      expect(answers.length, 'downloads answered with an error').to.be.at.least(1);
      for (const answer of answers) {
        expect(answer.status).to.equal(503);
        expect(answer.code).to.equal('UNAVAILABLE');
        expect(answer.retryAfter).to.equal('1');
      }
      expect(isAlive(child.pid)).to.equal(true);
    } finally {
      release(outcomes);
    }
    await waitUntil('the held descriptors to be released', () => child!.openDescriptors() <= idle + 2, 10_000);
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).to.equal(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).to.equal(true);
    // The log kept working: an access line for each refusal, and no error line.
    const logs = child.logs();
    expect(logs.filter((line) => line.msg === 'request' && line.status === 503 && line.code === 'UNAVAILABLE')).to.have.length(answers.length);
    expect(logs.filter((line) => Number(line.level) >= 50)).to.deep.equal([]);
    expect(isAlive(child.pid)).to.equal(true);
  });

  it('survives packages created and built while out of descriptors, and builds them again once descriptors free up', async function () {
    this.timeout(60_000);
    child = await start('packages');
    const token = await hsToken({ scope: 'files:read files:archive' });
    const create = (url: string) =>
      fetch(`${url}/api/packages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ paths: ['big.bin'] }),
      }).then(
        async (response) => ({ status: response.status, body: (await response.json()) as { id?: string } }),
        () => null,
      );
    const outcomes = await exhaust(`${child.url}/api/download?filepath=big.bin`, token);
    try {
      // A few descriptors free: enough to accept the requests, not to store and build them all.
      const held = outcomes.filter((outcome) => outcome.kind === 'held');
      release(held.slice(0, 3));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await Promise.all(Array.from({ length: 4 }, () => create(child!.url)));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(isAlive(child.pid), child.stderr()).to.equal(true);
    } finally {
      release(outcomes);
    }
    const created = await create(child.url);
    expect(created?.status).to.equal(202);
    await waitUntil(
      'the package to be ready',
      async () => {
        const response = await fetch(`${child!.url}/api/packages/${created!.body.id}`, { headers: { Authorization: `Bearer ${token}` } });
        return ((await response.json()) as { status: string }).status === 'ready';
      },
      20_000,
    );
    expect(isAlive(child.pid)).to.equal(true);
  });
});
