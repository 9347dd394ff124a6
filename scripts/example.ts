// Builds an example deployment's sample tree where its config expects it: npm run example -- media-library

import path from 'node:path';
import { buildSampleTree, EXAMPLES, type ExampleName } from './examples/sample-trees.js';

const USAGE = `usage: npm run example -- <${EXAMPLES.join('|')}> [folder]

Writes the example's sample files into folder (by default var/examples/<name>,
the root its config in config/examples/ names), then prints the command that
serves them.`;

const [name, folder] = process.argv.slice(2);
if (name === undefined || !(EXAMPLES as readonly string[]).includes(name)) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const root = path.resolve(folder ?? path.join('var', 'examples', name));
buildSampleTree(name as ExampleName, root);
const serve = folder === undefined ? '' : `FILEGATE_ROOT=${root} `;
process.stdout.write(`sample tree written to ${root}\nserve it with: ${serve}FILEGATE_CONFIG=config/examples/${name}.json npm start\n`);
