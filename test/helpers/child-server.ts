// Starts the real service (src/main.ts) in a child process, for tests that measure the server alone.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_SECRET } from './server.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ChildServer {
  readonly url: string;
  readonly pid: number;
  /** The child's resident set size now, in bytes (Linux). */
  rss(): number;
  stop(): Promise<void>;
}

/**
 * Writes `config` (over the test secret, 127.0.0.1 and port 0) to `configFile`,
 * starts `src/main.ts` with it, and resolves once the child logs that it listens.
 */
export function startChildServer(config: Record<string, unknown>, configFile: string): Promise<ChildServer> {
  const auth = (config.auth as Record<string, unknown> | undefined) ?? {};
  writeFileSync(configFile, JSON.stringify({ ...config, server: { host: '127.0.0.1', port: 0 }, auth: { secret: TEST_SECRET, ...auth } }));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (name !== 'NODE_ENV' && !name.startsWith('FILEGATE_')) env[name] = value;
  env.FILEGATE_CONFIG = configFile;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child server did not start within 15 s:\n${err}`)), 15_000);
    child.once('close', (code) => reject(new Error(`the child server exited (code ${code}) before listening:\n${err}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      for (const line of out.split('\n')) {
        if (!line.includes('filegate is listening')) continue;
        clearTimeout(timer);
        const { url } = JSON.parse(line) as { url: string };
        resolve({
          url: url.replace('0.0.0.0', '127.0.0.1'),
          pid: child.pid!,
          rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
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
