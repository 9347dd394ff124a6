// GET /metrics: Prometheus text that follows the exposition format, figures that move with downloads, statuses, aborts and archives, bounded route labels, and the separate metrics listener.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { truncateSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMetrics } from '../../src/http/metrics.js';
import { expectError } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, waitForAccessLine, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const BIG = 64 * 1024 * 1024;
const SMALL = 'small file body\n';
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

// The text format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/), line by line.
const METRIC_NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const HELP_LINE = new RegExp(`^# HELP (${METRIC_NAME}) ((?:[^\\\\\\n]|\\\\[\\\\n])*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${METRIC_NAME}) (counter|gauge|histogram|summary|untyped)$`);
const LABEL = '([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"';
// A value is what Go's ParseFloat reads: NaN and Inf in any case (prom-client writes "Nan").
const VALUE = '([+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)|[nN][aA][nN])';
const SAMPLE_LINE = new RegExp(`^(${METRIC_NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? ${VALUE}(?: -?[0-9]+)?$`);
const ONE_LABEL = new RegExp(LABEL, 'g');

// The sample names a family of each type may have, after the family's name.
const SUFFIXES: Record<string, string[]> = { counter: [''], gauge: [''], untyped: [''], histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

/**
 * Parses an exposition strictly: every line is a HELP, a TYPE, a sample or empty;
 * every sample belongs to the family whose TYPE came last (so it has one),
 * families are not split or declared twice, and no series is repeated.
 */
function parseExposition(text: string): Sample[] {
  expect(text.endsWith('\n'), 'the text ends with a newline').to.equal(true);
  const samples: Sample[] = [];
  const typed = new Map<string, string>();
  const series = new Set<string>();
  let family: { name: string; type: string } | null = null;
  for (const [index, line] of text.slice(0, -1).split('\n').entries()) {
    // The format ignores empty lines; prom-client puts one between families.
    if (line === '') continue;
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    const help = HELP_LINE.exec(line);
    if (help) {
      expect(help[2], `${where} has a help text`).to.not.equal('');
      continue;
    }
    const type = TYPE_LINE.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      expect(typed.has(name), `${where} declares ${name} a second time`).to.equal(false);
      typed.set(name, kind);
      family = { name, type: kind };
      continue;
    }
    const sample = SAMPLE_LINE.exec(line);
    expect(sample, `${where} is a HELP, TYPE or sample line`).to.not.equal(null);
    const name = sample![1]!;
    expect(family, `${where} comes after a TYPE`).to.not.equal(null);
    const suffix = name.slice(family!.name.length);
    expect(name.startsWith(family!.name) && SUFFIXES[family!.type]!.includes(suffix), `${where} belongs to the ${family!.type} ${family!.name}`).to.equal(true);
    const labels: Record<string, string> = {};
    for (const [, label, value] of (sample![2] ?? '').matchAll(ONE_LABEL)) {
      expect(labels, `${where} repeats label ${label}`).to.not.have.property(label!);
      labels[label!] = value!.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    expect(series.has(key), `${where} repeats a series`).to.equal(false);
    series.add(key);
    const raw = sample![sample!.length - 1]!;
    samples.push({ name, labels, value: toNumber(raw) });
  }
  return samples;
}

function toNumber(raw: string): number {
  if (/nan/i.test(raw)) return Number.NaN;
  if (/inf/i.test(raw)) return raw.startsWith('-') ? -Infinity : Infinity;
  return Number(raw);
}

/** The value of the one series named `name` whose labels include `labels`, 0 when there is none yet. */
function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  expect(found.length, `series of ${name} matching ${JSON.stringify(labels)}`).to.be.at.most(1);
  return found[0]?.value ?? 0;
}

/** Reads /metrics at `url`, checks how it is served, and parses it. */
async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  expect(response.status, text).to.equal(200);
  expect(response.headers.get('content-type')).to.equal(CONTENT_TYPE);
  expect(response.headers.get('cache-control')).to.equal('no-store');
  return { text, samples: parseExposition(text) };
}

async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts a GET, waits for its first body chunk, and leaves the response paused; `cut()` destroys the connection. */
function startPaused(url: string, headers: Record<string, string>): Promise<{ status: number; cut(): void }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent: false }, (response) => {
      response.once('data', () => {
        response.pause();
        resolve({ status: response.statusCode ?? 0, cut: () => request.destroy() });
      });
    });
    request.on('error', (error) => reject(error));
  });
}

describe('GET /metrics', () => {
  let tree: TempDir;
  let server: TestServer;
  let token: string;

  before(async () => {
    tree = tempDir('filegate-metrics-');
    tree.file('data/small.txt', SMALL);
    tree.file('data/set/a.txt', 'a\n');
    tree.file('data/set/b.txt', 'bb\n');
    tree.file('data/set/empty.txt', '');
    tree.file('data/big/big.bin', '');
    // A small entry read whole and one streamed (over 64 KB), incompressible so the archive is as large.
    tree.file('data/mixed/small.txt', SMALL);
    tree.file('data/mixed/large.bin', randomBytes(300 * 1024));
    // Sparse: large enough that a paused client holds the transfer open, cheap to make.
    truncateSync(path.join(tree.dir, 'data/big/big.bin'), BIG);
    server = await startTestServer({ layers: { OsFs: { root: path.join(tree.dir, 'data'), maxFileSize: '1GB' } } });
    token = await hsToken({ scope: 'files:read files:list files:archive' });
  });

  after(async () => {
    await server?.close();
    tree?.remove();
  });

  /** Sends a request with the token and a request id, reads the body, and waits for its access line (the figures are recorded just before). */
  async function request(pathAndQuery: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
    const requestId = `metrics-${Math.random().toString(36).slice(2)}`;
    const response = await fetch(`${server.url}${pathAndQuery}`, { ...init, headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': requestId, ...headers } });
    await response.arrayBuffer();
    await waitForAccessLine(server, requestId);
    return response;
  }

  describe('the exposition', () => {
    it('is Prometheus text (every line a HELP, TYPE or sample; every sample under a TYPE), no-store, with no token', async () => {
      await request('/api/download?filepath=small.txt');
      const { samples } = await scrape(server.url);
      expect(samples.length).to.be.above(0);
      for (const family of ['filegate_http_requests_total', 'filegate_http_request_duration_seconds_count', 'filegate_transfers_in_flight', 'filegate_archives_total', 'filegate_package_builds_total']) {
        expect(samples.some((sample) => sample.name === family), family).to.equal(true);
      }
    });

    it('carries the default process metrics (process_*, nodejs_*)', async () => {
      const { samples } = await scrape(server.url);
      expect(samples.some((sample) => sample.name === 'process_cpu_user_seconds_total')).to.equal(true);
      expect(samples.some((sample) => sample.name === 'nodejs_eventloop_lag_seconds')).to.equal(true);
      expect(samples.some((sample) => sample.name === 'nodejs_heap_size_used_bytes')).to.equal(true);
    });

    it('answers HEAD with the headers and no body', async () => {
      const response = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.equal(CONTENT_TYPE);
      expect(await response.text()).to.equal('');
    });
  });

  describe('requests', () => {
    it('a download moves the request counter by one and the body bytes by the file size', async () => {
      const series = { method: 'GET', route: '/api/download', status: '200' };
      const before = (await scrape(server.url)).samples;
      await request('/api/download?filepath=small.txt');
      const after = (await scrape(server.url)).samples;
      expect(valueOf(after, 'filegate_http_requests_total', series) - valueOf(before, 'filegate_http_requests_total', series)).to.equal(1);
      const bytes = { route: '/api/download' };
      expect(valueOf(after, 'filegate_http_response_body_bytes_total', bytes) - valueOf(before, 'filegate_http_response_body_bytes_total', bytes)).to.equal(SMALL.length);
      const count = 'filegate_http_request_duration_seconds_count';
      expect(valueOf(after, count, bytes) - valueOf(before, count, bytes)).to.equal(1);
      expect(valueOf(after, 'filegate_http_request_duration_seconds_bucket', { ...bytes, le: '+Inf' })).to.equal(valueOf(after, count, bytes));
    });

    it('a 304, a 206 and a 416 each count under their own status', async () => {
      const first = await request('/api/download?filepath=small.txt');
      const etag = first.headers.get('etag')!;
      const before = (await scrape(server.url)).samples;
      expect((await request('/api/download?filepath=small.txt', { 'If-None-Match': etag })).status).to.equal(304);
      expect((await request('/api/download?filepath=small.txt', { Range: 'bytes=0-1' })).status).to.equal(206);
      expect((await request('/api/download?filepath=small.txt', { Range: 'bytes=1000-' })).status).to.equal(416);
      const after = (await scrape(server.url)).samples;
      for (const status of ['304', '206', '416']) {
        const series = { method: 'GET', route: '/api/download', status };
        expect(valueOf(after, 'filegate_http_requests_total', series) - valueOf(before, 'filegate_http_requests_total', series), status).to.equal(1);
      }
    });

    it('HEAD counts under its method, with no body bytes', async () => {
      const before = (await scrape(server.url)).samples;
      await request('/api/download?filepath=small.txt', {}, { method: 'HEAD' });
      const after = (await scrape(server.url)).samples;
      const series = { method: 'HEAD', route: '/api/download', status: '200' };
      expect(valueOf(after, 'filegate_http_requests_total', series) - valueOf(before, 'filegate_http_requests_total', series)).to.equal(1);
      const bytes = { route: '/api/download' };
      expect(valueOf(after, 'filegate_http_response_body_bytes_total', bytes)).to.equal(valueOf(before, 'filegate_http_response_body_bytes_total', bytes));
    });
  });

  describe('route labels', () => {
    it('are route patterns or "unmatched", never a raw path, file name or package id', async () => {
      const unique = `zz${Math.random().toString(36).slice(2)}`;
      await request(`/api/download?filepath=${unique}-file.txt`);
      await request(`/api/packages/${unique}-package`);
      await request(`/no/such/${unique}-route`);
      await request(`/api/download/${unique}-suffix`);
      const { text, samples } = await scrape(server.url);
      expect(text).to.not.include(unique);
      expect(valueOf(samples, 'filegate_http_requests_total', { method: 'GET', route: '/api/download', status: '404' })).to.be.at.least(1);
      expect(valueOf(samples, 'filegate_http_requests_total', { method: 'GET', route: '/api/packages/:id', status: '404' })).to.be.at.least(1);
      expect(valueOf(samples, 'filegate_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).to.be.at.least(2);
      const routes = new Set(samples.filter((sample) => sample.name === 'filegate_http_requests_total').map((sample) => sample.labels.route));
      for (const route of routes) expect(route === 'unmatched' || route!.startsWith('/'), String(route)).to.equal(true);
    });
  });

  describe('transfers', () => {
    it('a large download is in flight while it sends, and a client that aborts it counts as aborted and leaves none in flight', async () => {
      const before = (await scrape(server.url)).samples;
      expect(valueOf(before, 'filegate_transfers_in_flight')).to.equal(0);
      const requestId = 'metrics-abort-download';
      const transfer = await startPaused(`${server.url}/api/download?filepath=big/big.bin`, { Authorization: `Bearer ${token}`, 'X-Request-Id': requestId });
      expect(transfer.status).to.equal(200);
      expect(valueOf((await scrape(server.url)).samples, 'filegate_transfers_in_flight')).to.equal(1);
      transfer.cut();
      const line = await waitForAccessLine(server, requestId);
      expect(line.aborted).to.equal(true);
      const after = (await scrape(server.url)).samples;
      const route = { route: '/api/download' };
      expect(valueOf(after, 'filegate_http_responses_aborted_total', route) - valueOf(before, 'filegate_http_responses_aborted_total', route)).to.equal(1);
      expect(valueOf(after, 'filegate_transfers_in_flight')).to.equal(0);
      // The bytes counted are those handed on before the cut: some, never the whole file.
      const sent = valueOf(after, 'filegate_http_response_body_bytes_total', route) - valueOf(before, 'filegate_http_response_body_bytes_total', route);
      expect(sent).to.equal(line.bytes).and.to.be.below(BIG);
    });
  });

  describe('archives', () => {
    it('a ZIP counts as completed, with its entries written and skipped as its headers announced', async () => {
      const before = (await scrape(server.url)).samples;
      const response = await request('/api/archive?path=set');
      expect(response.status).to.equal(200);
      const written = Number(response.headers.get('x-archive-entries'));
      const skipped = Number(response.headers.get('x-archive-skipped'));
      expect([written, skipped]).to.deep.equal([3, 1]);
      const after = (await scrape(server.url)).samples;
      const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
      expect(delta('filegate_archives_total', { format: 'zip', outcome: 'completed' })).to.equal(1);
      expect(delta('filegate_archives_total', { format: 'zip', outcome: 'aborted' })).to.equal(0);
      expect(delta('filegate_archive_entries_written_total', { format: 'zip' })).to.equal(written);
      expect(delta('filegate_archive_entries_skipped_total', { format: 'zip' })).to.equal(skipped);
    });

    for (const format of ['zip', 'tar.gz']) {
      it(`a streamed ${format} (no Content-Length) logs and counts the bytes the client received`, async () => {
        const route = { route: '/api/archive' };
        const before = (await scrape(server.url)).samples;
        const requestId = `metrics-archive-bytes-${format}`;
        const response = await fetch(`${server.url}/api/archive?path=mixed&format=${format}`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': requestId } });
        const received = (await response.arrayBuffer()).byteLength;
        expect(response.status).to.equal(200);
        expect(response.headers.get('content-length')).to.equal(null);
        expect(received).to.be.above(300 * 1024);
        const line = await waitForAccessLine(server, requestId);
        expect(line).to.include({ status: 200, bytes: received });
        const after = (await scrape(server.url)).samples;
        expect(valueOf(after, 'filegate_http_response_body_bytes_total', route) - valueOf(before, 'filegate_http_response_body_bytes_total', route)).to.equal(received);
      });
    }

    it('an archive the client leaves counts as aborted, with only the entries it wrote, and leaves none in flight', async () => {
      const before = (await scrape(server.url)).samples;
      const requestId = 'metrics-abort-archive';
      // A stored ZIP: the zeros of the sparse file go out as they are, too many for the socket buffers.
      const transfer = await startPaused(`${server.url}/api/archive?path=big`, { Authorization: `Bearer ${token}`, 'X-Request-Id': requestId });
      expect(transfer.status).to.equal(200);
      expect(valueOf((await scrape(server.url)).samples, 'filegate_transfers_in_flight')).to.equal(1);
      transfer.cut();
      await waitFor(() => server.logs.some((entry) => entry.msg === 'archive' && entry.reqId === requestId), 'the archive line');
      await waitForAccessLine(server, requestId);
      const after = (await scrape(server.url)).samples;
      const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
      expect(delta('filegate_archives_total', { format: 'zip', outcome: 'aborted' })).to.equal(1);
      expect(delta('filegate_archives_total', { format: 'zip', outcome: 'completed' })).to.equal(0);
      // The folder entry went out, and the big file was cut mid-entry.
      expect(delta('filegate_archive_entries_written_total', { format: 'zip' })).to.be.at.most(2);
      expect(valueOf(after, 'filegate_transfers_in_flight')).to.equal(0);
    });
  });

  describe('packages', () => {
    it('a package build counts under outcome "ready", and none is held once it is done', async () => {
      const before = (await scrape(server.url)).samples;
      const response = await request('/api/packages', { 'Content-Type': 'application/json' }, { method: 'POST', body: JSON.stringify({ paths: ['set'] }) });
      expect(response.status).to.equal(202);
      await server.running.app.packages.idle();
      const after = (await scrape(server.url)).samples;
      expect(valueOf(after, 'filegate_package_builds_total', { outcome: 'ready' }) - valueOf(before, 'filegate_package_builds_total', { outcome: 'ready' })).to.equal(1);
      expect(valueOf(after, 'filegate_package_builds_total', { outcome: 'failed' })).to.equal(valueOf(before, 'filegate_package_builds_total', { outcome: 'failed' }));
      expect(valueOf(after, 'filegate_package_builds_held', { status: 'pending' })).to.equal(0);
      expect(valueOf(after, 'filegate_package_builds_held', { status: 'running' })).to.equal(0);
    });
  });

  describe('with metrics.port set', () => {
    let separate: TestServer;
    let listenerUrl: string;

    before(async () => {
      // Port 0: the server opens its metrics listener on a free port of its own.
      separate = await startTestServer({ layers: { OsFs: { root: path.join(tree.dir, 'data') } }, metrics: { port: 0 } });
      listenerUrl = separate.running.metricsUrl!;
      expect(listenerUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(listenerUrl).to.not.equal(separate.url);
    });

    after(async () => {
      await separate?.close();
    });

    it('the server drains the metrics listener with the main one: closed, it refuses connections', async () => {
      const other = await startTestServer({ layers: { OsFs: { root: path.join(tree.dir, 'data') } }, metrics: { port: 0 } });
      const url = other.running.metricsUrl!;
      expect((await fetch(`${url}/metrics`)).status).to.equal(200);
      await other.close();
      let refused = false;
      try {
        await fetch(`${url}/metrics`);
      } catch {
        refused = true;
      }
      expect(refused).to.equal(true);
    });

    it('the main port answers 404 NOT_FOUND on /metrics, as for any unknown route', async () => {
      await expectError(await fetch(`${separate.url}/metrics`), 404, 'NOT_FOUND');
    });

    it('the metrics listener serves the app\'s own figures, apart from any other app\'s', async () => {
      const before = (await scrape(listenerUrl)).samples;
      const otherBefore = (await scrape(server.url)).samples;
      const response = await fetch(`${separate.url}/api/download?filepath=small.txt`, { headers: { Authorization: `Bearer ${token}`, 'X-Request-Id': 'metrics-separate-1' } });
      expect(await response.text()).to.equal(SMALL);
      await waitForAccessLine(separate, 'metrics-separate-1');
      const after = (await scrape(listenerUrl)).samples;
      const series = { method: 'GET', route: '/api/download', status: '200' };
      expect(valueOf(after, 'filegate_http_requests_total', series) - valueOf(before, 'filegate_http_requests_total', series)).to.equal(1);
      const otherAfter = (await scrape(server.url)).samples;
      expect(valueOf(otherAfter, 'filegate_http_requests_total', series)).to.equal(valueOf(otherBefore, 'filegate_http_requests_total', series));
    });

    it('the metrics listener answers HEAD without a body, 405 with Allow for another method, 404 elsewhere', async () => {
      const head = await fetch(`${listenerUrl}/metrics`, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expect(head.headers.get('content-type')).to.equal(CONTENT_TYPE);
      expect(await head.text()).to.equal('');
      const post = await fetch(`${listenerUrl}/metrics`, { method: 'POST' });
      expect(post.headers.get('allow')).to.equal('GET, HEAD');
      await expectError(post, 405, 'METHOD_NOT_ALLOWED');
      await expectError(await fetch(`${listenerUrl}/api/download?filepath=small.txt`), 404, 'NOT_FOUND');
      await expectError(await fetch(`${listenerUrl}/metrics/extra`), 404, 'NOT_FOUND');
      expect((await fetch(`${listenerUrl}/metrics?x=1`)).status).to.equal(200);
    });
  });

  describe('process metrics', () => {
    it('are collected once per process and shared by every app (regression guard: each collection starts monitors that never stop)', () => {
      const a = createMetrics();
      const b = createMetrics();
      expect(a.registry).to.not.equal(b.registry);
      for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds']) {
        const shared = a.registry.getSingleMetric(name);
        expect(shared, name).to.not.equal(undefined);
        expect(b.registry.getSingleMetric(name), name).to.equal(shared);
      }
      expect(a.registry.getSingleMetric('filegate_http_requests_total')).to.not.equal(b.registry.getSingleMetric('filegate_http_requests_total'));
    });

    it('leave nothing that keeps a process alive: a process that made many apps\' metrics and scraped them exits on its own', () => {
      const module = pathToFileURL(path.resolve('src/http/metrics.ts')).href;
      const script = `const { createMetrics } = await import(${JSON.stringify(module)});
for (let i = 0; i < 50; i += 1) await createMetrics().registry.metrics();
console.log('done');`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15000 });
      expect(child.error, 'the child exited before the timeout').to.equal(undefined);
      expect(child.status, child.stderr).to.equal(0);
      expect(child.stdout.trim()).to.equal('done');
    });
  });
});
