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

/** Why a live subscription's stream could not be kept whole. */
export type StreamBreak = 'gap' | 'epoch-changed' | 'recovery-overflow';

/** Told when a subscription can no longer guarantee order without loss; it must be removed and resubscribed. */
export type StreamBreakHandler = (subscription: ChannelSubscription, reason: StreamBreak) => void;

/**
 * One connection's subscription to one channel.
 *
 * Invariant: the client receives each publication at most once and in offset order. While
 * the subscription is `recovering` (history being read), live publications are buffered;
 * `goLive` sends the replayed history, then the buffered publications newer than it, and
 * only then lets live publications through. `lastOffset` drops anything already sent.
 *
 * A live publication whose offset jumps past `lastOffset + 1`, or that comes from another
 * epoch, means the stream cannot be delivered whole from here (a lost notification, a log that
 * was lost and restarted): the subscription stops and `onBreak` asks the client to resubscribe
 * with its last position, which recovers what the log still holds or says plainly that it
 * can't. Following the new epoch silently would hide the gap.
 */
export class ChannelSubscription {
  readonly connection: Connection;
  readonly channel: ParsedChannel;
  readonly key: string;
  readonly filters: SubscriptionFilters | undefined;
  /**
   * The channel carries presence (set at subscribe from the channel's settings, changed by a
   * channel change event): the subscriber is a presence member while subscribed.
   */
  presence = false;
  #state: 'recovering' | 'live' | 'closed' = 'recovering';
  #buffer: RoutedPublication[] = [];
  #epoch = '';
  #lastOffset = 0;

  readonly #onBreak: StreamBreakHandler;

  constructor(connection: Connection, channel: ParsedChannel, key: string, filters: SubscriptionFilters | undefined, onBreak: StreamBreakHandler) {
    this.connection = connection;
    this.channel = channel;
    this.key = key;
    this.filters = filters;
    this.#onBreak = onBreak;
  }

  /** The last position delivered (or skipped as already known) on this subscription. */
  get position(): { offset: number; epoch: string } {
    return { offset: this.#lastOffset, epoch: this.#epoch };
  }

  get state(): 'recovering' | 'live' | 'closed' {
    return this.#state;
  }

  /** Called by the router for every publication on the channel. */
  offer(publication: RoutedPublication): void {
    if (this.#state === 'live') this.#deliver(publication);
    else if (this.#state === 'recovering') {
      this.#buffer.push(publication);
      if (this.#buffer.length > MAX_RECOVERY_BUFFER) this.#break('recovery-overflow');
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
    if (publication.epoch !== this.#epoch) return this.#break('epoch-changed');
    if (publication.offset <= this.#lastOffset) return;
    if (publication.offset !== this.#lastOffset + 1) return this.#break('gap');
    this.#lastOffset = publication.offset;
    if (this.filters && !matchesFilters(this.filters, publication.event())) return;
    this.connection.sendRaw(publication.frame);
  }

  #break(reason: StreamBreak): void {
    if (this.#state === 'closed') return;
    this.close();
    this.#onBreak(this, reason);
  }
}
