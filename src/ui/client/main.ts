// The browse page: sign-in, the walk through layers and folders (breadcrumbs, sort, type, search, paging as one scrolls), previews, downloads, a selection as one ZIP, and links that need no token; it starts when the module loads.

import { Api, ApiError, toSameOrigin, type Access, type Entry } from './api.js';
import { parseFragment, toAncestor, toChild, toFragment, toListUrl, toParent, type BrowseLocation, type Category, type SortField } from './browse-location.js';
import { append, byId, h, icon, isTyping, startDownload } from './dom.js';
import { formatSize, formatTime, iconOf, isImageFolder } from './format.js';
import { Preview } from './preview.js';
import { ShareDialog } from './share-dialog.js';
import { SignedUrls } from './signed-urls.js';

/** sessionStorage keys: the token lives as long as the tab, never in localStorage or a cookie. */
const TOKEN_KEY = 'filegate.token';
const VIEW_KEY = 'filegate.view';

/** Entries asked for per page as one scrolls (GET /api/list's default). */
const PAGE_SIZE = 100;

/** An archive link only has to start its download: it is signed for two minutes. */
const ZIP_LINK_SECONDS = 120;

const SEARCH_DELAY_MS = 250;

type Placed = BrowseLocation & { fstype: string };
type FileEntry = Extract<Entry, { kind: 'file' }>;

class BrowsePage {
  private api: Api | null = null;
  private urls: SignedUrls | null = null;
  private access: Access | null = null;
  private where: Placed | null = null;
  private cursor: string | null = null;
  private finished = false;
  private loading = false;
  private total = 0;
  private controller = new AbortController();
  // Bumped whenever the folder or its order changes, so a late page of the previous listing is dropped.
  private generation = 0;
  private loaded: Entry[] = [];
  private readonly rows = new Map<string, HTMLLIElement>();
  private readonly selected = new Map<string, Entry>();
  private view: 'list' | 'grid' = 'list';
  // Where focus goes once the next listing's first page is shown: the entry of that name, or the first entry.
  private focusAfterLoad: string | null = null;
  private expiryTimer: number | undefined;
  private searchTimer: number | undefined;
  private readonly list = byId<HTMLUListElement>('entries');
  private readonly more = byId('more');
  private readonly search = byId<HTMLInputElement>('search');
  private readonly observer = new IntersectionObserver((seen) => {
    if (seen.some((each) => each.isIntersecting)) void this.loadMore();
  }, { rootMargin: '600px 0px' });
  private readonly share = new ShareDialog();
  private readonly preview = new Preview({
    download: (entry) => void this.download(entry),
    share: (entry) => this.shareFile(entry),
    closed: (entry) => this.rows.get(entry.path)?.querySelector<HTMLElement>('.name')?.focus(),
  });

  start(): void {
    byId('sign-in-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = byId<HTMLTextAreaElement>('token').value.trim();
      if (token === '') this.showSignIn('Paste a token first.');
      else void this.signIn(token);
    });
    byId('sign-out').addEventListener('click', () => this.signOut('You are signed out. The token is no longer kept by this tab.'));
    byId('layer').addEventListener('change', (event) => this.go({ ...this.where!, fstype: (event.target as HTMLSelectElement).value, segments: [], q: '' }));
    byId('type').addEventListener('change', (event) => this.reorder({ type: ((event.target as HTMLSelectElement).value || null) as Category | null }));
    byId('sort').addEventListener('change', (event) => {
      const [sort, order] = (event.target as HTMLSelectElement).value.split(':') as [SortField, 'asc' | 'desc'];
      this.reorder({ sort, order });
    });
    this.search.addEventListener('input', () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.reorder({ q: this.search.value.trim() }), SEARCH_DELAY_MS);
    });
    byId('view').addEventListener('click', () => this.setView(this.view === 'grid' ? 'list' : 'grid', true));
    byId('zip').addEventListener('click', () => void this.downloadSelection());
    byId('zip-link').addEventListener('click', () => this.shareSelection());
    byId('clear-selection').addEventListener('click', () => this.clearSelection());
    window.addEventListener('hashchange', () => this.route());
    document.addEventListener('keydown', (event) => this.onKey(event));

    const fragment = parseFragment(location.hash);
    if (fragment.kind === 'token') {
      // The token leaves the address bar (and the history) at once.
      history.replaceState(null, '', location.pathname + location.search);
      void this.signIn(fragment.token);
      return;
    }
    const kept = sessionStorage.getItem(TOKEN_KEY);
    if (kept === null) this.showSignIn('');
    else void this.signIn(kept);
  }

  /** Checks `token` with GET /api/access; keeps it for the tab and shows the files, or says why not and asks again. */
  private async signIn(token: string): Promise<void> {
    const api = new Api(token);
    let access: Access;
    try {
      access = await api.access();
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      if (error instanceof ApiError && error.status === 401) this.showSignIn(`Signing in failed: ${error.message}. Paste another token.`);
      else if (error instanceof ApiError && error.status === 403) this.showSignIn(`This token cannot browse: ${error.message}. Paste another token.`);
      else this.showSignIn(`The service could not check the token: ${(error as Error).message}.`);
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    this.api = api;
    this.access = access;
    this.urls = access.scopes.includes('files:sign') && access.scopes.includes('files:read') ? new SignedUrls(api) : null;
    byId('sign-in').hidden = true;
    byId('browser').hidden = false;
    byId('who').hidden = false;
    byId<HTMLTextAreaElement>('token').value = '';
    const until = access.expires_at === null ? '' : ` · until ${formatTime(Date.parse(access.expires_at))}`;
    byId('who-text').textContent = `${access.subject ?? 'Signed in'}${until}`;
    const layers = byId<HTMLSelectElement>('layer');
    layers.replaceChildren(...access.layers.map((layer) => h('option', { value: layer.fstype }, layer.fstype)));
    byId('layer-field').hidden = access.layers.length < 2;
    window.clearTimeout(this.expiryTimer);
    if (access.expires_at !== null) {
      const expiresAt = Date.parse(access.expires_at);
      // setTimeout holds at most 2^31 - 1 ms (about 24 days); a token lasting longer is asked again by the next refusal.
      const wait = expiresAt - Date.now();
      if (wait < 2 ** 31 - 1) this.expiryTimer = window.setTimeout(() => this.signOut(`Your token expired at ${formatTime(expiresAt)}. Paste a new one to go on.`), Math.max(0, wait));
    }
    this.route();
  }

  /** Forgets the token and everything shown with it, and asks for a token with `message`. */
  private signOut(message: string): void {
    sessionStorage.removeItem(TOKEN_KEY);
    window.clearTimeout(this.expiryTimer);
    this.controller.abort();
    this.generation += 1;
    this.preview.close();
    this.api = null;
    this.urls = null;
    this.access = null;
    this.where = null;
    this.loaded = [];
    this.rows.clear();
    this.selected.clear();
    this.list.replaceChildren();
    byId('browser').hidden = true;
    byId('who').hidden = true;
    this.showSignIn(message);
  }

  private showSignIn(message: string): void {
    byId('sign-in').hidden = false;
    byId('sign-in-message').textContent = message;
    byId('crumbs').replaceChildren();
    byId('token').focus();
  }

  /** Shows the place the fragment names (the default layer's root when it names none). */
  private route(): void {
    if (this.api === null || this.access === null) return;
    const fragment = parseFragment(location.hash);
    if (fragment.kind === 'token') {
      history.replaceState(null, '', location.pathname + location.search);
      void this.signIn(fragment.token);
      return;
    }
    const fstype = fragment.location.fstype ?? this.access.layers.find((layer) => layer.default)?.fstype ?? this.access.layers[0]?.fstype;
    if (fstype === undefined) {
      this.showNotice('This token may not use any layer of this service.');
      return;
    }
    const placed: Placed = { ...fragment.location, fstype };
    if (fragment.location.fstype === null) history.replaceState(null, '', toFragment(placed));
    this.load(placed);
  }

  /** Goes to `place`, as a new history entry. */
  private go(place: Placed): void {
    location.hash = toFragment(place);
  }

  /** The same folder in another order or filter: the history entry is replaced, not added. */
  private reorder(change: Partial<Pick<BrowseLocation, 'sort' | 'order' | 'type' | 'q'>>): void {
    if (this.where === null) return;
    const place = { ...this.where, ...change };
    history.replaceState(null, '', toFragment(place));
    this.load(place);
  }

  /** Starts the listing of `place` from its first page. */
  private load(place: Placed): void {
    const sameFolder = this.where !== null && this.where.fstype === place.fstype && this.where.segments.join('/') === place.segments.join('/');
    this.controller.abort();
    this.controller = new AbortController();
    this.generation += 1;
    this.where = place;
    this.cursor = null;
    this.finished = false;
    this.loading = false;
    this.total = 0;
    this.loaded = [];
    this.rows.clear();
    if (!sameFolder) {
      this.clearSelection();
      this.preview.close();
    }
    this.renderCrumbs(place);
    this.renderTools(place);
    this.list.replaceChildren();
    this.hideNotice();
    byId('status').textContent = 'Loading…';
    void this.loadMore();
  }

  /** Asks for the next page, unless one is on its way or the last has come. */
  private async loadMore(): Promise<void> {
    const api = this.api;
    const place = this.where;
    if (api === null || place === null || this.loading || this.finished) return;
    this.loading = true;
    const generation = this.generation;
    let page;
    try {
      page = await api.list(toListUrl(place, PAGE_SIZE, this.cursor), this.controller.signal);
    } catch (error) {
      if (generation !== this.generation) return;
      this.loading = false;
      this.finished = true;
      this.onRefused(error, (refusal) => {
        byId('status').textContent = '';
        this.showNotice(this.explainListing(refusal, place));
      });
      return;
    }
    if (generation !== this.generation) return;
    this.loading = false;
    const first = this.loaded.length === 0;
    this.loaded.push(...page.entries);
    this.cursor = page.next_cursor;
    this.finished = page.next_cursor === null;
    this.total = page.total;
    if (first) this.setView(this.chosenView() ?? (isImageFolder(page.entries.filter((entry): entry is FileEntry => entry.kind === 'file')) ? 'grid' : 'list'), false);
    append(this.list, ...page.entries.map((entry) => this.renderEntry(entry, place)));
    this.renderStatus(place);
    if (this.view === 'grid') void this.showThumbnails(page.entries, place, generation);
    if (first) this.placeFocus();
    // The observer fires on changes only: observed again, it reports at once whether the end is still in sight (a short page on a tall screen).
    this.observer.unobserve(this.more);
    if (!this.finished) this.observer.observe(this.more);
  }

  private renderEntry(entry: Entry, place: Placed): HTMLLIElement {
    const row = h('li', { class: `entry ${entry.kind}`, 'data-path': entry.path });
    this.rows.set(entry.path, row);
    const canZip = this.urls !== null && this.access!.scopes.includes('files:archive');
    if (canZip) {
      const pick = h('input', { type: 'checkbox', class: 'pick', 'aria-label': `Select ${entry.name}` });
      pick.checked = this.selected.has(entry.path);
      pick.addEventListener('change', () => this.select(entry, pick.checked));
      append(row, pick);
    }
    const label = h('span', { class: 'label' }, entry.name);
    if (entry.kind === 'directory') {
      const link = h('a', { class: 'name', href: toFragment(toChild(place, entry.name)) }, icon('folder'), label);
      link.addEventListener('click', () => {
        this.focusAfterLoad = '';
      });
      append(row, link, h('span', { class: 'size' }), h('time', { class: 'modified', datetime: entry.modified }, formatTime(Date.parse(entry.modified))));
      return row;
    }
    const open = h('button', { type: 'button', class: 'name', title: entry.name }, icon(iconOf(entry)), label);
    if (entry.type === 'image') open.prepend(h('img', { class: 'thumb', alt: '', decoding: 'async', loading: 'lazy' }));
    open.addEventListener('click', () => void this.openPreview(entry));
    append(row, open, h('span', { class: 'size' }, formatSize(entry.size)), h('time', { class: 'modified', datetime: entry.modified }, formatTime(Date.parse(entry.modified))));
    if (this.urls !== null) {
      const download = h('button', { type: 'button', class: 'button icon-button quiet', title: `Download ${entry.name}` }, icon('download'), h('span', { class: 'visually-hidden' }, `Download ${entry.name}`));
      download.addEventListener('click', () => void this.download(entry));
      const share = h('button', { type: 'button', class: 'button icon-button quiet', title: `Copy a link to ${entry.name}` }, icon('link'), h('span', { class: 'visually-hidden' }, `Copy a link to ${entry.name}`));
      share.addEventListener('click', () => this.shareFile(entry));
      append(row, h('span', { class: 'actions' }, download, share));
    }
    return row;
  }

  /** Signs the page's images inline in one batch and shows them as thumbnails (loaded lazily, as they come into view). */
  private async showThumbnails(entries: readonly Entry[], place: Placed, generation: number): Promise<void> {
    const images = entries.filter((entry): entry is FileEntry => entry.kind === 'file' && entry.type === 'image');
    if (this.urls === null || images.length === 0) return;
    let signed;
    try {
      signed = await this.urls.get(place.fstype, images.map((image) => image.path), 'inline');
    } catch (error) {
      if (generation === this.generation) this.onRefused(error, (refusal) => this.showNotice(`Thumbnails could not be shown: ${refusal.message}.`));
      return;
    }
    if (generation !== this.generation) return;
    for (const image of images) {
      const outcome = signed.get(image.path);
      const thumb = this.rows.get(image.path)?.querySelector<HTMLImageElement>('img.thumb');
      if (thumb && outcome && 'url' in outcome) thumb.src = outcome.url;
    }
  }

  private setView(view: 'list' | 'grid', chosen: boolean): void {
    this.view = view;
    if (chosen) sessionStorage.setItem(VIEW_KEY, view);
    this.list.classList.toggle('grid', view === 'grid');
    const button = byId('view');
    button.setAttribute('aria-pressed', String(view === 'grid'));
    button.title = view === 'grid' ? 'Show as a list' : 'Show as a grid';
    button.querySelector('use')!.setAttribute('href', view === 'grid' ? '#i-list' : '#i-grid');
    byId('view-label').textContent = view === 'grid' ? 'List' : 'Grid';
    if (chosen && view === 'grid' && this.where !== null) void this.showThumbnails(this.loaded, this.where, this.generation);
  }

  private chosenView(): 'list' | 'grid' | null {
    const kept = sessionStorage.getItem(VIEW_KEY);
    return kept === 'list' || kept === 'grid' ? kept : null;
  }

  private renderCrumbs(place: Placed): void {
    const names = [place.fstype, ...place.segments];
    byId('crumbs').replaceChildren(
      ...names.map((name, depth) => {
        if (depth === names.length - 1) return h('li', {}, h('span', { 'aria-current': 'page' }, name));
        const link = h('a', { href: toFragment(toAncestor(place, depth)) }, name);
        // Back up the path, focus lands on the folder one came out of.
        link.addEventListener('click', () => {
          this.focusAfterLoad = place.segments[depth] ?? '';
        });
        return h('li', {}, link);
      }),
    );
  }

  private renderTools(place: Placed): void {
    byId<HTMLSelectElement>('layer').value = place.fstype;
    byId<HTMLSelectElement>('type').value = place.type ?? '';
    byId<HTMLSelectElement>('sort').value = `${place.sort}:${place.order}`;
    if (this.search.value.trim() !== place.q) this.search.value = place.q;
  }

  private renderStatus(place: Placed): void {
    const narrowed = place.q !== '' || place.type !== null;
    if (this.total === 0) {
      byId('status').textContent = '';
      if (narrowed) {
        const what = [place.q === '' ? null : `names holding “${place.q}”`, place.type === null ? null : `${place.type} files`].filter(Boolean).join(' and ');
        this.showNotice(`Nothing in this folder matches: no ${what}.`, 'empty');
      } else {
        this.showNotice('This folder is empty.', 'empty');
      }
      return;
    }
    const count = `${this.total} ${this.total === 1 ? 'item' : 'items'}${narrowed ? ' match' : ''}`;
    byId('status').textContent = this.loaded.length < this.total ? `${count} · ${this.loaded.length} shown, more as you scroll` : count;
  }

  /** Words for a listing that failed: what happened to the folder, then the service's own message. */
  private explainListing(refusal: ApiError, place: Placed): string {
    switch (refusal.code) {
      case 'NOT_FOUND':
        return 'This folder does not exist: it may have been moved, renamed or deleted.';
      case 'FORBIDDEN':
        return `Your token does not let you open this folder (${refusal.message}).`;
      case 'PATH_NOT_ALLOWED':
        return `This folder is off limits here (${refusal.message}).`;
      case 'NOT_READABLE':
        return 'The service may not read this folder.';
      case 'NOT_A_FILE':
        return 'This is a file, not a folder.';
      case 'UNKNOWN_FSTYPE':
        return `There is no layer named “${place.fstype}” here.`;
      case 'FSTYPE_UNAVAILABLE':
        return 'This layer cannot be reached right now; try again in a moment.';
      case 'RATE_LIMITED':
        return 'Too many requests at once; try again in a moment.';
      default:
        return `This folder could not be listed: ${refusal.message}.`;
    }
  }

  private showNotice(text: string, kind: 'problem' | 'empty' = 'problem'): void {
    const notice = byId('notice');
    notice.textContent = text;
    notice.className = `notice ${kind}`;
    notice.hidden = false;
  }

  private hideNotice(): void {
    byId('notice').hidden = true;
  }

  /**
   * What every call does with a failure: a refused token (401) ends the
   * session and asks for a new one; an aborted call (the folder changed) is
   * nothing; any other refusal goes to `show`.
   */
  private onRefused(error: unknown, show: (refusal: ApiError) => void): void {
    if (error instanceof DOMException && error.name === 'AbortError') return;
    if (error instanceof ApiError && error.status === 401) {
      this.signOut(`Your session ended: ${error.message}. Paste a new token to go on.`);
      return;
    }
    const code = (error as { code?: unknown }).code;
    show(error instanceof ApiError ? error : new ApiError(0, typeof code === 'string' ? code : 'FAILED', (error as Error).message));
  }

  private placeFocus(): void {
    const wanted = this.focusAfterLoad;
    this.focusAfterLoad = null;
    if (wanted === null) return;
    const rows = [...this.rows.values()];
    const row = rows.find((each) => each.dataset.path?.split('/').at(-1) === wanted) ?? rows[0];
    row?.querySelector<HTMLElement>('.name')?.focus();
  }

  private async openPreview(entry: FileEntry): Promise<void> {
    for (const row of this.rows.values()) row.classList.toggle('current', row.dataset.path === entry.path);
    await this.preview.open(this.where!.fstype, entry, this.urls);
  }

  /** Downloads `entry` with one click: a signed attachment URL, saved by the browser under the file's own name (resumable while the URL lasts). */
  private async download(entry: FileEntry): Promise<void> {
    if (this.urls === null || this.where === null) return;
    try {
      startDownload(await this.urls.one(this.where.fstype, entry.path, 'attachment'));
    } catch (error) {
      this.onRefused(error, (refusal) => this.showNotice(`“${entry.name}” cannot be downloaded: ${refusal.message}.`));
    }
  }

  private shareFile(entry: FileEntry): void {
    const api = this.api;
    const place = this.where;
    if (api === null || place === null) return;
    this.share.open(`Anyone with this link can download “${entry.name}” until it expires.`, async (seconds) => {
      const signed = await api.sign(place.fstype, entry.path, 'attachment', seconds);
      return { url: signed.download_url, expiry: signed.expiry };
    });
  }

  private select(entry: Entry, on: boolean): void {
    if (on) this.selected.set(entry.path, entry);
    else this.selected.delete(entry.path);
    this.renderSelection();
  }

  private clearSelection(): void {
    this.selected.clear();
    for (const pick of this.list.querySelectorAll<HTMLInputElement>('input.pick')) pick.checked = false;
    this.renderSelection();
  }

  private renderSelection(): void {
    const count = this.selected.size;
    byId('selection').hidden = count === 0;
    byId('selection-count').textContent = `${count} selected`;
  }

  /** The ZIP's saved name: the one entry selected names itself; several are named after the folder holding them. */
  private zipName(): string | undefined {
    if (this.selected.size === 1 || this.where === null) return undefined;
    return this.where.segments.at(-1) ?? this.where.fstype;
  }

  /** Downloads the selection as one ZIP, from a plain link signed for it (POST /api/sign/archive). */
  private async downloadSelection(): Promise<void> {
    const api = this.api;
    const place = this.where;
    if (api === null || place === null || this.selected.size === 0) return;
    try {
      const link = await api.signArchive(place.fstype, [...this.selected.keys()], this.zipName(), ZIP_LINK_SECONDS);
      startDownload(toSameOrigin(link.download_url));
      byId('status').textContent = `Your ZIP of ${link.entries} ${link.entries === 1 ? 'entry' : 'entries'} (${formatSize(link.bytes)}) is on its way.`;
    } catch (error) {
      this.onRefused(error, (refusal) => this.showNotice(`The selection cannot be downloaded as a ZIP: ${refusal.message}.`));
    }
  }

  private shareSelection(): void {
    const api = this.api;
    const place = this.where;
    if (api === null || place === null || this.selected.size === 0) return;
    const paths = [...this.selected.keys()];
    const name = this.zipName();
    this.share.open(`Anyone with this link can download the ${paths.length} selected ${paths.length === 1 ? 'item' : 'items'} as one ZIP until it expires.`, async (seconds) => {
      const link = await api.signArchive(place.fstype, paths, name, seconds);
      return { url: link.download_url, expiry: link.expiry };
    });
  }

  /** Keys: Backspace or Alt+Left goes up a folder, the arrows move between entries, Escape closes the preview, "/" searches. */
  private onKey(event: KeyboardEvent): void {
    if (this.api === null || byId<HTMLDialogElement>('share').open) return;
    if (event.key === 'Escape' && this.preview.isOpen) {
      event.preventDefault();
      this.preview.close();
      return;
    }
    if (isTyping(event.target) || event.ctrlKey || event.metaKey) return;
    const up = (event.key === 'Backspace' && !event.altKey && !event.shiftKey) || (event.key === 'ArrowLeft' && event.altKey);
    if (up) {
      event.preventDefault();
      this.goUp();
      return;
    }
    if (event.key === '/' && !event.altKey) {
      event.preventDefault();
      this.search.focus();
      return;
    }
    if (event.altKey || !['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(event.key)) return;
    const names = [...this.list.querySelectorAll<HTMLElement>('.name')];
    if (names.length === 0) return;
    const at = names.findIndex((name) => name.contains(document.activeElement) || name.parentElement?.contains(document.activeElement));
    const next = event.key === 'Home' ? 0 : event.key === 'End' ? names.length - 1 : event.key === 'ArrowDown' ? Math.min(at + 1, names.length - 1) : Math.max(at - 1, 0);
    event.preventDefault();
    names[next]!.focus();
  }

  private goUp(): void {
    const place = this.where;
    if (place === null || place.segments.length === 0) return;
    this.focusAfterLoad = place.segments.at(-1) ?? '';
    this.go(toParent(place));
  }
}

new BrowsePage().start();
