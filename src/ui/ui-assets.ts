// Loads the browse page's built files (dist/ui, written by scripts/build-ui.ts) into memory once, with their validators and precompressed forms.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A content coding a built file may also be stored in (RFC 9110 §8.4.1), best first. */
export const CODINGS = ['br', 'gzip'] as const;
export type Coding = (typeof CODINGS)[number];

const SUFFIX: Record<Coding, string> = { br: '.br', gzip: '.gz' };

const MEDIA_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** One built file, held in memory: a few kilobytes each. */
export interface UiAsset {
  readonly body: Buffer;
  readonly mediaType: string;
  /** A hash of the bytes, from which each coding's strong ETag is made (`toEntityTag`). */
  readonly hash: string;
  /** The same bytes compressed at build time, by coding. */
  readonly coded: ReadonlyMap<Coding, Buffer>;
}

/** The browse page as built: the page itself, the favicon browsers ask for, and the fingerprinted assets by name. */
export interface UiAssets {
  readonly page: UiAsset;
  readonly favicon: UiAsset;
  /** By file name under `/assets/` (`app.3f9c2a1b.js`); each name carries its content's hash. */
  readonly assets: ReadonlyMap<string, UiAsset>;
}

/** Where `npm run build` puts the page: dist/ui of filegate's own package, whether it runs from src (tsx) or dist. */
export const BUILT_UI_DIR = path.join(findPackageRoot(), 'dist', 'ui');

const loaded = new Map<string, UiAssets | null>();

/**
 * The built page in `dir`, read once per process (the files are small and
 * never change while a build stays in place); null when the page has not
 * been built there (no `index.html`).
 */
export function loadUiAssets(dir: string = BUILT_UI_DIR): UiAssets | null {
  if (!loaded.has(dir)) loaded.set(dir, readUiAssets(dir));
  return loaded.get(dir)!;
}

function readUiAssets(dir: string): UiAssets | null {
  if (!existsSync(path.join(dir, 'index.html'))) return null;
  const assetsDir = path.join(dir, 'assets');
  const names = readdirSync(assetsDir).filter((name) => !Object.values(SUFFIX).some((suffix) => name.endsWith(suffix)));
  return {
    page: readAsset(path.join(dir, 'index.html')),
    favicon: readAsset(path.join(dir, 'favicon.ico')),
    assets: new Map(names.map((name) => [name, readAsset(path.join(assetsDir, name))])),
  };
}

function readAsset(file: string): UiAsset {
  const body = readFileSync(file);
  const coded = new Map<Coding, Buffer>();
  for (const coding of CODINGS) {
    if (existsSync(file + SUFFIX[coding])) coded.set(coding, readFileSync(file + SUFFIX[coding]));
  }
  const mediaType = MEDIA_TYPES[path.extname(file)] ?? 'application/octet-stream';
  return { body, mediaType, hash: createHash('sha256').update(body).digest('base64url').slice(0, 27), coded };
}

/** The strong ETag of `asset` sent in `coding`: each coding is a representation of its own (RFC 9110 §8.8.3), so each has its own tag. */
export function toEntityTag(asset: UiAsset, coding: Coding | null): string {
  return coding === null ? `"${asset.hash}"` : `"${asset.hash}-${coding}"`;
}

/**
 * The coding to send, of those stored, for an `Accept-Encoding` value (RFC
 * 9110 §12.5.3): the first of CODINGS the client accepts with a weight
 * above 0 (named, or by `*`); null for the bytes as they are. `identity`
 * is always acceptable here, so a client refusing it still gets an answer.
 */
export function chooseCoding(acceptEncoding: string | undefined, stored: ReadonlySet<Coding>): Coding | null {
  if (acceptEncoding === undefined || acceptEncoding.trim() === '') return null;
  const weights = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...parameters] = part.split(';').map((piece) => piece.trim());
    if (name === '') continue;
    const q = parameters.find((parameter) => /^q=/i.test(parameter));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    weights.set(name.toLowerCase(), Number.isFinite(weight) ? weight : 0);
  }
  for (const coding of CODINGS) {
    if (!stored.has(coding)) continue;
    const weight = weights.get(coding) ?? (coding === 'gzip' ? weights.get('x-gzip') : undefined) ?? weights.get('*') ?? 0;
    if (weight > 0) return coding;
  }
  return null;
}

/** The folder holding filegate's package.json, found upwards from this module (src/ui under tsx, dist/src/ui once built). */
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('filegate cannot find its package.json');
    dir = parent;
  }
  return dir;
}
