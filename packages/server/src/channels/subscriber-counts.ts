import type { ChannelName } from '@apix/protocol';
import type { Logger } from '../logging/logger.js';
import type { Connection } from '../realtime/connection.js';
import type { RealtimeObserver } from '../realtime/realtime-observer.js';
import type { ChannelRepository } from '../storage/channel-repository.js';
import { describeStorageError } from '../storage/storage-errors.js';
import { BatchWriteInterrupted, writeIsolatingPoison } from '../support/poison-isolation.js';

interface ChannelCount {
  readonly organizationId: string;
  readonly channel: string;
  /** Subscriptions this node holds now. */
  live: number;
  /** This node's contribution as last written to storage (what `channels.subscribers` already includes). */
  reported: number;
}

/**
 * Keeps `channels.subscribers` current across the cluster: each node adds its own net change,
 * as one atomic increment per channel, all channels of a flush in ONE statement (several nodes
 * share a row, so nobody writes absolute values on the hot path). Channels without a row are
 * not counted.
 *
 * Reconciled by construction: the node keeps, per channel it touched, how many subscriptions
 * it holds (`live`) and how much of that storage already has (`reported`), and each flush
 * writes the difference for the channels that changed. A flush that fails (storage down)
 * leaves `reported` unchanged and the channels marked, so the first flush after storage comes
 * back writes exactly what is missing — recomputed from what this node holds, nothing lost,
 * nothing counted twice. Contributions of a node that died are corrected by
 * `recomputeSubscribersFromConnections` (start-up and after the stale-node sweep; see
 * StorageMaintenance and ADR 0011). A row the database refuses is quarantined, not retried.
 *
 * Work per flush grows with the channels that changed, not with those that exist; one flush
 * runs at a time (a later one waits for the next tick).
 */
export class SubscriberCounts implements RealtimeObserver {
  readonly #channels: ChannelRepository;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  readonly #counts = new Map<string, ChannelCount>();
  readonly #dirty = new Set<ChannelCount>();
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #quarantined = 0;

  constructor(channels: ChannelRepository, flushIntervalMs: number, logger: Logger) {
    this.#channels = channels;
    this.#logger = logger.child({ component: 'subscriber-counts' });
    this.#timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.#timer.unref();
  }

  get stats(): { channels: number; dirty: number; failures: number; quarantined: number } {
    return { channels: this.#counts.size, dirty: this.#dirty.size, failures: this.#failures, quarantined: this.#quarantined };
  }

  subscribed(connection: Connection, channels: readonly ChannelName[]): void {
    this.#add(connection, channels, +1);
  }

  unsubscribed(connection: Connection, channels: readonly ChannelName[]): void {
    this.#add(connection, channels, -1);
  }

  /**
   * Writes the difference of every channel that changed, in one statement. Resolves when that
   * write is done or failed (a failure is logged and counted, and retried by the next flush);
   * if a flush is already running, waits for it instead.
   */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    const entries = [...this.#dirty];
    this.#dirty.clear();
    const rows = entries.flatMap((entry) => {
      const delta = entry.live - entry.reported;
      if (delta === 0) this.#forgetIfIdle(entry);
      return delta === 0 ? [] : [{ entry, organizationId: entry.organizationId, channel: entry.channel, delta }];
    });
    if (rows.length === 0) return Promise.resolve();
    this.#flushing = writeIsolatingPoison(
      rows,
      async (part) => {
        await this.#channels.adjustSubscribersBatch(part);
        for (const row of part) {
          row.entry.reported += row.delta;
          this.#forgetIfIdle(row.entry);
        }
      },
      ({ row, reason }) => {
        this.#quarantined++;
        // Accept the loss rather than retry a refused row on every flush.
        row.entry.reported += row.delta;
        this.#forgetIfIdle(row.entry);
        this.#logger.error({ table: 'channels', organizationId: row.organizationId, reason, quarantined: this.#quarantined }, 'subscriber count refused by storage: quarantined');
      },
    )
      .catch((error: unknown) => {
        this.#failures++;
        // Not written: the channels stay marked; the next flush writes live − reported again.
        const done = error instanceof BatchWriteInterrupted ? error.done : 0;
        for (const row of rows.slice(done)) this.#dirty.add(row.entry);
        const cause = error instanceof BatchWriteInterrupted ? error.cause : error;
        this.#logger.error({ err: describeStorageError(cause), channels: rows.length - done, failures: this.#failures }, 'subscriber count update failed; will retry');
      })
      .finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  /** Flushes what is left (bounded: each storage call has its timeout); shutdown. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    if (this.#dirty.size > 0) await this.flush();
  }

  #forgetIfIdle(entry: ChannelCount): void {
    if (entry.live === 0 && entry.reported === 0 && !this.#dirty.has(entry)) this.#counts.delete(`${entry.organizationId}/${entry.channel}`);
  }

  #add(connection: Connection, channels: readonly ChannelName[], sign: number): void {
    const organizationId = connection.principal!.organizationId;
    for (const channel of channels) {
      const key = `${organizationId}/${channel}`;
      let entry = this.#counts.get(key);
      if (!entry) {
        entry = { organizationId, channel, live: 0, reported: 0 };
        this.#counts.set(key, entry);
      }
      entry.live += sign;
      this.#dirty.add(entry);
    }
  }
}
