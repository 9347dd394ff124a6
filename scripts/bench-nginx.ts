// The nginx in front of filegate for `npm run bench` (scenarios 15 and 17): docs/deployment.md's x-accel block as a reader copies it, with only the addresses and the folder replaced (as test/helpers/nginx.ts does for the tests), wrapped in a configuration of its own folder.

import path from 'node:path';
import { deploymentBlock } from '../test/helpers/nginx.js';

/** The internal location of the block (the layer "media"): filegate's `delivery.location` for its x-accel layer. */
export const X_ACCEL_LOCATION = '/_filegate/media/';

/** Where nginx listens, where filegate listens, and the folder the internal location aliases (filegate's layer root). */
export interface FrontAddresses {
  readonly host: string;
  readonly port: number;
  readonly upstreamPort: number;
  readonly root: string;
}

/**
 * The whole nginx.conf: the documented block inside an `http` block whose
 * pid, logs and temp files live under `prefix`. Each replaced line must be in
 * the block: a documented line that changed fails the bench, not silently.
 */
export function frontNginxConfig(prefix: string, at: FrontAddresses): string {
  let block = deploymentBlock('nginx: x-accel');
  const replacements: ReadonlyArray<readonly [string, string]> = [
    ['server 127.0.0.1:3000;', `server ${at.host}:${at.upstreamPort};`],
    ['listen 80;', `listen ${at.host}:${at.port};`],
    ['alias /srv/media/;', `alias ${at.root}/;`],
  ];
  for (const [from, to] of replacements) {
    if (!block.includes(from)) throw new Error(`docs/deployment.md's x-accel block has no ${JSON.stringify(from)} to replace`);
    block = block.split(from).join(to);
  }
  if (!block.includes(`location ${X_ACCEL_LOCATION} {`)) throw new Error(`docs/deployment.md's x-accel block has no location ${X_ACCEL_LOCATION}`);
  const temp = (what: string) => `${what}_temp_path ${path.join(prefix, `${what}_temp`)};`;
  return [
    '# written by scripts/bench.ts from docs/deployment.md ("nginx: x-accel")',
    // A master running as root starts its workers as nobody, who may not enter the bench's folders.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'worker_processes 1;',
    'daemon off;',
    `pid ${path.join(prefix, 'nginx.pid')};`,
    `error_log ${path.join(prefix, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    // As the bench's nginx peer: no access log (filegate writes its own line per request).
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((what) => `  ${temp(what)}`),
    block,
    '}',
    '',
  ].join('\n');
}
