// Runs src/main.ts as one replica of a deployment, as an operator starts it (a config file and an environment), and keeps its log lines so a test can tell replicas apart.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { completeLogLines } from './child-server.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const START_TIMEOUT_MS = 30_000;
const KILL_AFTER_MS = 5_000;

export interface ReplicaProcess {
  /** The test's name for it ("A", "B"). */
  readonly name: string;
  /** `http://127.0.0.1:PORT`, where it listens. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Every whole log line it has written to standard output so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Its access line for `requestId`, once written (when the response closed). */
  accessLine(requestId: string): Record<string, unknown> | undefined;
  /** What it has written to standard error so far. */
  stderr(): string;
  /** True once the process has ended. */
  hasExited(): boolean;
  /** Sends `signal` by PID and returns at once. */
  signal(signal: NodeJS.Signals): void;
  /** Settles with the exit code (null when a signal ended it) once the process has ended. */
  readonly exited: Promise<number | null>;
  /** SIGTERM by PID, SIGKILL if it is still there after 5 s; resolves once it has ended. */
  stop(): Promise<void>;
}

/**
 * Writes `configText` to `configFile` and starts `src/main.ts` with
 * FILEGATE_CONFIG naming it, `env` over this process's environment (without
 * its FILEGATE_*, NODE_ENV and AWS_* variables, so only what the test gives
 * counts), from the checkout. Resolves once the replica logs that it listens;
 * killed by PID at the latest when this process exits.
 */
export function startReplica(name: string, configText: string, configFile: string, env: Record<string, string>): Promise<ReplicaProcess> {
  writeFileSync(configFile, configText, { mode: 0o600 });
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_ENV' || key.startsWith('FILEGATE_') || key.startsWith('AWS_')) continue;
    childEnv[key] = value;
  }
  Object.assign(childEnv, env, { FILEGATE_CONFIG: configFile });
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: REPO, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const killAtExit = () => kill(child, 'SIGKILL');
  process.once('exit', killAtExit);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  void exited.then(() => process.off('exit', killAtExit));
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const logs = () => completeLogLines(out);
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  return new Promise((resolve, reject) => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const poll = async () => {
      for (;;) {
        const listening = logs().find((line) => line.msg === 'filegate is listening');
        if (listening !== undefined) {
          const url = new URL(String(listening.url));
          return { url: `http://127.0.0.1:${url.port}`, port: Number(url.port) };
        }
        if (hasExited()) throw new Error(`replica ${name} exited before listening:\n${err}`);
        if (Date.now() > deadline) throw new Error(`replica ${name} did not listen within ${START_TIMEOUT_MS / 1000} s:\n${err}`);
        await sleep(20);
      }
    };
    poll().then(
      ({ url, port }) =>
        resolve({
          name,
          url,
          port,
          pid: child.pid!,
          logs,
          accessLine: (requestId) => logs().find((line) => line.msg === 'request' && line.reqId === requestId),
          stderr: () => err,
          hasExited,
          signal: (signal) => kill(child, signal),
          exited,
          stop: async () => {
            if (hasExited()) return;
            kill(child, 'SIGTERM');
            const timer = setTimeout(() => kill(child, 'SIGKILL'), KILL_AFTER_MS);
            await exited;
            clearTimeout(timer);
          },
        }),
      (error: unknown) => {
        kill(child, 'SIGKILL');
        reject(error);
      },
    );
  });
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // already gone
  }
}

/** True once a new TCP connection to `url` is refused (a replica that drains, or is gone). */
export function isRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
