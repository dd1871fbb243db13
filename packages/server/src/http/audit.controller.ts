import { auditQuerySchema, auditSummaryQuerySchema, complianceReportQuerySchema, logAuditEventBodySchema } from '@apix/protocol';
import { Body, Controller, Get, HttpCode, Inject, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { adminServicesFor, type AdminServices } from '../admin/admin-services.js';
import type { Principal } from '../identity/principal.js';
import type { ControlPlaneContext } from './control-plane-context.js';
import { CONTROL_PLANE } from './injection-tokens.js';
import { parseInput } from './parse-input.js';
import { CurrentPrincipal, PrincipalGuard } from './principal-guard.js';

/** The caller's organisation's audit trail (docs/admin-api.md#audit). */
@Controller('api/v1/audit')
@UseGuards(PrincipalGuard)
export class AuditController {
  readonly #admin: AdminServices;

  constructor(@Inject(CONTROL_PLANE) ctx: ControlPlaneContext) {
    this.#admin = adminServicesFor(ctx);
  }

  @Get('logs')
  logs(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.#admin.audit.logs(principal, parseInput(auditQuerySchema, query));
  }

  @Get('summary')
  summary(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.#admin.audit.summary(principal, parseInput(auditSummaryQuerySchema, query));
  }

  @Get('compliance-report')
  async complianceReport(@CurrentPrincipal() principal: Principal, @Query() query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const exported = await this.#admin.audit.complianceReport(principal, parseInput(complianceReportQuerySchema, query));
    if (exported.format === 'json') return exported.report;
    void reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${exported.filename}"`);
    return exported.csv;
  }

  /** Any member (or API key) records an application event; 202: it is written within about a second. */
  @Post('log-event')
  @HttpCode(202)
  logEvent(@CurrentPrincipal() principal: Principal, @Body() body: unknown) {
    return this.#admin.audit.logEvent(principal, parseInput(logAuditEventBodySchema, body));
  }
}
