// Table test for limitKeyOf: whom a limit counts a request against, by the principal it authenticated as.

import { expect } from 'chai';
import type { Context } from 'koa';
import type { Principal } from '../../src/auth/principal.js';
import { limitKeyOf } from '../../src/http/limits.js';

const base: Principal = { subject: null, scopes: new Set(['files:read']), paths: null, fstypes: null };

/** The parts of a request context limitKeyOf reads. */
function contextOf(principal: Principal, ip: string): Context {
  return { state: { principal }, ip } as unknown as Context;
}

describe('limitKeyOf', () => {
  const cases: Array<[string, Principal, string, string]> = [
    ['a token with sub', { ...base, subject: 'alice' }, '10.0.0.1', 'subject alice'],
    ['the same sub from another address', { ...base, subject: 'alice' }, '10.0.0.2', 'subject alice'],
    ['a token without sub', base, '10.0.0.1', 'address 10.0.0.1'],
    ['a token without sub from another address', base, '10.0.0.2', 'address 10.0.0.2'],
    ['a signed download link (no sub)', { ...base, link: 'k1.sigA' }, '10.0.0.1', 'link k1.sigA'],
    ['another link from the same address', { ...base, link: 'k1.sigB' }, '10.0.0.1', 'link k1.sigB'],
    ['the same link from another address', { ...base, link: 'k1.sigA' }, '10.0.0.2', 'link k1.sigA'],
    ['a package link, which names its owner as sub', { ...base, subject: 'alice', link: 'k1.sigC' }, '10.0.0.1', 'link k1.sigC'],
  ];
  for (const [what, principal, ip, key] of cases) {
    it(`${what} → ${key}`, () => expect(limitKeyOf(contextOf(principal, ip))).to.equal(key));
  }

  it('never gives a subject and a link, or an address, the same key', () => {
    const keys = [
      limitKeyOf(contextOf({ ...base, subject: 'k1.sig' }, '1.2.3.4')),
      limitKeyOf(contextOf({ ...base, link: 'k1.sig' }, '1.2.3.4')),
      limitKeyOf(contextOf(base, 'k1.sig')),
    ];
    expect(new Set(keys).size).to.equal(3);
  });
});
