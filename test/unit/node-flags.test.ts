import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { FILEGATE_NODE_FLAGS } from '../../scripts/node-flags.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string) => readFileSync(path.join(REPO, file), 'utf8');

// The bench measures filegate with these flags; every other way of starting it as deployed must pass the same.
describe("Node's flags for filegate (scripts/node-flags.ts)", () => {
  it('names the young-generation size docs/decisions.md explains', () => {
    expect(FILEGATE_NODE_FLAGS).to.include('--max-semi-space-size=8');
    expect(read('docs/decisions.md')).to.include("## Node's young generation");
  });

  it('npm start passes them', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!;
    expect(start).to.include(`node ${FILEGATE_NODE_FLAGS.join(' ')} dist/src/main.js`);
  });

  it("the Dockerfile's CMD passes them", () => {
    const cmd = read('Dockerfile').split('\n').find((line) => line.startsWith('CMD '));
    expect(JSON.parse(cmd!.slice(4))).to.deep.equal(['node', ...FILEGATE_NODE_FLAGS, 'dist/src/main.js']);
  });

  it("docs/deployment.md's replica command and the profiling script pass them", () => {
    expect(read('docs/deployment.md')).to.include(`node ${FILEGATE_NODE_FLAGS.join(' ')} dist/src/main.js`);
    expect(read('scripts/profile-run.sh')).to.include(`node ${FILEGATE_NODE_FLAGS.join(' ')} "\${prof[@]}"`);
  });
});
