import type { OrganizationId, UserId } from '@apix/protocol';

/**
 * Who is acting, as established from a verified credential only. Never built from anything
 * a client says in a frame or URL.
 */
export interface Principal {
  readonly userId: UserId;
  readonly organizationId: OrganizationId;
  readonly roles: readonly string[];
  /** Credential expiry, ms since epoch. */
  readonly expiresAt: number;
}

export function hasRole(principal: Principal, ...roles: string[]): boolean {
  return principal.roles.some((r) => roles.includes(r));
}
