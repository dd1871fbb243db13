import { ApiXError } from '@apix/protocol';
import { AuditAction } from '../audit/audit-actions.js';
import { AuditUnavailableError, type AuditLogger } from '../audit/audit-logger.js';
import { actorOf } from '../audit/audit-recorder.js';
import type { Principal } from '../identity/principal.js';
import type { Logger } from '../logging/logger.js';
import { AuditOutcome } from '../storage/schema.js';
import { asApiError } from './admin-errors.js';

/** What an admin change is about. `organizationId` is the organisation changed (defaults to the actor's). */
export interface AdminChange {
  readonly action: string;
  readonly organizationId?: string;
  readonly target?: string | null;
  readonly channel?: string | null;
  readonly details?: Record<string, unknown>;
}

/**
 * Audits admin actions, failing closed:
 *
 * 1. The row is recorded BEFORE the change. If the audit trail cannot keep it (storage down
 *    long enough to fill the spool), `record` throws and the caller answers 503 having
 *    changed nothing: no admin change ever happens unaudited.
 * 2. If the change then fails, a second row with outcome `failure` and the error code
 *    follows, so the pair reads "attempted, did not happen".
 *
 * Rows go to the organisation that was changed (so its admins see them); when a platform
 * admin acts on another organisation, `details.actorOrganizationId` names the actor's own.
 */
export class AdminAuditTrail {
  readonly #audit: AuditLogger;
  readonly #logger: Logger;

  constructor(audit: AuditLogger, logger: Logger) {
    this.#audit = audit;
    this.#logger = logger;
  }

  async change<T>(principal: Principal, change: AdminChange, apply: () => Promise<T>): Promise<T> {
    this.#recordOrRefuse(principal, change, AuditOutcome.SUCCESS);
    try {
      return await apply();
    } catch (error) {
      const apiError = asApiError(error);
      const code = apiError instanceof ApiXError ? apiError.code : 'APIX_ERR_INTERNAL';
      this.#recordBestEffort(principal, { ...change, details: { ...change.details, error: code } }, AuditOutcome.FAILURE);
      throw apiError;
    }
  }

  /** Records an attempt that was refused. The refusal stands whether or not the row could be kept. */
  denied(principal: Principal, operation: string, details: Record<string, unknown> = {}): void {
    this.#recordBestEffort(principal, { action: AuditAction.ADMIN_ACCESS_DENIED, details: { operation, ...details } }, AuditOutcome.DENIED);
  }

  /** Records a read that must be on the trail (e.g. an export); throws UNAVAILABLE when it cannot be. */
  recordAccess(principal: Principal, change: AdminChange): void {
    this.#recordOrRefuse(principal, change, AuditOutcome.SUCCESS);
  }

  #recordOrRefuse(principal: Principal, change: AdminChange, outcome: AuditOutcome): void {
    try {
      this.#audit.record(this.#entry(principal, change, outcome));
    } catch (error) {
      throw asApiError(error);
    }
  }

  #recordBestEffort(principal: Principal, change: AdminChange, outcome: AuditOutcome): void {
    try {
      this.#audit.record(this.#entry(principal, change, outcome));
    } catch (error) {
      if (!(error instanceof AuditUnavailableError)) throw error;
      // The action was refused or did not happen: nothing went through unrecorded.
      this.#logger.error({ action: change.action, outcome, organizationId: change.organizationId ?? principal.organizationId }, 'audit spool full: admin row not recorded');
    }
  }

  #entry(principal: Principal, change: AdminChange, outcome: AuditOutcome) {
    const actor = actorOf(principal);
    const organizationId = change.organizationId ?? principal.organizationId;
    const crossOrganization = organizationId !== principal.organizationId;
    return {
      ...actor,
      organizationId,
      action: change.action,
      target: change.target ?? null,
      channel: change.channel ?? null,
      outcome,
      details: { ...change.details, ...(crossOrganization ? { actorOrganizationId: principal.organizationId } : {}) },
    };
  }
}
