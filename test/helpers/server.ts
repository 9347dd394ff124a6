// Starts the real app on port 0 with a config of the test's own, and captures its log lines.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export interface TestServer {
  readonly url: string;
  readonly config: Config;
  readonly running: RunningServer;
  /** Every log line written so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** The raw log text written so far. */
  rawLogs(): string;
  close(): Promise<void>;
}

export type TestConfig = Omit<ConfigInput, 'layers'> & { layers: ConfigInput['layers'] };

const made: string[] = [];

/** A packages folder for one test server, removed when it closes. */
function ownPackages(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'filegate-packages-'));
  made.push(dir);
  return dir;
}

/** Starts a server on 127.0.0.1, port 0, with `config` layered over test defaults (an HS256 secret). */
export async function startTestServer(config: TestConfig): Promise<TestServer> {
  const input = {
    ...config,
    server: { host: '127.0.0.1', port: 0, ...config.server },
    auth: { secret: TEST_SECRET, ...config.auth },
    // Tests make many requests as one subject at once; the limit tests set their own.
    limits: { concurrentPerSubject: 0, ...config.limits },
    // Each server keeps its packages in a folder of its own unless the test shares one.
    packages: { ...config.packages, dir: config.packages?.dir ?? ownPackages() },
  };
  const parsed = configSchema.parse(input);
  const madeDirs = made.splice(0);
  const logs: Array<Record<string, unknown>> = [];
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = chunk.toString('utf8');
      raw += text;
      for (const line of text.split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const running = await startServer(parsed, { logger: createLogger('info', sink) });
  return {
    url: running.url,
    config: parsed,
    running,
    logs,
    rawLogs: () => raw,
    close: async () => {
      await running.close(1000);
      for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until a log line that `match` accepts has been written, and returns it. */
export async function waitForLog(server: TestServer, match: (entry: Record<string, unknown>) => boolean, timeoutMs = 3000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = server.logs.find(match);
    if (line) return line;
    if (Date.now() > deadline) throw new Error('the expected log line was not written');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until the access line of a request id has been logged (it is written when the response closes). */
export function waitForAccessLine(server: TestServer, requestId: string, timeoutMs = 2000): Promise<Record<string, unknown>> {
  return waitForLog(server, (entry) => entry.msg === 'request' && entry.reqId === requestId, timeoutMs).catch(() => {
    throw new Error(`no access line for ${requestId}`);
  });
}
