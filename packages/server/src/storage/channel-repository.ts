import { channelTypeOf, isValidChannelName, type ChannelType } from '@apix/protocol';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { ApixDatabase } from './database.js';
import { pageSize } from './pagination.js';
import { channels, type AuditPublishMode, type ChannelRow } from './schema.js';
import { rethrowConflict } from './storage-errors.js';

/** Per-channel settings an admin can change; absent fields keep their value (or default). */
export interface ChannelSettings {
  readonly permissions?: Record<string, unknown>;
  readonly historySize?: number | null;
  readonly historyTtlMs?: number | null;
  readonly archiveRetentionMs?: number | null;
  readonly acknowledgmentRequired?: boolean;
  readonly deliveryPolicy?: Record<string, unknown> | null;
  readonly persistEvents?: boolean;
  readonly auditPublishMode?: AuditPublishMode;
  readonly auditSampleRate?: number;
  readonly encrypted?: boolean;
  /** Presence on (true), off (false) or by namespace (null: rooms only). */
  readonly presence?: boolean | null;
}

export interface ListChannelsOptions {
  readonly type?: ChannelType;
  readonly limit?: number;
  /** Continue after this channel name (the last one of the previous page). */
  readonly afterName?: string;
}

export class InvalidChannelNameError extends Error {
  override name = 'InvalidChannelNameError';
}

/**
 * Channel configuration, per organisation. Names are organisation-relative and validated
 * with the protocol grammar before they reach SQL; the type is derived from the name's
 * namespace, never chosen freely, so a row cannot contradict its name.
 */
export class ChannelRepository {
  readonly #db: ApixDatabase;

  constructor(db: ApixDatabase) {
    this.#db = db;
  }

  /** Throws `StorageConflictError` when the organisation already has a channel of that name. */
  async create(organizationId: string, name: string, settings: ChannelSettings = {}): Promise<ChannelRow> {
    const type = typeOfValidName(name);
    try {
      const [row] = await this.#db
        .insert(channels)
        .values({ organizationId, name, type, ...settings })
        .returning();
      return row!;
    } catch (error) {
      rethrowConflict(error, `channel ${name} already exists`);
    }
  }

  /**
   * The channel's row, created with default settings on first use. Safe under concurrency:
   * the insert does nothing when another node created it first.
   */
  async ensure(organizationId: string, name: string): Promise<ChannelRow> {
    const type = typeOfValidName(name);
    const [inserted] = await this.#db
      .insert(channels)
      .values({ organizationId, name, type })
      .onConflictDoNothing({ target: [channels.organizationId, channels.name] })
      .returning();
    if (inserted !== undefined) return inserted;
    const existing = await this.findByName(organizationId, name);
    if (existing === undefined) throw new Error(`channel ${name} vanished while being ensured`);
    return existing;
  }

  async findByName(organizationId: string, name: string): Promise<ChannelRow | undefined> {
    const [row] = await this.#db
      .select()
      .from(channels)
      .where(and(eq(channels.organizationId, organizationId), eq(channels.name, name)));
    return row;
  }

  /** The organisation's channels ordered by name, a page at a time. */
  async list(organizationId: string, options: ListChannelsOptions = {}): Promise<ChannelRow[]> {
    const conditions = [eq(channels.organizationId, organizationId)];
    if (options.type !== undefined) conditions.push(eq(channels.type, options.type));
    if (options.afterName !== undefined) conditions.push(gt(channels.name, options.afterName));
    return this.#db
      .select()
      .from(channels)
      .where(and(...conditions))
      .orderBy(asc(channels.name))
      .limit(pageSize(options.limit));
  }

  async updateSettings(organizationId: string, name: string, settings: ChannelSettings): Promise<ChannelRow | undefined> {
    const [row] = await this.#db
      .update(channels)
      .set({ ...settings, updatedAt: new Date() })
      .where(and(eq(channels.organizationId, organizationId), eq(channels.name, name)))
      .returning();
    return row;
  }

  async delete(organizationId: string, name: string): Promise<boolean> {
    const deleted = await this.#db
      .delete(channels)
      .where(and(eq(channels.organizationId, organizationId), eq(channels.name, name)))
      .returning({ id: channels.id });
    return deleted.length > 0;
  }

  /**
   * Adds `delta` (negative to remove) to the subscriber count in one statement, so nodes
   * updating concurrently never lose an update; the count never goes below zero.
   * Returns the new count, or undefined when the channel has no row.
   */
  async adjustSubscribers(organizationId: string, name: string, delta: number): Promise<number | undefined> {
    if (!Number.isInteger(delta)) throw new RangeError('subscriber delta must be an integer');
    const [row] = await this.#db
      .update(channels)
      .set({ subscribers: sql`GREATEST(${channels.subscribers} + ${delta}::integer, 0)` })
      .where(and(eq(channels.organizationId, organizationId), eq(channels.name, name)))
      .returning({ subscribers: channels.subscribers });
    return row?.subscribers;
  }

  /**
   * `adjustSubscribers` for many channels in ONE statement (a node's net changes since its
   * last flush): each delta is added atomically, scoped to its organisation, never below zero.
   * Channels without a row are skipped. Returns the number of rows changed.
   */
  async adjustSubscribersBatch(deltas: ReadonlyArray<{ organizationId: string; channel: string; delta: number }>): Promise<number> {
    if (deltas.length === 0) return 0;
    for (const d of deltas) if (!Number.isInteger(d.delta)) throw new RangeError('subscriber delta must be an integer');
    const rows = JSON.stringify(deltas.map((d) => ({ o: d.organizationId, n: d.channel, d: d.delta })));
    const result = await this.#db.execute(sql`
      UPDATE channels AS c
         SET subscribers = GREATEST(c.subscribers + v.d, 0)
        FROM jsonb_to_recordset(${rows}::jsonb) AS v(o text, n text, d integer)
       WHERE c.organization_id = v.o AND c.name = v.n`);
    const r = result as unknown as { rowCount?: number | null; affectedRows?: number };
    return r.rowCount ?? r.affectedRows ?? 0;
  }

  /**
   * Recomputes every channel's subscriber count from the connection rows that still hold a
   * socket (CONNECTED or SUSPENDED) and list the channel — the cluster-wide truth once every
   * node's rows are reconciled. Run at start-up and after a dead node's rows were swept, not
   * periodically: it reads every live connection row. Returns the number of counts corrected.
   */
  async recomputeSubscribersFromConnections(): Promise<number> {
    const result = await this.#db.execute(sql`
      WITH live AS (
        SELECT k.organization_id, ch AS name, count(*)::integer AS n
          FROM connections AS k, unnest(k.channels) AS ch
         WHERE k.status IN ('CONNECTED', 'SUSPENDED')
         GROUP BY k.organization_id, ch)
      UPDATE channels AS c
         SET subscribers = COALESCE(l.n, 0)
        FROM channels AS c0
        LEFT JOIN live AS l ON l.organization_id = c0.organization_id AND l.name = c0.name
       WHERE c.id = c0.id AND c.subscribers IS DISTINCT FROM COALESCE(l.n, 0)`);
    const r = result as unknown as { rowCount?: number | null; affectedRows?: number };
    return r.rowCount ?? r.affectedRows ?? 0;
  }
}

function typeOfValidName(name: string): ChannelType {
  if (!isValidChannelName(name)) throw new InvalidChannelNameError(`invalid channel name: ${JSON.stringify(name.slice(0, 60))}`);
  return channelTypeOf(name);
}
