import { and, asc, desc, eq, gt, gte, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { ApixDatabase } from './database.js';
import { pageSize } from './pagination.js';
import { AuditOutcome, auditLog, type AuditActorType, type AuditLogRow } from './schema.js';

/** One audit row to write. `createdAt` is when the action happened, not when it is written. */
export interface AuditRowInput {
  readonly organizationId: string | null;
  readonly actorType: AuditActorType;
  readonly actorId: string | null;
  readonly action: string;
  readonly channel: string | null;
  readonly target: string | null;
  readonly outcome: AuditOutcome;
  readonly details: Record<string, unknown>;
  readonly createdAt: Date;
}

export interface AuditQuery {
  readonly actorType?: AuditActorType;
  readonly actorId?: string;
  /** Exact action, e.g. `auth.failure`. */
  readonly action?: string;
  /** Action family, e.g. `admin.` matches `admin.api_key.created`. */
  readonly actionPrefix?: string;
  readonly channel?: string;
  readonly outcome?: AuditOutcome;
  /** Rows whose action happened at or after `from`, and before `to`. */
  readonly from?: Date;
  readonly to?: Date;
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** `newest` (default) first, or `oldest` first (compliance export). */
  readonly order?: 'newest' | 'oldest';
}

export interface AuditPage {
  readonly rows: AuditLogRow[];
  /** Pass as `cursor` for the next page; null when this page is the last. */
  readonly nextCursor: string | null;
}

export interface AuditSummary {
  readonly total: number;
  readonly byAction: Record<string, number>;
  readonly byOutcome: Record<AuditOutcome, number>;
  readonly byActionAndOutcome: Array<{ action: string; outcome: AuditOutcome; count: number }>;
}

export class InvalidAuditCursorError extends Error {
  override name = 'InvalidAuditCursorError';
}

/** Rows per INSERT (one statement's arrays; bounds the size of one message to the database). */
const INSERT_CHUNK_ROWS = 500;

/**
 * One INSERT of many rows with nine bind parameters — one array per column, `unnest`ed in
 * order — instead of nine per row. Building a multi-row VALUES statement walks every value
 * through the query builder on the event loop (~50 µs a row: a subscribe/unsubscribe storm
 * writing two audit rows per cycle spent ~10 % of the loop there, in blocks of a whole batch);
 * column arrays cost a push per value. `WITH ORDINALITY … ORDER BY` keeps the rows' sequence
 * numbers in the order given.
 */
function insertRowsStatement(rows: readonly AuditRowInput[]): SQL {
  const columns = { organizationId: [] as Array<string | null>, actorType: [] as string[], actorId: [] as Array<string | null>, action: [] as string[], channel: [] as Array<string | null>, target: [] as Array<string | null>, outcome: [] as string[], details: [] as string[], createdAt: [] as string[] };
  for (const row of rows) {
    columns.organizationId.push(row.organizationId);
    columns.actorType.push(row.actorType);
    columns.actorId.push(row.actorId);
    columns.action.push(row.action);
    columns.channel.push(row.channel);
    columns.target.push(row.target);
    columns.outcome.push(row.outcome);
    columns.details.push(JSON.stringify(row.details));
    columns.createdAt.push(row.createdAt.toISOString());
  }
  const p = (values: unknown[]) => sql.param(values);
  return sql`INSERT INTO ${auditLog} (organization_id, actor_type, actor_id, action, channel, target, outcome, details, created_at)
    SELECT o, a_t::audit_actor_type, a_i, act, ch, tg, oc::audit_outcome, d::jsonb, c_at::timestamptz
    FROM unnest(${p(columns.organizationId)}::text[], ${p(columns.actorType)}::text[], ${p(columns.actorId)}::text[], ${p(columns.action)}::text[],
                ${p(columns.channel)}::text[], ${p(columns.target)}::text[], ${p(columns.outcome)}::text[], ${p(columns.details)}::text[], ${p(columns.createdAt)}::text[])
      WITH ORDINALITY AS r(o, a_t, a_i, act, ch, tg, oc, d, c_at, n)
    ORDER BY n`;
}

/**
 * The audit trail's storage. Rows are appended, never updated; reads are scoped to one
 * organisation (or, explicitly, to the unattributed rows written before any organisation
 * was known) and paginated by the database-assigned `sequence`, which is stable under
 * concurrent inserts, unlike offsets.
 */
export class AuditRepository {
  readonly #db: ApixDatabase;

  constructor(db: ApixDatabase) {
    this.#db = db;
  }

  /**
   * Writes the rows in the given order: one transaction, chunks inserted one after the
   * other, each multi-row INSERT taking its sequence numbers in VALUES order. So the
   * sequence order of a batch is the order of `rows`, and a failed batch writes nothing.
   */
  async insertBatch(rows: readonly AuditRowInput[]): Promise<void> {
    if (rows.length === 0) return;
    // Always inside a transaction, even for one chunk: when the database stalls (SIGSTOP) and
    // the client gives up on the INSERT, the transaction's COMMIT was never sent, so the
    // statement rolls back when the server wakes and sees the connection gone. A bare INSERT
    // would commit then, and the retry would write the rows twice (records-outage test).
    await this.#db.transaction(async (tx) => {
      for (let start = 0; start < rows.length; start += INSERT_CHUNK_ROWS) {
        await this.#insertChunk(tx, rows.slice(start, start + INSERT_CHUNK_ROWS));
      }
    });
  }

  /**
   * The rows travel as ONE jsonb parameter: building a 500-row multi-VALUES INSERT with the
   * query builder (4,500 bound values, each checked and wrapped) cost more of the event loop
   * than the rows are worth on a connect storm; `JSON.stringify` is native. `WITH ORDINALITY …
   * ORDER BY` keeps the sequence order equal to the order of `rows`.
   */
  async #insertChunk(db: Pick<ApixDatabase, 'execute'>, rows: readonly AuditRowInput[]): Promise<void> {
    const json = JSON.stringify(
      rows.map((r) => ({ o: r.organizationId, y: r.actorType, a: r.actorId, ac: r.action, ch: r.channel, t: r.target, out: r.outcome, d: r.details, c: r.createdAt.toISOString() })),
    );
    await db.execute(sql`
      INSERT INTO audit_log (organization_id, actor_type, actor_id, action, channel, target, outcome, details, created_at)
      SELECT v.o, v.y::audit_actor_type, v.a, v.ac, v.ch, v.t, v.out::audit_outcome, coalesce(v.d, '{}'::jsonb), v.c::timestamptz
        FROM ROWS FROM (jsonb_to_recordset(${json}::jsonb) AS (o text, y text, a text, ac text, ch text, t text, out text, d jsonb, c text))
             WITH ORDINALITY AS v(o, y, a, ac, ch, t, out, d, c, n)
       ORDER BY v.n`);
  }

  /** One organisation's audit rows matching `query`, a page at a time. */
  query(organizationId: string, query: AuditQuery = {}): Promise<AuditPage> {
    return this.#page(eq(auditLog.organizationId, organizationId), query);
  }

  /** Rows recorded before any organisation was known (e.g. unreadable credentials): operators only. */
  queryUnattributed(query: AuditQuery = {}): Promise<AuditPage> {
    return this.#page(isNull(auditLog.organizationId), query);
  }

  /** Counts by action and outcome for one organisation, optionally within [from, to). */
  async summarize(organizationId: string, range: { from?: Date; to?: Date } = {}): Promise<AuditSummary> {
    const conditions = [eq(auditLog.organizationId, organizationId)];
    if (range.from !== undefined) conditions.push(gte(auditLog.createdAt, range.from));
    if (range.to !== undefined) conditions.push(lt(auditLog.createdAt, range.to));
    const groups = await this.#db
      .select({ action: auditLog.action, outcome: auditLog.outcome, count: sql<number>`count(*)::integer` })
      .from(auditLog)
      .where(and(...conditions))
      .groupBy(auditLog.action, auditLog.outcome)
      .orderBy(asc(auditLog.action), asc(auditLog.outcome));
    const byOutcome = Object.fromEntries(Object.values(AuditOutcome).map((o) => [o, 0])) as Record<AuditOutcome, number>;
    const byAction: Record<string, number> = {};
    let total = 0;
    const byActionAndOutcome = groups.map((group) => {
      const count = Number(group.count);
      total += count;
      byOutcome[group.outcome] += count;
      byAction[group.action] = (byAction[group.action] ?? 0) + count;
      return { action: group.action, outcome: group.outcome, count };
    });
    return { total, byAction, byOutcome, byActionAndOutcome };
  }

  /** Retention: deletes rows of every organisation whose action happened before `before`. */
  async deleteBefore(before: Date): Promise<number> {
    const deleted = await this.#db
      .delete(auditLog)
      .where(lt(auditLog.createdAt, before))
      .returning({ sequence: auditLog.sequence });
    return deleted.length;
  }

  async #page(scope: SQL, query: AuditQuery): Promise<AuditPage> {
    const newestFirst = query.order !== 'oldest';
    const conditions: SQL[] = [scope];
    if (query.actorType !== undefined) conditions.push(eq(auditLog.actorType, query.actorType));
    if (query.actorId !== undefined) conditions.push(eq(auditLog.actorId, query.actorId));
    if (query.action !== undefined) conditions.push(eq(auditLog.action, query.action));
    if (query.actionPrefix !== undefined) {
      conditions.push(sql`${auditLog.action} LIKE ${`${escapeLike(query.actionPrefix)}%`}`);
    }
    if (query.channel !== undefined) conditions.push(eq(auditLog.channel, query.channel));
    if (query.outcome !== undefined) conditions.push(eq(auditLog.outcome, query.outcome));
    if (query.from !== undefined) conditions.push(gte(auditLog.createdAt, query.from));
    if (query.to !== undefined) conditions.push(lt(auditLog.createdAt, query.to));
    if (query.cursor !== undefined) {
      const after = parseCursor(query.cursor);
      conditions.push(newestFirst ? lt(auditLog.sequence, after) : gt(auditLog.sequence, after));
    }
    const limit = pageSize(query.limit);
    // One row more than the page tells whether another page exists.
    const rows = await this.#db
      .select()
      .from(auditLog)
      .where(and(...conditions))
      .orderBy(newestFirst ? desc(auditLog.sequence) : asc(auditLog.sequence))
      .limit(limit + 1);
    const hasMore = rows.length > limit;
    const page = hasMore ? rows.slice(0, limit) : rows;
    return { rows: page, nextCursor: hasMore ? String(page[page.length - 1]!.sequence) : null };
  }
}

function parseCursor(cursor: string): number {
  const sequence = /^[0-9]{1,15}$/.test(cursor) ? Number(cursor) : Number.NaN;
  if (!Number.isSafeInteger(sequence)) throw new InvalidAuditCursorError('invalid audit cursor');
  return sequence;
}

/** Escapes LIKE's wildcards (`%`, `_`) and its escape character, so a prefix matches literally. */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
