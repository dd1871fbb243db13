import type { Logger } from '../logging/logger.js';
import type { EventArchiveRepository, ArchivedEventInput } from '../storage/event-archive-repository.js';
import { describeStorageError } from '../storage/storage-errors.js';
import { BatchWriteInterrupted, writeIsolatingPoison } from '../support/poison-isolation.js';
import type { PublicationSink } from './event-publisher.js';

export interface EventArchiverOptions {
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  /** Entries held at most while storage is slow or down; past this the oldest are dropped and counted. */
  readonly maxBuffered: number;
}

/**
 * Copies publications of channels that persist their events into the `events` table,
 * asynchronously and in batches: the publish path only appends to a bounded buffer and never
 * waits on the database. Writes are idempotent by (organisation, channel, epoch, offset), so
 * retrying a batch after a failure cannot duplicate rows.
 */
export class EventArchiver implements PublicationSink {
  readonly #repository: EventArchiveRepository;
  readonly #options: EventArchiverOptions;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #buffer: ArchivedEventInput[] = [];
  #flushing: Promise<void> | undefined;
  #dropped = 0;
  #quarantined = 0;
  /** Entries at the buffer's head being written right now: overflow never drops those (the writer splices them). */
  #inFlight = 0;

  constructor(repository: EventArchiveRepository, options: EventArchiverOptions, logger: Logger) {
    this.#repository = repository;
    this.#options = options;
    this.#logger = logger.child({ component: 'event-archiver' });
    this.#timer = setInterval(() => void this.flush().catch(() => undefined), options.flushIntervalMs);
    this.#timer.unref();
  }

  /** `quarantined`: events the database refused (isolated from their batch, counted, logged, not retried). */
  get stats(): { buffered: number; dropped: number; quarantined: number } {
    return { buffered: this.#buffer.length, dropped: this.#dropped, quarantined: this.#quarantined };
  }

  append(entry: { organizationId: string; channel: string; offset: number; epoch: string; data: string }): void {
    const event = JSON.parse(entry.data) as { type: string; payload: unknown; metadata: Record<string, unknown> & { timestamp: number } };
    this.#buffer.push({
      organizationId: entry.organizationId,
      channel: entry.channel,
      epoch: entry.epoch,
      offset: entry.offset,
      eventType: event.type,
      payload: event.payload,
      metadata: event.metadata,
      createdAt: new Date(event.metadata.timestamp),
    });
    if (this.#buffer.length > this.#options.maxBuffered) {
      const excess = this.#buffer.length - this.#options.maxBuffered;
      this.#buffer.splice(this.#inFlight, excess);
      this.#dropped += excess;
      this.#logger.error({ dropped: this.#dropped }, 'archive buffer full: oldest events not archived');
    }
    if (this.#buffer.length >= this.#options.batchSize) void this.flush().catch(() => undefined);
  }

  /** Writes everything buffered now; rejects if storage refused (entries stay buffered for the next try). */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing.catch(() => undefined);
    if (this.#buffer.length === 0) return;
    this.#flushing = (async () => {
      while (this.#buffer.length > 0) {
        const batch = this.#buffer.slice(0, this.#options.batchSize);
        this.#inFlight = batch.length;
        try {
          // An event the database refuses is isolated: the rest of the batch is archived, in order.
          await writeIsolatingPoison(
            batch,
            (rows) => this.#repository.appendBatch(rows),
            ({ row, reason }) => {
              this.#quarantined++;
              // Only the event's own organisation and the table: never its payload, never other tenants' events.
              this.#logger.error({ table: 'events', organizationId: row.organizationId, reason, quarantined: this.#quarantined }, 'event refused by storage: quarantined, not archived');
            },
          );
        } catch (error) {
          // Only this writer removes entries from the head: drop what is done (written or quarantined).
          const done = error instanceof BatchWriteInterrupted ? error.done : 0;
          this.#buffer.splice(0, done);
          const cause = error instanceof BatchWriteInterrupted ? error.cause : error;
          this.#logger.error({ err: describeStorageError(cause), batch: batch.length - done, buffered: this.#buffer.length }, 'archiving failed; will retry');
          throw cause;
        } finally {
          this.#inFlight = 0;
        }
        this.#buffer.splice(0, batch.length);
      }
    })().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush().catch(() => undefined);
    if (this.#buffer.length > 0) this.#logger.error({ unarchived: this.#buffer.length }, 'shutting down with events not archived (storage unavailable)');
  }
}
