// Starts the real service (src/main.ts) in a child process, for tests that measure the server alone.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_SECRET } from './server.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ChildServer {
  readonly url: string;
  readonly pid: number;
  /** The child's resident set size now, in bytes (Linux). */
  rss(): number;
  /** How many descriptors the child holds open now (Linux). */
  openDescriptors(): number;
  /** Every log line the child has written to standard output so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** What the child has written to standard error so far. */
  stderr(): string;
  /** Sends `signal` and returns at once. */
  signal(signal: NodeJS.Signals): void;
  /** Settles with the exit code (null when a signal ended it) once the child has exited. */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Writes `config` (over the test secret, 127.0.0.1, port 0 and no
 * per-subject concurrency cap; other `server` and `limits` keys are kept) to
 * `configFile`, starts `src/main.ts` with it, and resolves once the child
 * logs that it listens. Unless the test names them, the packages folder and
 * a signing key are the child's own (in a temp folder removed when it
 * exits), so nothing is written into the checkout, which may be read-only or
 * closed to others.
 */
export function startChildServer(config: Record<string, unknown>, configFile: string): Promise<ChildServer> {
  const auth = (config.auth as Record<string, unknown> | undefined) ?? {};
  const server = (config.server as Record<string, unknown> | undefined) ?? {};
  const limits = (config.limits as Record<string, unknown> | undefined) ?? {};
  const packages = (config.packages as Record<string, unknown> | undefined) ?? {};
  const signing = (config.signing as Record<string, unknown> | undefined) ?? {};
  const own = mkdtempSync(path.join(os.tmpdir(), 'filegate-child-'));
  // As in startTestServer: tests make many requests as one subject at once; the limit tests set their own.
  writeFileSync(
    configFile,
    JSON.stringify({
      ...config,
      server: { ...server, host: '127.0.0.1', port: 0 },
      auth: { secret: TEST_SECRET, ...auth },
      limits: { concurrentPerSubject: 0, ...limits },
      // Relative defaults would resolve into the checkout: ./var/packages, and var/dev-signing-key without keys.
      packages: { dir: path.join(own, 'packages'), ...packages },
      signing: signing.keys === undefined ? { keys: { child: randomBytes(32).toString('base64url') }, currentKey: 'child', ...signing } : signing,
    }),
  );
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (name !== 'NODE_ENV' && !name.startsWith('FILEGATE_')) env[name] = value;
  env.FILEGATE_CONFIG = configFile;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  void exited.then(() => rmSync(own, { recursive: true, force: true }));
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const logs = () => completeLogLines(out);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child server did not start within 15 s:\n${err}`)), 15_000);
    void exited.then((code) => reject(new Error(`the child server exited (code ${code}) before listening:\n${err}`)));
    let listening = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (listening) return;
      for (const line of out.split('\n')) {
        if (!line.includes('filegate is listening')) continue;
        listening = true;
        clearTimeout(timer);
        const { url } = JSON.parse(line) as { url: string };
        resolve({
          url: url.replace('0.0.0.0', '127.0.0.1'),
          pid: child.pid!,
          rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
          openDescriptors: () => readdirSync(`/proc/${child.pid}/fd`).length,
          logs,
          stderr: () => err,
          signal: (signal) => {
            child.kill(signal);
          },
          exited,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('close', () => done());
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), 3000).unref();
            }),
        });
        return;
      }
    });
  });
}

/** Runs `work` while sampling the child's RSS every 10 ms; returns its result and the most the RSS rose above where it started. */
export async function rssGrowthDuring<T>(child: Pick<ChildServer, 'rss'>, work: () => Promise<T>): Promise<{ result: T; grewBy: number }> {
  const baseline = child.rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, child.rss());
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, child.rss());
    return { result, grewBy: peak - baseline };
  } finally {
    clearInterval(sampler);
  }
}

/** The JSON log lines of what a process wrote so far: whole lines only, since the last one may still be on its way. */
export function completeLogLines(out: string): Array<Record<string, unknown>> {
  return out
    .slice(0, out.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
