// Authentication and claims on GET /api/download: where the token may come from, how it is verified (algorithms, keys, time and issuer claims, hostile headers, size) and how scope, paths and fstypes narrow it.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { exportJWK, SignJWT, type JWTHeaderParameters } from 'jose';
import { expectError, expectFileHeaders } from '../helpers/assertions.js';
import { tempDir, type TempDir } from '../helpers/fixtures.js';
import { startTestServer, TEST_SECRET, type TestConfig, type TestServer } from '../helpers/server.js';
import { hsToken, nowSeconds, rsaKeyPair, signWith, unsignedToken, type TokenClaims } from '../helpers/tokens.js';

const FILE_BODY = 'hello from a.txt\n';

/** GET /api/download with `query`, the token in the Authorization header unless `token` is null. */
function download(server: TestServer, query: string, token: string | null, headers: Record<string, string> = {}): Promise<Response> {
  const auth: Record<string, string> = token === null ? {} : { Authorization: `Bearer ${token}` };
  return fetch(`${server.url}/api/download?${query}`, { headers: { ...auth, ...headers } });
}

/** Asserts a 401 UNAUTHORIZED with its Bearer challenge, and that neither body nor challenge echoes `token`. */
async function expectUnauthorized(response: Response, token?: string): Promise<string> {
  const challenge = response.headers.get('www-authenticate');
  const body = await expectError(response, 401, 'UNAUTHORIZED', token === undefined ? [] : [token]);
  expect(challenge, 'WWW-Authenticate').to.be.a('string');
  expect(challenge!).to.match(/^Bearer\b/);
  expect(challenge!).to.match(/\berror="[a-z_]+"/);
  // RFC 6750 §3: error_description is limited to printable ASCII without '"' and '\'.
  expect(challenge!).to.match(/\berror_description="[\x20-\x21\x23-\x5b\x5d-\x7e]*"/);
  if (token !== undefined && token.length > 0) expect(challenge!).to.not.include(token);
  return body.error;
}

async function expectOk(response: Response): Promise<void> {
  const text = await response.text();
  expect(response.status, `status of ${text}`).to.equal(200);
  expectFileHeaders(response);
  expect(text).to.equal(FILE_BODY);
}

/** A JWT with any protected header, signed with `key` (default claims: sub, scope files:read, exp in an hour). */
async function signJwt(key: KeyObject, header: JWTHeaderParameters & Record<string, unknown>, claims: TokenClaims = {}): Promise<string> {
  const body: TokenClaims = { sub: 'tester', scope: 'files:read', exp: nowSeconds() + 3600, ...claims };
  return new SignJWT(body).setProtectedHeader({ typ: 'JWT', ...header }).sign(key);
}

/** The longest HS256 token of at most `maxBytes`, grown by padding a claim. */
async function tokenOfAtMost(maxBytes: number): Promise<{ fits: string; over: string }> {
  let pad = 0;
  const withPad = (n: number) => hsToken({ pad: 'x'.repeat(n) });
  // Each claim character adds about 4/3 of a token byte: step close, then one by one.
  pad = Math.floor(((maxBytes - (await withPad(0)).length) * 3) / 4) - 8;
  while ((await withPad(pad + 1)).length <= maxBytes) pad += 1;
  return { fits: await withPad(pad), over: await withPad(pad + 1) };
}

describe('authentication and claims (GET /api/download)', () => {
  let files: TempDir;
  let media: TempDir;
  let keys: TempDir;
  const servers: TestServer[] = [];

  // Servers, each with its own auth config.
  let hs: TestServer;
  let noQuery: TestServer;
  let noExp: TestServer;
  let issAud: TestServer;
  let rsOnly: TestServer;
  let rsAndHs: TestServer;
  let jwks: TestServer;
  let edPem: TestServer;
  let listDefault: TestServer;

  // Keys.
  const rsa = rsaKeyPair();
  const attackerRsa = rsaKeyPair();
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');

  async function start(auth: TestConfig['auth']): Promise<TestServer> {
    const server = await startTestServer({
      layers: { OsFs: { root: files.dir }, media: { root: media.dir } },
      ...(auth === undefined ? {} : { auth }),
    });
    servers.push(server);
    return server;
  }

  before(async () => {
    files = tempDir('filegate-auth-');
    files.file('a.txt', FILE_BODY);
    files.file('other.txt', FILE_BODY);
    files.file('users/42/a.txt', FILE_BODY);
    files.file('users/42/deep/a.txt', FILE_BODY);
    files.file('users/420/a.txt', FILE_BODY);
    files.file('users/4/a.txt', FILE_BODY);
    files.file('users/43/secret.txt', 'not for user 42\n');
    files.symlink('users/42/to-43.txt', '../43/secret.txt');
    media = tempDir('filegate-auth-media-');
    media.file('a.txt', FILE_BODY);

    keys = tempDir('filegate-auth-keys-');
    const rsaPem = keys.file('rsa.pem', rsa.publicPem);
    const edPemFile = keys.file('ed.pem', ed.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const jwksFile = path.join(keys.dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({
      keys: [
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', use: 'sig' },
        { ...(await exportJWK(ed.publicKey)), kid: 'ed-1', use: 'sig' },
      ],
    }));

    hs = await start(undefined);
    noQuery = await start({ allowQueryToken: false });
    noExp = await start({ requireExp: false });
    issAud = await start({ issuer: 'https://issuer.example', audience: 'filegate' });
    rsOnly = await start({ secret: null, publicKeyFile: rsaPem, algorithms: ['RS256'] });
    rsAndHs = await start({ secret: TEST_SECRET, publicKeyFile: rsaPem, algorithms: ['RS256', 'HS256'] });
    jwks = await start({ secret: null, jwksFile, algorithms: ['ES256', 'EdDSA'] });
    edPem = await start({ secret: null, publicKeyFile: edPemFile, algorithms: ['EdDSA'] });
    listDefault = await start({ defaultScopes: ['files:list'] });
  });

  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    files?.remove();
    media?.remove();
    keys?.remove();
  });

  describe('where the token comes from', () => {
    it('accepts a valid HS256 token in "Authorization: Bearer"', async () => {
      await expectOk(await download(hs, 'filepath=a.txt', await hsToken()));
    });

    it('accepts a valid token in the token query parameter', async () => {
      const token = await hsToken();
      await expectOk(await download(hs, `filepath=a.txt&token=${token}`, null));
    });

    it('refuses a query token when auth.allowQueryToken is false, and says to use the header', async () => {
      const token = await hsToken();
      const message = await expectUnauthorized(await download(noQuery, `filepath=a.txt&token=${token}`, null), token);
      expect(message).to.match(/Authorization/);
      await expectOk(await download(noQuery, 'filepath=a.txt', token));
    });

    it('refuses a token sent both in the header and in the query (RFC 6750 §2: one method)', async () => {
      const token = await hsToken();
      await expectUnauthorized(await download(hs, `filepath=a.txt&token=${token}`, token), token);
    });

    it('refuses the token parameter given twice', async () => {
      const token = await hsToken();
      await expectUnauthorized(await download(hs, `filepath=a.txt&token=${token}&token=${token}`, null), token);
    });

    it('refuses a request with no token, with a Bearer challenge that has an error attribute', async () => {
      const response = await download(hs, 'filepath=a.txt', null);
      expect(response.headers.get('www-authenticate')).to.match(/^Bearer realm="filegate", error="[a-z_]+"/);
      await expectUnauthorized(response);
    });

    it('accepts the Bearer scheme in any case (RFC 9110 §11.1: auth schemes are case-insensitive)', async () => {
      await expectOk(await download(hs, 'filepath=a.txt', null, { Authorization: `bearer ${await hsToken()}` }));
    });

    it('refuses "Authorization: Basic ..."', async () => {
      const basic = Buffer.from('user:password').toString('base64');
      await expectUnauthorized(await download(hs, 'filepath=a.txt', null, { Authorization: `Basic ${basic}` }), basic);
    });

    it('refuses "Authorization: Bearer" with no token after it', async () => {
      await expectUnauthorized(await download(hs, 'filepath=a.txt', null, { Authorization: 'Bearer ' }));
    });
  });

  describe('verification', () => {
    interface Case {
      name: string;
      server: () => TestServer;
      token: () => Promise<string> | string;
      /** 200, or the 401 message pattern. */
      expect: 200 | RegExp;
    }
    const hour = 3600;
    const cases: Case[] = [
      // time claims
      { name: 'an expired token (exp an hour ago, beyond the 30 s tolerance)', server: () => hs, token: () => hsToken({ exp: nowSeconds() - hour }), expect: /expired/ },
      { name: 'a token expired 10 s ago, within the 30 s clock tolerance', server: () => hs, token: () => hsToken({ exp: nowSeconds() - 10 }), expect: 200 },
      { name: 'a token whose nbf is an hour in the future', server: () => hs, token: () => hsToken({ nbf: nowSeconds() + hour }), expect: /not valid yet|nbf/ },
      { name: 'a token whose nbf is 10 s in the future, within the tolerance', server: () => hs, token: () => hsToken({ nbf: nowSeconds() + 10 }), expect: 200 },
      { name: 'a token with no exp', server: () => hs, token: () => hsToken({ exp: undefined }), expect: /exp/ },
      { name: 'a token with no exp when auth.requireExp is false', server: () => noExp, token: () => hsToken({ exp: undefined }), expect: 200 },
      { name: 'a token whose exp is not a number', server: () => hs, token: () => hsToken({ exp: 'tomorrow' as unknown as number }), expect: /exp/ },
      { name: 'a token whose sub is not a string', server: () => hs, token: () => hsToken({ sub: 42 as unknown as string }), expect: /sub/ },
      { name: 'an expired token even when auth.requireExp is false', server: () => noExp, token: () => hsToken({ exp: nowSeconds() - hour }), expect: /expired/ },
      // issuer and audience
      { name: 'a token from the wrong issuer', server: () => issAud, token: () => hsToken({ iss: 'https://evil.example', aud: 'filegate' }), expect: /issuer/ },
      { name: 'a token with no issuer where one is configured', server: () => issAud, token: () => hsToken({ aud: 'filegate' }), expect: /issuer|iss/ },
      { name: 'a token for the wrong audience', server: () => issAud, token: () => hsToken({ iss: 'https://issuer.example', aud: 'other-service' }), expect: /audience/ },
      { name: 'a token with no audience where one is configured', server: () => issAud, token: () => hsToken({ iss: 'https://issuer.example' }), expect: /audience|aud/ },
      { name: 'a token with the right issuer and audience', server: () => issAud, token: () => hsToken({ iss: 'https://issuer.example', aud: 'filegate' }), expect: 200 },
      { name: 'a token whose aud list includes the configured audience', server: () => issAud, token: () => hsToken({ iss: 'https://issuer.example', aud: ['other', 'filegate'] }), expect: 200 },
      // signatures, algorithms and keys
      { name: 'an unsigned token (alg: none)', server: () => hs, token: () => unsignedToken(), expect: /algorithm|none/ },
      { name: 'an unsigned token (alg: none) on a server that allows RS256 and HS256', server: () => rsAndHs, token: () => unsignedToken(), expect: /algorithm|none/ },
      { name: 'a token signed with another secret', server: () => hs, token: () => hsToken({}, { secret: 'another-secret-that-is-long-enough-for-hs256-xyz' }), expect: /signature/ },
      { name: 'a garbage token "abc"', server: () => hs, token: () => 'abc', expect: /malformed/ },
      { name: 'a token whose signature was cut off', server: () => hs, token: async () => (await hsToken()).replace(/\.[^.]+$/, '.'), expect: /signature|malformed/ },
      { name: 'a token whose payload was tampered with (scope widened)', server: () => hs, token: async () => tamper(await hsToken({ scope: 'files:list' }), { scope: 'files:read' }), expect: /signature/ },
      { name: 'an HS512 token where only HS256 is allowed', server: () => hs, token: () => hsToken({}, { alg: 'HS512' }), expect: /algorithm/ },
      { name: 'an RS256 token where only HS256 is allowed', server: () => hs, token: () => signWith(rsa.privateKey, 'RS256'), expect: /algorithm/ },
      { name: 'RS256 signed with the right private key', server: () => rsOnly, token: () => signWith(rsa.privateKey, 'RS256'), expect: 200 },
      { name: 'RS256 signed with another private key', server: () => rsOnly, token: () => signWith(attackerRsa.privateKey, 'RS256'), expect: /signature/ },
      { name: 'key confusion: HS256 with the RSA public key PEM as HMAC secret, only RS256 allowed', server: () => rsOnly, token: () => hsToken({}, { secret: rsa.publicPem }), expect: /algorithm/ },
      { name: 'key confusion: HS256 with the RSA public key PEM as HMAC secret, RS256 and HS256 allowed with a secret and a public key', server: () => rsAndHs, token: () => hsToken({}, { secret: rsa.publicPem }), expect: /signature/ },
      { name: 'an HS256 token with the configured secret on the RS256+HS256 server', server: () => rsAndHs, token: () => hsToken(), expect: 200 },
      { name: 'an RS256 token with the right key on the RS256+HS256 server', server: () => rsAndHs, token: () => signWith(rsa.privateKey, 'RS256'), expect: 200 },
      // headers that name their own key
      { name: 'a token carrying its own key in a jwk header', server: () => rsOnly, token: async () => signJwt(attackerRsa.privateKey, { alg: 'RS256', jwk: await exportJWK(attackerRsa.publicKey) }), expect: /"?jwk"?/ },
      { name: 'a token naming its key by a jku header', server: () => rsOnly, token: () => signJwt(attackerRsa.privateKey, { alg: 'RS256', kid: 'k', jku: 'http://127.0.0.1:9/jwks.json' }), expect: /"?jku"?/ },
      { name: 'a token naming its key by an x5u header', server: () => rsOnly, token: () => signJwt(attackerRsa.privateKey, { alg: 'RS256', x5u: 'http://127.0.0.1:9/cert.pem' }), expect: /"?x5u"?/ },
      { name: 'a jwk header even when the signature is by the configured key', server: () => rsOnly, token: async () => signJwt(rsa.privateKey, { alg: 'RS256', jwk: await exportJWK(rsa.publicKey) }), expect: /"?jwk"?/ },
      // size
      { name: 'a token over 8 KB (a padded claim)', server: () => hs, token: () => hsToken({ pad: 'x'.repeat(9000) }), expect: /8 ?KB|8192/ },
      // JWKS and PEM keys for ES256 and EdDSA
      { name: 'ES256 with a kid from the local JWKS file', server: () => jwks, token: () => signJwt(ec.privateKey, { alg: 'ES256', kid: 'ec-1' }), expect: 200 },
      { name: 'EdDSA with a kid from the local JWKS file', server: () => jwks, token: () => signJwt(ed.privateKey, { alg: 'EdDSA', kid: 'ed-1' }), expect: 200 },
      { name: 'ES256 signed by a key not in the JWKS, under a listed kid', server: () => jwks, token: () => signJwt(otherEc.privateKey, { alg: 'ES256', kid: 'ec-1' }), expect: /signature/ },
      { name: 'ES256 with a kid the JWKS does not hold', server: () => jwks, token: () => signJwt(ec.privateKey, { alg: 'ES256', kid: 'nope' }), expect: /key/ },
      { name: 'an HS256 token on a JWKS-only server', server: () => jwks, token: () => hsToken(), expect: /algorithm/ },
      { name: 'EdDSA with a PEM public key file', server: () => edPem, token: () => signJwt(ed.privateKey, { alg: 'EdDSA' }), expect: 200 },
      { name: 'RS256 on a server with an EdDSA PEM key', server: () => edPem, token: () => signWith(rsa.privateKey, 'RS256'), expect: /algorithm/ },
    ];

    for (const c of cases) {
      it(`${c.expect === 200 ? 'accepts' : 'refuses'} ${c.name}`, async () => {
        const token = await c.token();
        const response = await download(c.server(), 'filepath=a.txt', token);
        if (c.expect === 200) {
          await expectOk(response);
        } else {
          const message = await expectUnauthorized(response, token);
          expect(message).to.match(c.expect);
        }
      });
    }

    it('accepts the largest token of 8 KB and refuses one byte more', async () => {
      const { fits, over } = await tokenOfAtMost(8 * 1024);
      expect(Buffer.byteLength(fits)).to.be.at.most(8192);
      expect(Buffer.byteLength(over)).to.be.above(8192);
      await expectOk(await download(hs, 'filepath=a.txt', fits));
      expect(await expectUnauthorized(await download(hs, 'filepath=a.txt', over), over)).to.match(/8 ?KB/);
    });

    it('refuses an oversized token in the query parameter as well', async () => {
      const token = await hsToken({ pad: 'x'.repeat(9000) });
      expect(await expectUnauthorized(await download(hs, `filepath=a.txt&token=${token}`, null), token)).to.match(/8 ?KB/);
    });

    // Node refuses header values with control or non-Latin-1 characters; the
    // challenge is built from the message, which names the token's alg.
    const hostileAlgs: Array<[string, string]> = [
      ['a newline', 'HS256\n'],
      ['a C0 control character', 'x\u0001y'],
      ['U+2028', 'HS256\u2028'],
      ['characters outside Latin-1', 'ĀĀ'],
      ['a Latin-1 letter (not allowed in error_description)', 'HS256é'],
    ];
    for (const [name, alg] of hostileAlgs) {
      it(`regression: a token whose alg header holds ${name} gets a JSON 401 (not a 500) with an RFC 6750-safe Bearer challenge`, async () => {
        const token = forgeHeader({ alg, typ: 'JWT' }, { sub: 'tester', exp: nowSeconds() + 3600 });
        await expectUnauthorized(await download(hs, 'filepath=a.txt', token), token);
      });
    }
  });

  describe('claims', () => {
    it('refuses with 403 FORBIDDEN a token whose scope is only "files:list" (downloads need files:read)', async () => {
      const body = await expectError(await download(hs, 'filepath=a.txt', await hsToken({ scope: 'files:list' })), 403, 'FORBIDDEN');
      expect(body.error).to.include('files:read');
    });

    it('ignores unknown scopes beside files:read', async () => {
      await expectOk(await download(hs, 'filepath=a.txt', await hsToken({ scope: 'admin files:read other:thing' })));
    });

    it('gives a token with no scope claim the default scopes (files:read by default)', async () => {
      await expectOk(await download(hs, 'filepath=a.txt', await hsToken({ scope: undefined })));
    });

    it('gives a token with no scope claim only auth.defaultScopes (403 when they lack files:read)', async () => {
      await expectError(await download(listDefault, 'filepath=a.txt', await hsToken({ scope: undefined })), 403, 'FORBIDDEN');
      await expectOk(await download(listDefault, 'filepath=a.txt', await hsToken({ scope: 'files:read' })));
    });

    it('refuses a token whose scope claim is not a string (401)', async () => {
      const token = await hsToken({ scope: ['files:read'] as unknown as string });
      await expectUnauthorized(await download(hs, 'filepath=a.txt', token), token);
    });

    const pathCases: Array<{ claim: string; filepath: string; status: 200 | 403 }> = [
      { claim: 'users/42', filepath: 'users/42/a.txt', status: 200 },
      { claim: 'users/42', filepath: 'users/42/deep/a.txt', status: 200 },
      { claim: 'users/42', filepath: 'users/420/a.txt', status: 403 },
      { claim: 'users/42', filepath: 'users/4/a.txt', status: 403 },
      { claim: 'users/42', filepath: 'other.txt', status: 403 },
      { claim: 'users/42', filepath: 'a.txt', status: 403 },
      { claim: 'users/42', filepath: '/users/42/a.txt', status: 200 },
      { claim: '/users/42/', filepath: 'users/42/a.txt', status: 200 },
      { claim: '/users/42/', filepath: 'users/420/a.txt', status: 403 },
      { claim: 'users/42/', filepath: 'users/42/a.txt', status: 200 },
      { claim: 'users/4', filepath: 'users/42/a.txt', status: 403 },
      { claim: '/', filepath: 'other.txt', status: 200 },
    ];
    for (const c of pathCases) {
      it(`paths ${JSON.stringify([c.claim])}: ${c.filepath} → ${c.status}`, async () => {
        const response = await download(hs, `filepath=${encodeURIComponent(c.filepath)}`, await hsToken({ paths: [c.claim] }));
        if (c.status === 200) await expectOk(response);
        else await expectError(response, 403, 'FORBIDDEN');
      });
    }

    it('regression: a symlink inside a paths prefix cannot reach a file outside it (403 FORBIDDEN)', async () => {
      const response = await download(hs, 'filepath=users/42/to-43.txt', await hsToken({ paths: ['users/42'] }));
      const body = await expectError(response, 403, 'FORBIDDEN');
      expect(body.error).to.not.include('43/secret');
    });

    it('grants every listed prefix of a paths claim', async () => {
      const token = await hsToken({ paths: ['users/42', 'other.txt'] });
      await expectOk(await download(hs, 'filepath=other.txt', token));
      await expectOk(await download(hs, 'filepath=users/42/a.txt', token));
      await expectError(await download(hs, 'filepath=users/420/a.txt', token), 403, 'FORBIDDEN');
    });

    it('grants nothing with an empty paths claim', async () => {
      await expectError(await download(hs, 'filepath=a.txt', await hsToken({ paths: [] })), 403, 'FORBIDDEN');
    });

    const malformedPaths: Array<[string, unknown]> = [
      ['a number', 42],
      ['a string, not a list', 'users/42'],
      ['a list holding a number', [42]],
      ['a ".." segment', ['users/42/../..']],
      ['a leading ".."', ['../users']],
      ['a "." segment', ['users/./42']],
      ['a backslash', ['users\\42']],
      ['an empty segment', ['users//42']],
      ['a control character', ['users/42\n']],
    ];
    for (const [name, paths] of malformedPaths) {
      it(`refuses a paths claim with ${name} (401)`, async () => {
        const token = await hsToken({ paths });
        await expectUnauthorized(await download(hs, 'filepath=users/42/a.txt', token), token);
      });
    }

    it('fstypes ["media"]: the default layer is 403 FORBIDDEN, fstype=media is served', async () => {
      const token = await hsToken({ fstypes: ['media'] });
      await expectError(await download(hs, 'filepath=a.txt', token), 403, 'FORBIDDEN');
      await expectError(await download(hs, 'filepath=a.txt&fstype=OsFs', token), 403, 'FORBIDDEN');
      await expectOk(await download(hs, 'filepath=a.txt&fstype=media', token));
    });

    it('refuses an fstypes claim that is not a list of strings (401)', async () => {
      const token = await hsToken({ fstypes: 'media' });
      await expectUnauthorized(await download(hs, 'filepath=a.txt&fstype=media', token), token);
    });
  });

  describe('authentication comes before anything else', () => {
    const queries: Array<[string, string]> = [
      ['a traversal filepath "../x"', 'filepath=..%2Fx'],
      ['an unknown fstype', 'filepath=a.txt&fstype=nope'],
      ['no filepath at all', ''],
      ['a file that does not exist', 'filepath=missing.txt'],
      ['an empty path segment', 'filepath=a%2F%2Fb'],
      ['a repeated filepath', 'filepath=a.txt&filepath=b.txt'],
      ['a query that is not valid UTF-8', 'filepath=%ff'],
    ];
    for (const [name, query] of queries) {
      it(`answers 401, not 400/403/404, to an anonymous request with ${name}`, async () => {
        await expectUnauthorized(await download(hs, query, null));
      });
      it(`answers 401 to a request with a bad token and ${name}`, async () => {
        await expectUnauthorized(await download(hs, query, 'abc'), 'abc');
      });
    }
  });
});

/** A token with the payload replaced and the original signature kept. */
function tamper(token: string, claims: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...decoded, ...claims })).toString('base64url');
  return `${header}.${forged}.${signature}`;
}

/** A token with an arbitrary (possibly invalid) header and a dummy signature, written by hand. */
function forgeHeader(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode(header)}.${encode(claims)}.${Buffer.from('not-a-signature').toString('base64url')}`;
}
