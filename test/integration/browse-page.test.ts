// The browse page at GET / driven in a real browser (headless Chromium) against a real server and file tree: sign-in both ways, walking, sorting, filtering, searching, paging, previews, downloads, a selection's ZIP, links without a token, narrowed and expired tokens, keyboard use, narrow and dark screens (screenshots), and never a request to another origin.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { PAGE_POLICY } from '../../src/routes/browse.js';
import { loadUiAssets } from '../../src/ui/ui-assets.js';
import { BIG_LOG_FIRST_LINE, createBrowseTree, MANY, NOTES_FIRST_LINE } from '../helpers/browse-fixture.js';
import { launchBrowser, pollPage, recordPage, type PageRecord, type TestBrowser } from '../helpers/browser.js';
import type { TempDir } from '../helpers/fixtures.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken, nowSeconds } from '../helpers/tokens.js';

// The page's globals, as the functions evaluated in it use them: the project compiles without the DOM library.
declare const document: any;
declare const window: any;
declare const navigator: any;
declare const sessionStorage: any;
declare const location: any;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIGNING_KEY = 'browse-page-signing-key-long-enough-0123456789';
const EVERYTHING = 'files:read files:list files:sign files:archive';

/** Screenshots go to docs/screenshots/ only when asked (UPDATE_SCREENSHOTS=1), so a test run never changes the checkout. */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(REPO, 'docs', 'screenshots') : null;

// Opens a ZIP with Python's own reader: every entry's name, and the text of its files.
const ZIP_READER = String.raw`
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    assert archive.testzip() is None
    print(json.dumps({info.filename: (None if info.is_dir() else archive.read(info).decode('utf-8', 'replace')) for info in archive.infolist()}))
`;

/** The page's Content-Security-Policy violations: Chromium reports each on the console. */
const policyViolations = (record: PageRecord) => record.consoleErrors.filter((text) => /Content Security Policy/i.test(text));

/** Polls `read` until `accept` holds (the page updates on its own time), then returns the last value; the caller asserts on it. */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, attempts = 200): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < attempts && !accept(value); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

const sameList = (expected: readonly string[]) => (actual: readonly string[]) => JSON.stringify(actual) === JSON.stringify(expected);

describe('the browse page in a real browser (headless Chromium)', function () {
  this.timeout(120_000);

  let tree: TempDir;
  let server: TestServer;
  let browser: TestBrowser;
  let token: string;
  let downloads: string;
  const open: Array<{ page: Page; record: PageRecord }> = [];

  before(async () => {
    if (loadUiAssets() === null) throw new Error('the browse page is not built: run "npm run build:ui" first (npm test does)');
    tree = createBrowseTree();
    // A second layer, so the page offers a choice of layers.
    server = await startTestServer({ layers: { OsFs: { root: tree.dir }, pictures: { root: path.join(tree.dir, 'photos') } }, signing: { keys: { k1: SIGNING_KEY }, currentKey: 'k1' } });
    token = await hsToken({ sub: 'alice', scope: EVERYTHING });
    browser = await launchBrowser();
    downloads = mkdtempSync(path.join(os.tmpdir(), 'filegate-browse-downloads-'));
  });

  afterEach(async () => {
    for (const { page } of open.splice(0)) await page.close();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    tree?.remove();
    if (downloads) rmSync(downloads, { recursive: true, force: true });
  });

  /** A new tab (its own sessionStorage) at `fragment` of the page, recording every request; the clipboard is allowed. */
  const openPage = async (fragment = '', viewport = { width: 1280, height: 800 }) => {
    const page = await browser.newPage();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.setViewportSize(viewport);
    const record = recordPage(page, server.url);
    open.push({ page, record });
    await page.goto(`${server.url}/${fragment}`);
    return { page, record };
  };

  /** A tab signed in through the fragment, showing `place` (a `#/…` fragment) once its listing is shown. */
  const signedIn = async (place = '', as = token, viewport?: { width: number; height: number }) => {
    const opened = await openPage(`#token=${as}`, viewport);
    await waitForListing(opened.page);
    if (place !== '') await goTo(opened.page, place);
    return opened;
  };

  /** Goes to a `#/…` fragment as a link would, and waits for its listing. */
  const goTo = async (page: Page, place: string) => {
    await page.evaluate((fragment: string) => {
      location.hash = fragment;
    }, place);
    await waitForListing(page);
  };

  /** Waits until the page shows a listing (entries, or words saying why there are none) for the current fragment. */
  const waitForListing = (page: Page) =>
    pollPage(page, () => !document.getElementById('browser').hidden && document.getElementById('status').textContent !== 'Loading…' && (document.querySelectorAll('#entries .entry').length > 0 || !document.getElementById('notice').hidden), 'a listing is shown');

  const names = (page: Page) => page.locator('#entries .entry .label').allTextContents();
  const crumbs = (page: Page) => page.locator('#crumbs li').allTextContents();
  const entry = (page: Page, name: string) => page.locator('#entries .entry', { has: page.locator('.label', { hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) });
  const listRequests = (record: PageRecord) => record.requests.filter((request) => new URL(request.url).pathname === '/api/list');

  /** What every test ends with: nothing asked of another origin, and nothing the page's policy refused. */
  const expectClean = (record: PageRecord) => {
    record.expectSameOrigin();
    expect(policyViolations(record), 'Content-Security-Policy violations').to.deep.equal([]);
  };

  /** Clicks what starts a download and returns the file saved, with the name the browser gave it. */
  const downloadBy = async (page: Page, click: () => Promise<void>) => {
    const [download] = await Promise.all([page.waitForEvent('download'), click()]);
    const saved = path.join(downloads, `${Date.now()}-${download.suggestedFilename()}`);
    await download.saveAs(saved);
    return { name: download.suggestedFilename(), bytes: readFileSync(saved), file: saved, url: download.url() };
  };

  const readZip = (file: string) => JSON.parse(execFileSync('python3', ['-c', ZIP_READER, file], { encoding: 'utf8' })) as Record<string, string | null>;

  describe('what the server sends', () => {
    it('GET / is the page, under default-src \'self\', with no inline script or style, revalidated by its ETag', async () => {
      const response = await fetch(`${server.url}/`, { headers: { 'Accept-Encoding': 'identity' } });
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.equal('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).to.equal(PAGE_POLICY).and.match(/^default-src 'self';/);
      expect(response.headers.get('cache-control')).to.equal('no-cache');
      expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
      const html = await response.text();
      // Every script is a file of this origin; no inline script, style element, style attribute or event handler attribute.
      expect([...html.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag)).to.satisfy((tags: string[]) => tags.length === 1 && tags.every((tag) => /\bsrc="\/assets\//.test(tag)));
      expect(html).to.not.match(/<style\b|\sstyle=|\son[a-z]+=/i);
      expect(html).to.not.match(/(?:src|href)="(?:https?:)?\/\//);
      const again = await fetch(`${server.url}/`, { headers: { 'Accept-Encoding': 'identity', 'If-None-Match': response.headers.get('etag')! } });
      expect(again.status).to.equal(304);
      const head = await fetch(`${server.url}/`, { method: 'HEAD', headers: { 'Accept-Encoding': 'identity' } });
      expect([head.status, head.headers.get('content-length'), await head.text()]).to.deep.equal([200, String(Buffer.byteLength(html)), '']);
    });

    it('its assets are named by their content\'s hash and kept a year, in br or gzip when the browser takes them', async () => {
      const html = await (await fetch(`${server.url}/`)).text();
      const assets = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((match) => match[1]!);
      expect(assets.map((name) => name.replace(/\.[A-Za-z0-9]{8,}\./, '.HASH.')).sort()).to.deep.equal(['app.HASH.js', 'icon.HASH.svg', 'style.HASH.css']);
      for (const name of assets) {
        const plain = await fetch(`${server.url}/assets/${name}`, { headers: { 'Accept-Encoding': 'identity' } });
        expect(plain.status, name).to.equal(200);
        expect(plain.headers.get('cache-control'), name).to.equal('public, max-age=31536000, immutable');
        const body = Buffer.from(await plain.arrayBuffer());
        const compressed = await fetch(`${server.url}/assets/${name}`, { headers: { 'Accept-Encoding': 'gzip, br' } });
        expect(compressed.headers.get('content-encoding'), name).to.equal('br');
        expect(compressed.headers.get('vary'), name).to.equal('Accept-Encoding');
        // fetch decodes the body: the same bytes.
        expect(Buffer.from(await compressed.arrayBuffer()).equals(body), name).to.equal(true);
      }
      const missing = await fetch(`${server.url}/assets/app.NOTHERE1.js`);
      expect([missing.status, ((await missing.json()) as { code: string }).code]).to.deep.equal([404, 'NOT_FOUND']);
    });

    it('/favicon.ico is an icon, kept a day', async () => {
      const response = await fetch(`${server.url}/favicon.ico`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.equal('image/x-icon');
      expect(response.headers.get('cache-control')).to.equal('public, max-age=86400');
      const bytes = Buffer.from(await response.arrayBuffer());
      // ICONDIR: reserved 0, type 1 (icon), then the count; each image a PNG.
      expect([bytes.readUInt16LE(0), bytes.readUInt16LE(2), bytes.readUInt16LE(4)]).to.deep.equal([0, 1, 3]);
      expect(bytes.subarray(bytes.readUInt32LE(6 + 12), bytes.readUInt32LE(6 + 12) + 4).toString('latin1')).to.equal('\x89PNG');
    });

    it('with ui.enabled false, /, /favicon.ico and /assets/… are the JSON 404 of any unknown route', async () => {
      const apiOnly = await startTestServer({ layers: { OsFs: { root: tree.dir } }, ui: { enabled: false } });
      try {
        for (const route of ['/', '/favicon.ico', '/assets/app.N3X4WNGD.js']) {
          const response = await fetch(`${apiOnly.url}${route}`);
          expect(response.status, route).to.equal(404);
          expect(response.headers.get('content-type'), route).to.equal('application/json; charset=utf-8');
          expect(((await response.json()) as { code: string }).code, route).to.equal('NOT_FOUND');
        }
      } finally {
        await apiOnly.close();
      }
    });
  });

  describe('signing in', () => {
    it('with a pasted token: the layer\'s root, folders first in natural order, the token kept for the tab only', async () => {
      const { page, record } = await openPage();
      await page.locator('#token').waitFor();
      expect(await page.locator('#sign-in').isVisible()).to.equal(true);
      await page.locator('#token').fill(token);
      await page.locator('#sign-in-form button[type=submit]').click();
      await waitForListing(page);
      expect(await names(page)).to.deep.equal(['docs', 'empty', 'many', 'media', 'photos', 'private', 'a-first.txt', 'b-large.bin']);
      expect(await crumbs(page)).to.deep.equal(['OsFs']);
      expect(await page.locator('#who-text').textContent()).to.match(/^alice · until \d{4}-\d\d-\d\d \d\d:\d\d$/);
      expect(await page.evaluate(() => [sessionStorage.getItem('filegate.token'), window.localStorage.length])).to.deep.equal([token, 0]);
      // The token travels in the Authorization header only: never in a URL the page asks for.
      expect(record.requests.filter((request) => request.url.includes(token))).to.deep.equal([]);
      expectClean(record);
    });

    it('with a token in the fragment: it leaves the address bar at once, survives a reload, and is forgotten on sign-out', async () => {
      const { page, record } = await openPage(`#token=${token}`);
      await waitForListing(page);
      expect(page.url()).to.equal(`${server.url}/#/OsFs`);
      await page.reload();
      await waitForListing(page);
      expect(await names(page)).to.include('docs');
      await page.locator('#sign-out').click();
      expect(await page.locator('#sign-in').isVisible()).to.equal(true);
      expect(await page.locator('#sign-in-message').textContent()).to.match(/signed out/);
      expect(await page.evaluate(() => sessionStorage.getItem('filegate.token'))).to.equal(null);
      await page.reload();
      await page.locator('#sign-in').waitFor();
      expect(await page.locator('#entries .entry').count()).to.equal(0);
      expect(record.requests.filter((request) => request.url.includes(token))).to.deep.equal([]);
      expectClean(record);
    });

    it('an expired token, or one the service refuses, says so and asks again; a good one then signs in', async () => {
      const expired = await hsToken({ sub: 'alice', scope: EVERYTHING, exp: nowSeconds() - 120 });
      const { page, record } = await openPage(`#token=${expired}`);
      await pollPage(page, () => document.getElementById('sign-in-message').textContent !== '', 'a message asks again');
      expect(await page.locator('#sign-in-message').textContent()).to.equal('Signing in failed: the token has expired. Paste another token.');
      expect(page.url()).to.equal(`${server.url}/`);
      const forged = await hsToken({ sub: 'alice', scope: EVERYTHING }, { secret: 'another-secret-that-is-long-enough-for-hs256-000' });
      await page.locator('#token').fill(forged);
      await page.locator('#sign-in-form button[type=submit]').click();
      await pollPage(page, () => /signature/.test(document.getElementById('sign-in-message').textContent), 'the refusal is shown');
      expect(await page.locator('#sign-in-message').textContent()).to.match(/the token signature is invalid/);
      await page.locator('#token').fill(token);
      await page.locator('#sign-in-form button[type=submit]').click();
      await waitForListing(page);
      expect(await names(page)).to.include('docs');
      expectClean(record);
    });

    it('a token that expires while the page is open ends the session and asks for a new one', async () => {
      const shortLived = await hsToken({ sub: 'alice', scope: EVERYTHING, exp: nowSeconds() + 4 });
      const { page, record } = await signedIn('', shortLived);
      await pollPage(page, () => !document.getElementById('sign-in').hidden, 'the sign-in form is back', 200);
      expect(await page.locator('#sign-in-message').textContent()).to.match(/^Your token expired at \d{4}-\d\d-\d\d \d\d:\d\d\. Paste a new one to go on\.$/);
      expect(await page.locator('#browser').isVisible()).to.equal(false);
      expect(await page.evaluate(() => sessionStorage.getItem('filegate.token'))).to.equal(null);
      expectClean(record);
    });

    it('a token that may list but not make links walks the folders, and says why there are no previews or downloads', async () => {
      const { page, record } = await signedIn('#/OsFs/docs', await hsToken({ sub: 'dave', scope: 'files:list files:read' }));
      expect(await names(page)).to.include('notes.md');
      expect(await page.locator('#entries .actions').count()).to.equal(0);
      expect(await page.locator('#entries input.pick').count()).to.equal(0);
      await entry(page, 'notes.md').locator('.name').click();
      expect(await page.locator('#preview-body').textContent()).to.equal('Previews need a token that may make links (scope files:sign).');
      expect(await page.locator('#preview-download').isDisabled()).to.equal(true);
      expect(record.requests.filter((request) => new URL(request.url).pathname.startsWith('/api/sign'))).to.deep.equal([]);
      expectClean(record);
    });

    it('a token limited by paths sees only its part, and a folder outside it says it is refused', async () => {
      const limited = await hsToken({ sub: 'bob', scope: EVERYTHING, paths: ['docs'] });
      const { page, record } = await signedIn('', limited);
      expect(await names(page)).to.deep.equal(['docs']);
      await goTo(page, '#/OsFs/docs');
      expect(await names(page)).to.include.members(['2026', 'notes.md']);
      await goTo(page, '#/OsFs/private');
      expect(await page.locator('#notice').textContent()).to.match(/^Your token does not let you open this folder \(the token does not grant access to "private"\)\.$/);
      expect(await page.locator('#entries .entry').count()).to.equal(0);
      expectClean(record);
    });
  });

  describe('walking', () => {
    it('into a folder and back by breadcrumb; empty and missing folders say so in words', async () => {
      const { page, record } = await signedIn();
      await entry(page, 'docs').locator('.name').click();
      await waitForListing(page);
      expect(await crumbs(page)).to.deep.equal(['OsFs', 'docs']);
      await entry(page, '2026').locator('.name').click();
      await pollPage(page, () => document.querySelectorAll('#crumbs li').length === 3, 'three crumbs');
      await waitForListing(page);
      expect(await names(page)).to.deep.equal(['q1.txt']);
      await page.locator('#crumbs a', { hasText: 'docs' }).click();
      await eventually(() => crumbs(page), sameList(['OsFs', 'docs']));
      await waitForListing(page);
      expect(await names(page)).to.deep.equal(['2026', 'big.log', 'data.json', 'notes.md', 'readme.txt', 'report.pdf']);
      // Focus lands on the folder one came out of.
      expect(await page.evaluate(() => document.activeElement.textContent)).to.equal('2026');
      await page.locator('#crumbs a', { hasText: 'OsFs' }).click();
      await eventually(() => crumbs(page), sameList(['OsFs']));

      await goTo(page, '#/OsFs/empty');
      expect(await page.locator('#notice').textContent()).to.equal('This folder is empty.');
      await goTo(page, '#/OsFs/nowhere');
      expect(await page.locator('#notice').textContent()).to.equal('This folder does not exist: it may have been moved, renamed or deleted.');
      expectClean(record);
    });

    it('the layers the token may read: the default first, another chosen from the list; a token limited to one layer lands in it', async () => {
      const { page, record } = await signedIn();
      expect(await page.locator('#layer option').allTextContents()).to.deep.equal(['OsFs', 'pictures']);
      expect(await page.locator('#layer-field').isVisible()).to.equal(true);
      await page.locator('#layer').selectOption('pictures');
      expect(await eventually(() => crumbs(page), sameList(['pictures']))).to.deep.equal(['pictures']);
      await waitForListing(page);
      expect(await names(page)).to.deep.equal(['photo-1.png', 'photo-2.png', 'photo-3.png', 'photo-4.png', 'photo-5.png', 'photo-6.png']);
      expect(new URL(page.url()).hash).to.equal('#/pictures');

      const oneLayer = await signedIn('', await hsToken({ sub: 'carol', scope: EVERYTHING, fstypes: ['pictures'] }));
      expect(await crumbs(oneLayer.page)).to.deep.equal(['pictures']);
      expect(await oneLayer.page.locator('#layer-field').isVisible()).to.equal(false);
      await goTo(oneLayer.page, '#/OsFs/docs');
      expect(await oneLayer.page.locator('#notice').textContent()).to.equal('Your token does not let you open this folder (the token does not grant access to fstype "OsFs").');
      expectClean(record);
      expectClean(oneLayer.record);
    });

    it('with the keyboard alone: focus visible, arrows move, Enter opens, Backspace and Alt+Left go up', async () => {
      const { page, record } = await signedIn('#/OsFs/docs');
      await page.keyboard.press('ArrowDown');
      expect(await page.evaluate(() => document.activeElement.textContent)).to.equal('2026');
      // The focus ring is drawn (:focus-visible), not left to chance.
      expect(await page.evaluate(() => window.getComputedStyle(document.activeElement).outlineStyle)).to.equal('solid');
      await page.keyboard.press('ArrowDown');
      expect(await page.evaluate(() => document.activeElement.textContent)).to.equal('big.log');
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Enter');
      await eventually(() => crumbs(page), sameList(['OsFs', 'docs', '2026']));
      await waitForListing(page);
      expect(await page.evaluate(() => document.activeElement.textContent)).to.equal('q1.txt');
      await page.keyboard.press('Backspace');
      await eventually(() => crumbs(page), sameList(['OsFs', 'docs']));
      await waitForListing(page);
      expect(await page.evaluate(() => document.activeElement.textContent)).to.equal('2026');
      await page.keyboard.press('Enter');
      await eventually(() => crumbs(page), sameList(['OsFs', 'docs', '2026']));
      await waitForListing(page);
      await page.keyboard.press('Alt+ArrowLeft');
      await eventually(() => crumbs(page), sameList(['OsFs', 'docs']));
      await waitForListing(page);
      await page.keyboard.press('Backspace');
      await eventually(() => crumbs(page), sameList(['OsFs']));
      // Enter on a file opens its preview; Escape closes it and gives the focus back.
      await goTo(page, '#/OsFs/docs');
      await entry(page, 'readme.txt').locator('.name').focus();
      await page.keyboard.press('Enter');
      await page.locator('#preview pre').waitFor();
      await page.keyboard.press('Escape');
      expect(await page.locator('#preview').isVisible()).to.equal(false);
      expect(await page.evaluate(() => document.activeElement.textContent)).to.equal('readme.txt');
      // Backspace in the search field edits the text, and goes nowhere.
      await page.locator('#search').fill('ab');
      await page.locator('#search').press('Backspace');
      expect(await crumbs(page)).to.deep.equal(['OsFs', 'docs']);
      expectClean(record);
    });

    it('sort by name, size and time both ways, filter by type and search by name change what is shown, and the fragment keeps them', async () => {
      const { page, record } = await signedIn('#/OsFs/docs');
      const show = async (control: string, value: string, expected: string[]) => {
        await page.locator(control).selectOption(value);
        const shown = await eventually(() => names(page), sameList(expected));
        expect(shown, `${control} = ${value}`).to.deep.equal(expected);
      };
      await show('#sort', 'name:desc', ['2026', 'report.pdf', 'readme.txt', 'notes.md', 'data.json', 'big.log']);
      await show('#sort', 'size:desc', ['2026', 'big.log', 'report.pdf', 'notes.md', 'data.json', 'readme.txt']);
      await show('#sort', 'size:asc', ['2026', 'readme.txt', 'data.json', 'notes.md', 'report.pdf', 'big.log']);
      await show('#sort', 'modified:desc', ['2026', 'data.json', 'report.pdf', 'big.log', 'readme.txt', 'notes.md']);
      await show('#sort', 'modified:asc', ['2026', 'notes.md', 'readme.txt', 'big.log', 'report.pdf', 'data.json']);
      await show('#sort', 'name:asc', ['2026', 'big.log', 'data.json', 'notes.md', 'readme.txt', 'report.pdf']);
      // Folders stay, to walk into; files of other categories go.
      await show('#type', 'text', ['2026', 'big.log', 'readme.txt']);
      expect(new URL(page.url()).hash).to.equal('#/OsFs/docs?type=text');
      await show('#type', '', ['2026', 'big.log', 'data.json', 'notes.md', 'readme.txt', 'report.pdf']);
      await page.locator('#search').fill('RE');
      expect(await eventually(() => names(page), sameList(['readme.txt', 'report.pdf']))).to.deep.equal(['readme.txt', 'report.pdf']);
      expect(new URL(page.url()).hash).to.equal('#/OsFs/docs?q=RE');
      await page.locator('#search').fill('zzz');
      await eventually(() => page.locator('#notice').textContent(), (text) => text === 'Nothing in this folder matches: no names holding “zzz”.');
      expect(await page.locator('#notice').textContent()).to.equal('Nothing in this folder matches: no names holding “zzz”.');
      // A reload shows the same.
      await page.locator('#search').fill('note');
      await eventually(() => names(page), sameList(['notes.md']));
      await page.locator('#sort').selectOption('size:desc');
      await eventually(async () => page.url(), (url) => url.endsWith('#/OsFs/docs?sort=size&order=desc&q=note'));
      await page.reload();
      await waitForListing(page);
      expect([await names(page), await page.locator('#search').inputValue(), await page.locator('#sort').inputValue()]).to.deep.equal([['notes.md'], 'note', 'size:desc']);
      expect(listRequests(record).at(-1)!.url).to.match(/[?&]sort=size&order=desc&limit=100&q=note$/);
      expectClean(record);
    });

    it(`scrolling a folder of ${MANY} entries asks for page after page with the cursor and shows each entry exactly once, in natural order`, async () => {
      const { page, record } = await signedIn('#/OsFs/many');
      expect(await page.locator('#entries .entry').count()).to.equal(100);
      expect(listRequests(record).filter((request) => request.url.includes('path=many'))).to.have.length(1);
      for (let scrolls = 0; scrolls < 50 && (await page.locator('#entries .entry').count()) < MANY; scrolls += 1) {
        const before = await page.locator('#entries .entry').count();
        await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
        await eventually(() => page.locator('#entries .entry').count(), (count) => count > before || count === MANY, 40);
      }
      const shown = await names(page);
      expect(shown).to.have.length(MANY);
      expect(new Set(shown).size).to.equal(MANY);
      expect(shown).to.deep.equal(Array.from({ length: MANY }, (_, index) => `item-${index + 1}.txt`));
      const pages = listRequests(record).filter((request) => request.url.includes('path=many'));
      expect(pages).to.have.length(MANY / 100);
      expect(pages.map((request) => new URL(request.url).searchParams.has('cursor'))).to.deep.equal([false, true, true, true, true]);
      expect(pages.every((request) => request.status === 200)).to.equal(true);
      expect(await page.locator('#status').textContent()).to.equal(`${MANY} items`);
      expectClean(record);
    });
  });

  describe('previews', () => {
    it('an image folder is a grid of thumbnails, signed in one batch, whose pixels load', async () => {
      const { page, record } = await signedIn('#/OsFs/photos');
      expect(await page.locator('#entries').getAttribute('class')).to.match(/\bgrid\b/);
      await pollPage(page, () => {
        const thumb = document.querySelector('#entries img.thumb');
        return thumb !== null && thumb.complete && thumb.naturalWidth > 0;
      }, 'the first thumbnail has loaded');
      // The pixel in the middle of photo-1 (a red gradient): drawn, opaque and red.
      const [red, green, blue, alpha] = await page.evaluate(() => {
        const thumb = document.querySelector('#entries img.thumb');
        const canvas = document.createElement('canvas');
        canvas.width = thumb.naturalWidth;
        canvas.height = thumb.naturalHeight;
        const context = canvas.getContext('2d');
        context.drawImage(thumb, 0, 0);
        return [...context.getImageData(thumb.naturalWidth / 2, thumb.naturalHeight / 2, 1, 1).data];
      });
      expect(alpha).to.equal(255);
      expect(red).to.be.greaterThan(green + 60).and.greaterThan(blue + 60);
      expect(record.requests.filter((request) => new URL(request.url).pathname === '/api/sign/batch')).to.have.length(1);
      const images = record.requests.filter((request) => new URL(request.url).pathname === '/api/download');
      expect(images.length).to.be.within(1, 6);
      for (const image of images) expect(new URL(image.url).searchParams.get('disposition'), image.url).to.equal('inline');
      expectClean(record);
    });

    it('a video plays and seeks; a long audio file\'s seek asks for a range from there, answered 206', async () => {
      const { page, record } = await signedIn('#/OsFs/media');
      await entry(page, 'clip.webm').locator('.name').click();
      await pollPage(page, () => {
        const video = document.querySelector('#preview video');
        return video !== null && video.readyState >= 1 && Number.isFinite(video.duration);
      }, 'the video knows its duration');
      expect(await page.evaluate(() => document.querySelector('#preview video').duration)).to.be.closeTo(10, 0.1);
      await page.evaluate(() => document.querySelector('#preview video').play());
      await pollPage(page, () => document.querySelector('#preview video').currentTime >= 0.5, 'the video plays past 0.5 s');
      await page.evaluate(() => {
        document.querySelector('#preview video').currentTime = 8;
      });
      await pollPage(page, () => {
        const video = document.querySelector('#preview video');
        return !video.seeking && video.currentTime >= 8.3;
      }, 'the video plays on past the seek');

      await entry(page, 'tone.wav').locator('.name').click();
      await pollPage(page, () => {
        const audio = document.querySelector('#preview audio');
        return audio !== null && audio.readyState >= 1 && Number.isFinite(audio.duration);
      }, 'the audio knows its duration');
      expect(await page.evaluate(() => document.querySelector('#preview video'))).to.equal(null);
      const audioUrl = (await page.locator('#preview audio').getAttribute('src'))!;
      await page.evaluate(() => document.querySelector('#preview audio').play());
      await pollPage(page, () => document.querySelector('#preview audio').currentTime >= 0.3, 'the audio plays');
      await page.evaluate(() => {
        const audio = document.querySelector('#preview audio');
        audio.currentTime = audio.duration - 2;
      });
      await pollPage(page, () => {
        const audio = document.querySelector('#preview audio');
        return !audio.seeking && audio.currentTime >= audio.duration - 1.7;
      }, 'the audio plays on past the seek');
      const seeks = record.requests.filter((request) => request.url.endsWith(audioUrl) && Number(/^bytes=(\d+)-/.exec(request.range ?? '')?.[1] ?? 0) > 0);
      expect(seeks, 'a Range request from the seek on').to.have.length.greaterThan(0);
      for (const seek of seeks) expect(seek.status, seek.range).to.equal(206);
      expect(new URL(audioUrl, server.url).searchParams.has('sig')).to.equal(true);
      expectClean(record);
    });

    it('a text preview shows the file\'s first line; a large file shows its first 64 KB, asked for as one range', async () => {
      const { page, record } = await signedIn('#/OsFs/docs');
      await entry(page, 'notes.md').locator('.name').click();
      await page.locator('#preview pre').waitFor();
      expect((await page.locator('#preview pre').textContent())!.split('\n')[0]).to.equal(NOTES_FIRST_LINE);
      expect(await page.locator('#preview-title').textContent()).to.equal('notes.md');

      await entry(page, 'big.log').locator('.name').click();
      await eventually(() => page.locator('#preview pre').textContent().catch(() => ''), (text) => (text ?? '').startsWith(BIG_LOG_FIRST_LINE));
      const text = (await page.locator('#preview pre').textContent())!;
      expect(text.split('\n')[0]).to.equal(BIG_LOG_FIRST_LINE);
      expect(Buffer.byteLength(text)).to.equal(64 * 1024);
      expect(await page.locator('#preview .preview-note').textContent()).to.equal('The first 64 KB of 164 KB; download the file for the rest.');
      const reads = record.requests.filter((request) => request.url.includes('filepath=docs%2Fbig.log'));
      expect(reads.map((request) => [request.range, request.status])).to.deep.equal([['bytes=0-65535', 206]]);
      expectClean(record);
    });

    it('a PDF is shown by the browser\'s own viewer in the preview, from an inline signed URL, and nothing is downloaded', async () => {
      const { page, record } = await signedIn('#/OsFs/docs');
      let downloads = 0;
      page.on('download', () => {
        downloads += 1;
      });
      await entry(page, 'report.pdf').locator('.name').click();
      const src = (await page.locator('#preview iframe').getAttribute('src'))!;
      expect(new URL(src, server.url).searchParams.get('disposition')).to.equal('inline');
      // Chromium draws a PDF in a frame of its own viewer (an extension page, which reaches no network).
      await eventually(async () => page.frames().map((frame) => frame.url()), (urls) => urls.some((url) => url.startsWith('chrome-extension://')));
      expect(page.frames().some((frame) => frame.url().startsWith('chrome-extension://'))).to.equal(true);
      expect(record.requests.filter((request) => request.url.endsWith(src)).map((request) => request.status)).to.include(200);
      expect(downloads).to.equal(0);
      expectClean(record);
    });
  });

  describe('downloads and links', () => {
    it('one click downloads a file under its own name, byte for byte', async () => {
      const { page, record } = await signedIn('#/OsFs/docs');
      const saved = await downloadBy(page, () => entry(page, 'big.log').getByTitle('Download big.log').click());
      expect(saved.name).to.equal('big.log');
      expect(saved.bytes.equals(readFileSync(path.join(tree.dir, 'docs', 'big.log')))).to.equal(true);
      expect(new URL(saved.url).searchParams.has('sig')).to.equal(true);
      // The page stays where it was.
      expect(await crumbs(page)).to.deep.equal(['OsFs', 'docs']);
      expectClean(record);
    });

    it('a selection of files and a folder downloads as one ZIP with exactly those members', async () => {
      const { page, record } = await signedIn('#/OsFs/docs');
      for (const name of ['2026', 'notes.md', 'readme.txt']) await entry(page, name).locator('input.pick').check();
      expect(await page.locator('#selection-count').textContent()).to.equal('3 selected');
      const saved = await downloadBy(page, () => page.locator('#zip').click());
      expect(saved.name).to.equal('docs.zip');
      expect(readZip(saved.file)).to.deep.equal({
        '2026/': null,
        '2026/q1.txt': 'First quarter.\n',
        'notes.md': readFileSync(path.join(tree.dir, 'docs', 'notes.md'), 'utf8'),
        'readme.txt': 'Read me first.\n',
      });
      // A plain signed link to GET /api/archive: no token in it.
      const link = new URL(saved.url);
      expect([link.pathname, link.searchParams.getAll('path'), link.searchParams.has('sig'), link.searchParams.has('token')]).to.deep.equal(['/api/archive', ['docs/2026', 'docs/notes.md', 'docs/readme.txt'], true, false]);
      expectClean(record);
    });

    it('a copied link works without the token, and says when it expires (no later than the token)', async () => {
      // A token of an hour from now: a link of an hour is then not cut by it, and one of a day is.
      const { page, record } = await signedIn('#/OsFs/docs', await hsToken({ sub: 'alice', scope: EVERYTHING }));
      await entry(page, 'readme.txt').getByTitle('Copy a link to readme.txt').click();
      await eventually(() => page.locator('#share-url').inputValue(), (value) => value !== '');
      expect(await page.locator('#share-expiry').textContent()).to.match(/^Works without a token until \d{4}-\d\d-\d\d \d\d:\d\d \(in (59 min|1 h)\)\.$/);
      await page.locator('#share-copy').click();
      await eventually(() => page.locator('#share-status').textContent(), (text) => text === 'Copied.');
      const copied = (await page.evaluate(() => navigator.clipboard.readText())) as string;
      expect(copied).to.equal(await page.locator('#share-url').inputValue());
      const fetched = await fetch(copied);
      expect(fetched.status).to.equal(200);
      expect(fetched.headers.get('content-disposition')).to.match(/filename="readme\.txt"/);
      expect(Buffer.from(await fetched.arrayBuffer()).toString()).to.equal('Read me first.\n');

      // A day is asked; the token lasts an hour, and the link no longer than it.
      await page.locator('#share-ttl').selectOption('86400');
      await eventually(() => page.locator('#share-expiry').textContent(), (text) => /no later than your token/.test(text ?? ''));
      expect(await page.locator('#share-expiry').textContent()).to.match(/\((in 59 min|in 1 h)\) \(no later than your token\)\.$/);
      const dayLink = new URL(await page.locator('#share-url').inputValue());
      expect(Number(dayLink.searchParams.get('expires'))).to.be.at.most(nowSeconds() + 3600);
      await page.locator('#share-close').click();

      // The selection's ZIP link too.
      for (const name of ['notes.md', 'readme.txt']) await entry(page, name).locator('input.pick').check();
      await page.locator('#zip-link').click();
      await eventually(() => page.locator('#share-url').inputValue(), (value) => value.includes('/api/archive?'));
      const zip = await fetch(await page.locator('#share-url').inputValue());
      expect([zip.status, zip.headers.get('content-type')]).to.deep.equal([200, 'application/zip']);
      writeFileSync(path.join(downloads, 'shared.zip'), Buffer.from(await zip.arrayBuffer()));
      expect(Object.keys(readZip(path.join(downloads, 'shared.zip')))).to.deep.equal(['notes.md', 'readme.txt']);
      expectClean(record);
    });
  });

  describe('screens', () => {
    const screens = [
      { name: 'desktop', viewport: { width: 1280, height: 800 } },
      { name: 'narrow', viewport: { width: 360, height: 740 } },
    ];
    for (const { name, viewport } of screens) {
      for (const colorScheme of ['light', 'dark'] as const) {
        it(`${name} (${viewport.width} px), ${colorScheme}: nothing wider than the screen, the system's colours (screenshot ${name}-${colorScheme}.png)`, async () => {
          const page = await browser.newPage();
          const record = recordPage(page, server.url);
          open.push({ page, record });
          await page.setViewportSize(viewport);
          await page.emulateMedia({ colorScheme });
          await page.goto(`${server.url}/#token=${token}`);
          await waitForListing(page);
          await goTo(page, '#/OsFs/docs');
          if (name === 'desktop') {
            await entry(page, 'notes.md').locator('.name').click();
            await page.locator('#preview pre').waitFor();
          } else {
            await entry(page, 'notes.md').locator('input.pick').check();
            await entry(page, 'readme.txt').locator('input.pick').check();
          }
          expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(viewport.width);
          const background = await page.evaluate(() => window.getComputedStyle(document.body).backgroundColor);
          expect(background).to.equal(colorScheme === 'dark' ? 'rgb(17, 20, 24)' : 'rgb(246, 247, 249)');
          const shot = await page.screenshot();
          expect(shot.subarray(1, 4).toString('latin1')).to.equal('PNG');
          if (SCREENSHOTS !== null) {
            mkdirSync(SCREENSHOTS, { recursive: true });
            writeFileSync(path.join(SCREENSHOTS, `${name}-${colorScheme}.png`), shot);
          }
          expectClean(record);
        });
      }
    }
  });
});
