// The verified-token cache: a token sent again is not verified again, within the window it is valid in, and never past it.

import { expect } from 'chai';
import { configSchema } from '../../src/config/schema.js';
import { createTokenVerifier, VerifiedTokens } from '../../src/auth/verify-token.js';
import type { Principal } from '../../src/auth/principal.js';
import { hsToken, nowSeconds } from '../helpers/tokens.js';
import { TEST_SECRET } from '../helpers/server.js';

const principal: Principal = { subject: 'alice', scopes: new Set(['files:read']), paths: null, fstypes: null };
const T = 1_800_000_000_000;

describe('VerifiedTokens', () => {
  const cases: Array<[string, { nbf?: number; exp?: number }, number, boolean]> = [
    ['just verified', { exp: T / 1000 + 3600 }, T, true],
    ['a minute later: verified again, whatever exp says', { exp: T / 1000 + 3600 }, T + 60_000, false],
    ['just before exp + tolerance', { exp: T / 1000 + 10 }, T + 10_000 + 29_999, true],
    ['at exp + tolerance', { exp: T / 1000 + 10 }, T + 10_000 + 30_000, false],
    ['without exp, within the minute', {}, T + 59_999, true],
    // The clock stepped back: never earlier than nbf allows.
    ['a clock stepped back before nbf - tolerance', { nbf: T / 1000 + 20 }, T + 20_000 - 30_001, false],
    ['a clock stepped back to nbf - tolerance', { nbf: T / 1000 + 20 }, T + 20_000 - 30_000, true],
  ];
  for (const [what, claims, at, kept] of cases) {
    it(`${what}: ${kept ? 'remembered' : 'verified again'}`, () => {
      const tokens = new VerifiedTokens(30_000);
      tokens.add('t', claims, principal, T);
      expect(tokens.get('t', at)).to.equal(kept ? principal : undefined);
    });
  }

  it('remembers tokens by their exact text only', () => {
    const tokens = new VerifiedTokens(0);
    tokens.add('abc', { exp: T / 1000 + 60 }, principal, T);
    expect(tokens.get('abc ', T)).to.equal(undefined);
    expect(tokens.get('ab', T)).to.equal(undefined);
  });

  it('forgets the oldest beyond 4,096 tokens, and never keeps one over 2 KB', () => {
    const tokens = new VerifiedTokens(0);
    for (let index = 0; index <= 4096; index += 1) tokens.add(`t${index}`, { exp: T / 1000 + 60 }, principal, T);
    expect(tokens.get('t0', T)).to.equal(undefined);
    expect(tokens.get('t1', T)).to.equal(principal);
    expect(tokens.get('t4096', T)).to.equal(principal);
    const long = 'x'.repeat(2049);
    tokens.add(long, { exp: T / 1000 + 60 }, principal, T);
    expect(tokens.get(long, T)).to.equal(undefined);
  });
});

describe('createTokenVerifier with remembered tokens', () => {
  it('answers a token sent again from memory (the same principal), and still refuses others', async () => {
    const verify = await createTokenVerifier(configSchema.parse({ layers: { OsFs: { root: '.' } }, auth: { secret: TEST_SECRET } }).auth);
    const token = await hsToken({ sub: 'alice', exp: nowSeconds() + 600 });
    const first = await verify(token);
    expect(await verify(token)).to.equal(first);
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    let refused = '';
    await verify(forged).catch((error: Error) => {
      refused = error.message;
    });
    expect(refused).to.match(/signature|malformed/);
    const expired = await hsToken({ sub: 'alice', exp: nowSeconds() - 3600 });
    await verify(expired).then(() => expect.fail('an expired token was accepted'), (error: Error) => expect(error.message).to.match(/expired/));
  });
});

describe('createTokenVerifier with auth.rememberTokens off', () => {
  it('verifies the same token from scratch each time (a new principal per call)', async () => {
    const verify = await createTokenVerifier(configSchema.parse({ layers: { OsFs: { root: '.' } }, auth: { secret: TEST_SECRET, rememberTokens: false } }).auth);
    const token = await hsToken({ sub: 'alice', exp: nowSeconds() + 600 });
    const first = await verify(token);
    const second = await verify(token);
    expect(second).to.deep.equal(first);
    expect(second).to.not.equal(first);
  });
});
