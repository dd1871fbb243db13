import { errors as joseErrors, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ApiXError, organizationIdSchema, userIdSchema } from '@apix/protocol';
import { z } from 'zod';
import { userPrincipal, type Principal } from './principal.js';
import { SIGNING_ALGORITHM } from './signing-key-store.js';

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
}

/** Anything that checks a credential and says who it belongs to. */
export interface CredentialVerifier {
  verify(token: string): Promise<Principal>;
}

const claimsSchema = z.object({
  sub: userIdSchema,
  org: organizationIdSchema,
  roles: z.array(z.string().min(1).max(64)).max(32).default([]),
  exp: z.number(),
});

/** The APIX claims (`sub`, `org`, `roles`, `exp`) of a payload whose signature and registered claims were checked. */
export function principalFromClaims(payload: unknown): Principal {
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) throw new ApiXError('AUTH_FAILED', 'the token lacks valid sub, org or roles claims');
  return userPrincipal({
    userId: claims.data.sub,
    organizationId: claims.data.org,
    roles: claims.data.roles,
    expiresAt: claims.data.exp * 1000,
  });
}
/**
 * Verifies access tokens with jose: RS256 only (so `alg: none` and an HS256 token "signed" with
 * the public key are refused), `exp` required, issuer and audience checked, small clock
 * tolerance. The organisation and user come from here and nowhere else.
 *
 * In the server this checks an external issuer's tokens (its key set, with rotation), always
 * afresh: the key set may drop a key. APIX's own tokens go through LocalTokenVerifier (node
 * crypto, and a cache of verified tokens); this one is its reference in the differential test.
 */
export class TokenVerifier implements CredentialVerifier {
  readonly #key: CryptoKey | JWTVerifyGetKey;
  readonly #options: TokenVerifierOptions;

  /** `publicKey`: APIX's own key, or a key-set resolver (an external issuer's JWKS). */
  constructor(publicKey: CryptoKey | JWTVerifyGetKey, options: TokenVerifierOptions) {
    this.#key = publicKey;
    this.#options = options;
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: [SIGNING_ALGORITHM],
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.#options.clockToleranceSeconds,
      };
      // Two call shapes of jwtVerify: a key, or a function resolving the key from the header.
      ({ payload } = typeof this.#key === 'function' ? await jwtVerify(token, this.#key, options) : await jwtVerify(token, this.#key, options));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new ApiXError('TOKEN_EXPIRED');
      // One answer for every other failure: the caller learns nothing about which check failed.
      throw new ApiXError('AUTH_FAILED');
    }
    return principalFromClaims(payload);
  }
}
