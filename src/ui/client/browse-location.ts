// Where the browse page is, kept in the URL fragment (`#/OsFs/docs/2026?sort=size&order=desc&type=image&q=re`): parsed, written and turned into listing URLs here, with no DOM, so Node tests run it too.

/** The listing's sort keys, as GET /api/list takes them. */
export const SORT_FIELDS = ['name', 'size', 'modified'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

/** The listing's type categories, as GET /api/list's `type` takes them. */
export const CATEGORIES = ['video', 'audio', 'image', 'text', 'document', 'archive', 'data'] as const;
export type Category = (typeof CATEGORIES)[number];

/** A folder of a layer, and how its listing is sorted and narrowed. */
export interface BrowseLocation {
  /** The layer; null until the page knows the default one. */
  readonly fstype: string | null;
  /** The folder's path below the layer root; empty for the root. */
  readonly segments: readonly string[];
  readonly sort: SortField;
  readonly order: 'asc' | 'desc';
  /** Keep only files of this category (folders stay), or null for every file. */
  readonly type: Category | null;
  /** Keep only names holding this text; "" for every name. */
  readonly q: string;
}

/** What a fragment asks for: a token handed over (`#token=…`), or a place to browse. */
export type Fragment = { readonly kind: 'token'; readonly token: string } | { readonly kind: 'browse'; readonly location: BrowseLocation };

export const ROOT: BrowseLocation = { fstype: null, segments: [], sort: 'name', order: 'asc', type: null, q: '' };

/**
 * Reads `location.hash`. `#token=…` hands over a token (the fragment never
 * reaches a server, nor a log); anything else is a place: `#/fstype/a/b`,
 * each segment percent-encoded, then `?sort=&order=&type=&q=`. What does
 * not parse falls back to the defaults (the layer root, by name).
 */
export function parseFragment(hash: string): Fragment {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  if (text.startsWith('token=')) return { kind: 'token', token: decodeOrKeep(text.slice('token='.length).split('&')[0] ?? '').trim() };
  const queryAt = text.indexOf('?');
  const pathText = queryAt === -1 ? text : text.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : text.slice(queryAt + 1));
  const [fstype, ...segments] = pathText
    .split('/')
    .filter((segment) => segment !== '')
    .map(decodeOrKeep);
  const sort = query.get('sort');
  const type = query.get('type');
  return {
    kind: 'browse',
    location: {
      fstype: fstype ?? null,
      // "." and ".." would be refused by the service anyway; never sent.
      segments: segments.filter((segment) => segment !== '.' && segment !== '..'),
      sort: (SORT_FIELDS as readonly string[]).includes(sort ?? '') ? (sort as SortField) : 'name',
      order: query.get('order') === 'desc' ? 'desc' : 'asc',
      type: (CATEGORIES as readonly string[]).includes(type ?? '') ? (type as Category) : null,
      q: query.get('q') ?? '',
    },
  };
}

/** The fragment of `location`: its layer and folder, then what differs from the defaults. */
export function toFragment(location: BrowseLocation): string {
  if (location.fstype === null) return '#/';
  const path = [location.fstype, ...location.segments].map(encodeURIComponent).join('/');
  const query = new URLSearchParams();
  if (location.sort !== 'name') query.set('sort', location.sort);
  if (location.order !== 'asc') query.set('order', location.order);
  if (location.type !== null) query.set('type', location.type);
  if (location.q !== '') query.set('q', location.q);
  const text = query.toString();
  return `#/${path}${text === '' ? '' : `?${text}`}`;
}

/** The folder's path as the API takes it: "/" for the layer root. */
export function toApiPath(segments: readonly string[]): string {
  return segments.length === 0 ? '/' : segments.join('/');
}

/** GET /api/list for one page of `location` (whose layer is known), after `cursor` when given. */
export function toListUrl(location: BrowseLocation & { fstype: string }, limit: number, cursor: string | null): string {
  const query = new URLSearchParams({ fstype: location.fstype, path: toApiPath(location.segments), sort: location.sort, order: location.order, limit: String(limit) });
  if (location.type !== null) query.set('type', location.type);
  if (location.q !== '') query.set('q', location.q);
  if (cursor !== null) query.set('cursor', cursor);
  return `/api/list?${query.toString()}`;
}

/** The sub-folder `name` of `location`: sorted and filtered by type alike, the search left behind (it was about this folder's names). */
export function toChild<T extends BrowseLocation>(location: T, name: string): T {
  return { ...location, segments: [...location.segments, name], q: '' };
}

/** The folder holding `location`'s (the layer root's is itself), with the same sort and type. */
export function toParent<T extends BrowseLocation>(location: T): T {
  return { ...location, segments: location.segments.slice(0, -1), q: '' };
}

/** The folder `depth` levels below the layer root on the way to `location` (0: the root), as a breadcrumb leads. */
export function toAncestor<T extends BrowseLocation>(location: T, depth: number): T {
  return { ...location, segments: location.segments.slice(0, depth), q: '' };
}

function decodeOrKeep(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
