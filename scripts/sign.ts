// Prints a signed download URL for curl users: npm run sign -- docs/report.pdf

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config/load-config.js';
import { parseDuration } from '../src/config/units.js';
import { resolveLinkOrigin } from '../src/dev/resolve-link-origin.js';
import { parseLayerPath } from '../src/paths/layer-path.js';
import { signDownload, UrlSigner } from '../src/signing/url-signer.js';

const USAGE = `usage: npm run sign -- <filepath> [--fstype LAYER] [--ttl 1h] [--inline] [--head] [--port PORT | --url ORIGIN]

Prints a URL that downloads <filepath> without a token until it expires, signed with
the configured current key (signing.currentKey, or the development key in var/dev-signing-key).
The URL's origin is --url, else signing.baseUrl, else the configured server.host and
server.port (FILEGATE_HOST, FILEGATE_PORT, FILEGATE_CONFIG) as the server reads them;
--port names the port of a server started with another one. --base is --url's older name.
The file is not looked at: a URL for a missing file answers 404 when used.`;

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      fstype: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
      inline: { type: 'boolean', default: false },
      head: { type: 'boolean', default: false },
      port: { type: 'string' },
      url: { type: 'string' },
      base: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (positionals.length !== 1) throw new Error('give exactly one filepath');
  const { config } = loadConfig();
  const filepath = parseLayerPath(positionals[0]!, 'filepath');
  const fstype = values.fstype ?? config.defaultLayer;
  if (!(fstype in config.layers)) throw new Error(`unknown fstype "${fstype}" (configured: ${Object.keys(config.layers).join(', ')})`);
  const ttl = parseDuration(values.ttl);
  if (ttl === null || ttl < 1000) throw new Error(`--ttl ${values.ttl} is not a duration such as "15m" or "1h"`);
  const signer = new UrlSigner(config.signing);
  const urls = signDownload(signer, { filepath: filepath.text, fstype, disposition: values.inline ? 'inline' : undefined }, signer.expiryFor(ttl, null));
  const origin = resolveLinkOrigin({ port: values.port, url: values.url ?? values.base }, config.server, config.signing.baseUrl);
  process.stdout.write(`${origin}${values.head ? urls.head : urls.get}\n`);
}

try {
  main();
} catch (error) {
  const message = error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error);
  process.stderr.write(`sign: ${message}\n${USAGE}\n`);
  process.exit(2);
}
