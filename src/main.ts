// The service's entry point: load the config, start the server, drain on SIGTERM/SIGINT.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { mintToken } from './auth/mint-token.js';
import { ConfigError, loadConfig, type LoadedConfig } from './config/load-config.js';
import type { Config } from './config/schema.js';
import { createLogger, type Logger } from './logger.js';
import { startServer, type RunningServer } from './server.js';

async function main(): Promise<void> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`filegate: ${error.message}\n`);
    process.exit(2);
  }
  const { config, devMode } = loaded;
  const logger = createLogger(config.log.level);
  const running = await startServer(config, { logger });
  logger.info({ url: running.url, layers: Object.keys(config.layers), devMode, sources: loaded.sources }, 'filegate is listening');
  if (devMode) await printDevelopmentBanner(config, running);
  handleSignals(running, logger);
}

/**
 * In development there is no configured key: print a ready curl command,
 * with a fresh token written out in full, that downloads a sample file.
 */
async function printDevelopmentBanner(config: Config, running: RunningServer): Promise<void> {
  const token = await mintToken({ secret: config.auth.secret!, subject: 'developer', scope: 'files:read files:list', expiresIn: 24 * 3600 });
  const port = new URL(running.url).port;
  const sample = firstFile(config.layers[config.defaultLayer]!.root) ?? 'hello.txt';
  const url = `http://localhost:${port}/api/download?filepath=${encodeURIComponent(sample).replace(/%2F/g, '/')}`;
  process.stderr.write(
    [
      '',
      'filegate is running in development mode: no JWT key is configured, so a secret was made (var/dev-jwt-secret).',
      'Download a sample file with this token (valid 24 hours):',
      '',
      `curl -OJ -H "Authorization: Bearer ${token}" '${url}'`,
      '',
      'More tokens: npm run token -- --sub alice --scope files:read',
      '',
    ].join('\n'),
  );
}

/** The first visible file of a folder, preferring hello.txt, as a relative path. */
function firstFile(root: string): string | null {
  try {
    const names = readdirSync(root).filter((name) => !name.startsWith('.')).sort();
    const pick = names.includes('hello.txt') ? 'hello.txt' : names.find((name) => statSync(path.join(root, name)).isFile());
    return pick ?? null;
  } catch {
    return null;
  }
}

function handleSignals(running: RunningServer, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining: no new connections, waiting for transfers in flight');
    // Exits 0 either way: a drain cut short by its grace is logged, not a failure.
    void running.close().then(
      (clean) => {
        logger.info({ clean }, 'filegate stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'the drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`filegate: could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
