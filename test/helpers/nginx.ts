// Runs real nginx (Debian's) on 127.0.0.1 with a configuration block of docs/deployment.md, so tests prove the configuration a reader copies.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DEPLOYMENT_DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'deployment.md');
// Debian puts nginx in /usr/sbin, which a user's PATH may lack.
const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

export interface RunningNginx {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The configuration it runs. */
  readonly config: string;
  /** nginx's error log so far. */
  errorLog(): string;
  /** Stops nginx (its master process, by PID) and removes its folder. */
  stop(): Promise<void>;
}

/** The text of the one ```nginx block of docs/deployment.md whose marker line (`<!-- … -->` right above it) includes `marker`. */
export function deploymentBlock(marker: string): string {
  return deploymentFence('nginx', marker);
}

/** The text of the one fenced block in `language` (```json, ```xml, …) of docs/deployment.md whose marker line (`<!-- … -->` right above it) includes `marker`. */
export function deploymentFence(language: string, marker: string): string {
  const lines = readFileSync(DEPLOYMENT_DOC, 'utf8').split('\n');
  const found: string[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i] !== `\`\`\`${language}` || !/^<!--.*-->$/.test(lines[i - 1] ?? '') || !lines[i - 1]!.includes(marker)) continue;
    const body: string[] = [];
    for (i += 1; i < lines.length && lines[i] !== '```'; i += 1) body.push(lines[i]!);
    found.push(body.join('\n'));
  }
  if (found.length !== 1) throw new Error(`docs/deployment.md has ${found.length} ${language} blocks marked "${marker}", not one`);
  return found[0]!;
}

/**
 * Starts nginx in the foreground on a free port of 127.0.0.1 with `block`
 * inside its `http` block after `replacements` (each must occur in the
 * block: a documented line that changed fails here, not silently), in a temp
 * folder of its own (pid, logs, temp files). Stopped by PID with `stop()`,
 * and at the latest when this process exits.
 */
export async function startNginx(block: string, replacements: ReadonlyArray<readonly [from: string, to: (port: number) => string]>): Promise<RunningNginx> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'filegate-nginx-'));
  const port = await freePort();
  let config = block;
  for (const [from, to] of replacements) {
    if (!config.includes(from)) throw new Error(`the nginx block has no ${JSON.stringify(from)} to replace`);
    config = config.split(from).join(to(port));
  }
  const temp = (name: string) => {
    mkdirSync(path.join(dir, name));
    return path.join(dir, name);
  };
  const full = [
    // A master running as root starts its workers as nobody, who cannot enter the tests' private temp folders.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'daemon off;',
    'worker_processes 1;',
    `pid ${path.join(dir, 'nginx.pid')};`,
    `error_log ${path.join(dir, 'error.log')} info;`,
    'events { worker_connections 256; }',
    'http {',
    `  access_log ${path.join(dir, 'access.log')};`,
    `  client_body_temp_path ${temp('body')};`,
    `  proxy_temp_path ${temp('proxy')};`,
    `  fastcgi_temp_path ${temp('fastcgi')};`,
    `  uwsgi_temp_path ${temp('uwsgi')};`,
    `  scgi_temp_path ${temp('scgi')};`,
    config,
    '}',
    '',
  ].join('\n');
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(file, full);
  const errorLog = () => (existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : '');

  const child = spawn(NGINX, ['-p', dir, '-c', file, '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const killAtExit = () => kill(child, 'SIGKILL');
  process.once('exit', killAtExit);
  try {
    await waitForPort(port, child, () => `${stderr}${errorLog()}`);
  } catch (error) {
    kill(child, 'SIGKILL');
    process.off('exit', killAtExit);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    config: full,
    errorLog,
    async stop() {
      process.off('exit', killAtExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        // SIGTERM: nginx's fast shutdown, master and workers.
        kill(child, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // already gone
  }
}

/** A port nothing listens on right now (the kernel's pick for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `port` accepts connections, or fails with nginx's own words once it has exited or 10 s have passed. */
async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited: ${output()}`);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port} within 10 s: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
