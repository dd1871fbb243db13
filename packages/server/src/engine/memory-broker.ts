import { randomToken } from '../support/random-token.js';
import type {
  Broker,
  BrokerEventHandler,
  BrokerPublication,
  HistoryOptions,
  HistorySlice,
  PublishOptions,
  PublishOutcome,
} from './broker.js';
import { monotonicNow } from '../support/monotonic-clock.js';
import { assertStreamPosition } from './position-check.js';
import type { HistoryByteLedger } from '../limits/history-bytes.js';

/** Idempotency keys remembered per channel, at most (besides the time window). */
export const MAX_IDEMPOTENCY_KEYS_PER_STREAM = 100_000;

interface TimedPublication extends BrokerPublication {
  /** Monotonic ms: retention by age must not jump with the wall clock. */
  readonly appendedAt: number;
  /** Wall-clock append time (ms since epoch), for display and publish→deliver latency. */
  readonly publishedAt: number;
}

interface IdempotencyRecord {
  readonly offset: number;
  readonly expiresAt: number;
}

/** One channel's log: a queue of publications with consecutive offsets, oldest first. */
class MemoryStream {
  readonly epoch = randomToken(6);
  /** Offset of the last publication (0: none yet). */
  top = 0;
  lastPublishAt = 0;
  /** entries[head..] are retained; entries[head] has offset `top - retained + 1`. */
  #entries: TimedPublication[] = [];
  #head = 0;
  /**
   * Insertion-ordered, so the first entry is always the oldest. Made by the first publish with a
   * key: most channels never see one, and an empty Map is ~300 bytes per channel.
   */
  idempotency: Map<string, IdempotencyRecord> | null = null;
  /** Retention of the latest publish, applied again on reads so age limits hold without traffic. */
  retentionSize = Number.MAX_SAFE_INTEGER;
  retentionTtlMs = Number.MAX_SAFE_INTEGER;
  /** Sum of the retained publications' data lengths, and how much of it the byte ledger has been told. */
  bytes = 0;
  reportedBytes = 0;

  get retained(): number {
    return this.#entries.length - this.#head;
  }

  append(data: string, now: number): TimedPublication {
    const publication = { offset: ++this.top, data, appendedAt: now, publishedAt: Date.now() };
    this.#entries.push(publication);
    this.bytes += data.length;
    this.lastPublishAt = now;
    return publication;
  }

  /** Drops publications beyond `size` and older than `ttlMs`, oldest first. */
  trim(size: number, ttlMs: number, now: number): void {
    const oldestAllowed = now - ttlMs;
    while (this.retained > size || (this.retained > 0 && this.#entries[this.#head]!.appendedAt < oldestAllowed)) {
      this.bytes -= this.#entries[this.#head++]!.data.length;
    }
    // Compact occasionally so dropping from the head stays amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Drops the oldest publication unless it is the only one (byte quotas); false when nothing was dropped. */
  dropOldest(): boolean {
    if (this.retained <= 1) return false;
    this.bytes -= this.#entries[this.#head++]!.data.length;
    return true;
  }

  /** Publications with offset > afterOffset, at most `limit`. */
  after(afterOffset: number, limit: number): TimedPublication[] {
    const firstOffset = this.top - this.retained + 1;
    const start = this.#head + Math.max(0, afterOffset + 1 - firstOffset);
    return this.#entries.slice(start, Math.min(start + limit, this.#entries.length));
  }

  latest(limit: number): TimedPublication[] {
    return this.#entries.slice(Math.max(this.#head, this.#entries.length - limit));
  }
}

export interface MemoryBrokerOptions {
  /** A stream with no publication for this long is forgotten (its next publish starts a new epoch). */
  readonly streamIdleTtlMs?: number;
  /**
   * A stream that was only read, never published to, is forgotten after this long: reads of
   * made-up channel names must not pin memory for a day.
   */
  readonly emptyStreamTtlMs?: number;
  readonly sweepIntervalMs?: number;
  readonly now?: () => number;
  /** Per-organisation history byte accounting and quota (src/limits/history-bytes.ts). */
  readonly historyBytes?: HistoryByteLedger;
}

/**
 * The embedded engine: every channel's log in this process's memory. Publish is synchronous
 * inside, so append + notify is atomic per channel by construction. A restart loses the logs;
 * the new epochs make clients see `recovered: false` rather than a silent gap.
 */
export class MemoryBroker implements Broker {
  readonly name = 'memory';
  readonly #streams = new Map<string, MemoryStream>();
  readonly #subscribed = new Set<string>();
  /**
   * Streams no node subscribes to, oldest activity first (a Map keeps insertion order; a
   * touch moves a key to the end): the sweep walks from the front and stops at the first one
   * still in use, so it costs what expired, not what exists. Never-published streams (made by
   * reads, possibly of made-up names) age out sooner than published ones.
   */
  readonly #idleEmpty = new Map<string, MemoryStream>();
  readonly #idlePublished = new Map<string, MemoryStream>();
  readonly #now: () => number;
  readonly #streamIdleTtlMs: number;
  readonly #emptyStreamTtlMs: number;
  readonly #sweepTimer: NodeJS.Timeout;
  readonly #historyBytes: HistoryByteLedger | undefined;
  #handler: BrokerEventHandler | undefined;

  constructor(options: MemoryBrokerOptions = {}) {
    this.#now = options.now ?? monotonicNow;
    this.#streamIdleTtlMs = options.streamIdleTtlMs ?? 24 * 3_600_000;
    this.#emptyStreamTtlMs = options.emptyStreamTtlMs ?? 60_000;
    this.#historyBytes = options.historyBytes;
    this.#sweepTimer = setInterval(() => this.#sweep(), options.sweepIntervalMs ?? 60_000);
    this.#sweepTimer.unref();
  }

  async start(handler: BrokerEventHandler): Promise<void> {
    this.#handler = handler;
  }

  async publish(channelKey: string, data: string, options: PublishOptions): Promise<PublishOutcome> {
    const now = this.#now();
    const stream = this.#stream(channelKey);
    if (options.idempotencyKey !== undefined) {
      const seen = stream.idempotency?.get(options.idempotencyKey);
      if (seen && seen.expiresAt > now) return { offset: seen.offset, epoch: stream.epoch, duplicate: true };
    }
    const publication = stream.append(data, now);
    stream.retentionSize = options.historySize;
    stream.retentionTtlMs = options.historyTtlMs;
    stream.trim(options.historySize, options.historyTtlMs, now);
    this.#touch(channelKey, stream);
    // Keys are inserted in expiry order (one window for all): drop the expired ones from the front.
    const keys = stream.idempotency;
    if (keys) {
      for (const [key, record] of keys) {
        if (record.expiresAt > now) break;
        keys.delete(key);
      }
    }
    this.#settleBytes(channelKey, stream);
    if (options.idempotencyKey !== undefined) {
      const idempotency = (stream.idempotency ??= new Map());
      idempotency.set(options.idempotencyKey, {
        offset: publication.offset,
        expiresAt: now + (options.idempotencyTtlMs ?? 300_000),
      });
      // Bounded by count as well as time: a busy channel must not hold millions of keys.
      if (idempotency.size > MAX_IDEMPOTENCY_KEYS_PER_STREAM) {
        idempotency.delete(idempotency.keys().next().value!);
      }
    }
    if (this.#subscribed.has(channelKey)) this.#handler?.onPublication(channelKey, publication, stream.epoch);
    return { offset: publication.offset, epoch: stream.epoch, duplicate: false };
  }

  async subscribe(channelKey: string): Promise<void> {
    this.#subscribed.add(channelKey);
    // A subscribed stream is never forgotten: keep it out of the idle queues the sweep walks.
    this.#idleEmpty.delete(channelKey);
    this.#idlePublished.delete(channelKey);
  }

  async unsubscribe(channelKey: string): Promise<void> {
    this.#subscribed.delete(channelKey);
    const stream = this.#streams.get(channelKey);
    if (stream) {
      stream.lastPublishAt = this.#now();
      this.#touch(channelKey, stream);
    }
  }

  async history(channelKey: string, options: HistoryOptions): Promise<HistorySlice> {
    if (options.since !== undefined) assertStreamPosition(options.since);
    // Reading creates the stream (and so fixes its epoch) like publishing does, so a
    // subscriber's position stays valid for the stream's first publications.
    const stream = this.#stream(channelKey);
    stream.trim(stream.retentionSize, stream.retentionTtlMs, this.#now());
    this.#settleBytes(channelKey, stream);
    const publications =
      options.limit === 0
        ? []
        : options.since === undefined
          ? stream.latest(options.limit)
          : options.since.epoch === stream.epoch
            ? stream.after(options.since.offset, options.limit)
            : stream.latest(options.limit);
    return {
      publications: publications.map(({ offset, data, publishedAt }) => ({ offset, data, publishedAt })),
      position: { offset: stream.top, epoch: stream.epoch },
    };
  }

  async removeHistory(channelKey: string): Promise<void> {
    this.#forget(channelKey);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweepTimer);
    this.#handler = undefined;
  }

  /** Number of channel logs held (for status and tests). */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Channels this node asked live notifications for (tests check it returns to zero). */
  get subscribedCount(): number {
    return this.#subscribed.size;
  }

  /** Reports the stream's byte change to the ledger; over the organisation's quota, drops this stream's oldest publications. */
  #settleBytes(channelKey: string, stream: MemoryStream): void {
    const ledger = this.#historyBytes;
    if (ledger === undefined) return;
    ledger.adjust(channelKey, stream.bytes - stream.reportedBytes);
    stream.reportedBytes = stream.bytes;
    if (ledger.excess(channelKey) === 0) return;
    while (ledger.excess(channelKey) > stream.reportedBytes - stream.bytes && stream.dropOldest());
    ledger.adjust(channelKey, stream.bytes - stream.reportedBytes);
    stream.reportedBytes = stream.bytes;
  }

  #stream(channelKey: string): MemoryStream {
    let stream = this.#streams.get(channelKey);
    if (!stream) {
      stream = new MemoryStream();
      stream.lastPublishAt = this.#now();
      this.#streams.set(channelKey, stream);
      this.#touch(channelKey, stream);
    }
    return stream;
  }

  /** Moves an unsubscribed stream to the back of its idle queue (its activity is now). */
  #touch(channelKey: string, stream: MemoryStream): void {
    if (this.#subscribed.has(channelKey)) return;
    this.#idleEmpty.delete(channelKey);
    this.#idlePublished.delete(channelKey);
    (stream.top === 0 ? this.#idleEmpty : this.#idlePublished).set(channelKey, stream);
  }

  #forget(channelKey: string): void {
    const stream = this.#streams.get(channelKey);
    this.#idleEmpty.delete(channelKey);
    this.#idlePublished.delete(channelKey);
    if (stream === undefined) return;
    this.#streams.delete(channelKey);
    this.#historyBytes?.adjust(channelKey, -stream.reportedBytes);
  }

  /** Forgets streams idle past their limit, oldest first, stopping at the first one still in use. */
  #sweep(): void {
    const now = this.#now();
    for (const [queue, idleLimit] of [
      [this.#idleEmpty, this.#emptyStreamTtlMs],
      [this.#idlePublished, this.#streamIdleTtlMs],
    ] as const) {
      for (const [key, stream] of queue) {
        if (now - stream.lastPublishAt <= idleLimit) break;
        this.#forget(key);
      }
    }
  }
}
