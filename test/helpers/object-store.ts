// Starts one real S3 engine (Ceph radosgw) per test process, on first use, and stops it when the process ends, whatever ends it.

import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngineClient, type EngineClient, type EngineClientOptions } from '../../src/layers/s3/engine-client.js';
import { EngineError } from '../../src/layers/s3/engine-error.js';

const SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/radosgw');
const START = path.join(SCRIPTS, 'start.sh');
const STOP = path.join(SCRIPTS, 'stop.sh');
const GATEWAY = path.join(SCRIPTS, 'gateway.sh');
// Engines live in the temp folder, never in the checkout: one folder per test process.
const FOLDER_PREFIX = 'filegate-radosgw-';
const OWNER_FILE = 'owner.pid';

/** Where the running engine answers, and the fixed test keys it was started with. */
export interface ObjectStore {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A second user's keys: its buckets are not ours, so reading them is access denied. */
  readonly other: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The engine's folder (config, logs, PID files). */
  readonly dir: string;
}

let starting: Promise<ObjectStore> | undefined;
let running: { dir: string; starter: number; watchdog: number | undefined } | undefined;

/**
 * The shared engine, started on the first call (about 3 s, plus about 20 s
 * the first time on a machine without the Debian packages). Give the calling
 * hook a timeout of a minute or two. A failed start is not retried by later
 * callers of the same process: they all see the same error.
 */
export function startObjectStore(): Promise<ObjectStore> {
  starting ??= start();
  return starting;
}

/**
 * A client for a new, empty bucket of the shared engine (starting it if
 * needed): one per test, so tests never see each other's objects. `overrides`
 * change what the client is given (another secret, another endpoint).
 */
export async function createTestBucket(overrides: Partial<EngineClientOptions> = {}): Promise<EngineClient> {
  const store = await startObjectStore();
  // A loaded machine (the whole suite on two cores) can hold a bucket creation for seconds:
  // wait longer than a request of the service would, and ask again (an existing bucket of ours succeeds).
  const admin = createEngineClient({ ...engineOptions(store), bucket: uniqueBucketName(), headersTimeoutMs: 60_000 });
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await admin.createBucket();
        break;
      } catch (error) {
        if (attempt >= 3 || !(error instanceof EngineError && error.kind === 'unavailable')) throw error;
      }
    }
  } finally {
    admin.close();
  }
  return createEngineClient({ ...engineOptions(store), bucket: admin.bucket, ...overrides });
}

/**
 * Stops (`"stop"`) or starts again (`"start"`) only the shared engine's S3
 * gateway: its endpoint refuses connections, then answers again with the
 * same objects. A test that stops it must start it again, also on failure.
 */
export async function setGateway(store: ObjectStore, action: 'stop' | 'start'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('bash', [GATEWAY, store.dir, action], { timeout: 60_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`scripts/radosgw/gateway.sh ${action} failed: ${stderr}`));
      else resolve();
    });
  });
}

/** Client options for `store` and `bucket` (path style, the test keys). */
export function engineOptions(store: ObjectStore, bucket = 'unused'): EngineClientOptions {
  return {
    endpoint: store.endpoint,
    region: store.region,
    bucket,
    forcePathStyle: true,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
  };
}

/** A bucket name no other test of any process uses: 3–63 lowercase letters, digits and hyphens. */
export function uniqueBucketName(): string {
  return `t-${process.pid}-${randomBytes(6).toString('hex')}`;
}

async function start(): Promise<ObjectStore> {
  removeAbandonedEngines();
  const dir = path.join(os.tmpdir(), `${FOLDER_PREFIX}${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  process.once('exit', stopObjectStore);
  const output = await new Promise<string>((resolve, reject) => {
    const child = execFile('bash', [START, dir], { timeout: 300_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`scripts/radosgw/start.sh failed (logs in ${dir}/log):\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
    // Stop the engine with the process: synchronously at exit (normal end,
    // mocha's --exit, Ctrl-C through mocha), and from a detached watchdog when
    // the process dies without running its exit handlers (SIGKILL, SIGTERM).
    // Both first stop start.sh itself, should it still be starting daemons.
    running = { dir, starter: child.pid ?? 0, watchdog: startWatchdog(dir, child.pid ?? 0) };
  });
  const env = Object.fromEntries(output.trim().split('\n').map((line) => {
    const at = line.indexOf('=');
    return [line.slice(0, at), line.slice(at + 1)];
  }));
  const field = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`scripts/radosgw/start.sh printed no ${name}`);
    return value;
  };
  return {
    endpoint: field('S3_ENDPOINT'),
    region: field('S3_REGION'),
    accessKeyId: field('S3_ACCESS_KEY'),
    secretAccessKey: field('S3_SECRET_KEY'),
    other: { accessKeyId: field('S3_OTHER_ACCESS_KEY'), secretAccessKey: field('S3_OTHER_SECRET_KEY') },
    dir,
  };
}

/**
 * Stops the shared engine now, synchronously, and removes its folder; later
 * calls do nothing. Runs by itself at process exit.
 */
export function stopObjectStore(): void {
  if (running === undefined) return;
  const { dir, starter, watchdog } = running;
  running = undefined;
  if (watchdog !== undefined) {
    try {
      // its own process group (detached): the loop and its sleep
      process.kill(-watchdog, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('bash', ['-c', STOP_ENGINE, 'filegate-radosgw-stop', STOP, dir, String(starter)], { stdio: 'ignore' });
}

// A process that has not ended (a zombie has: its parent may be busy, or gone).
const ALIVE = `alive() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$s" != Z ]; }`;

// bash -c STOP_ENGINE name STOP DIR STARTER_PID: stops start.sh when it is
// still running for DIR (checked by its command line: PIDs are reused), then
// the daemons by their PID files, then removes DIR.
const STOP_ENGINE = `${ALIVE}
  if [ "$3" != 0 ] && alive "$3" && tr '\\0' ' ' <"/proc/$3/cmdline" 2>/dev/null | grep -qF -- "$2"; then
    kill -TERM "$3" 2>/dev/null
    while alive "$3"; do sleep 0.05; done
  fi
  STOP_GRACE=0 bash "$1" "$2"
  rm -rf "$2"`;

function startWatchdog(dir: string, starter: number): number | undefined {
  const script = `${ALIVE}; while alive "$4"; do sleep 0.5; done; ${STOP_ENGINE}`;
  const child = spawn('bash', ['-c', script, 'filegate-radosgw-watchdog', STOP, dir, String(starter), String(process.pid)], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child.pid;
}

/** Stops and removes the engines of earlier test processes that died without stopping theirs. */
function removeAbandonedEngines(): void {
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(FOLDER_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    const ownerFile = path.join(dir, OWNER_FILE);
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : NaN;
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) continue;
    // No owner yet: another process may be between creating the folder and writing the file.
    if (!Number.isInteger(owner) && Date.now() - statSync(dir).mtimeMs < 60_000) continue;
    spawnSync('bash', [STOP, dir], { stdio: 'ignore', env: { ...process.env, STOP_GRACE: '0' } });
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
