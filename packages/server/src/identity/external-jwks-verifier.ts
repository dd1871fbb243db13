import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { TokenVerifier, type TokenVerifierOptions } from './token-verifier.js';

export interface ExternalJwksOptions extends TokenVerifierOptions {
  readonly jwksUrl: string;
  /** An unknown `kid` causes at most one fetch per this period. */
  readonly cooldownMs: number;
  /** Keys are refetched at least this often even when every `kid` is known. */
  readonly cacheMaxAgeMs?: number;
}

/**
 * Trusts an external issuer (an application with its own login): its tokens are checked
 * against the keys at its JWKS URL, with the same pinned RS256, required `exp`, issuer and
 * audience checks as APIX's own. jose caches the key set and rate-limits refetches.
 */
export function externalJwksVerifier(options: ExternalJwksOptions): TokenVerifier {
  const keySet: JWTVerifyGetKey = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: options.cooldownMs,
    cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    timeoutDuration: 5_000,
  });
  return new TokenVerifier(keySet, options);
}
