// POST /api/sign and signed downloads over HTTP: no token needed, one resource and method, every tampering 403 (never 500), rotation, expiry, logs, and `npm run sign`.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { DRIVERS, layerFixture, type LayerFixture } from '../helpers/layer-fixture.js';
import { startTestServer, TEST_SECRET, waitForAccessLine, type TestServer } from '../helpers/server.js';
import { hsToken } from '../helpers/tokens.js';

const K1 = 'k1-signing-key-that-is-long-enough-0123';
const K2 = 'k2-signing-key-that-is-long-enough-4567';

interface Signed {
  download_url: string;
  head_url: string;
  expiry: number;
}

for (const driver of DRIVERS) describe(`signed URLs: POST /api/sign and tokenless downloads (${driver})`, () => {
  let fx: LayerFixture;
  let server: TestServer;
  let signToken: string;

  const layers = () => ({ OsFs: fx.layer('data'), media: fx.layer('media') });
  const sign = async (body: unknown, token = signToken, on = server) =>
    fetch(`${on.url}/api/sign`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const signOk = async (body: unknown, token = signToken, on = server): Promise<Signed> => {
    const response = await sign(body, token, on);
    expect(response.status, await response.clone().text()).to.equal(200);
    return (await response.json()) as Signed;
  };
  /** The URL with its query string rewritten by `edit`. */
  const edited = (url: string, edit: (querystring: string) => string) => {
    const [base, querystring] = url.split('?') as [string, string];
    return `${base}?${edit(querystring)}`;
  };

  before(async function () {
    this.timeout(120_000);
    fx = await layerFixture(driver);
    void fx.file('data/docs/report.txt', 'the report\n');
    void fx.file('data/docs/ünï köde.txt', 'unicode\n');
    void fx.file('data/other.txt', 'other\n');
    void fx.file('data/users/42/own.txt', 'own\n');
    void fx.file('media/clip.mp4', 'not really a video\n');
    await fx.flush();
    server = await startTestServer({ layers: layers(), signing: { keys: { k1: K1 }, currentKey: 'k1' } });
    signToken = await hsToken({ sub: 'signer', scope: 'files:read files:sign' });
  });
  after(async () => {
    await server?.close();
    await fx?.cleanup();
  });

  it('answers absolute download_url and head_url and the expiry; the URL downloads with no token, with every file header', async () => {
    const before = Math.floor(Date.now() / 1000);
    const signed = await signOk({ filepath: 'docs/report.txt' });
    expect(Object.keys(signed).sort()).to.deep.equal(['download_url', 'expiry', 'head_url']);
    expect(signed.download_url.startsWith(`${server.url}/api/download?`)).to.equal(true);
    expect(signed.expiry).to.be.within(before + 3600, before + 3601);
    const response = await fetch(signed.download_url);
    expect(response.status).to.equal(200);
    expectFileHeaders(response);
    expect(await response.text()).to.equal('the report\n');
  });

  it('head_url answers HEAD with the headers GET sends; the GET URL refuses HEAD and the HEAD URL refuses GET', async () => {
    const signed = await signOk({ filepath: 'docs/report.txt' });
    const head = await fetch(signed.head_url, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(head.headers.get('content-length')).to.equal('11');
    // HEAD answers carry no body: the status says it.
    expect((await fetch(signed.download_url, { method: 'HEAD' })).status).to.equal(403);
    const wrong = await expectError(await fetch(signed.head_url), 403, 'FORBIDDEN');
    expect(wrong.error).to.match(/another method than GET/);
  });

  it('works for Range and conditional requests, and names a unicode file', async () => {
    const signed = await signOk({ filepath: 'docs/ünï köde.txt' });
    const ranged = await fetch(signed.download_url, { headers: { Range: 'bytes=0-2' } });
    expect(ranged.status).to.equal(206);
    expect(await ranged.text()).to.equal('uni');
    const etag = ranged.headers.get('etag')!;
    expect((await fetch(signed.download_url, { headers: { 'If-None-Match': etag } })).status).to.equal(304);
  });

  it('keeps disposition=inline, signed with the rest', async () => {
    const signed = await signOk({ fstype: 'media', filepath: 'clip.mp4', disposition: 'inline' });
    const response = await fetch(signed.download_url);
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-disposition')).to.match(/^inline;/);
  });

  describe('every tampering is 403 FORBIDDEN with a message that says which, never 500', () => {
    const cases: Array<[string, (q: string) => string, RegExp]> = [
      ['another file', (q) => q.replace('docs%2Freport.txt', 'other.txt'), /does not match/],
      ['another layer', (q) => q.replace('fstype=OsFs', 'fstype=media'), /does not match/],
      ['a later expiry', (q) => q.replace(/expires=\d+/, (m) => `expires=${Number(m.slice(8)) + 1000}`), /does not match/],
      ['a parameter added', (q) => `${q}&disposition=inline`, /does not match/],
      ['a token added', (q) => `${q}&token=x`, /does not match/],
      ['an unknown kid', (q) => q.replace('kid=k1', 'kid=nope'), /unknown key "nope"/],
      ['a sig that is not UTF-8', (q) => q.replace(/sig=[^&]+/, 'sig=%FF%FE'), /not valid percent-encoded UTF-8/],
      ['a short sig', (q) => q.replace(/sig=[^&]+/, 'sig=abc'), /sig\) is malformed/],
      ['a repeated sig', (q) => `${q}&${/sig=[^&]+/.exec(q)![0]}`, /"sig" parameter is repeated/],
      ['no sig', (q) => q.replace(/&sig=[^&]+/, ''), /lacks its "sig"/],
      ['expires with a letter', (q) => q.replace(/expires=\d+/, 'expires=12a'), /digits only/],
    ];
    for (const [name, edit, message] of cases) {
      it(name, async () => {
        const signed = await signOk({ filepath: 'docs/report.txt' });
        const response = await fetch(edited(signed.download_url, edit));
        const body = await expectError(response, 403, 'FORBIDDEN');
        expect(body.error).to.match(message);
      });
    }
  });

  it('an expired URL is 403 saying when it expired', async () => {
    const signed = await signOk({ filepath: 'docs/report.txt', expires_in: 1 });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const body = await expectError(await fetch(signed.download_url), 403, 'FORBIDDEN');
    expect(body.error).to.match(/expired at \d{4}-\d\d-\d\dT/);
  });

  it('a download\'s signed URL grants only /api/download: on another route its signature is refused (403) or is no credential (401)', async () => {
    const signed = await signOk({ filepath: 'docs/report.txt' });
    const query = signed.download_url.split('?')[1]!;
    // /api/archive judges a signature too (archive links), and a download's does not match it there.
    await expectError(await fetch(`${server.url}/api/archive?path=docs&${query}`), 403, 'FORBIDDEN');
    await expectError(await fetch(`${server.url}/api/sign?${query}`, { method: 'POST' }), 401, 'UNAUTHORIZED');
  });

  describe('who may sign what', () => {
    it('a token without files:sign is 403', async () => {
      const body = await expectError(await sign({ filepath: 'docs/report.txt' }, await hsToken({ scope: 'files:read' })), 403, 'FORBIDDEN');
      expect(body.error).to.match(/files:sign/);
    });
    it('a token limited to users/42 signs users/42/own.txt but not other.txt', async () => {
      const limited = await hsToken({ scope: 'files:sign files:read', paths: ['users/42'] });
      const signed = await signOk({ filepath: 'users/42/own.txt' }, limited);
      expect(await (await fetch(signed.download_url)).text()).to.equal('own\n');
      await expectError(await sign({ filepath: 'other.txt' }, limited), 403, 'FORBIDDEN');
    });
    it('a token without files:read cannot hand out a file it could not fetch', async () => {
      await expectError(await sign({ filepath: 'docs/report.txt' }, await hsToken({ scope: 'files:sign' })), 403, 'FORBIDDEN');
    });
    it('the file is checked now: missing is 404, a folder NOT_A_FILE, a traversal PATH_NOT_ALLOWED', async () => {
      await expectError(await sign({ filepath: 'docs/missing.txt' }), 404, 'NOT_FOUND');
      await expectError(await sign({ filepath: 'docs' }), 403, 'NOT_A_FILE');
      await expectError(await sign({ filepath: 'docs/../other.txt' }), 403, 'PATH_NOT_ALLOWED');
    });
    it('bad bodies are 400 naming the field', async () => {
      expect((await expectError(await sign({}), 400, 'BAD_REQUEST')).error).to.match(/filepath/);
      expect((await expectError(await sign({ filepath: 'a', expires_in: -5 }), 400, 'BAD_REQUEST')).error).to.match(/expires_in/);
      expect((await expectError(await sign({ filepath: 'a', extra: 1 }), 400, 'BAD_REQUEST')).error).to.match(/extra|not valid/);
      await expectError(await sign({ filepath: 'a', fstype: 'nope' }), 400, 'UNKNOWN_FSTYPE');
    });
    it('no token at all is 401', async () => {
      await expectError(await fetch(`${server.url}/api/sign`, { method: 'POST', body: '{}' }), 401, 'UNAUTHORIZED');
    });
  });

  describe('lifetime', () => {
    it('is capped by signing.maxTtl', async () => {
      const now = Math.floor(Date.now() / 1000);
      const longToken = await hsToken({ scope: 'files:read files:sign', exp: now + 60 * 86_400 });
      const signed = await signOk({ filepath: 'docs/report.txt', expires_in: '30d' }, longToken);
      expect(signed.expiry).to.be.within(now + 7 * 86_400, now + 7 * 86_400 + 1);
    });
    it('never outlives the signing token (signing.boundToToken, on by default)', async () => {
      const exp = Math.floor(Date.now() / 1000) + 120;
      const signed = await signOk({ filepath: 'docs/report.txt', expires_in: '1h' }, await hsToken({ scope: 'files:read files:sign', exp }));
      expect(signed.expiry).to.equal(exp);
    });
  });

  it('key rotation: URLs signed with k1 keep working while k1 is listed, and stop once it is removed', async () => {
    const old = await signOk({ filepath: 'docs/report.txt' });
    const rotated = await startTestServer({ layers: layers(), signing: { keys: { k1: K1, k2: K2 }, currentKey: 'k2' } });
    const retired = await startTestServer({ layers: layers(), signing: { keys: { k2: K2 }, currentKey: 'k2' } });
    try {
      const onRotated = old.download_url.replace(server.url, rotated.url);
      expect((await fetch(onRotated)).status).to.equal(200);
      const fresh = await signOk({ filepath: 'docs/report.txt' }, signToken, rotated);
      expect(fresh.download_url).to.include('kid=k2');
      expect((await fetch(fresh.download_url.replace(rotated.url, retired.url))).status).to.equal(200);
      const body = await expectError(await fetch(old.download_url.replace(server.url, retired.url)), 403, 'FORBIDDEN');
      expect(body.error).to.match(/unknown key "k1"/);
    } finally {
      await rotated.close();
      await retired.close();
    }
  });

  it('without signing keys, POST /api/sign is 403 naming the settings, and a signature is refused', async () => {
    const off = await startTestServer({ layers: layers() });
    try {
      const body = await expectError(await sign({ filepath: 'docs/report.txt' }, signToken, off), 403, 'FORBIDDEN');
      expect(body.error).to.match(/signing\.keys/);
      const signed = await signOk({ filepath: 'docs/report.txt' });
      await expectError(await fetch(signed.download_url.replace(server.url, off.url)), 403, 'FORBIDDEN');
    } finally {
      await off.close();
    }
  });

  it('signing.baseUrl sets the URLs\' origin', async () => {
    const proxied = await startTestServer({ layers: layers(), signing: { keys: { k1: K1 }, currentKey: 'k1', baseUrl: 'https://files.example.com/' } });
    try {
      const signed = await signOk({ filepath: 'docs/report.txt' }, signToken, proxied);
      expect(signed.download_url.startsWith('https://files.example.com/api/download?')).to.equal(true);
      expect(signed.head_url.startsWith('https://files.example.com/api/download?')).to.equal(true);
    } finally {
      await proxied.close();
    }
  });

  it('neither the signature nor the token appears in the logs', async () => {
    const signed = await signOk({ filepath: 'docs/report.txt' });
    const sig = /sig=([^&]+)/.exec(signed.download_url)![1]!;
    const response = await fetch(signed.download_url, { headers: { 'X-Request-Id': 'signed-log-check' } });
    await response.arrayBuffer();
    const line = await waitForAccessLine(server, 'signed-log-check');
    expect(line.status).to.equal(200);
    expect(server.rawLogs()).to.not.include(sig);
    expect(server.rawLogs()).to.not.include(signToken);
  });

  it('npm run sign prints a URL that downloads the file (same config, same key)', async function () {
    this.timeout(30_000);
    // The layer is not named OsFs: loadConfig merges a layer of that name key
    // by key over config/default.json's, whose root and symlinks an s3 layer refuses.
    const config = { defaultLayer: 'files', layers: { files: fx.layer('data') }, signing: { keys: { k1: K1 }, currentKey: 'k1' } };
    const served = await startTestServer(config);
    try {
      const configFile = path.join(fx.local.dir, 'sign-config.json');
      // A configured secret: without one the script would run in development mode and write var/ into the checkout.
      writeFileSync(configFile, JSON.stringify({ ...config, auth: { secret: TEST_SECRET } }));
      const printed = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/sign.ts', 'docs/report.txt', '--base', served.url, '--ttl', '10m'], {
        env: { ...process.env, FILEGATE_CONFIG: configFile, NODE_ENV: 'test' },
        encoding: 'utf8',
      }).trim();
      expect(printed.startsWith(`${served.url}/api/download?filepath=docs%2Freport.txt&fstype=files&expires=`)).to.equal(true);
      const response = await fetch(printed);
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('the report\n');
    } finally {
      await served.close();
    }
  });
});
