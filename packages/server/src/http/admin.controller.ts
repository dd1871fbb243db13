import {
  addMemberBodySchema,
  createApiKeyBodySchema,
  createOrganizationBodySchema,
  pageQuerySchema,
  updateMemberBodySchema,
  updateOrganizationBodySchema,
} from '@apix/protocol';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { adminServicesFor, type AdminServices } from '../admin/admin-services.js';
import type { Principal } from '../identity/principal.js';
import { apiKeyIdParam, organizationIdParam, userIdParam } from '../admin/path-params.js';
import type { ControlPlaneContext } from './control-plane-context.js';
import { CONTROL_PLANE } from './injection-tokens.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

/**
 * Administration of organisations, members and API keys (docs/admin-api.md). Who may do
 * what is decided by the services (admin/admin-access.ts); this controller parses and calls.
 */
@Controller('api/v1/admin/organizations')
@UseGuards(PrincipalGuard)
export class AdminController {
  readonly #admin: AdminServices;

  constructor(@Inject(CONTROL_PLANE) ctx: ControlPlaneContext) {
    this.#admin = adminServicesFor(ctx);
  }

  @Post()
  @HttpCode(201)
  createOrganization(@CurrentPrincipal() principal: Principal, @Body() body: unknown) {
    return this.#admin.organizations.create(principal, parseInput(createOrganizationBodySchema, body));
  }

  @Get(':org')
  getOrganization(@CurrentPrincipal() principal: Principal, @Param('org') org: string) {
    return this.#admin.organizations.get(principal, organizationIdParam(org));
  }

  @Patch(':org')
  updateOrganization(@CurrentPrincipal() principal: Principal, @Param('org') org: string, @Body() body: unknown) {
    return this.#admin.organizations.rename(principal, organizationIdParam(org), parseInput(updateOrganizationBodySchema, body));
  }

  @Get(':org/members')
  listMembers(@CurrentPrincipal() principal: Principal, @Param('org') org: string, @Query() query: unknown) {
    return this.#admin.members.list(principal, organizationIdParam(org), parseInput(pageQuerySchema, query));
  }

  @Post(':org/members')
  @HttpCode(201)
  addMember(@CurrentPrincipal() principal: Principal, @Param('org') org: string, @Body() body: unknown) {
    return this.#admin.members.add(principal, organizationIdParam(org), parseInput(addMemberBodySchema, body));
  }

  @Patch(':org/members/:userId')
  updateMember(@CurrentPrincipal() principal: Principal, @Param('org') org: string, @Param('userId') userId: string, @Body() body: unknown) {
    return this.#admin.members.updateRoles(principal, organizationIdParam(org), userIdParam(userId), parseInput(updateMemberBodySchema, body));
  }

  @Delete(':org/members/:userId')
  @HttpCode(204)
  async removeMember(@CurrentPrincipal() principal: Principal, @Param('org') org: string, @Param('userId') userId: string): Promise<void> {
    await this.#admin.members.remove(principal, organizationIdParam(org), userIdParam(userId));
  }

  @Get(':org/api-keys')
  listApiKeys(@CurrentPrincipal() principal: Principal, @Param('org') org: string) {
    return this.#admin.apiKeys.list(principal, organizationIdParam(org));
  }

  @Post(':org/api-keys')
  @HttpCode(201)
  createApiKey(@CurrentPrincipal() principal: Principal, @Param('org') org: string, @Body() body: unknown) {
    return this.#admin.apiKeys.create(principal, organizationIdParam(org), parseInput(createApiKeyBodySchema, body));
  }

  @Delete(':org/api-keys/:keyId')
  @HttpCode(204)
  async revokeApiKey(@CurrentPrincipal() principal: Principal, @Param('org') org: string, @Param('keyId') keyId: string): Promise<void> {
    await this.#admin.apiKeys.revoke(principal, organizationIdParam(org), apiKeyIdParam(keyId));
  }
}
