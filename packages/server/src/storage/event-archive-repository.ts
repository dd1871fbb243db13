import type { StreamPosition } from '@apix/protocol';
import { and, asc, desc, eq, gt, gte, lt, sql } from 'drizzle-orm';
import type { ApixDatabase } from './database.js';
import { pageSize } from './pagination.js';
import { channels, events, type EventRow } from './schema.js';

/** One publication to archive, identified by its stream position. */
export interface ArchivedEventInput {
  readonly organizationId: string;
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
  readonly eventType: string;
  readonly payload: unknown;
  readonly sessionId?: string | null;
  readonly acknowledgment?: boolean;
  readonly retryCount?: number;
  /** When the event was published; defaults to the insert time. */
  readonly createdAt?: Date;
  readonly metadata?: Record<string, unknown> | null;
}

export interface EventRangeOptions {
  /**
   * Only events after this position (exclusive), in the same epoch: a resume position.
   * Without it, events of every epoch, ordered by time.
   */
  readonly since?: StreamPosition;
  /** Only events created at or after `from`, and before `to`. */
  readonly from?: Date;
  readonly to?: Date;
  readonly limit?: number;
  /** `asc` (default) oldest first; `desc` newest first (the latest N). */
  readonly order?: 'asc' | 'desc';
}

/**
 * Rows per INSERT statement. 12 columns × 1000 rows stays well under PostgreSQL's 65,535
 * bind-parameter limit.
 */
const INSERT_CHUNK_ROWS = 1000;

/**
 * The durable archive of channel publications (the seed's ApiXEvent), for channels with
 * `persist_events`. Writes are idempotent by stream position, so the archiver may retry a
 * batch, or two nodes may archive the same publication, without duplicates.
 */
export class EventArchiveRepository {
  readonly #db: ApixDatabase;

  constructor(db: ApixDatabase) {
    this.#db = db;
  }

  /**
   * Archives a batch; rows whose (organisation, channel, epoch, offset) is already archived
   * are skipped. All-or-nothing (one transaction). Returns how many rows were new.
   */
  async appendBatch(batch: readonly ArchivedEventInput[]): Promise<number> {
    if (batch.length === 0) return 0;
    const rows = batch.map((event) => ({
      organizationId: event.organizationId,
      channel: event.channel,
      epoch: event.epoch,
      offset: event.offset,
      eventType: event.eventType,
      payload: event.payload ?? null,
      sessionId: event.sessionId ?? null,
      acknowledgment: event.acknowledgment ?? false,
      retryCount: event.retryCount ?? 0,
      metadata: event.metadata ?? null,
      ...(event.createdAt === undefined ? {} : { createdAt: event.createdAt }),
    }));
    return this.#db.transaction(async (tx) => {
      let inserted = 0;
      for (let start = 0; start < rows.length; start += INSERT_CHUNK_ROWS) {
        const written = await tx
          .insert(events)
          .values(rows.slice(start, start + INSERT_CHUNK_ROWS))
          .onConflictDoNothing({ target: [events.organizationId, events.channel, events.epoch, events.offset] })
          .returning({ id: events.id });
        inserted += written.length;
      }
      return inserted;
    });
  }

  /** A slice of one channel's archive, in stream order (or time order across epochs). */
  async range(organizationId: string, channel: string, options: EventRangeOptions = {}): Promise<EventRow[]> {
    const conditions = [eq(events.organizationId, organizationId), eq(events.channel, channel)];
    if (options.since !== undefined) {
      conditions.push(eq(events.epoch, options.since.epoch), gt(events.offset, options.since.offset));
    }
    if (options.from !== undefined) conditions.push(gte(events.createdAt, options.from));
    if (options.to !== undefined) conditions.push(lt(events.createdAt, options.to));
    const direction = options.order === 'desc' ? desc : asc;
    // Within an epoch the offset is the channel's order; across epochs, time is the only
    // order there is (offsets restart at 1 with each new epoch).
    const ordering =
      options.since !== undefined
        ? [direction(events.offset)]
        : [direction(events.createdAt), direction(events.epoch), direction(events.offset)];
    return this.#db
      .select()
      .from(events)
      .where(and(...conditions))
      .orderBy(...ordering)
      .limit(pageSize(options.limit));
  }

  /** The archived position furthest along in the channel's most recent epoch. */
  async latestPosition(organizationId: string, channel: string): Promise<StreamPosition | undefined> {
    const [row] = await this.#db
      .select({ epoch: events.epoch, offset: events.offset })
      .from(events)
      .where(and(eq(events.organizationId, organizationId), eq(events.channel, channel)))
      .orderBy(desc(events.createdAt), desc(events.offset))
      .limit(1);
    return row;
  }

  /** Deletes the channel's archived events created before `before`. */
  async deleteBefore(organizationId: string, channel: string, before: Date): Promise<number> {
    const deleted = await this.#db
      .delete(events)
      .where(and(eq(events.organizationId, organizationId), eq(events.channel, channel), lt(events.createdAt, before)))
      .returning({ id: events.id });
    return deleted.length;
  }

  /**
   * Retention sweep over every organisation: deletes archived events older than their
   * channel's `archive_retention_ms` (channels without a retention keep everything).
   */
  async purgeExpired(now: Date): Promise<number> {
    const deleted = await this.#db
      .delete(events)
      .where(
        sql`EXISTS (SELECT 1 FROM ${channels}
          WHERE ${channels.organizationId} = ${events.organizationId}
            AND ${channels.name} = ${events.channel}
            AND ${channels.archiveRetentionMs} IS NOT NULL
            AND ${events.createdAt} < ${now.toISOString()}::timestamptz - ${channels.archiveRetentionMs} * interval '1 millisecond')`,
      )
      .returning({ id: events.id });
    return deleted.length;
  }
}
