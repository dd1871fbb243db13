import { ApiXError, ORGANIZATION_ADMIN_ROLE, PLATFORM_ADMIN_ROLE } from '@apix/protocol';
import type { AccessDirectory } from '../identity/access-directory.js';
import type { Principal } from '../identity/principal.js';
import type { AdminAuditTrail } from './admin-audit-trail.js';

/** A principal's current standing in its own organisation. */
export interface Standing {
  /** Current roles (from the membership row for managed organisations; API keys have none). */
  readonly roles: readonly string[];
  /** May administer its own organisation. */
  readonly isAdmin: boolean;
}

/**
 * Who may administer what. Decided from the principal's CURRENT access
 * (`AccessDirectory.effectiveRoles`), never from token claims alone: a demoted admin or a
 * removed member loses power within the directory's cache TTL, however long their token
 * lives.
 *
 * - Organisation admin: current roles include `admin`.
 * - API key: scope `admin`, key not revoked.
 * - Platform admin: `platform-admin` in the token (granted only by operator-minted tokens;
 *   member roles can never hold it, see {@link assertAssignableRoles}) and access not revoked.
 *   Administers every organisation.
 *
 * An organisation other than the principal's own answers exactly like one that does not
 * exist (404), so ids cannot be probed. Every refusal is audited.
 */
export class AdminAccess {
  readonly #directory: AccessDirectory;
  readonly #trail: AdminAuditTrail;

  constructor(directory: AccessDirectory, trail: AdminAuditTrail) {
    this.#directory = directory;
    this.#trail = trail;
  }

  /** The principal's standing; FORBIDDEN when it has lost access to its organisation. */
  async standing(principal: Principal, operation: string): Promise<Standing> {
    const roles = await this.#directory.effectiveRoles(principal);
    if (roles === null) {
      this.#trail.denied(principal, operation, { reason: 'access revoked' });
      throw new ApiXError('FORBIDDEN', 'your access to this organisation was revoked');
    }
    return { roles, isAdmin: isAdministrator(principal, roles) };
  }

  /** For operations inside the principal's own organisation (channels, audit). */
  async requireAdmin(principal: Principal, operation: string): Promise<Standing> {
    const standing = await this.standing(principal, operation);
    if (!standing.isAdmin) this.#refuse(principal, operation, 'not an organisation admin');
    return standing;
  }

  /** For `/admin/organizations/:org/…`: an admin of that organisation, or a platform admin. */
  async requireOrganizationAdmin(principal: Principal, organizationId: string, operation: string): Promise<void> {
    const standing = await this.standing(principal, operation);
    if (isPlatformAdmin(principal)) return;
    if (organizationId !== principal.organizationId) {
      this.#trail.denied(principal, operation, { reason: 'another organisation', requestedOrganizationId: organizationId });
      throw notFoundOrganization();
    }
    if (!standing.isAdmin) this.#refuse(principal, operation, 'not an organisation admin');
  }

  async requirePlatformAdmin(principal: Principal, operation: string): Promise<void> {
    await this.standing(principal, operation);
    if (!isPlatformAdmin(principal)) this.#refuse(principal, operation, 'not a platform admin');
  }

  #refuse(principal: Principal, operation: string, reason: string): never {
    this.#trail.denied(principal, operation, { reason });
    throw new ApiXError('FORBIDDEN');
  }
}

/** Token claim only: membership rows can never hold this role. */
export function isPlatformAdmin(principal: Principal): boolean {
  return principal.kind === 'user' && principal.roles.includes(PLATFORM_ADMIN_ROLE);
}

function isAdministrator(principal: Principal, currentRoles: readonly string[]): boolean {
  if (principal.kind === 'api_key') return principal.scopes.includes('admin');
  return currentRoles.includes(ORGANIZATION_ADMIN_ROLE) || isPlatformAdmin(principal);
}

/** The same answer for an organisation that does not exist and one that is not yours. */
export function notFoundOrganization(): ApiXError {
  return new ApiXError('NOT_FOUND', 'organisation not found');
}

/**
 * Roles an admin may give a member. `platform-admin` is refused: it would reach the member's
 * next token through login and let an organisation admin administer every organisation.
 */
export function assertAssignableRoles(roles: readonly string[]): string[] {
  if (roles.includes(PLATFORM_ADMIN_ROLE)) {
    throw new ApiXError('FORBIDDEN', `the ${PLATFORM_ADMIN_ROLE} role is granted only by operator-minted tokens`);
  }
  return [...new Set(roles)];
}
