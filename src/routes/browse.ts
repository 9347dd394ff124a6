// GET /, /assets/:name and /favicon.ico: the browse page for people, served from its built files with a strict policy and long-lived caching of fingerprinted assets.

import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { fail } from '../errors.js';
import { matchesAny } from '../transfer/preconditions.js';
import { chooseCoding, loadUiAssets, toEntityTag, type UiAsset, type UiAssets } from '../ui/ui-assets.js';

/**
 * The page's Content-Security-Policy: everything from this origin only
 * (scripts and styles are files, never inline), no `<base>` or form posts,
 * and no framing of the page by another (clickjacking).
 */
export const PAGE_POLICY = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page itself is revalidated on every visit (its ETag), so a new build is seen at once. */
export const PAGE_CACHE_CONTROL = 'no-cache';

/** An asset's name carries its content's hash: a new build is a new name, so a copy may be kept a year unasked. */
export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** `/favicon.ico` has a fixed name that every file a browser opens asks for again: kept a day. */
export const FAVICON_CACHE_CONTROL = 'public, max-age=86400';

/**
 * Mounts the browse page on `router`: the page at `/`, its fingerprinted
 * files at `/assets/:name` and the favicon at `/favicon.ico`; none needs a
 * token (the page asks for one, and then uses the API). When the page has
 * not been built (`assets` null), each answers 404 NOT_FOUND naming the
 * build command.
 */
export function mountBrowsePage(router: Router, assets: UiAssets | null = loadUiAssets()): void {
  router.get('/', serveBuilt(assets, (built) => built.page, PAGE_CACHE_CONTROL, PAGE_HEADERS));
  router.get('/favicon.ico', serveBuilt(assets, (built) => built.favicon, FAVICON_CACHE_CONTROL));
  router.get('/assets/:name', serveBuilt(assets, (built, ctx) => assetNamed(built, String((ctx.params as { name?: string }).name ?? '')), ASSET_CACHE_CONTROL));
}

// The page only: it runs script, so it is the one response that needs a policy of its own beyond nosniff.
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': PAGE_POLICY,
  // A page holding a token in sessionStorage shares its window with no other origin's page.
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

function assetNamed(built: UiAssets, name: string): UiAsset {
  const asset = built.assets.get(name);
  if (asset === undefined) fail('NOT_FOUND', `there is no asset ${JSON.stringify(name.slice(0, 100))} in this build of the browse page`);
  return asset;
}

/** A handler answering the built file `pick` chooses, in the best coding the client accepts, with its ETag (304 when the client has it). */
function serveBuilt(assets: UiAssets | null, pick: (built: UiAssets, ctx: Context) => UiAsset, cacheControl: string, headers: Record<string, string> = {}): Middleware {
  return (ctx) => {
    if (assets === null) fail('NOT_FOUND', 'the browse page is not built here: run "npm run build" (or set ui.enabled to false for an API-only service)');
    const asset = pick(assets, ctx);
    const coding = chooseCoding(ctx.get('accept-encoding') || undefined, new Set(asset.coded.keys()));
    const etag = toEntityTag(asset, coding);
    ctx.set(headers);
    ctx.set('Cache-Control', cacheControl);
    ctx.set('ETag', etag);
    if (asset.coded.size > 0) ctx.vary('Accept-Encoding');
    const ifNoneMatch = ctx.get('if-none-match');
    // RFC 9110 §13.1.2: a GET whose If-None-Match lists the current tag is answered 304, with its validators.
    if (ifNoneMatch !== '' && matchesAny(ifNoneMatch, etag, 'weak')) {
      ctx.status = 304;
      return;
    }
    ctx.type = asset.mediaType;
    if (coding !== null) ctx.set('Content-Encoding', coding);
    ctx.body = coding === null ? asset.body : asset.coded.get(coding)!;
  };
}
