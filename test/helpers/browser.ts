// Drives Debian's Chromium headless through playwright-core (one browser per test file), and records what a page asks of the network.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page, type Request } from 'playwright-core';

/** The browser scripts/install-test-tools.sh installs; playwright-core never downloads one. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

// Nothing but the page under test may reach the network, and media may start
// without a gesture: the tests assert on every request the page makes.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

export interface TestBrowser {
  /** The browser's version, e.g. "156.0.8078.114", to quote in reports. */
  readonly version: string;
  /** A new tab; closed with the browser. */
  newPage(): Promise<Page>;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/**
 * Launches Chromium headless with a fresh profile in a temp folder. Call it
 * once in a test file's `before` and close it in `after`: a launch costs
 * about a second, a page a few milliseconds.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'filegate-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      acceptDownloads: true,
      timeout: 60_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    version: context.browser()?.version() ?? 'unknown',
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /** The Range header the browser sent, if any. */
  readonly range: string | undefined;
  /** The answer's status, once it came (undefined if none came, e.g. the browser gave up first). */
  status?: number;
}

export interface PageRecord {
  /** Every request the page made, in order, with its Range header and the answer's status. */
  readonly requests: readonly RecordedRequest[];
  /** The page's console errors (Content-Security-Policy violations are reported there). */
  readonly consoleErrors: readonly string[];
  /** Fails the test if the page asked anything of another origin than `origin`. */
  expectSameOrigin(): void;
}

// Schemes that reach the network; the browser's own pages (chrome-extension:, about:, data:, blob:) do not.
const NETWORK_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:']);

/**
 * Records what `page` asks of the network from now on: each request's
 * method, URL, Range header and answer status, and its console errors.
 * Call it before the page navigates.
 */
export function recordPage(page: Page, origin: string): PageRecord {
  const requests: RecordedRequest[] = [];
  const consoleErrors: string[] = [];
  const foreign: string[] = [];
  const recorded = new Map<Request, RecordedRequest>();
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (NETWORK_SCHEMES.has(url.protocol) && url.origin !== origin) foreign.push(request.url());
    const entry: RecordedRequest = { method: request.method(), url: request.url(), range: request.headers().range };
    recorded.set(request, entry);
    requests.push(entry);
  });
  page.on('response', (response) => {
    const entry = recorded.get(response.request());
    if (entry) entry.status = response.status();
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  return {
    requests,
    consoleErrors,
    expectSameOrigin: () => expect(foreign, `requests to another origin than ${origin}`).to.deep.equal([]),
  };
}

/**
 * Evaluates `probe` in the page until it answers true, polling from here: a
 * sandboxed document runs no script of its own, so the page cannot wait for
 * itself (Playwright's waitForFunction never fires there). Fails after
 * `attempts` polls 50 ms apart, naming `what`.
 */
export async function pollPage(page: Page, probe: () => boolean, what: string, attempts = 300): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await page.evaluate(probe)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect.fail(`the page never reached: ${what}`);
}
