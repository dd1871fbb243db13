import { matchesFilters, type ParsedChannel, type SubscriptionFilters } from '@apix/protocol';
import type { Connection } from './connection.js';

/** A publication as the router hands it to subscribers: encoded once, parsed only if a filter needs it. */
export interface RoutedPublication {
  readonly offset: number;
  readonly epoch: string;
  /** The complete `event` frame, the same bytes for every subscriber. */
  readonly frame: Buffer;
  /** The decoded event, for filters. Parsed at most once per publication. */
  event(): { type: string; payload?: unknown; metadata?: unknown };
}

/** While recovering, live publications wait here; past this many the client is told to resume later. */
export const MAX_RECOVERY_BUFFER = 10_000;

/**
 * One connection's subscription to one channel.
 *
 * Invariant: the client receives each publication at most once and in offset order. While
 * the subscription is `recovering` (history being read), live publications are buffered;
 * `goLive` sends the replayed history, then the buffered publications newer than it, and
 * only then lets live publications through. `lastOffset` drops anything already sent.
 */
export class ChannelSubscription {
  readonly connection: Connection;
  readonly channel: ParsedChannel;
  readonly key: string;
  readonly filters: SubscriptionFilters | undefined;
  #state: 'recovering' | 'live' | 'closed' = 'recovering';
  #buffer: RoutedPublication[] = [];
  #epoch = '';
  #lastOffset = 0;

  constructor(connection: Connection, channel: ParsedChannel, key: string, filters: SubscriptionFilters | undefined) {
    this.connection = connection;
    this.channel = channel;
    this.key = key;
    this.filters = filters;
  }

  get state(): 'recovering' | 'live' | 'closed' {
    return this.#state;
  }

  /** Called by the router for every publication on the channel. */
  offer(publication: RoutedPublication): void {
    if (this.#state === 'live') this.#deliver(publication);
    else if (this.#state === 'recovering') {
      this.#buffer.push(publication);
      if (this.#buffer.length > MAX_RECOVERY_BUFFER) this.connection.close(4004, 'slow consumer during recovery');
    }
  }

  /**
   * Ends recovery: `replay` (history after the client's position, in order) goes first, then
   * buffered live publications after `position`, then live traffic.
   */
  goLive(position: { offset: number; epoch: string }, replay: readonly RoutedPublication[]): void {
    if (this.#state !== 'recovering') return;
    this.#epoch = position.epoch;
    this.#lastOffset = replay.length > 0 ? Math.min(replay[0]!.offset - 1, position.offset) : position.offset;
    for (const publication of replay) this.#deliver(publication);
    this.#lastOffset = Math.max(this.#lastOffset, position.offset);
    const buffered = this.#buffer;
    this.#buffer = [];
    this.#state = 'live';
    for (const publication of buffered) this.#deliver(publication);
  }

  close(): void {
    this.#state = 'closed';
    this.#buffer = [];
  }

  #deliver(publication: RoutedPublication): void {
    if (publication.epoch === this.#epoch) {
      if (publication.offset <= this.#lastOffset) return;
    } else {
      // The stream restarted under a live subscription (store lost it): follow the new epoch.
      this.#epoch = publication.epoch;
    }
    this.#lastOffset = publication.offset;
    if (this.filters && !matchesFilters(this.filters, publication.event())) return;
    this.connection.sendRaw(publication.frame);
  }
}
