import type {
  ChannelName,
  ChannelType,
  DomainEventType,
  DomainPayloads,
  EventMetadata,
  PublishEvent,
  StreamPosition,
} from '@apix/protocol';
import type { ClientState } from './client-state.js';
import type { DisconnectCause } from './disconnect-cause.js';
import type { ApiXClientError } from './errors.js';
import type { SubscriptionState } from './subscription-state.js';

// ---------------------------------------------------------------- event payloads

/** The payload type of an event type: typed for the seven domain events, `unknown` for custom ones. */
export type PayloadOf<T extends string> = T extends DomainEventType ? DomainPayloads[T] : unknown;

/** An event as delivered: metadata is complete (the server fills in timestamp and version). */
export interface ReceivedEvent<T extends string = string> {
  type: T;
  payload: PayloadOf<T>;
  metadata: EventMetadata;
}

/** An event to publish. For a domain type (`tool_call_start`, …) the payload is checked at compile time. */
export interface PublishEventInput<T extends string = string> {
  type: T;
  payload: PayloadOf<T>;
  metadata?: PublishEvent['metadata'];
}

/**
 * Narrows a received event to a domain type. The server checked the payload against the
 * protocol schema when it was published, so the narrowing is backed by validation.
 */
export function isDomainEvent<K extends DomainEventType>(event: ReceivedEvent, type: K): event is ReceivedEvent<K> {
  return event.type === type;
}

// ---------------------------------------------------------------- client events

export interface ClientStateContext {
  previous: ClientState;
  current: ClientState;
}

export interface ConnectingContext {
  /** 1 for the first attempt after connect() or after a successful connection, then 2, 3, … */
  attempt: number;
  reason: 'connect-called' | 'reconnect';
}

/** The server's `connection.established`, as the application sees it. */
export interface ConnectedContext {
  connectionId: string;
  sessionId: string;
  organizationId: string;
  userId: string;
  heartbeatIntervalMs: number;
  /** Token expiry, ms since the epoch on the server's clock. */
  expiresAt: number;
  serverTime: number;
  /**
   * True when this connection resumed the previous connection's session (same `sessionId`,
   * subscriptions kept, missed events replayed). False for a new session — after a refused
   * session token the `error` event (source `session`) says why.
   */
  resumed: boolean;
}

export interface DisconnectedContext {
  /** The close code (the server's, or one of ClientCloseCodes when the client dropped the link). */
  code: number;
  reason: string;
  /** The next attempt starts after this delay (full-jitter backoff, on top of the server's retryAfterMs if it sent one). */
  reconnectDelayMs: number;
  /** Why, in a form to act on: token function failed, upgrade refused (status), closed with code X… (docs/sdk.md). */
  cause: DisconnectCause;
}

export interface ClosedContext {
  code: number;
  reason: string;
  /** Why the client will not reconnect: APIX_ERR_CLIENT_CLOSED after disconnect(), else what the server said. */
  error: ApiXClientError;
  /** The terminal cause (refused token or origin, a 45xx close, disconnect()). */
  cause: DisconnectCause;
}

export interface ClientErrorContext {
  /** Where it happened. None of these end the client on their own; `closed` says when it ends. */
  source: 'token' | 'connect' | 'refresh' | 'server' | 'frame' | 'subscribe' | 'unsubscribe' | 'transport' | 'session';
  error: ApiXClientError;
  /** For failures to connect (`token`, `transport`): the cause, as `disconnected` and `lastCause` report it. */
  cause?: DisconnectCause;
}

export interface RefreshedContext {
  expiresAt: number;
}

export interface HeartbeatContext {
  /** Round-trip time of the last heartbeat.ping → heartbeat.pong. */
  rttMs: number;
  serverTime: number;
}

export interface ClientEvents {
  state: ClientStateContext;
  connecting: ConnectingContext;
  connected: ConnectedContext;
  disconnected: DisconnectedContext;
  closed: ClosedContext;
  error: ClientErrorContext;
  refreshed: RefreshedContext;
  heartbeat: HeartbeatContext;
}

// ---------------------------------------------------------------- subscription events

export interface SubscriptionStateContext {
  channel: ChannelName;
  previous: SubscriptionState;
  current: SubscriptionState;
}

export interface SubscribingContext {
  channel: ChannelName;
  /**
   * `resubscribe`: the server removed the subscription without meaning it for good (reason
   * `resubscribe`, or an error marked retryable); the SDK subscribes again from its last
   * position, and `subscribed` then says whether nothing was lost (`recovered`).
   */
  reason: 'subscribe-called' | 'connection-lost' | 'resubscribe';
}

/**
 * A subscription became active. Read `recovering` and `recovered` together:
 *
 * | recovering | recovered | meaning                                                           |
 * |------------|-----------|-------------------------------------------------------------------|
 * | false      | false     | a fresh subscription: publications from now on                     |
 * | true       | true      | resumed: every publication after the last one delivered will come   |
 * | true       | false     | GAP: the position was gone (trimmed, or the epoch changed); `missed` |
 * |            |           | says how many publications were lost when the server knows          |
 */
export interface SubscribedContext {
  channel: ChannelName;
  channelType: ChannelType;
  /** The stream's position when the subscription went live. */
  position: StreamPosition;
  recovering: boolean;
  recovered: boolean;
  missed?: number;
}

export interface UnsubscribedContext {
  channel: ChannelName;
  /** `client`: unsubscribe() was called; `revoked`: the server removed it; `error`: the subscribe was refused. */
  reason: 'client' | 'revoked' | 'error';
  error?: ApiXClientError;
}

/** One delivered publication. Each `(epoch, offset)` reaches the application once, in order. */
export interface PublicationContext<T extends string = string> {
  channel: ChannelName;
  offset: number;
  epoch: string;
  event: ReceivedEvent<T>;
}

/**
 * An event of an acknowledged subscription was delivered the channel's maximum number of
 * times without an ack reaching the server, and went to the channel's dead letters.
 */
export interface MessageFailedContext {
  channel: ChannelName;
  offset: number;
  epoch: string;
  deliveryCount: number;
  reason: string;
}

export interface SubscriptionErrorContext {
  channel: ChannelName;
  /** A temporary failure (rate limit, server unavailable): the subscription stays `subscribing` and retries. */
  error: ApiXClientError;
}

export interface SubscriptionEvents {
  state: SubscriptionStateContext;
  subscribing: SubscribingContext;
  subscribed: SubscribedContext;
  unsubscribed: UnsubscribedContext;
  publication: PublicationContext;
  /** Acknowledged subscriptions only: an event was dead-lettered. */
  failed: MessageFailedContext;
  error: SubscriptionErrorContext;
}

/** Listeners passed to `client.subscribe(channel, handlers)`, one per subscription event. */
export type SubscriptionHandlers = { [K in keyof SubscriptionEvents]?: (context: SubscriptionEvents[K]) => void };
