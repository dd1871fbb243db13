import type { ParsedChannel, SubscriptionFilters } from '@apix/protocol';
import { BroadcastDelivery } from './broadcast-delivery.js';
import type { Connection } from './connection.js';
import type { Delivery, DeliveryState } from './delivery.js';

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

/** Builds the delivery strategy of a new subscription; `onBreak` ends it and asks the client to resubscribe. */
export type DeliveryFactory = (subscription: ChannelSubscription, onBreak: (reason: StreamBreak) => void) => Delivery;

const broadcast: DeliveryFactory = (subscription, onBreak) => new BroadcastDelivery(subscription.connection, subscription.filters, onBreak);

/**
 * One connection's subscription to one channel: its identity (connection, channel, key,
 * filters) and its delivery mode (ADR 0035). Everything per event is the `Delivery`'s; this
 * class only forwards, so broadcast costs one more method call and no allocation.
 */
export class ChannelSubscription {
  readonly connection: Connection;
  readonly channel: ParsedChannel;
  readonly key: string;
  readonly filters: SubscriptionFilters | undefined;
  readonly delivery: Delivery;
  /**
   * The channel carries presence (set at subscribe from the channel's settings, changed by a
   * channel change event): the subscriber is a presence member while subscribed.
   */
  presence = false;
  readonly #onBreak: StreamBreakHandler;

  constructor(
    connection: Connection,
    channel: ParsedChannel,
    key: string,
    filters: SubscriptionFilters | undefined,
    onBreak: StreamBreakHandler,
    makeDelivery: DeliveryFactory = broadcast,
  ) {
    this.connection = connection;
    this.channel = channel;
    this.key = key;
    this.filters = filters;
    this.#onBreak = onBreak;
    this.delivery = makeDelivery(this, (reason) => this.#onBreak(this, reason));
  }

  /** The position the client can resume from (last delivered for broadcast; everything acked for acknowledged). */
  get position(): { offset: number; epoch: string } {
    return this.delivery.position;
  }

  get state(): DeliveryState {
    return this.delivery.state;
  }

  /** Called by the router for every publication on the channel. */
  offer(publication: RoutedPublication): void {
    this.delivery.offer(publication);
  }

  /**
   * Ends recovery: `replay` (history after the client's position, in order) goes first, then
   * buffered live publications after `position`, then live traffic.
   */
  goLive(position: { offset: number; epoch: string }, replay: readonly RoutedPublication[]): void {
    this.delivery.goLive(position, replay);
  }

  close(): void {
    this.delivery.close();
  }
}
