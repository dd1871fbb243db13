import type { ControlPlaneContext } from '../http/control-plane-context.js';
import { MAX_PAGE_SIZE } from '../storage/pagination.js';
import { createRepositories, type Repositories } from '../storage/repositories.js';
import type { OrganizationRow } from '../storage/schema.js';
import { notFoundOrganization, type AdminAccess } from './admin-access.js';
import type { AdminAuditTrail } from './admin-audit-trail.js';

/** What every admin service works with. */
export interface AdminDeps {
  readonly ctx: ControlPlaneContext;
  readonly access: AdminAccess;
  readonly trail: AdminAuditTrail;
}

/** The organisation's row; 404 (the same as for another tenant's organisation) when there is none. */
export async function requireOrganization(ctx: ControlPlaneContext, organizationId: string): Promise<OrganizationRow> {
  const row = await ctx.repositories.organizations.findById(organizationId);
  if (row === undefined) throw notFoundOrganization();
  return row;
}

/**
 * How many rows to ask a repository for: one more than the page, which tells whether
 * another page follows. Repositories cap a read at MAX_PAGE_SIZE; at that page size a full
 * page may be followed by an empty one.
 */
export function withLookahead(limit: number): number {
  return Math.min(limit + 1, MAX_PAGE_SIZE);
}

/** The page of `rows` (read with {@link withLookahead}) and the cursor of the next page, if any. */
export function splitPage<T>(rows: readonly T[], limit: number, keyOf: (row: T) => string): { rows: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const more = rows.length > limit || (rows.length === MAX_PAGE_SIZE && limit === MAX_PAGE_SIZE);
  return { rows: page, nextCursor: more && page.length > 0 ? keyOf(page[page.length - 1]!) : null };
}

/**
 * Runs `work` in one transaction with repositories bound to it, so a multi-row change is
 * all or nothing. Inside, use only the given repositories: PGlite has one connection, and a
 * query on the outer handle would wait for this very transaction.
 */
export function inTransaction<T>(ctx: ControlPlaneContext, work: (repositories: Repositories) => Promise<T>): Promise<T> {
  return ctx.database.db.transaction((tx) => work(createRepositories(tx)));
}
