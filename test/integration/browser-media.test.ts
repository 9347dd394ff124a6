// Inline signed URLs opened in a real browser (headless Chromium) as a person clicking a link: video and audio play and seek with Range, an image and text display, an attachment downloads.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser, pollPage, recordPage, type PageRecord, type TestBrowser } from '../helpers/browser.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { toPng, toWav } from '../helpers/media-files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'media');
const SIGNING_KEY = 'browser-signing-key-that-is-long-enough-0123';
const TEXT = 'plain text, shown as it is\nsecond line\n';

// What the functions evaluated in the page use of it, typed here: the project compiles without the DOM library.
interface PageMedia {
  currentTime: number;
  readonly duration: number;
  readonly readyState: number;
  readonly seeking: boolean;
}
interface PageImage {
  readonly complete: boolean;
  readonly naturalWidth: number;
  readonly naturalHeight: number;
}
declare const document: {
  querySelector(selector: 'video, audio'): PageMedia | null;
  querySelector(selector: 'img'): PageImage | null;
  readonly body: { readonly innerText: string };
};

/** The start of a `bytes=first-…` Range header, or undefined for none or another form. */
const rangeStart = (range: string | undefined): number | undefined => {
  const match = /^bytes=(\d+)-/.exec(range ?? '');
  return match ? Number(match[1]) : undefined;
};

/** The page's Content-Security-Policy violations: Chromium reports each on the console. */
const policyViolations = (record: PageRecord) => record.consoleErrors.filter((text) => /Content Security Policy/i.test(text));

describe('inline signed URLs in a real browser (headless Chromium)', function () {
  // Launching the browser takes a second or two; a page a few hundred milliseconds.
  this.timeout(60_000);

  let tmp: TempDir;
  let server: TestServer;
  let browser: TestBrowser;
  let signToken: string;
  const pages: Page[] = [];

  before(async () => {
    tmp = tempDir();
    tmp.file('media/take.wav', toWav(60));
    tmp.file('media/photo.png', toPng(64, 48));
    tmp.file('media/notes.txt', TEXT);
    tmp.file('media/clip.webm', readFileSync(path.join(FIXTURES, 'testsrc-10s.webm')));
    tmp.file('media/clip.mp4', readFileSync(path.join(FIXTURES, 'testsrc-10s.mp4')));
    server = await startTestServer({ layers: { OsFs: { root: tmp.dir } }, signing: { keys: { k1: SIGNING_KEY }, currentKey: 'k1' } });
    signToken = await hsToken({ sub: 'browser', scope: 'files:read files:sign' });
    browser = await launchBrowser();
  });

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    tmp?.remove();
  });

  /** A signed download URL for `filepath`, as POST /api/sign answers it. */
  const signedUrl = async (filepath: string, disposition?: 'inline' | 'attachment'): Promise<string> => {
    const response = await fetch(`${server.url}/api/sign`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${signToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ filepath, ...(disposition ? { disposition } : {}) }),
    });
    expect(response.status, await response.clone().text()).to.equal(200);
    return ((await response.json()) as { download_url: string }).download_url;
  };

  /** A new tab, recording its requests, that opens `url` itself, as a person following a link does. */
  const open = async (url: string): Promise<{ page: Page; record: PageRecord }> => {
    const page = await browser.newPage();
    pages.push(page);
    const record = recordPage(page, server.url);
    await page.goto(url, { waitUntil: 'load' });
    return { page, record };
  };

  /** Opens an inline media URL, starts the browser's player as a person does (Space), and waits until playback has advanced. */
  const openAndPlay = async (filepath: string) => {
    const url = await signedUrl(filepath, 'inline');
    const { page, record } = await open(url);
    await pollPage(page, () => {
      const media = document.querySelector('video, audio');
      return media !== null && media.readyState >= 1 /* HAVE_METADATA: the duration is known */ && Number.isFinite(media.duration);
    }, 'the player knows the duration');
    // A sandboxed document may not autoplay (HTML's sandboxed automatic features flag): the person presses Space, which the media viewer maps to play.
    await page.keyboard.press('Space');
    await pollPage(page, () => document.querySelector('video, audio')!.currentTime >= 0.5, 'playback passes 0.5 s');
    return { url, page, record };
  };

  /** Seeks the player 1.5 s before the end and waits until playback passes the seek target. */
  const seekNearTheEnd = async (page: Page) => {
    const target = await page.evaluate(() => {
      const media = document.querySelector('video, audio')!;
      media.currentTime = media.duration - 1.5;
      return media.currentTime;
    });
    await pollPage(page, () => {
      const media = document.querySelector('video, audio')!;
      return !media.seeking && media.currentTime >= media.duration - 1.2;
    }, 'playback passes 0.3 s beyond the seek target');
    return target;
  };

  const videos: Array<[string, string]> = [
    ['a WebM video (VP9)', 'media/clip.webm'],
    ['an MP4 video (H.264)', 'media/clip.mp4'],
  ];
  for (const [what, filepath] of videos) {
    it(`${what} plays from its inline signed URL, and again after a seek near the end`, async () => {
      const { url, page, record } = await openAndPlay(filepath);
      expect(await page.evaluate(() => document.querySelector('video, audio')!.duration)).to.be.closeTo(10, 0.1);
      await seekNearTheEnd(page);
      // The 50 KB file is buffered whole by the first answer, so its seek needs no new range: the WAV below proves the seek's Range.
      for (const request of record.requests.filter((each) => each.url === url && each.status !== undefined)) expect([200, 206], `the answer to ${request.range ?? 'no Range'}`).to.include(request.status);
      expect(policyViolations(record)).to.deep.equal([]);
      record.expectSameOrigin();
    });
  }

  it('a 60 s WAV plays from its inline signed URL; a seek near the end asks for a range from there, answered 206, and playback goes on', async () => {
    const { url, page, record } = await openAndPlay('media/take.wav');
    expect(await page.evaluate(() => document.querySelector('video, audio')!.duration)).to.be.closeTo(60, 0.1);
    const ofTheFile = () => record.requests.filter((request) => request.url === url);
    expect(ofTheFile().filter((request) => (rangeStart(request.range) ?? 0) > 0), 'no range past the start before the seek').to.deep.equal([]);

    const target = await seekNearTheEnd(page);
    const later = ofTheFile().filter((request) => (rangeStart(request.range) ?? 0) > 0);
    expect(later, 'a Range request after the seek').to.have.length.greaterThan(0);
    // 44-byte header, then 176,400 bytes a second: the range starts at or just before the sample the seek lands on.
    const byteOfTarget = 44 + target * 44_100 * 4;
    for (const request of later) {
      expect(rangeStart(request.range)).to.be.within(byteOfTarget - 2 * 1024 * 1024, byteOfTarget);
      expect(request.status, `the answer to ${request.range}`).to.equal(206);
    }
    expect(policyViolations(record)).to.deep.equal([]);
    record.expectSameOrigin();
  });

  it('an inline PNG displays at its size, with the viewer\'s own styles (no policy violation)', async () => {
    const { page, record } = await open(await signedUrl('media/photo.png', 'inline'));
    await pollPage(page, () => document.querySelector('img')?.complete === true, 'the image has loaded');
    expect(await page.evaluate(() => [document.querySelector('img')!.naturalWidth, document.querySelector('img')!.naturalHeight])).to.deep.equal([64, 48]);
    expect(policyViolations(record)).to.deep.equal([]);
    record.expectSameOrigin();
  });

  it('inline plain text displays as it is, under the strict policy', async () => {
    const url = await signedUrl('media/notes.txt', 'inline');
    const direct = await fetch(url);
    expect(direct.headers.get('content-security-policy')).to.equal("default-src 'none'; sandbox");
    await direct.arrayBuffer();
    const { page, record } = await open(url);
    expect(await page.evaluate(() => document.body.innerText)).to.equal(TEXT);
    expect(policyViolations(record)).to.deep.equal([]);
    record.expectSameOrigin();
  });

  it('an attachment still downloads, byte for byte, and is not displayed', async () => {
    const url = await signedUrl('media/photo.png');
    const page = await browser.newPage();
    pages.push(page);
    const record = recordPage(page, server.url);
    // Chromium aborts the navigation when the answer is a download.
    const [download] = await Promise.all([page.waitForEvent('download'), page.goto(url).catch(() => undefined)]);
    expect(download.suggestedFilename()).to.equal('photo.png');
    const saved = await download.path();
    expect(readFileSync(saved).equals(readFileSync(path.join(tmp.dir, 'media/photo.png')))).to.equal(true);
    expect(page.url()).to.not.equal(url);
    record.expectSameOrigin();
  });
});
