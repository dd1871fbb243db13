import { PLATFORM_ADMIN_ROLE } from '@apix/protocol';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { Principal } from './principal.js';
import { TokenVerifier, type CredentialVerifier, type TokenVerifierOptions } from './token-verifier.js';

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
 *
 * An external issuer is trusted for its own users and organisations, never for the
 * installation: `platform-admin` (operator of every organisation) is stripped from its roles.
 */
export function externalJwksVerifier(options: ExternalJwksOptions): CredentialVerifier {
  const keySet: JWTVerifyGetKey = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: options.cooldownMs,
    cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    timeoutDuration: 5_000,
  });
  const verifier = new TokenVerifier(keySet, options);
  return {
    verify: async (token: string): Promise<Principal> => {
      const principal = await verifier.verify(token);
      return { ...principal, roles: principal.roles.filter((role) => role !== PLATFORM_ADMIN_ROLE) };
    },
  };
}
