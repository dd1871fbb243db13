import {
  ApiXError,
  type auditQuerySchema,
  type auditSummaryQuerySchema,
  type complianceReportQuerySchema,
  type complianceReportSchema,
  type logAuditEventBodySchema,
} from '@apix/protocol';
import type { z } from 'zod';
import { AuditAction } from '../audit/audit-actions.js';
import { actorOf } from '../audit/audit-recorder.js';
import type { Principal } from '../identity/principal.js';
import type { AuditSummary } from '../storage/audit-repository.js';
import type { AdminDeps } from './admin-deps.js';
import { withApiErrors } from './admin-errors.js';
import { toComplianceCsv } from './compliance-csv.js';
import { auditEntryView, type AuditEntryView, type Page } from './views.js';

type AuditQuery = z.infer<typeof auditQuerySchema>;
type AuditSummaryQuery = z.infer<typeof auditSummaryQuerySchema>;
type ComplianceReportQuery = z.infer<typeof complianceReportQuerySchema>;
type ComplianceReport = z.infer<typeof complianceReportSchema>;
type LogAuditEventBody = z.infer<typeof logAuditEventBodySchema>;

/** Largest compliance report served in one response; a wider range must be split. */
export const MAX_COMPLIANCE_REPORT_ROWS = 100_000;
const REPORT_PAGE_ROWS = 1000;

/**
 * Action families the server writes itself (the first word of every `AuditAction`, plus
 * `admin.*`). Applications may not record actions in them, so a row in these families was
 * always written by APIX and can be trusted as such.
 */
const SERVER_ACTION_FAMILIES = new Set(['admin', ...Object.values(AuditAction).map(familyOf)]);

function familyOf(action: string): string {
  return action.split('.')[0]!;
}

export type ComplianceExport = { format: 'json'; report: ComplianceReport } | { format: 'csv'; csv: string; filename: string };

/** The organisation's audit trail: queries, summary, compliance export, and application events. */
export class AuditService {
  readonly #deps: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#deps = deps;
  }

  async logs(principal: Principal, query: AuditQuery): Promise<Page<AuditEntryView>> {
    await this.#deps.access.requireAdmin(principal, 'audit.read');
    const page = await withApiErrors(() =>
      this.#deps.ctx.repositories.audit.query(principal.organizationId, {
        ...(query.actorId !== undefined ? { actorId: query.actorId } : {}),
        ...(query.action !== undefined ? { action: query.action } : {}),
        ...(query.channel !== undefined ? { channel: query.channel } : {}),
        ...(query.from !== undefined ? { from: new Date(query.from) } : {}),
        ...(query.to !== undefined ? { to: new Date(query.to) } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      }),
    );
    return { items: page.rows.map(auditEntryView), nextCursor: page.nextCursor };
  }

  async summary(principal: Principal, query: AuditSummaryQuery): Promise<AuditSummary> {
    await this.#deps.access.requireAdmin(principal, 'audit.read');
    return this.#deps.ctx.repositories.audit.summarize(principal.organizationId, {
      ...(query.from !== undefined ? { from: new Date(query.from) } : {}),
      ...(query.to !== undefined ? { to: new Date(query.to) } : {}),
    });
  }

  /** Every row in [from, to), oldest first, with the summary of the same range. The export itself is audited. */
  async complianceReport(principal: Principal, query: ComplianceReportQuery): Promise<ComplianceExport> {
    const { ctx, access, trail } = this.#deps;
    await access.requireAdmin(principal, 'audit.export');
    const from = new Date(query.from);
    const to = new Date(query.to);
    if (from.getTime() >= to.getTime()) throw new ApiXError('INVALID_REQUEST', '`from` must be before `to`');
    const organizationId = principal.organizationId;
    const summary = await ctx.repositories.audit.summarize(organizationId, { from, to });
    if (summary.total > MAX_COMPLIANCE_REPORT_ROWS) {
      throw new ApiXError('INVALID_REQUEST', `the range holds ${summary.total} rows; a report holds at most ${MAX_COMPLIANCE_REPORT_ROWS}: split the range`);
    }
    trail.recordAccess(principal, { action: AuditAction.ADMIN_AUDIT_EXPORTED, details: { from: query.from, to: query.to, format: query.format, rows: summary.total } });
    const entries = await this.#rowsBetween(organizationId, from, to);
    if (query.format === 'csv') {
      return { format: 'csv', csv: toComplianceCsv(entries), filename: `apix-audit-${organizationId}-${from.toISOString()}-${to.toISOString()}.csv`.replaceAll(':', '') };
    }
    return {
      format: 'json',
      report: { organizationId, from: from.toISOString(), to: to.toISOString(), generatedAt: new Date().toISOString(), summary, entries },
    };
  }

  /**
   * Records an application's own event in its organisation's trail. The actor is the
   * credential, never a field of the body; the server's own action families are refused.
   */
  async logEvent(principal: Principal, body: LogAuditEventBody): Promise<{ status: 'queued' }> {
    await this.#deps.access.standing(principal, 'audit.log_event');
    if (SERVER_ACTION_FAMILIES.has(familyOf(body.action))) {
      throw new ApiXError('INVALID_REQUEST', `actions of the ${familyOf(body.action)}.* family are written by APIX only`);
    }
    const recorded = await withApiErrors(async () =>
      this.#deps.ctx.audit.record({
        ...actorOf(principal),
        action: body.action,
        channel: body.channel ?? null,
        target: body.target ?? null,
        outcome: body.outcome,
        details: { ...body.details, source: 'application' },
      }),
    );
    if (recorded === 'dropped') throw new ApiXError('UNAVAILABLE', 'the audit trail is saturated; retry later');
    return { status: 'queued' };
  }

  async #rowsBetween(organizationId: string, from: Date, to: Date): Promise<AuditEntryView[]> {
    const entries: AuditEntryView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#deps.ctx.repositories.audit.query(organizationId, {
        from,
        to,
        order: 'oldest',
        limit: REPORT_PAGE_ROWS,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      for (const row of page.rows) entries.push(auditEntryView(row));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && entries.length < MAX_COMPLIANCE_REPORT_ROWS);
    return entries;
  }
}
