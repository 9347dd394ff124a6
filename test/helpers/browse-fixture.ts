// The file tree the browse page's browser tests walk: folders, images, media, text, a folder of 500 entries, an empty and a private folder, with fixed times.

import { readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { tempDir, type TempDir } from './fixtures.js';
import { toWav } from './media-files.js';

const MEDIA = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'integration', 'fixtures', 'media');

/** How many entries the paging folder `many/` holds: five pages of the page's 100. */
export const MANY = 500;

/** The first line of `docs/notes.md`, which a text preview shows. */
export const NOTES_FIRST_LINE = '# Field notes, spring 2026';

/** The first line of `docs/big.log`, larger than a text preview shows (64 KB). */
export const BIG_LOG_FIRST_LINE = '0001 the first line of a log larger than a preview';

// 2026-03-01 12:00 UTC, then a day apart: times that sort as the names do not.
const BASE_SECONDS = Date.UTC(2026, 2, 1, 12) / 1000;

/**
 * Writes the tree in a temp folder:
 * - `docs/` with notes.md, readme.txt (small), big.log (over 64 KB), report.pdf, data.json and `2026/q1.txt`;
 * - `photos/` with six PNGs of different hues (an image folder: a grid);
 * - `media/` with clip.webm (10 s) and tone.wav (60 s);
 * - `many/` with item-1.txt … item-500.txt (natural order: item-2 before item-10);
 * - `empty/`; `private/secret.txt` (outside a token limited to `docs`);
 * - `a-first.txt`, `b-large.bin` (the largest file) at the root.
 * Times are fixed, so sorting by time is known and screenshots are stable.
 */
export function createBrowseTree(): TempDir {
  const tree = tempDir('filegate-browse-');
  const files: Array<[string, string | Buffer]> = [
    ['docs/notes.md', `${NOTES_FIRST_LINE}\n\nThe river was high this week.\n`],
    ['docs/readme.txt', 'Read me first.\n'],
    ['docs/big.log', Array.from({ length: 3000 }, (_, index) => `${String(index + 1).padStart(4, '0')} ${index === 0 ? 'the first line of a log larger than a preview' : 'a line of the log, repeated to make the file large'}`).join('\n') + '\n'],
    ['docs/report.pdf', minimalPdf()],
    ['docs/data.json', '{"rows": [1, 2, 3]}\n'],
    ['docs/2026/q1.txt', 'First quarter.\n'],
    ['media/clip.webm', readFileSync(path.join(MEDIA, 'testsrc-10s.webm'))],
    ['media/tone.wav', toWav(60)],
    ['private/secret.txt', 'not for everyone\n'],
    ['a-first.txt', 'the first file by name\n'],
    ['b-large.bin', Buffer.alloc(300 * 1024, 7)],
  ];
  const hues = [8, 38, 95, 165, 210, 280];
  hues.forEach((hue, index) => files.push([`photos/photo-${index + 1}.png`, huePng(96, 72, hue)]));
  for (let index = 1; index <= MANY; index += 1) files.push([`many/item-${index}.txt`, `item ${index}\n`]);
  files.forEach(([name, content], index) => {
    tree.file(name, content);
    const seconds = BASE_SECONDS + index * 86_400;
    utimesSync(path.join(tree.dir, name), seconds, seconds);
  });
  tree.folder('empty');
  for (const folder of ['docs/2026', 'docs', 'photos', 'media', 'many', 'empty', 'private']) utimesSync(path.join(tree.dir, folder), BASE_SECONDS, BASE_SECONDS);
  return tree;
}

/** An RGB PNG of `width` × `height`: a gradient of `hue` (degrees) from light to deep, so each image of a folder looks its own. */
export function huePng(width: number, height: number, hue: number): Buffer {
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const lightness = 0.75 - 0.4 * ((x / width + y / height) / 2);
      const [r, g, b] = hslToRgb(hue, 0.65, lightness);
      rows.set([r, g, b], y * (width * 3 + 1) + 1 + x * 3);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const framed = Buffer.alloc(typed.length + 8);
  framed.writeUInt32BE(data.length, 0);
  typed.copy(framed, 4);
  framed.writeUInt32BE(crc32(typed), typed.length + 4);
  return framed;
}

function hslToRgb(hue: number, saturation: number, lightness: number): [number, number, number] {
  const c = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const x = c * (1 - Math.abs(((hue / 60) % 2) - 1));
  const m = lightness - c / 2;
  const [r, g, b] = hue < 60 ? [c, x, 0] : hue < 120 ? [x, c, 0] : hue < 180 ? [0, c, x] : hue < 240 ? [0, x, c] : hue < 300 ? [x, 0, c] : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/** A one-page PDF, small and valid. */
function minimalPdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    '<< /Length 44 >>\nstream\nBT /F1 18 Tf 40 100 Td (A report) Tj ET\nendstream',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(body.length);
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}
