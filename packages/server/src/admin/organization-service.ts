import { ApiXError, type createOrganizationBodySchema, type updateOrganizationBodySchema } from '@apix/protocol';
import type { z } from 'zod';
import { AuditAction } from '../audit/audit-actions.js';
import type { Principal } from '../identity/principal.js';
import { requireOrganization, type AdminDeps } from './admin-deps.js';
import { organizationView, type OrganizationView } from './views.js';

type CreateOrganizationBody = z.infer<typeof createOrganizationBodySchema>;
type UpdateOrganizationBody = z.infer<typeof updateOrganizationBodySchema>;

/** Organisations: created by platform admins, read and renamed by their own admins. */
export class OrganizationService {
  readonly #deps: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#deps = deps;
  }

  async create(principal: Principal, body: CreateOrganizationBody): Promise<OrganizationView> {
    const { ctx, access, trail } = this.#deps;
    await access.requirePlatformAdmin(principal, 'organization.create');
    const change = { action: AuditAction.ADMIN_ORGANIZATION_CREATED, organizationId: body.id, target: body.id, details: { name: body.name } };
    const row = await trail.change(principal, change, () => ctx.repositories.organizations.create(body));
    // Tokens naming this id were trusted on their claims until now; from here on the
    // organisation is managed and only membership rows grant access. Drop cached answers.
    await ctx.accessChanged({ kind: 'organization', organizationId: body.id });
    return organizationView(row);
  }

  async get(principal: Principal, organizationId: string): Promise<OrganizationView> {
    await this.#deps.access.requireOrganizationAdmin(principal, organizationId, 'organization.read');
    return organizationView(await requireOrganization(this.#deps.ctx, organizationId));
  }

  async rename(principal: Principal, organizationId: string, body: UpdateOrganizationBody): Promise<OrganizationView> {
    const { ctx, access, trail } = this.#deps;
    await access.requireOrganizationAdmin(principal, organizationId, 'organization.update');
    const before = await requireOrganization(ctx, organizationId);
    const change = { action: AuditAction.ADMIN_ORGANIZATION_UPDATED, organizationId, target: organizationId, details: { from: { name: before.name }, to: { name: body.name } } };
    const row = await trail.change(principal, change, async () => {
      const renamed = await ctx.repositories.organizations.rename(organizationId, body.name);
      if (renamed === undefined) throw new ApiXError('NOT_FOUND', 'organisation not found');
      return renamed;
    });
    await ctx.accessChanged({ kind: 'organization', organizationId });
    return organizationView(row);
  }
}
