// The service's entry point: load the config, start the server, drain on SIGTERM/SIGINT.

import path from 'node:path';
import { mintToken } from './auth/mint-token.js';
import type { Principal } from './auth/principal.js';
import { ConfigError, loadConfig, type LoadedConfig } from './config/load-config.js';
import { formatDevelopmentBanner } from './dev/development-banner.js';
import { findSampleFile, SAMPLE_WALK_BOUNDS } from './dev/find-sample-file.js';
import { hsMintOptions } from './dev/hs-mint-options.js';
import { toLocalOrigin } from './dev/local-origin.js';
import { describeLayerRoot } from './layers/create-layers.js';
import { createLogger, type Logger } from './logger.js';
import { startServer, type RunningServer } from './server.js';
import { tuneV8 } from './v8-tuning.js';

async function main(): Promise<void> {
  const v8Flags = tuneV8();
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
  logger.info({ url: running.url, layers: Object.keys(config.layers), devMode, sources: loaded.sources, v8Flags }, 'filegate is listening');
  // Supervisors and people wait for this line: it is not held back with the access lines.
  logger.flush();
  if (devMode) await printDevelopmentBanner(loaded, running);
  handleSignals(running, logger);
}

/** The banner's token: a day long, enough to read and list (the scopes its command needs). */
const BANNER_TOKEN = { subject: 'developer', scope: 'files:read files:list', hours: 24 } as const;
// What the browse page does with a token: list, preview and download through signed URLs, and ZIPs.
const BROWSE_SCOPE = 'files:read files:list files:sign files:archive';

/**
 * In development there is no configured key: say where the secret came from,
 * and print a ready curl command, with a fresh token written out in full,
 * that downloads a file the default layer really serves (or say why there is
 * none).
 */
async function printDevelopmentBanner(loaded: LoadedConfig, running: RunningServer): Promise<void> {
  const { config, devSecret } = loaded;
  // Never null here: in development the secret is an HS* key, and the config check refused any other algorithm without its key.
  const mint = hsMintOptions(config.auth)!;
  const token = await mintToken({ ...mint, subject: BANNER_TOKEN.subject, scope: BANNER_TOKEN.scope, expiresIn: BANNER_TOKEN.hours * 3600 });
  const browseToken = config.ui.enabled ? await mintToken({ ...mint, subject: BANNER_TOKEN.subject, scope: BROWSE_SCOPE, expiresIn: BANNER_TOKEN.hours * 3600 }) : undefined;
  const layer = running.app.layers.byName.get(config.defaultLayer)!;
  // The principal the token stands for, so the walk offers only what the command may download.
  const principal: Principal = { subject: BANNER_TOKEN.subject, scopes: new Set(['files:read', 'files:list']), paths: null, fstypes: null };
  const sample = await findSampleFile(layer, principal, SAMPLE_WALK_BOUNDS);
  const listening = new URL(running.url);
  process.stderr.write(
    formatDevelopmentBanner({
      secretFile: shownPath(devSecret!.file),
      secretMade: devSecret!.made,
      token,
      tokenHours: BANNER_TOKEN.hours,
      origin: toLocalOrigin(config.server.host, Number(listening.port)),
      layer: { name: layer.name, root: describeLayerRoot(config.layers[config.defaultLayer]!, shownPath), policy: layer.policy },
      sample,
      walk: SAMPLE_WALK_BOUNDS,
      browseToken,
    }),
  );
}

/** A path relative to the working directory when it lies inside it, else absolute. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function handleSignals(running: RunningServer, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining: no new connections, waiting for transfers in flight');
    logger.flush();
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
