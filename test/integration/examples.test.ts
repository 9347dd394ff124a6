// The example deployments of config/examples/, end to end: each one's sample tree, its routes over real HTTP, refused values and types, 409 before an output exists.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { buildSampleTree, EXAMPLES, SAMPLE_UUIDS, type ExampleName } from '../../scripts/examples/sample-trees.js';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { DRIVERS, layerFixture, type LayerFixture } from '../helpers/layer-fixture.js';
import { startTestServer, TEST_SECRET, type TestConfig, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const SIGNING = { keys: { k1: 'k1-signing-key-that-is-long-enough-0123' }, currentKey: 'k1' };

/** The example's config as shipped, each layer moved to the fixture's folder `name`, on the fixture's driver, with its other options kept. */
function exampleConfig(name: ExampleName, fx: LayerFixture): TestConfig {
  const config = JSON.parse(readFileSync(path.join(REPO, 'config', 'examples', `${name}.json`), 'utf8')) as TestConfig;
  const layers = Object.fromEntries(
    Object.entries(config.layers).map(([layerName, layer]) => {
      const { root: _shipped, ...options } = layer as Record<string, unknown>;
      return [layerName, fx.layer(name, options)];
    }),
  );
  return { ...config, layers, signing: { ...(config.signing as object), ...SIGNING } };
}

/** The status of a GET sent with its path exactly as given. */
function rawStatus(server: TestServer, rawPath: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // An options object, not a URL: a URL would resolve the dots before sending.
    const { hostname, port } = new URL(server.url);
    http
      .get({ hostname, port, path: rawPath, headers: { Authorization: `Bearer ${token}` } }, (response) => {
        response.resume();
        resolve(response.statusCode!);
      })
      .once('error', reject);
  });
}

describe('example deployments (config/examples/)', () => {
  let tmp: TempDir;

  before(() => {
    tmp = tempDir('filegate-examples-');
  });
  after(() => tmp.remove());

  const get = (server: TestServer, route: string, token: string | null, init: RequestInit = {}) =>
    fetch(`${server.url}${route}`, { ...init, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) } });

  describe('every example loads through loadConfig, layered over config/default.json as FILEGATE_CONFIG', () => {
    for (const name of EXAMPLES) {
      it(name, () => {
        const cwd = path.join(tmp.dir, `load-${name}`);
        mkdirSync(path.join(cwd, 'config', 'examples'), { recursive: true });
        copyFileSync(path.join(REPO, 'config', 'default.json'), path.join(cwd, 'config', 'default.json'));
        copyFileSync(path.join(REPO, 'config', 'examples', `${name}.json`), path.join(cwd, 'config', 'examples', `${name}.json`));
        const { config } = loadConfig({ cwd, env: { FILEGATE_CONFIG: `config/examples/${name}.json`, FILEGATE_JWT_SECRET: TEST_SECRET } });
        expect(config.routes.length).to.be.above(0);
        expect(config.layers.OsFs).to.include({ driver: 'os', root: path.join(cwd, 'var', 'examples', name) });
      });
    }
  });

  it('npm run example -- <name> [folder] writes the sample tree', function () {
    this.timeout(30_000);
    const folder = path.join(tmp.dir, 'cli');
    const printed = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/example.ts', 'image-processing', folder], { cwd: REPO, encoding: 'utf8' });
    expect(printed).to.include('FILEGATE_CONFIG=config/examples/image-processing.json npm start');
    expect(readFileSync(path.join(folder, 'outputs', 'job-1', 'result.png')).subarray(1, 4).toString()).to.equal('PNG');
  });

  for (const driver of DRIVERS) describe(`the examples' routes (${driver})`, () => {
    let fx: LayerFixture;

    before(async function () {
      this.timeout(120_000);
      fx = await layerFixture(driver);
    });
    after(async () => {
      await fx?.cleanup();
    });

    /** Starts the example on a fresh copy of its sample tree (on s3, uploaded into the bucket under the example's name). */
    const startExample = async (name: ExampleName): Promise<{ server: TestServer }> => {
      buildSampleTree(name, path.join(fx.local.dir, name));
      await fx.fromLocal(name);
      return { server: await startTestServer(exampleConfig(name, fx)) };
    };

    describe('image analysis results', () => {
      let server: TestServer;
      let reader: string;
      before(async () => {
        ({ server } = await startExample('image-analysis'));
        reader = await hsToken({ scope: 'files:read files:archive' });
      });
      after(() => server.close());

      for (const type of ['input', 'combined', 'mask', 'overlay']) {
        it(`GET /download/image/img001/${type}: the PNG, saved as img001_${type}.png, with every file header`, async () => {
          const response = await get(server, `/download/image/img001/${type}`, reader);
          expect(response.status).to.equal(200);
          expectFileHeaders(response);
          expect(response.headers.get('content-type')).to.equal('image/png');
          expect(response.headers.get('content-disposition')).to.equal(`attachment; filename="img001_${type}.png"; filename*=UTF-8''img001_${type}.png`);
          expect(Buffer.from(await response.arrayBuffer()).subarray(1, 4).toString()).to.equal('PNG');
        });
      }

      it('Range, conditional requests and HEAD work through the alias', async () => {
        const ranged = await get(server, '/download/image/img002/mask', reader, { headers: { Range: 'bytes=0-7' } });
        expect(ranged.status).to.equal(206);
        expect(ranged.headers.get('content-range')).to.match(/^bytes 0-7\/\d+$/);
        const etag = ranged.headers.get('etag')!;
        expect((await get(server, '/download/image/img002/mask', reader, { headers: { 'If-None-Match': etag } })).status).to.equal(304);
        const head = await get(server, '/download/image/img002/mask', reader, { method: 'HEAD' });
        expect(head.status).to.equal(200);
      });

      it('a type outside the enum is 400 naming the parameter; an id outside its pattern too', async () => {
        expect((await expectError(await get(server, '/download/image/img001/thumbnail', reader), 400, 'BAD_REQUEST')).error).to.match(/"type" must be one of input, combined, mask, overlay/);
        await expectError(await get(server, '/download/image/img%20001/mask', reader), 400, 'BAD_REQUEST');
        // Sent as is (fetch would resolve the dots itself): the router decodes the value to "..".
        expect(await rawStatus(server, '/download/image/%2E%2E/mask', reader)).to.equal(400);
        expect(await rawStatus(server, '/download/image/img001%2F..%2Fimg002/mask', reader)).to.equal(400);
      });

      it('an image that does not exist is 404, and the message names the URL path sent, never the layer path the template made (regression: "results/img999/mask.png" does not exist)', async () => {
        const body = await expectError(await get(server, '/download/image/img999/mask', reader), 404, 'NOT_FOUND');
        expect(body.error).to.include('"/download/image/img999/mask"');
        expect(body.error).to.not.include('results');
        const batch = await expectError(await get(server, '/download/batch/nope', reader), 404, 'NOT_FOUND');
        expect(batch.error).to.include('"/download/batch/nope"');
        expect(batch.error).to.not.include('batches');
        const limited = await hsToken({ scope: 'files:read', paths: ['results/img001'] });
        const refused = await expectError(await get(server, '/download/image/img002/mask', limited), 403, 'FORBIDDEN');
        expect(refused.error).to.not.include('results');
      });

      it('GET /download/json/img002: the analysis, saved as img002_analysis.json', async () => {
        const response = await get(server, '/download/json/img002', reader);
        expect(response.status).to.equal(200);
        expect(response.headers.get('content-type')).to.match(/^application\/json/);
        expect(response.headers.get('content-disposition')).to.match(/filename="img002_analysis\.json"/);
        expect(JSON.parse(await response.text())).to.deep.equal({ image: 'img002', objects: 3, score: 0.92 });
      });

      it('GET /download/batch/42: a ZIP of the batch folder named batch_42_results.zip, types the layer refuses left out', async () => {
        const response = await get(server, '/download/batch/42', reader);
        expect(response.status).to.equal(200);
        expect(response.headers.get('content-type')).to.equal('application/zip');
        expect(response.headers.get('content-disposition')).to.match(/filename="batch_42_results\.zip"/);
        expect(response.headers.get('x-archive-skipped')).to.equal('1');
        const file = path.join(fx.local.dir, 'batch.zip');
        writeFileSync(file, Buffer.from(await response.arrayBuffer()));
        const names = execFileSync('python3', ['-c', 'import sys, zipfile; print("\\n".join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))', file], { encoding: 'utf8' }).trim().split('\n');
        expect(names).to.deep.equal([
          'batch_42/', 'batch_42/img001/', 'batch_42/img001/analysis.json', 'batch_42/img001/overlay.png',
          'batch_42/img002/', 'batch_42/img002/analysis.json', 'batch_42/img002/overlay.png',
        ]);
      });

      it('each alias needs its action\'s scope: a files:read token cannot fetch the batch ZIP; no token is 401', async () => {
        await expectError(await get(server, '/download/batch/42', await hsToken({ scope: 'files:read' })), 403, 'FORBIDDEN');
        await expectError(await get(server, '/download/image/img001/mask', null), 401, 'UNAUTHORIZED');
        await expectError(await get(server, '/download/image/img001/mask', await hsToken({ scope: 'files:list' })), 403, 'FORBIDDEN');
      });

      it('a token limited to results/img001 fetches img001 and not img002', async () => {
        const limited = await hsToken({ scope: 'files:read', paths: ['results/img001'] });
        expect((await get(server, '/download/image/img001/mask', limited)).status).to.equal(200);
        await expectError(await get(server, '/download/image/img002/mask', limited), 403, 'FORBIDDEN');
      });
    });

    describe('a media library', () => {
      let server: TestServer;
      let reader: string;
      before(async () => {
        ({ server } = await startExample('media-library'));
        reader = await hsToken({ scope: 'files:read files:list' });
      });
      after(() => server.close());

      it('GET /download/video/intro.mp4 and /download/audio/theme.wav serve their files', async () => {
        const video = await get(server, '/download/video/intro.mp4', reader);
        expect(video.status).to.equal(200);
        expect(video.headers.get('content-type')).to.equal('video/mp4');
        expect((await video.arrayBuffer()).byteLength).to.equal(4096);
        const audio = await get(server, '/download/audio/theme.wav', reader);
        expect(audio.status).to.equal(200);
        expect(audio.headers.get('content-type')).to.match(/^audio\//);
      });

      it('another type is refused: a video through the audio route, a document through the video route (403 TYPE_NOT_ALLOWED)', async () => {
        expect((await expectError(await get(server, '/download/audio/intro.mp4', reader), 403, 'TYPE_NOT_ALLOWED')).error).to.match(/route "\/download\/audio\/:filename"/);
        await expectError(await get(server, '/download/video/theme.wav', reader), 403, 'TYPE_NOT_ALLOWED');
        await expectError(await get(server, '/download/video/readme.txt', reader), 403, 'TYPE_NOT_ALLOWED');
      });

      it('GET /download/generated/video/:uuid is 409 NOT_READY until the output exists, then 200', async () => {
        const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
        const notYet = await get(server, `/download/generated/video/${uuid}`, reader);
        expect(Number(notYet.headers.get('retry-after')), 'NOT_READY says when to ask again').to.be.greaterThan(0);
        const body = await expectError(notYet, 409, 'NOT_READY');
        expect(body.error).to.match(/does not exist yet/);
        expect(body.error).to.include(`/download/generated/video/${uuid}`);
        expect(body.error).to.not.include('output.mp4');
        await fx.file(`media-library/generated/${uuid}output.mp4`, Buffer.alloc(100, 1));
        const ready = await get(server, `/download/generated/video/${uuid}`, reader);
        expect(ready.status).to.equal(200);
        expect((await ready.arrayBuffer()).byteLength).to.equal(100);
      });

      it('GET /download/generated/audio/:uuid serves the wav; a value that is not a uuid is 400', async () => {
        const audio = await get(server, `/download/generated/audio/${SAMPLE_UUIDS.ready}`, reader);
        expect(audio.status).to.equal(200);
        expect((await audio.arrayBuffer()).byteLength).to.equal(6000);
        await expectError(await get(server, '/download/generated/audio/not-a-uuid', reader), 400, 'BAD_REQUEST');
      });

      it('GET /list/files?type=video lists the library\'s videos in natural order', async () => {
        const response = await get(server, '/list/files?type=video&dirs=mixed', reader);
        expect(response.status).to.equal(200);
        const listing = (await response.json()) as { entries: Array<{ name: string; path: string; download_url?: string }>; total: number };
        expect(listing.entries.map((entry) => entry.name)).to.deep.equal(['clip2.mp4', 'clip10.mp4', 'intro.mp4']);
        expect(listing.total).to.equal(3);
        expect(listing.entries[0]!.path).to.equal('library/clip2.mp4');
      });

      it('GET /list/generated/:uuid lists only that uuid\'s outputs', async () => {
        const response = await get(server, `/list/generated/${SAMPLE_UUIDS.ready}`, reader);
        expect(response.status).to.equal(200);
        const listing = (await response.json()) as { entries: Array<{ name: string }> };
        expect(listing.entries.map((entry) => entry.name)).to.deep.equal([`${SAMPLE_UUIDS.ready}output.mp4`, `${SAMPLE_UUIDS.ready}output.wav`]);
        await expectError(await get(server, '/list/generated/nope', reader), 400, 'BAD_REQUEST');
      });
    });

    describe('an image-processing API answering presigned links', () => {
      let server: TestServer;
      let signer: string;
      before(async () => {
        ({ server } = await startExample('image-processing'));
        signer = await hsToken({ scope: 'files:read files:sign' });
      });
      after(() => server.close());

      it('GET /download/job-1 answers {download_url, head_url, expiry}; the link downloads the result without a token', async () => {
        const response = await get(server, '/download/job-1', signer);
        expect(response.status).to.equal(200);
        const links = (await response.json()) as { download_url: string; head_url: string; expiry: number };
        expect(Object.keys(links).sort()).to.deep.equal(['download_url', 'expiry', 'head_url']);
        // The example's signing.defaultTtl is 15 minutes.
        expect(links.expiry).to.be.at.most(Math.floor(Date.now() / 1000) + 15 * 60 + 1);
        const file = await fetch(links.download_url);
        expect(file.status).to.equal(200);
        expect(file.headers.get('content-type')).to.equal('image/png');
        expect((await fetch(links.head_url, { method: 'HEAD' })).status).to.equal(200);
      });

      it('GET /download/job-2 is 409 NOT_READY while the output does not exist, then answers links', async () => {
        await expectError(await get(server, '/download/job-2', signer), 409, 'NOT_READY');
        await fx.file('image-processing/outputs/job-2/result.png', readFileSync(path.join(fx.local.dir, 'image-processing', 'inputs', 'job-2.png')));
        const response = await get(server, '/download/job-2', signer);
        expect(response.status).to.equal(200);
        const links = (await response.json()) as { download_url: string };
        expect((await fetch(links.download_url)).status).to.equal(200);
      });

      it('GET /download/input/job-2 presigns the input', async () => {
        const response = await get(server, '/download/input/job-2', signer);
        expect(response.status).to.equal(200);
        const links = (await response.json()) as { download_url: string };
        expect(links.download_url).to.include('filepath=inputs%2Fjob-2.png');
      });

      it('presigning needs files:sign', async () => {
        await expectError(await get(server, '/download/job-1', await hsToken({ scope: 'files:read' })), 403, 'FORBIDDEN');
      });
    });

    describe('insights packages', () => {
      let server: TestServer;
      let owner: string;
      before(async () => {
        ({ server } = await startExample('insights-packages'));
        owner = await hsToken({ sub: 'analyst', scope: 'files:archive files:sign' });
      });
      after(() => server.close());

      const put = (route: string, body: unknown, token: string = owner) =>
        fetch(`${server.url}${route}`, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

      it('PUT /v0/aoi/aoi-7/insights/ins-3/download {inputs, outputs} answers {id, status, signed_url}; the link serves the ZIP once ready', async function () {
        this.timeout(20_000);
        const response = await put('/v0/aoi/aoi-7/insights/ins-3/download', { inputs: ['scene-a.tif', 'scene-b.tif'], outputs: ['ndvi.tif', 'summary.json'] });
        expect(response.status).to.equal(202);
        const created = (await response.json()) as { id: string; status: string; signed_url: string };
        expect(Object.keys(created).sort()).to.deep.equal(['id', 'signed_url', 'status']);
        expect(created.status).to.be.oneOf(['pending', 'running']);
        let download: Response | undefined;
        for (let attempt = 0; attempt < 200; attempt += 1) {
          download = await fetch(created.signed_url);
          if (download.status !== 409) break;
          await download.arrayBuffer();
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        expect(download!.status).to.equal(200);
        expect(download!.headers.get('content-disposition')).to.match(/filename="aoi_aoi-7_insight_ins-3\.zip"/);
        const file = path.join(fx.local.dir, 'insight.zip');
        writeFileSync(file, Buffer.from(await download!.arrayBuffer()));
        const names = execFileSync('python3', ['-c', 'import sys, zipfile; print("\\n".join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))', file], { encoding: 'utf8' }).trim().split('\n');
        expect(names).to.deep.equal(['ndvi.tif', 'scene-a.tif', 'scene-b.tif', 'summary.json']);
      });

      it('refuses an unknown list, an item that is not one plain name, an empty body and GET', async () => {
        const route = '/v0/aoi/aoi-7/insights/ins-3/download';
        expect((await expectError(await put(route, { extras: ['a'] }), 400, 'BAD_REQUEST')).error).to.match(/"extras" is not one of this route's lists \(inputs, outputs\)/);
        await expectError(await put(route, { inputs: ['../../etc/passwd'] }), 400, 'BAD_REQUEST');
        await expectError(await put(route, { inputs: ['..'] }), 400, 'BAD_REQUEST');
        await expectError(await put(route, {}), 400, 'BAD_REQUEST');
        await expectError(await fetch(`${server.url}${route}`, { headers: { Authorization: `Bearer ${owner}` } }), 405, 'METHOD_NOT_ALLOWED');
      });

      it('a token without files:sign gets the package with signed_url null: a signed link is handed only to who may sign', async () => {
        const response = await put('/v0/aoi/aoi-7/insights/ins-3/download', { inputs: ['scene-a.tif'] }, await hsToken({ sub: 'analyst', scope: 'files:archive' }));
        const created = (await response.json()) as { id: string; status: string; signed_url: string | null };
        expect(response.status).to.equal(202);
        expect(created.signed_url).to.equal(null);
      });

      it('a package needs files:archive and a subject', async () => {
        await expectError(await put('/v0/aoi/aoi-7/insights/ins-3/download', { inputs: ['scene-a.tif'] }, await hsToken({ sub: 'x', scope: 'files:read' })), 403, 'FORBIDDEN');
        await expectError(await put('/v0/aoi/aoi-7/insights/ins-3/download', { inputs: ['scene-a.tif'] }, await hsToken({ sub: undefined, scope: 'files:archive' })), 403, 'FORBIDDEN');
      });
    });
  });
});
