import { eq } from 'drizzle-orm';
import type { ApixExecutor } from '../storage/database.js';
import { apiKeys, auditLog, channels, connections, events, memberships, organizations, refreshTokens } from '../storage/schema.js';

/**
 * Every table that can hold something of an organisation, by name. An organisation id with a
 * row in any of them is in use, even when it has no `organizations` row: tokens of another
 * issuer (dev tokens, an external JWKS issuer) name organisations APIX never created, and
 * their connections, channels, archived events and audit rows live under the same id.
 */
const ORGANIZATION_TABLES = [
  ['organizations', organizations, organizations.id],
  ['memberships', memberships, memberships.organizationId],
  ['api_keys', apiKeys, apiKeys.organizationId],
  ['refresh_tokens', refreshTokens, refreshTokens.organizationId],
  ['channels', channels, channels.organizationId],
  ['connections', connections, connections.organizationId],
  ['events', events, events.organizationId],
  ['audit_log', auditLog, auditLog.organizationId],
] as const;

/**
 * The first table holding a row of `organizationId`, or undefined when none does. One indexed
 * `LIMIT 1` probe per table, one at a time (inside a transaction they share one connection).
 */
export async function findOrganizationTrace(db: ApixExecutor, organizationId: string): Promise<string | undefined> {
  for (const [name, table, column] of ORGANIZATION_TABLES) {
    const rows = await (db as Pick<ApixExecutor, 'select'>).select({ column }).from(table).where(eq(column, organizationId)).limit(1);
    if (rows.length > 0) return name;
  }
  return undefined;
}
