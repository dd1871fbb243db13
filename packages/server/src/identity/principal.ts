import type { ApiKeyScope, OrganizationId, UserId } from '@apix/protocol';

/**
 * Who is acting, as established from a verified credential only. Never built from anything
 * a client says in a frame or URL.
 *
 * - `user`: a person or app user, from an RS256 access token (APIX-issued or a trusted
 *   external issuer). `roles` are the organisation roles.
 * - `api_key`: a server-to-server credential; `scopes` say what it may do. Its `userId` is
 *   `key_<id>` so audit rows and idempotency keys name it.
 */
export interface Principal {
  readonly kind: 'user' | 'api_key';
  readonly userId: UserId;
  readonly organizationId: OrganizationId;
  readonly roles: readonly string[];
  /** API keys only: what the key may do. */
  readonly scopes: readonly ApiKeyScope[];
  /** Credential expiry, ms since epoch (API keys: never; revocation is checked instead). */
  readonly expiresAt: number;
  /** The API key id, for revocation checks. */
  readonly credentialId?: string;
}

export function hasRole(principal: Principal, ...roles: string[]): boolean {
  return principal.roles.some((r) => roles.includes(r));
}

export function userPrincipal(fields: { userId: UserId; organizationId: OrganizationId; roles: readonly string[]; expiresAt: number }): Principal {
  return { kind: 'user', scopes: [], ...fields };
}
