// Builds the browse page into dist/ui, offline: the client TypeScript bundled and minified by esbuild, its styles, index.html naming each file by its content's hash, a favicon.ico drawn here, and every text file precompressed (br, gzip).

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, crc32, deflateSync, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = path.join(ROOT, 'src', 'ui', 'client');
const OUT = path.join(ROOT, 'dist', 'ui');

/**
 * The browsers the bundle is written for: each of them for some years back
 * (module scripts, `<dialog>`, IntersectionObserver, optional chaining).
 */
const TARGETS = ['chrome100', 'firefox100', 'safari15.4', 'edge100'];

async function main(): Promise<void> {
  await mkdir(path.dirname(OUT), { recursive: true });
  // Built beside the live folder and swapped in by renames, so a server starting meanwhile reads one build or the other, never half of one.
  const staging = await mkdtemp(path.join(path.dirname(OUT), '.ui-build-'));
  try {
    // mkdtemp makes the folder private (0700); the built page is read by whoever runs the server (the image's "node" user).
    await chmod(staging, 0o755);
    await mkdir(path.join(staging, 'assets'));
    const names = await bundle(path.join(staging, 'assets'));
    const iconSource = await readFile(path.join(SOURCE, 'icon.svg'));
    names['icon.svg'] = `icon.${hashOf(iconSource)}.svg`;
    await writeCompressed(path.join(staging, 'assets', names['icon.svg']), iconSource);
    const template = await readFile(path.join(SOURCE, 'index.html'), 'utf8');
    const page = template.replace(/\{\{([a-z.]+)\}\}/g, (whole, name: string) => {
      const built = names[name];
      if (built === undefined) throw new Error(`index.html names {{${name}}}, which the build does not make`);
      return built;
    });
    await writeCompressed(path.join(staging, 'index.html'), Buffer.from(page, 'utf8'));
    await writeFile(path.join(staging, 'favicon.ico'), toIco([16, 32, 48].map((size) => toPng(size, drawLogo(size)))));
    await swapIn(staging);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  const built = (await readdir(path.join(OUT, 'assets'))).filter((name) => !name.endsWith('.br') && !name.endsWith('.gz'));
  const sizes = await Promise.all(built.map(async (name) => `${name} ${(await readFile(path.join(OUT, 'assets', name))).length} B`));
  console.log(`browse page built in ${path.relative(ROOT, OUT)}: ${sizes.join(', ')}`);
}

/** The script and the styles, bundled and minified, named by their content's hash; their names by what index.html calls them. */
async function bundle(outdir: string): Promise<Record<string, string>> {
  const result = await build({
    entryPoints: { app: path.join(SOURCE, 'main.ts'), style: path.join(SOURCE, 'app.css') },
    bundle: true,
    format: 'esm',
    target: TARGETS,
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    entryNames: '[name].[hash]',
    outdir,
    write: false,
    logLevel: 'warning',
  });
  const names: Record<string, string> = {};
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    names[name.endsWith('.js') ? 'app.js' : 'app.css'] = name;
    await writeCompressed(file.path, Buffer.from(file.contents));
  }
  return names;
}

/** Writes `bytes`, and beside them their br and gzip forms, which the server sends to clients that accept them. */
async function writeCompressed(file: string, bytes: Buffer): Promise<void> {
  await writeFile(file, bytes);
  await writeFile(`${file}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
  await writeFile(`${file}.gz`, gzipSync(bytes, { level: 9 }));
}

/** Replaces dist/ui with the staged build by two renames. */
async function swapIn(staging: string): Promise<void> {
  const old = `${OUT}.old-${process.pid}`;
  if (existsSync(OUT)) await rename(OUT, old);
  await rename(staging, OUT);
  await rm(old, { recursive: true, force: true });
}

function hashOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 10);
}

// The favicon: the logo of icon.svg (a rounded square, a gate's arch and two bars), drawn with 4×4 samples per pixel.

type Rgba = [number, number, number, number];
const BLUE: Rgba = [0x25, 0x63, 0xd9, 255];
const WHITE: Rgba = [255, 255, 255, 255];

/** The logo as RGBA pixels, `size` × `size`. */
function drawLogo(size: number): Buffer {
  const pixels = Buffer.alloc(size * size * 4);
  const samples = 4;
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      let blue = 0;
      let white = 0;
      for (let sy = 0; sy < samples; sy += 1) {
        for (let sx = 0; sx < samples; sx += 1) {
          // In the 32-unit space of icon.svg.
          const u = ((x + (sx + 0.5) / samples) * 32) / size;
          const v = ((y + (sy + 0.5) / samples) * 32) / size;
          if (!insideRoundedSquare(u, v)) continue;
          if (onGate(u, v)) white += 1;
          else blue += 1;
        }
      }
      const total = samples * samples;
      const coverage = (blue + white) / total;
      const at = (y * size + x) * 4;
      for (let channel = 0; channel < 3; channel += 1) {
        pixels[at + channel] = coverage === 0 ? 0 : Math.round((BLUE[channel]! * blue + WHITE[channel]! * white) / (blue + white));
      }
      pixels[at + 3] = Math.round(coverage * 255);
    }
  }
  return pixels;
}

function insideRoundedSquare(u: number, v: number): boolean {
  const radius = 7;
  const cx = Math.min(Math.max(u, radius), 32 - radius);
  const cy = Math.min(Math.max(v, radius), 32 - radius);
  return (u - cx) ** 2 + (v - cy) ** 2 <= radius ** 2;
}

function onGate(u: number, v: number): boolean {
  const arch = Math.min(
    toSegment(u, v, 8, 25, 8, 13),
    toSegment(u, v, 24, 13, 24, 25),
    // The upper half circle of radius 8 around (16, 13).
    v <= 13 ? Math.abs(Math.hypot(u - 16, v - 13) - 8) : Infinity,
  );
  const bars = Math.min(toSegment(u, v, 12.5, 15.5, 12.5, 25), toSegment(u, v, 19.5, 15.5, 19.5, 25));
  return arch <= 1.6 || bars <= 1.2;
}

function toSegment(u: number, v: number, x1: number, y1: number, x2: number, y2: number): number {
  const length = (x2 - x1) ** 2 + (y2 - y1) ** 2;
  const t = Math.max(0, Math.min(1, ((u - x1) * (x2 - x1) + (v - y1) * (y2 - y1)) / length));
  return Math.hypot(u - (x1 + t * (x2 - x1)), v - (y1 + t * (y2 - y1)));
}

/** RGBA pixels as a PNG (8-bit RGBA, no interlace). */
function toPng(size: number, pixels: Buffer): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y += 1) pixels.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const framed = Buffer.alloc(body.length + 8);
    framed.writeUInt32BE(data.length, 0);
    body.copy(framed, 4);
    framed.writeUInt32BE(crc32(body), body.length + 4);
    return framed;
  };
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

/** PNG images as one .ico file (PNG entries, as every browser and Windows since Vista read them). */
function toIco(pngs: Buffer[]): Buffer {
  const directory = Buffer.alloc(6 + 16 * pngs.length);
  directory.writeUInt16LE(0, 0);
  directory.writeUInt16LE(1, 2);
  directory.writeUInt16LE(pngs.length, 4);
  let offset = directory.length;
  pngs.forEach((png, index) => {
    const entry = 6 + 16 * index;
    const size = png.readUInt32BE(16);
    directory.writeUInt8(size >= 256 ? 0 : size, entry);
    directory.writeUInt8(size >= 256 ? 0 : size, entry + 1);
    directory.writeUInt16LE(1, entry + 4);
    directory.writeUInt16LE(32, entry + 6);
    directory.writeUInt32LE(png.length, entry + 8);
    directory.writeUInt32LE(offset, entry + 12);
    offset += png.length;
  });
  return Buffer.concat([directory, ...pngs]);
}

await main();
