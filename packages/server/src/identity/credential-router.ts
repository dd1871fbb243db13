import { ApiXError } from '@apix/protocol';
import { decodeJwt } from 'jose';
import { looksLikeApiKey } from './api-key-secret.js';
import type { Principal } from './principal.js';
import type { CredentialVerifier } from './token-verifier.js';

export interface CredentialRoutes {
  /** Tokens APIX issued itself (iss = JWT_ISSUER). */
  readonly local: CredentialVerifier;
  readonly localIssuer: string;
  /** An external issuer's tokens, when configured. */
  readonly external?: { readonly issuer: string; readonly verifier: CredentialVerifier };
  readonly apiKeys?: CredentialVerifier;
}

/**
 * One entry point for every credential: API keys by their prefix, JWTs by their (unverified)
 * `iss` claim. The claim only chooses which verifier runs; the chosen verifier checks the
 * signature and every claim, so a token lying about its issuer just fails verification.
 */
export class CredentialRouter implements CredentialVerifier {
  readonly #routes: CredentialRoutes;

  constructor(routes: CredentialRoutes) {
    this.#routes = routes;
  }

  async verify(credential: string): Promise<Principal> {
    if (looksLikeApiKey(credential)) {
      if (!this.#routes.apiKeys) throw new ApiXError('AUTH_FAILED');
      return this.#routes.apiKeys.verify(credential);
    }
    let issuer: unknown;
    try {
      issuer = decodeJwt(credential).iss;
    } catch {
      throw new ApiXError('AUTH_FAILED');
    }
    const external = this.#routes.external;
    if (external && issuer === external.issuer && issuer !== this.#routes.localIssuer) return external.verifier.verify(credential);
    return this.#routes.local.verify(credential);
  }
}
