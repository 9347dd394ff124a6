// Table tests for hsMintOptions: a token minted by `npm run token` or the development banner carries the algorithm, iss and aud the service requires.

import { expect } from 'chai';
import { configSchema } from '../../src/config/schema.js';
import { hsMintOptions } from '../../src/dev/hs-mint-options.js';

const SECRET = 'a-secret-that-is-long-enough-for-hs256-0123';

describe('hsMintOptions', () => {
  // [what, auth settings, the options, or null]
  const cases: Array<[string, Record<string, unknown>, ReturnType<typeof hsMintOptions>]> = [
    ['the defaults: HS256, no iss, no aud', { secret: SECRET }, { secret: SECRET, algorithm: 'HS256', issuer: null, audience: null }],
    ['only HS512 accepted: HS512 (an HS256 token would be refused)', { secret: SECRET, algorithms: ['HS512'] }, { secret: SECRET, algorithm: 'HS512', issuer: null, audience: null }],
    ['the first HS* of the list', { secret: SECRET, algorithms: ['HS384', 'HS256'] }, { secret: SECRET, algorithm: 'HS384', issuer: null, audience: null }],
    ['a required issuer and audience', { secret: SECRET, issuer: 'https://issuer.example', audience: 'filegate' }, { secret: SECRET, algorithm: 'HS256', issuer: 'https://issuer.example', audience: 'filegate' }],
    ['lists of issuers and audiences: the first of each', { secret: SECRET, issuer: ['a', 'b'], audience: ['c', 'd'] }, { secret: SECRET, algorithm: 'HS256', issuer: 'a', audience: 'c' }],
    ['a public key only: no secret to mint with', { publicKeyFile: '/keys/public.pem', algorithms: ['RS256'] }, null],
  ];
  for (const [what, auth, expected] of cases) {
    it(what, () => {
      const config = configSchema.parse({ layers: { OsFs: { root: '/srv' } }, auth });
      expect(hsMintOptions(config.auth)).to.deep.equal(expected);
    });
  }
});
