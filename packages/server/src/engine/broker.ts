import type { StreamPosition } from '@apix/protocol';

export type { StreamPosition };

/** One entry of a channel's log. `data` is the encoded event, stored and sent as is. */
export interface BrokerPublication {
  readonly offset: number;
  readonly data: string;
  /** Server append time, ms since epoch (wall clock: comparable across nodes); absent if the engine does not keep it. */
  readonly publishedAt?: number;
}

export interface PublishOptions {
  /** Keep at most this many publications in the channel's log. 0 keeps none (live only). */
  readonly historySize: number;
  /** Drop publications older than this. */
  readonly historyTtlMs: number;
  /** A retry with the same key within `idempotencyTtlMs` appends nothing and returns the first position. */
  readonly idempotencyKey?: string;
  readonly idempotencyTtlMs?: number;
}

export interface PublishOutcome {
  readonly offset: number;
  readonly epoch: string;
  /** True when the idempotency key had been seen within its window. */
  readonly duplicate: boolean;
  /** Server append time, ms since epoch, where the engine keeps it (as BrokerPublication's). */
  readonly publishedAt?: number;
}

export interface HistoryOptions {
  /** Publications after this position. Without it: the latest `limit` publications. */
  readonly since?: StreamPosition;
  /** At most this many publications; 0 asks for the stream position only. */
  readonly limit: number;
}

export interface HistorySlice {
  readonly publications: readonly BrokerPublication[];
  /** The stream's latest position (offset of the last publication, and the epoch). */
  readonly position: StreamPosition;
}

/** What a broker calls when a publication arrives on a channel this node subscribed to. */
export interface BrokerEventHandler {
  onPublication(channelKey: string, publication: BrokerPublication, epoch: string): void;
}

/**
 * The engine's contract, kept as small as centrifuge's. Channel keys come from
 * `channelKey(organisation, channel)`; the broker never interprets them.
 *
 * Invariants every implementation keeps (the broker contract tests check them):
 * - publish appends to the channel's log and notifies live subscribers atomically per
 *   channel: notifications for a channel arrive in offset order, and a publication is
 *   notified iff it was appended;
 * - offsets start at 1 and grow by one per publication within an epoch;
 * - a new epoch starts whenever the stream is lost (removed, expired, store restarted).
 */
export interface Broker {
  /** Name shown in status and logs: `memory`, `redis`. */
  readonly name: string;
  /** Starts delivering notifications to `handler`. Called once, before anything else. */
  start(handler: BrokerEventHandler): Promise<void>;
  publish(channelKey: string, data: string, options: PublishOptions): Promise<PublishOutcome>;
  /** This node wants live notifications for the channel. */
  subscribe(channelKey: string): Promise<void>;
  unsubscribe(channelKey: string): Promise<void>;
  history(channelKey: string, options: HistoryOptions): Promise<HistorySlice>;
  /** Forgets the channel's log; the next publish starts a new epoch. */
  removeHistory(channelKey: string): Promise<void>;
  close(): Promise<void>;
}
