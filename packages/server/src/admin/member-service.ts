import { randomUUID } from 'node:crypto';
import { ApiXError, ORGANIZATION_ADMIN_ROLE, type addMemberBodySchema, type pageQuerySchema, type updateMemberBodySchema } from '@apix/protocol';
import type { z } from 'zod';
import { AuditAction } from '../audit/audit-actions.js';
import { hashPassword } from '../identity/password-hasher.js';
import type { Principal } from '../identity/principal.js';
import type { OrganizationMember } from '../storage/membership-repository.js';
import { pageSize } from '../storage/pagination.js';
import type { Repositories } from '../storage/repositories.js';
import { assertAssignableRoles } from './admin-access.js';
import { inTransaction, requireOrganization, splitPage, withLookahead, type AdminDeps } from './admin-deps.js';
import { memberView, type MemberView, type Page } from './views.js';

type AddMemberBody = z.infer<typeof addMemberBodySchema>;
type UpdateMemberBody = z.infer<typeof updateMemberBodySchema>;
type PageQuery = z.infer<typeof pageQuerySchema>;

/**
 * Members of an organisation and their roles. Invariants:
 * - an organisation that has an admin keeps at least one (the last admin cannot be
 *   demoted or removed: 409), so it never becomes unmanageable without a platform admin;
 * - adding a member never changes an existing user's password or name (an admin of one
 *   organisation must not take over an account that others share);
 * - after every change, access on this node is re-checked before the call returns, so a
 *   removed member's open connections are closed and receive nothing published afterwards.
 */
export class MemberService {
  readonly #deps: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#deps = deps;
  }

  async list(principal: Principal, organizationId: string, query: PageQuery): Promise<Page<MemberView>> {
    const { ctx, access } = this.#deps;
    await access.requireOrganizationAdmin(principal, organizationId, 'member.list');
    await requireOrganization(ctx, organizationId);
    const limit = pageSize(query.limit);
    const read = await ctx.repositories.memberships.listMembers(organizationId, {
      limit: withLookahead(limit),
      ...(query.cursor !== undefined ? { afterUserId: query.cursor } : {}),
    });
    const { rows, nextCursor } = splitPage(read, limit, (m) => m.userId);
    return { items: rows.map(memberView), nextCursor };
  }

  async add(principal: Principal, organizationId: string, body: AddMemberBody): Promise<MemberView> {
    const { ctx, access, trail } = this.#deps;
    await access.requireOrganizationAdmin(principal, organizationId, 'member.add');
    await requireOrganization(ctx, organizationId);
    const roles = assertAssignableRoles(body.roles);
    const createsUser = body.password !== undefined;
    const existing = await ctx.repositories.users.findByEmail(body.email);
    if (createsUser && existing) throw new ApiXError('CONFLICT', 'a user with this email already exists; add them without a password');
    if (!createsUser && !existing) throw new ApiXError('NOT_FOUND', 'no user with this email; give a password to create one');
    if (existing && (await ctx.repositories.memberships.find(organizationId, existing.id))) throw new ApiXError('CONFLICT', 'this user is already a member');
    // scrypt takes tens of milliseconds: hash before the transaction, not while holding it.
    const passwordHash = body.password === undefined ? undefined : await hashPassword(body.password);
    const userId = existing?.id ?? randomUUID();
    const change = { action: AuditAction.ADMIN_MEMBER_ADDED, organizationId, target: userId, details: { email: body.email, roles, newUser: createsUser } };
    const member = await trail.change(principal, change, () =>
      inTransaction(ctx, async (repositories) => {
        if (passwordHash !== undefined) {
          // A concurrent registration of the same email fails here with a unique violation: 409.
          await repositories.users.create({ id: userId, email: body.email, passwordHash, displayName: body.name ?? null });
        } else if ((await repositories.users.findById(userId)) === undefined) {
          throw new ApiXError('NOT_FOUND', 'no user with this email');
        }
        if (await repositories.memberships.find(organizationId, userId)) throw new ApiXError('CONFLICT', 'this user is already a member');
        await repositories.memberships.put(organizationId, userId, roles);
        return requireMember(repositories, organizationId, userId);
      }),
    );
    await ctx.accessChanged({ kind: 'membership', organizationId, userId });
    return memberView(member);
  }

  async updateRoles(principal: Principal, organizationId: string, userId: string, body: UpdateMemberBody): Promise<MemberView> {
    const { ctx, access, trail } = this.#deps;
    await access.requireOrganizationAdmin(principal, organizationId, 'member.update');
    await requireOrganization(ctx, organizationId);
    const roles = assertAssignableRoles(body.roles);
    const before = await requireMember(ctx.repositories, organizationId, userId);
    const change = { action: AuditAction.ADMIN_MEMBER_UPDATED, organizationId, target: userId, details: { from: before.roles, to: roles } };
    const member = await trail.change(principal, change, () =>
      inTransaction(ctx, async (repositories) => {
        const current = await requireMember(repositories, organizationId, userId);
        await repositories.memberships.setRoles(organizationId, userId, roles);
        if (isAdmin(current.roles) && !isAdmin(roles)) await assertAnAdminRemains(repositories, organizationId);
        return requireMember(repositories, organizationId, userId);
      }),
    );
    await ctx.accessChanged({ kind: 'membership', organizationId, userId });
    return memberView(member);
  }

  async remove(principal: Principal, organizationId: string, userId: string): Promise<void> {
    const { ctx, access, trail } = this.#deps;
    await access.requireOrganizationAdmin(principal, organizationId, 'member.remove');
    await requireOrganization(ctx, organizationId);
    const before = await requireMember(ctx.repositories, organizationId, userId);
    const change = { action: AuditAction.ADMIN_MEMBER_REMOVED, organizationId, target: userId, details: { email: before.email, roles: before.roles } };
    await trail.change(principal, change, () =>
      inTransaction(ctx, async (repositories) => {
        const current = await requireMember(repositories, organizationId, userId);
        await repositories.memberships.remove(organizationId, userId);
        if (isAdmin(current.roles)) await assertAnAdminRemains(repositories, organizationId);
      }),
    );
    // Resolves only after this node's open connections of the organisation were re-checked.
    await ctx.accessChanged({ kind: 'membership', organizationId, userId });
  }
}

const isAdmin = (roles: readonly string[]) => roles.includes(ORGANIZATION_ADMIN_ROLE);

/** One member as an admin sees them; 404 when the user is not a member of this organisation. */
async function requireMember(repositories: Repositories, organizationId: string, userId: string): Promise<OrganizationMember> {
  // One query after the other: inside a transaction there is one connection to share.
  const membership = await repositories.memberships.find(organizationId, userId);
  const user = membership === undefined ? undefined : await repositories.users.findById(userId);
  if (!membership || !user) throw new ApiXError('NOT_FOUND', 'no such member');
  return {
    userId,
    email: user.email,
    displayName: user.displayName,
    roles: membership.roles,
    joinedAt: membership.createdAt,
    disabledAt: user.disabledAt,
  };
}

/** Throws CONFLICT (rolling the transaction back) when the organisation has no admin left. */
async function assertAnAdminRemains(repositories: Repositories, organizationId: string): Promise<void> {
  let afterUserId: string | undefined;
  for (;;) {
    const page = await repositories.memberships.listMembers(organizationId, { limit: 1000, ...(afterUserId !== undefined ? { afterUserId } : {}) });
    if (page.some((member) => isAdmin(member.roles))) return;
    if (page.length < 1000) break;
    afterUserId = page[page.length - 1]!.userId;
  }
  throw new ApiXError('CONFLICT', 'an organisation keeps at least one admin: promote another member first');
}
