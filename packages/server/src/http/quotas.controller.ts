import { ApiXError } from '@apix/protocol';
import { Body, Controller, Get, Inject, Param, Put, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { isPlatformAdmin } from '../admin/admin-access.js';
import { organizationIdParam } from '../admin/path-params.js';
import { AuditAction } from '../audit/audit-actions.js';
import type { Principal } from '../identity/principal.js';
import type { OrganizationQuotas } from '../limits/quotas.js';
import type { StoredQuotas } from '../limits/stored-quotas.js';
import { AuditActorType, AuditOutcome } from '../storage/schema.js';
import type { ControlPlaneContext } from './control-plane-context.js';
import { CONTROL_PLANE, QUOTAS } from './injection-tokens.js';
import { errorResponse, jsonBody } from './openapi-schema.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

const quota = z.number().int().positive().nullable().optional();

/** `PUT …/quotas`: every field optional; null or absent takes the server default. */
export const quotaOverridesBodySchema = z.strictObject({
  historyBytes: quota,
  channels: quota,
  connections: quota,
  subscriptions: quota,
  publishesPerSecond: quota,
  publishBytesPerSecond: quota,
});

interface QuotaView {
  readonly organizationId: string;
  /** What applies now: the overrides over the server defaults. */
  readonly effective: OrganizationQuotas;
  readonly overrides: Partial<OrganizationQuotas>;
  readonly defaults: OrganizationQuotas;
}

/**
 * Per-organisation quotas (docs/limits.md). Any credential of the organisation (and platform
 * admins) may read them; only platform admins set them — an organisation's own admin could
 * otherwise lift its own caps. A change applies on this node at once and reaches the other
 * nodes over the control bus (well within 5 s; a lost message is repaired by the resync).
 */
@Controller('api/v1/admin/organizations')
@UseGuards(PrincipalGuard)
export class QuotasController {
  constructor(
    @Inject(QUOTAS) private readonly quotas: StoredQuotas,
    @Inject(CONTROL_PLANE) private readonly ctx: ControlPlaneContext,
  ) {}

  @Get(':org/quotas')
  read(@CurrentPrincipal() principal: Principal, @Param('org') org: string): QuotaView {
    const organizationId = organizationIdParam(org);
    if (!isPlatformAdmin(principal) && principal.organizationId !== organizationId) throw new ApiXError('NOT_FOUND', 'organisation not found');
    return this.#view(organizationId);
  }

  @Put(':org/quotas')
  async update(@CurrentPrincipal() principal: Principal, @Param('org') org: string, @Body() body: unknown): Promise<QuotaView> {
    const organizationId = organizationIdParam(org);
    if (!isPlatformAdmin(principal)) throw new ApiXError('FORBIDDEN', 'only a platform admin sets quotas');
    const overrides = parseInput(quotaOverridesBodySchema, body);
    await this.quotas.set(organizationId, overrides);
    await this.ctx.quotasChanged(organizationId);
    this.ctx.audit.record({
      organizationId,
      actorType: AuditActorType.USER,
      actorId: principal.userId,
      action: AuditAction.ADMIN_QUOTAS_UPDATED,
      outcome: AuditOutcome.SUCCESS,
      details: { overrides },
    });
    return this.#view(organizationId);
  }

  #view(organizationId: string): QuotaView {
    return {
      organizationId,
      effective: this.quotas.quotasOf(organizationId),
      overrides: this.quotas.overridesOf(organizationId) as Partial<OrganizationQuotas>,
      defaults: this.quotas.defaults,
    };
  }
}

const organizationParam = { name: 'org', in: 'path', required: true, schema: { type: 'string' } };

const quotasResponse = {
  description: "The organisation's quotas: effective values, its overrides and the server defaults",
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['organizationId', 'effective', 'overrides', 'defaults'],
        properties: {
          organizationId: { type: 'string' },
          effective: { type: 'object', additionalProperties: { type: 'number' } },
          overrides: { type: 'object', additionalProperties: { type: 'number', nullable: true } },
          defaults: { type: 'object', additionalProperties: { type: 'number' } },
        },
      },
    },
  },
};

/** OpenAPI entries of the quota endpoints (merged into http/openapi-document.ts). */
export const quotasOpenApiPaths: Record<string, Record<string, unknown>> = {
  '/api/v1/admin/organizations/{org}/quotas': {
    get: {
      tags: ['admin'],
      summary: "An organisation's quotas: effective values, overrides and server defaults (docs/limits.md)",
      parameters: [organizationParam],
      responses: { 200: quotasResponse, 404: errorResponse('Unknown organisation, or not yours') },
    },
    put: {
      tags: ['admin'],
      summary: "Set an organisation's quota overrides (platform admins only); null or absent fields take the defaults",
      parameters: [organizationParam],
      requestBody: jsonBody(quotaOverridesBodySchema),
      responses: { 200: quotasResponse, 400: errorResponse('Bad body'), 403: errorResponse('Not a platform admin') },
    },
  },
};
