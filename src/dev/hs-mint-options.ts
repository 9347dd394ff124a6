// What a token minted from the configured secret must carry for the service to accept it: used by `npm run token` and the development banner.

import type { MintOptions } from '../auth/mint-token.js';
import type { AuthConfig } from '../config/schema.js';

/**
 * The secret, the first accepted HS* algorithm, and the `iss` and `aud` the
 * service requires (the first of each list), so a minted token passes every
 * check of `auth`; null when the service verifies tokens with a public key
 * only, and no secret can mint one.
 */
export function hsMintOptions(auth: AuthConfig): Required<Pick<MintOptions, 'secret' | 'algorithm' | 'issuer' | 'audience'>> | null {
  const algorithm = auth.algorithms.find((alg): alg is 'HS256' | 'HS384' | 'HS512' => alg === 'HS256' || alg === 'HS384' || alg === 'HS512');
  if (auth.secret === null || algorithm === undefined) return null;
  return {
    secret: auth.secret,
    algorithm,
    issuer: typeof auth.issuer === 'string' ? auth.issuer : (auth.issuer?.[0] ?? null),
    audience: typeof auth.audience === 'string' ? auth.audience : (auth.audience?.[0] ?? null),
  };
}
