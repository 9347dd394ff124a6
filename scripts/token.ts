// Mints a token from the configured secret for curl users: npm run token -- --sub alice --scope files:read

import { parseArgs } from 'node:util';
import { mintToken } from '../src/auth/mint-token.js';
import { ConfigError, loadConfig } from '../src/config/load-config.js';
import { parseDuration } from '../src/config/units.js';
import { hsMintOptions } from '../src/dev/hs-mint-options.js';

const USAGE = `usage: npm run token -- [--sub NAME] [--scope "files:read files:list"] [--path PREFIX]... [--fstype LAYER]... [--ttl 1h]

Prints a JWT signed with the configured HS* secret (auth.secret, FILEGATE_JWT_SECRET,
or the development secret in var/dev-jwt-secret).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string', default: 'cli' },
      scope: { type: 'string' },
      path: { type: 'string', multiple: true },
      fstype: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '1h' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { config } = loadConfig();
  const mint = hsMintOptions(config.auth);
  if (mint === null) throw new Error('this deployment verifies tokens with a public key; mint them with the matching private key instead');
  const ttl = parseDuration(values.ttl);
  if (ttl === null || ttl < 1000) throw new Error(`--ttl ${values.ttl} is not a duration such as "15m" or "1h"`);
  const token = await mintToken({
    ...mint,
    subject: values.sub,
    ...(values.scope === undefined ? {} : { scope: values.scope }),
    ...(values.path === undefined ? {} : { paths: values.path }),
    ...(values.fstype === undefined ? {} : { fstypes: values.fstype }),
    expiresIn: Math.floor(ttl / 1000),
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error);
  process.stderr.write(`token: ${message}\n${USAGE}\n`);
  process.exit(2);
});
