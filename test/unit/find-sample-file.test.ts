// The development banner's walk on real folders: it offers the first file a download would serve (the layer's rules and file policy), in breadth-first natural order, within its bounds, and says why when there is none.

import { expect } from 'chai';
import { symlinkSync, truncateSync } from 'node:fs';
import path from 'node:path';
import type { Principal } from '../../src/auth/principal.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { findSampleFile, SAMPLE_WALK_BOUNDS, type SampleFile, type SampleWalkBounds } from '../../src/dev/find-sample-file.js';
import { createLayers } from '../../src/layers/create-layers.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';

const developer: Principal = { subject: 'developer', scopes: new Set(['files:read', 'files:list']), paths: null, fstypes: null };
type LayerInput = Omit<ConfigInput['layers'][string], 'root'>;
const media: LayerInput = { types: ['video', 'audio'], maxFileSize: '1MB' };

/** [what, the layer's settings, the tree (name → content, "->target" for a symlink, null for a folder), bounds, the answer] */
const cases: Array<[string, LayerInput, Record<string, string | null>, SampleWalkBounds, SampleFile]> = [
  [
    'the bundled layout: the root\'s files come before any folder\'s',
    {},
    { 'audio/tone.wav': 'RIFF', 'docs/2026/notes.md': '# notes', 'hello.txt': 'hello', 'images/gradient.png': 'png', 'report.json': '{}' },
    SAMPLE_WALK_BOUNDS,
    { filepath: 'hello.txt' },
  ],
  [
    'no hello.txt: every file the layer would refuse is passed over (type, empty, too large, hidden, a FIFO)',
    media,
    { 'readme.txt': 'text', 'empty.mp4': '', 'big.mp4': 'SPARSE-2MB', '.hidden.mp4': 'x', 'pipe.mp4': 'FIFO', 'library/clip.mp4': 'clip' },
    SAMPLE_WALK_BOUNDS,
    { filepath: 'library/clip.mp4' },
  ],
  ['natural order: clip2 before clip10', media, { 'clip10.mp4': 'a', 'clip2.mp4': 'b' }, SAMPLE_WALK_BOUNDS, { filepath: 'clip2.mp4' }],
  [
    'a symlink out of the root is refused; one within it is served under its own name',
    {},
    { 'a-escape.txt': '->/etc/hostname', 'b-link.txt': '->z/real.txt', 'z/real.txt': 'real' },
    SAMPLE_WALK_BOUNDS,
    { filepath: 'b-link.txt' },
  ],
  [
    'names a request cannot carry (a backslash, a newline) are passed over',
    {},
    { 'a\\b.txt': 'x', 'new\nline.txt': 'x', 'sub/ok.txt': 'ok' },
    SAMPLE_WALK_BOUNDS,
    { filepath: 'sub/ok.txt' },
  ],
  [
    'hidden entries are served when the layer allows them',
    { hidden: 'allow' },
    { '.env.txt': 'x' },
    SAMPLE_WALK_BOUNDS,
    { filepath: '.env.txt' },
  ],
  ['a file six levels down, four levels walked: none', {}, { 'a/b/c/d/e/f.txt': 'deep' }, { maxEntries: 500, maxDepth: 4 }, { filepath: null, cause: 'none-served', exhausted: false }],
  ['a file six levels down, five levels walked: found', {}, { 'a/b/c/d/e/f.txt': 'deep' }, { maxEntries: 500, maxDepth: 5 }, { filepath: 'a/b/c/d/e/f.txt' }],
  ['only refused files: none, and every folder was walked', media, { 'a.txt': 'x', 'sub/b.png': 'x' }, SAMPLE_WALK_BOUNDS, { filepath: null, cause: 'none-served', exhausted: false }],
  [
    'thirty empty files before the one served, twenty entries allowed: the budget ends the walk',
    {},
    { ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`e${i}.txt`, ''])), 'z.txt': 'served' },
    { maxEntries: 20, maxDepth: 4 },
    { filepath: null, cause: 'none-served', exhausted: true },
  ],
  [
    'the same files, forty entries allowed: found',
    {},
    { ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`e${i}.txt`, ''])), 'z.txt': 'served' },
    { maxEntries: 40, maxDepth: 4 },
    { filepath: 'z.txt' },
  ],
];

describe('findSampleFile', () => {
  let tmp: TempDir;
  before(() => {
    tmp = tempDir('filegate-sample-');
  });
  after(() => tmp.remove());

  const walk = async (root: string, layer: LayerInput, bounds: SampleWalkBounds) => {
    const config = configSchema.parse({ layers: { OsFs: { ...layer, root } }, auth: { secret: 'x'.repeat(32) } });
    const layers = await createLayers(config);
    return findSampleFile(layers.byName.get('OsFs')!, developer, bounds);
  };

  cases.forEach(([what, layer, tree, bounds, expected], index) => {
    it(`${what} → ${JSON.stringify(expected)}`, async () => {
      const root = tmp.folder(`case-${index}`);
      for (const [name, content] of Object.entries(tree)) {
        if (content === null) tmp.folder(`case-${index}/${name}`);
        else if (content.startsWith('->')) tmp.symlink(`case-${index}/${name}`, content.slice(2));
        else if (content === 'FIFO') tmp.fifo(`case-${index}/${name}`);
        else if (content === 'SPARSE-2MB') truncateSync(tmp.file(`case-${index}/${name}`, ''), 2 * 1024 * 1024);
        else tmp.file(`case-${index}/${name}`, content);
      }
      expect(await walk(root, layer, bounds)).to.deep.equal(expected);
    });
  });

  it('a root that does not exist → root-unreadable', async () => {
    expect(await walk(path.join(tmp.dir, 'missing'), {}, SAMPLE_WALK_BOUNDS)).to.deep.equal({ filepath: null, cause: 'root-unreadable' });
  });

  it('a root that is a file → root-unreadable', async () => {
    expect(await walk(tmp.file('root-file.txt', 'x'), {}, SAMPLE_WALK_BOUNDS)).to.deep.equal({ filepath: null, cause: 'root-unreadable' });
  });

  it('a root that is a symlink to a folder is walked', async () => {
    tmp.file('real-root/x.txt', 'x');
    const link = path.join(tmp.dir, 'root-link');
    symlinkSync(path.join(tmp.dir, 'real-root'), link);
    expect(await walk(link, {}, SAMPLE_WALK_BOUNDS)).to.deep.equal({ filepath: 'x.txt' });
  });
});
