import { ConnectionStatus, type ClientType } from '@apix/protocol';
import { and, asc, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import type { ApixDatabase } from './database.js';
import { pageSize } from './pagination.js';
import { connections, type ConnectionRow } from './schema.js';
import { StorageConflictError } from './storage-errors.js';

export interface OpenedConnection {
  readonly organizationId: string;
  readonly userId?: string | null;
  readonly sessionId: string;
  readonly clientType: ClientType;
  readonly channels?: readonly string[];
  readonly metadata?: Record<string, unknown>;
  readonly nodeId?: string | null;
  readonly at: Date;
}

export interface ListConnectionsOptions {
  readonly status?: ConnectionStatus;
  readonly clientType?: ClientType;
  readonly userId?: string;
  readonly limit?: number;
  /** Continue after this session id (the last one of the previous page). */
  readonly afterSessionId?: string;
}

/** Statuses of a connection that still claims a live socket. */
const LIVE_STATUSES: ConnectionStatus[] = [ConnectionStatus.CONNECTED, ConnectionStatus.RECONNECTING];

/** `value` as a timestamptz parameter; an ISO string reads the same on both drivers. */
const timestamptz = (value: Date) => sql`${value.toISOString()}::timestamptz`;

/** The row a (re)opened connection writes. */
const insertValues = (input: OpenedConnection) => ({
  organizationId: input.organizationId,
  userId: input.userId ?? null,
  sessionId: input.sessionId,
  clientType: input.clientType,
  channels: [...(input.channels ?? [])],
  metadata: input.metadata ?? {},
  connectedAt: input.at,
  lastHeartbeat: input.at,
  status: ConnectionStatus.CONNECTED,
  nodeId: input.nodeId ?? null,
  disconnectedAt: null,
});

/** On a resumed session id: take the new values, keep the row (and its connectedAt). */
const RESUME_SET = {
  userId: sql`excluded.user_id`,
  clientType: sql`excluded.client_type`,
  channels: sql`excluded.channels`,
  metadata: sql`excluded.metadata`,
  lastHeartbeat: sql`excluded.last_heartbeat`,
  status: sql`excluded.status`,
  nodeId: sql`excluded.node_id`,
  disconnectedAt: null,
};

/**
 * A session's row belongs to the connection that last opened it (`metadata.connectionId`):
 * a write naming another connection of the session (an earlier one, closing late on another
 * node) changes nothing. Writes that name no connection (admin paths) always apply.
 */
const HELD_BY_WRITER = sql`(v.c IS NULL OR c.metadata->>'connectionId' IS NULL OR c.metadata->>'connectionId' = v.c)`;

/** The tenancy guard: only the same organisation may resume a session id. */
const SAME_ORGANIZATION = sql`${connections.organizationId} = excluded.organization_id`;

/**
 * The seed's ApiXConnection rows: one per session, kept by the ConnectionManager so that
 * operators (and other nodes) see who is connected. The socket itself never waits on
 * these writes; losing one costs accuracy of the listing, not delivery.
 */
export class ConnectionRepository {
  readonly #db: ApixDatabase;

  constructor(db: ApixDatabase) {
    this.#db = db;
  }

  /**
   * Records a connection (or a resumed session) as CONNECTED. A session id is unique
   * across the cluster; a resume updates the existing row. A session id held by another
   * organisation is never taken over: that throws `StorageConflictError`.
   */
  async recordConnected(input: OpenedConnection): Promise<ConnectionRow> {
    const [row] = await this.#db
      .insert(connections)
      .values(insertValues(input))
      .onConflictDoUpdate({ target: connections.sessionId, set: RESUME_SET, setWhere: SAME_ORGANIZATION })
      .returning();
    if (row === undefined) {
      throw new StorageConflictError('session id belongs to another organisation', 'connections_session_id_unique');
    }
    return row;
  }

  /**
   * `recordConnected` for many connections in ONE statement (a node batches the connections
   * opened since its last flush). Sessions held by another organisation are left alone (the
   * same tenancy guard); returns how many rows were written.
   */
  async recordConnectedBatch(inputs: readonly OpenedConnection[]): Promise<number> {
    if (inputs.length === 0) return 0;
    const written = await this.#db
      .insert(connections)
      .values(inputs.map(insertValues))
      .onConflictDoUpdate({ target: connections.sessionId, set: RESUME_SET, setWhere: SAME_ORGANIZATION })
      .returning({ id: connections.id });
    return written.length;
  }

  /**
   * Status changes for many sessions in ONE statement; DISCONNECTED also stamps
   * `disconnectedAt`. Each change is scoped to its organisation. Returns rows changed.
   */
  async setStatusBatch(changes: ReadonlyArray<{ organizationId: string; sessionId: string; connectionId?: string; status: ConnectionStatus; at: Date }>): Promise<number> {
    if (changes.length === 0) return 0;
    const rows = JSON.stringify(changes.map((c) => ({ o: c.organizationId, s: c.sessionId, c: c.connectionId ?? null, st: c.status, at: c.at.toISOString() })));
    const result = await this.#db.execute(sql`
      UPDATE connections AS c
         SET status = v.st::connection_status,
             disconnected_at = CASE WHEN v.st = 'DISCONNECTED' THEN v.at::timestamptz ELSE NULL END
        FROM jsonb_to_recordset(${rows}::jsonb) AS v(o text, s text, c text, st text, at text)
       WHERE c.organization_id = v.o AND c.session_id = v.s AND ${HELD_BY_WRITER}`);
    return affectedRows(result);
  }

  /** Channel lists of many sessions in ONE statement, each scoped to its organisation. Returns rows changed. */
  async setChannelsBatch(entries: ReadonlyArray<{ organizationId: string; sessionId: string; connectionId?: string; channels: readonly string[] }>): Promise<number> {
    if (entries.length === 0) return 0;
    const rows = JSON.stringify(entries.map((e) => ({ o: e.organizationId, s: e.sessionId, c: e.connectionId ?? null, ch: e.channels })));
    const result = await this.#db.execute(sql`
      UPDATE connections AS c
         SET channels = ARRAY(SELECT jsonb_array_elements_text(v.ch))
        FROM jsonb_to_recordset(${rows}::jsonb) AS v(o text, s text, c text, ch jsonb)
       WHERE c.organization_id = v.o AND c.session_id = v.s AND ${HELD_BY_WRITER}`);
    return affectedRows(result);
  }

  async findBySessionId(organizationId: string, sessionId: string): Promise<ConnectionRow | undefined> {
    const [row] = await this.#db
      .select()
      .from(connections)
      .where(and(eq(connections.organizationId, organizationId), eq(connections.sessionId, sessionId)));
    return row;
  }

  /** The organisation's connections ordered by session id, a page at a time. */
  async list(organizationId: string, options: ListConnectionsOptions = {}): Promise<ConnectionRow[]> {
    const conditions = [eq(connections.organizationId, organizationId)];
    if (options.status !== undefined) conditions.push(eq(connections.status, options.status));
    if (options.clientType !== undefined) conditions.push(eq(connections.clientType, options.clientType));
    if (options.userId !== undefined) conditions.push(eq(connections.userId, options.userId));
    if (options.afterSessionId !== undefined) conditions.push(gt(connections.sessionId, options.afterSessionId));
    return this.#db
      .select()
      .from(connections)
      .where(and(...conditions))
      .orderBy(asc(connections.sessionId))
      .limit(pageSize(options.limit));
  }

  /** Sets the status; DISCONNECTED also stamps `disconnectedAt`. False when no such session in this organisation. */
  async setStatus(organizationId: string, sessionId: string, status: ConnectionStatus, at: Date): Promise<boolean> {
    return (await this.setStatusBatch([{ organizationId, sessionId, status, at }])) > 0;
  }

  /** Replaces the session's channel list (after subscribe/unsubscribe). */
  async setChannels(organizationId: string, sessionId: string, channelNames: readonly string[]): Promise<boolean> {
    return (await this.setChannelsBatch([{ organizationId, sessionId, channels: channelNames }])) > 0;
  }

  /**
   * Stamps a heartbeat on many sessions in ONE statement (the session ids travel as a single
   * array parameter, so there is no parameter-count limit). A node calls this periodically
   * with the sessions it holds, instead of one write per pong. The stamp only moves forward.
   * Returns the number of rows touched.
   */
  async touchHeartbeats(sessionIds: readonly string[], at: Date): Promise<number> {
    if (sessionIds.length === 0) return 0;
    const touched = await this.#db
      .update(connections)
      .set({ lastHeartbeat: sql`GREATEST(${connections.lastHeartbeat}, ${timestamptz(at)})` })
      .where(sql`${connections.sessionId} = ANY(${sql.param([...sessionIds])}::text[])`)
      .returning({ id: connections.id });
    return touched.length;
  }

  /**
   * Cluster sweep: live connections whose last heartbeat is older than `heartbeatBefore`
   * belonged to a node that died without saying so; mark them DISCONNECTED.
   */
  async markStaleDisconnected(heartbeatBefore: Date, at: Date): Promise<number> {
    const marked = await this.#db
      .update(connections)
      .set({ status: ConnectionStatus.DISCONNECTED, disconnectedAt: at })
      .where(and(inArray(connections.status, LIVE_STATUSES), lt(connections.lastHeartbeat, heartbeatBefore)))
      .returning({ id: connections.id });
    return marked.length;
  }

  /**
   * Every row that claims a socket becomes DISCONNECTED: for a database only one node can use
   * (the embedded PGlite), at start-up, where no socket can have survived the restart. Rows
   * of `currentNodeId` (connections opened since this start) are left alone.
   */
  async markAllOpenDisconnected(currentNodeId: string, at: Date): Promise<number> {
    const marked = await this.#db
      .update(connections)
      .set({ status: ConnectionStatus.DISCONNECTED, disconnectedAt: at })
      .where(and(inArray(connections.status, [...LIVE_STATUSES, ConnectionStatus.SUSPENDED]), sql`${connections.nodeId} IS DISTINCT FROM ${currentNodeId}`))
      .returning({ id: connections.id });
    return marked.length;
  }

  /** A node shutting down (or restarting) marks every connection it held as DISCONNECTED. */
  async markNodeDisconnected(nodeId: string, at: Date): Promise<number> {
    const marked = await this.#db
      .update(connections)
      .set({ status: ConnectionStatus.DISCONNECTED, disconnectedAt: at })
      .where(and(eq(connections.nodeId, nodeId), inArray(connections.status, LIVE_STATUSES)))
      .returning({ id: connections.id });
    return marked.length;
  }

  /**
   * Reconcile after start-up or an outage: this node's rows that still claim an open socket
   * (CONNECTED or SUSPENDED; RECONNECTING rows were closed on purpose) but whose session is not in `liveSessionIds` (closed while storage was unreachable, or a
   * write that was dropped) become DISCONNECTED. Only rows of `nodeId`: every node owns its
   * rows. One statement; the ids travel as one array parameter. Returns rows changed.
   */
  async markNodeDisconnectedExcept(nodeId: string, liveSessionIds: readonly string[], at: Date): Promise<number> {
    const marked = await this.#db
      .update(connections)
      .set({ status: ConnectionStatus.DISCONNECTED, disconnectedAt: at })
      .where(
        and(
          eq(connections.nodeId, nodeId),
          inArray(connections.status, [ConnectionStatus.CONNECTED, ConnectionStatus.SUSPENDED]),
          sql`NOT (${connections.sessionId} = ANY(${sql.param([...liveSessionIds])}::text[]))`,
        ),
      )
      .returning({ id: connections.id });
    return marked.length;
  }

  /** How many of the organisation's connections are in each status (zeros included). */
  async countByStatus(organizationId: string): Promise<Record<ConnectionStatus, number>> {
    const rows = await this.#db
      .select({ status: connections.status, count: sql<number>`count(*)::integer` })
      .from(connections)
      .where(eq(connections.organizationId, organizationId))
      .groupBy(connections.status);
    const counts = Object.fromEntries(Object.values(ConnectionStatus).map((s) => [s, 0])) as Record<ConnectionStatus, number>;
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  }

  /** Housekeeping: forgets sessions disconnected before `before`. */
  async deleteDisconnectedBefore(before: Date): Promise<number> {
    const deleted = await this.#db
      .delete(connections)
      .where(and(eq(connections.status, ConnectionStatus.DISCONNECTED), lt(connections.disconnectedAt, before)))
      .returning({ id: connections.id });
    return deleted.length;
  }
}

/** Rows changed by an UPDATE, from node-postgres (`rowCount`) or PGlite (`affectedRows`). */
function affectedRows(result: unknown): number {
  const r = result as { rowCount?: number | null; affectedRows?: number };
  return r.rowCount ?? r.affectedRows ?? 0;
}
