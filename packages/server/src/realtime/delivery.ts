import type { RoutedPublication } from './channel-subscription.js';

export type DeliveryState = 'recovering' | 'live' | 'closed';

/**
 * How a subscription's events reach its client (ADR 0035): `BroadcastDelivery` shares the
 * hub's encoded bytes and keeps nothing per event; `AcknowledgedDelivery` treats a
 * publication only as a wake-up and reads its own entries from a durable consumer group.
 * `ChannelSubscription` holds the identity and delegates these calls, so the router and the
 * subscription manager never branch on the mode.
 */
export interface Delivery {
  readonly state: DeliveryState;
  /** The position the client can resume from without losing anything (see each mode). */
  readonly position: { offset: number; epoch: string };
  /** A live publication on the channel (every mode is told of every one). */
  offer(publication: RoutedPublication): void;
  /** Ends recovery: `replay` first (broadcast), then live. */
  goLive(position: { offset: number; epoch: string }, replay: readonly RoutedPublication[]): void;
  /** Stops for good; idempotent. Releases timers. */
  close(): void;
}
