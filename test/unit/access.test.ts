// GET /api/access's view of a principal: its own grants, and the layers it may name (never the others).

import { expect } from 'chai';
import type { Principal } from '../../src/auth/principal.js';
import { accessResponseSchema, toAccessView } from '../../src/routes/access.js';

const LAYERS = ['OsFs', 'media', 'outputs'];

const principal = (claims: Partial<Principal>): Principal => ({ subject: 'alice', scopes: new Set(['files:list']), paths: null, fstypes: null, expiresAt: null, ...claims });

describe('toAccessView', () => {
  const cases: Array<[string, Partial<Principal>, Record<string, unknown>]> = [
    [
      'a token for everything: every layer, the default marked',
      { scopes: new Set(['files:sign', 'files:list', 'files:read', 'files:archive']), expiresAt: 1_800_000_000 },
      {
        subject: 'alice',
        scopes: ['files:read', 'files:list', 'files:archive', 'files:sign'],
        paths: null,
        expires_at: '2027-01-15T08:00:00.000Z',
        layers: [{ fstype: 'OsFs', default: true }, { fstype: 'media', default: false }, { fstype: 'outputs', default: false }],
      },
    ],
    [
      'a token limited by fstypes: only those layers, in the configured order, and the default only if among them',
      { fstypes: ['outputs', 'media'] },
      { subject: 'alice', scopes: ['files:list'], paths: null, expires_at: null, layers: [{ fstype: 'media', default: false }, { fstype: 'outputs', default: false }] },
    ],
    [
      'a token limited by paths: its prefixes as paths ("/" for the root)',
      { subject: null, paths: [['users', '42'], []] },
      { subject: null, scopes: ['files:list'], paths: ['users/42', '/'], expires_at: null, layers: [{ fstype: 'OsFs', default: true }, { fstype: 'media', default: false }, { fstype: 'outputs', default: false }] },
    ],
    [
      'a token naming a layer that does not exist: nothing of it',
      { fstypes: ['elsewhere'] },
      { subject: 'alice', scopes: ['files:list'], paths: null, expires_at: null, layers: [] },
    ],
  ];
  for (const [name, claims, expected] of cases) {
    it(name, () => {
      const view = toAccessView(principal(claims), LAYERS, 'OsFs');
      expect(view).to.deep.equal(expected);
      expect(accessResponseSchema.safeParse(view).success).to.equal(true);
    });
  }
});
