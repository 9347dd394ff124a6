// Sample trees for the example deployments in config/examples/: the folders and files each one's routes expect.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The example deployments: config/examples/<name>.json, each with a tree built here. */
export const EXAMPLES = ['image-analysis', 'media-library', 'image-processing', 'insights-packages'] as const;
export type ExampleName = (typeof EXAMPLES)[number];

// A 1×1 PNG: enough for any image viewer, and for the type rules (they go by extension).
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a8f2c6ef0000000049454e44ae426082',
  'hex',
);
// Generated uuids in the media library's sample.
export const SAMPLE_UUIDS = { ready: '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b', other: '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b' } as const;

/** Writes `content` at `relative` under `root`, making its folders. */
function put(root: string, relative: string, content: string | Buffer): void {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

const BUILDERS: Record<ExampleName, (root: string) => void> = {
  // Per-image results (input, combined, mask, overlay, analysis) and batches of them.
  'image-analysis': (root) => {
    for (const image of ['img001', 'img002']) {
      for (const type of ['input', 'combined', 'mask', 'overlay']) put(root, `results/${image}/${type}.png`, PNG);
      put(root, `results/${image}/analysis.json`, `${JSON.stringify({ image, objects: 3, score: 0.92 })}\n`);
      put(root, `batches/batch_42/${image}/overlay.png`, PNG);
      put(root, `batches/batch_42/${image}/analysis.json`, `${JSON.stringify({ image, batch: 42 })}\n`);
    }
    put(root, 'batches/batch_42/notes.exe', 'not an image\n');
  },
  // A library of videos and audio (and a stray document), and generated outputs named by uuid.
  'media-library': (root) => {
    put(root, 'library/intro.mp4', Buffer.alloc(4096, 1));
    put(root, 'library/clip2.mp4', Buffer.alloc(2048, 2));
    put(root, 'library/clip10.mp4', Buffer.alloc(1024, 3));
    put(root, 'library/theme.wav', Buffer.alloc(3000, 4));
    put(root, 'library/readme.txt', 'not media\n');
    put(root, `generated/${SAMPLE_UUIDS.ready}output.mp4`, Buffer.alloc(5000, 5));
    put(root, `generated/${SAMPLE_UUIDS.ready}output.wav`, Buffer.alloc(6000, 6));
    put(root, `generated/${SAMPLE_UUIDS.other}output.mp4`, Buffer.alloc(700, 7));
  },
  // Inputs of image-processing jobs, and the output of the one job that has finished.
  'image-processing': (root) => {
    put(root, 'inputs/job-1.png', PNG);
    put(root, 'inputs/job-2.png', PNG);
    put(root, 'outputs/job-1/result.png', PNG);
  },
  // Areas of interest with their input scenes and the files of their insights.
  'insights-packages': (root) => {
    put(root, 'aoi/aoi-7/inputs/scene-a.tif', Buffer.alloc(2000, 8));
    put(root, 'aoi/aoi-7/inputs/scene-b.tif', Buffer.alloc(1500, 9));
    put(root, 'aoi/aoi-7/insights/ins-3/ndvi.tif', Buffer.alloc(1200, 10));
    put(root, 'aoi/aoi-7/insights/ins-3/summary.json', `${JSON.stringify({ aoi: 'aoi-7', insight: 'ins-3', mean: 0.41 })}\n`);
  },
};

/** Builds an example's sample tree under `root` (created if needed). */
export function buildSampleTree(name: ExampleName, root: string): void {
  mkdirSync(root, { recursive: true });
  BUILDERS[name](root);
}
