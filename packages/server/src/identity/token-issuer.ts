import { SignJWT } from 'jose';
import { SIGNING_ALGORITHM, type SigningKey } from './signing-key-store.js';

export interface TokenClaims {
  userId: string;
  organizationId: string;
  roles?: string[];
  /** Lifetime in seconds. */
  ttlSeconds: number;
}

export interface TokenIssuerOptions {
  issuer: string;
  audience: string;
}

/** Mints the RS256 access tokens the gateway verifies (dev tokens, the CLI, the auth API). */
export class TokenIssuer {
  readonly #key: SigningKey;
  readonly #options: TokenIssuerOptions;

  constructor(key: SigningKey, options: TokenIssuerOptions) {
    this.#key = key;
    this.#options = options;
  }

  async issue(claims: TokenClaims): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ org: claims.organizationId, roles: claims.roles ?? [] })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: this.#key.kid, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(this.#options.issuer)
      .setAudience(this.#options.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + claims.ttlSeconds)
      .sign(this.#key.privateKey);
  }
}
