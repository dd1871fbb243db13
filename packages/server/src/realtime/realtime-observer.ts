import type { ChannelName, PublishResult } from '@apix/protocol';
import type { ChannelAction } from '../channels/channel-authorizer.js';
import type { ChannelSettings } from '../channels/channel-settings.js';
import type { Principal } from '../identity/principal.js';
import type { Connection } from './connection.js';

/**
 * Why a subscription ended: the client asked, permissions were lost, the server asked the
 * client to resubscribe (the live stream broke), or the connection closed.
 */
export type SubscriptionEndReason = 'unsubscribed' | 'revoked' | 'resubscribe' | 'closed';

export interface AuthenticationFailure {
  readonly via: 'websocket' | 'http';
  readonly code: string;
  readonly remoteAddress: string | undefined;
}

export interface OriginRefusal {
  /** As sent by the client, cut to a bounded length. */
  readonly origin: string;
  readonly remoteAddress: string | undefined;
}

/**
 * What the data plane reports about itself, for whoever keeps records (audit log, connection
 * table, metrics). Observers are called synchronously on the hot path: they must only
 * enqueue, never wait on I/O. The data plane does not know storage exists.
 */
export interface RealtimeObserver {
  connectionOpened?(connection: Connection): void;
  connectionClosed?(connection: Connection, code: number): void;
  /** The connection presented a new token (`refresh`): same identity, new roles and expiry. */
  credentialsRefreshed?(connection: Connection): void;
  authenticationFailed?(failure: AuthenticationFailure): void;
  originRefused?(refusal: OriginRefusal): void;
  subscribed?(connection: Connection, channels: readonly ChannelName[]): void;
  unsubscribed?(connection: Connection, channels: readonly ChannelName[], reason: SubscriptionEndReason): void;
  accessDenied?(principal: Principal, channel: ChannelName, action: ChannelAction): void;
  /** `settings`: the channel's stored settings (audit mode), when it has a row. */
  published?(principal: Principal, result: PublishResult, eventType: string, settings: ChannelSettings | undefined): void;
  /** A request was refused by the connection's rate limit (before any work). */
  rateLimited?(connection: Connection): void;
  /** An acknowledged event ran out of deliveries and was dead-lettered (`message.failed` was sent). */
  messageFailed?(connection: Connection, channel: ChannelName, failure: MessageFailure): void;
}

export interface MessageFailure {
  readonly offset: number;
  readonly epoch: string;
  readonly deliveryCount: number;
  readonly reason: string;
}

/** Fans one report out to several observers. */
export class ObserverList implements Required<RealtimeObserver> {
  readonly #observers: RealtimeObserver[] = [];

  add(observer: RealtimeObserver): void {
    this.#observers.push(observer);
  }

  connectionOpened(connection: Connection): void {
    for (const o of this.#observers) o.connectionOpened?.(connection);
  }
  connectionClosed(connection: Connection, code: number): void {
    for (const o of this.#observers) o.connectionClosed?.(connection, code);
  }
  credentialsRefreshed(connection: Connection): void {
    for (const o of this.#observers) o.credentialsRefreshed?.(connection);
  }
  authenticationFailed(failure: AuthenticationFailure): void {
    for (const o of this.#observers) o.authenticationFailed?.(failure);
  }
  originRefused(refusal: OriginRefusal): void {
    for (const o of this.#observers) o.originRefused?.(refusal);
  }
  subscribed(connection: Connection, channels: readonly ChannelName[]): void {
    for (const o of this.#observers) o.subscribed?.(connection, channels);
  }
  unsubscribed(connection: Connection, channels: readonly ChannelName[], reason: SubscriptionEndReason): void {
    for (const o of this.#observers) o.unsubscribed?.(connection, channels, reason);
  }
  accessDenied(principal: Principal, channel: ChannelName, action: ChannelAction): void {
    for (const o of this.#observers) o.accessDenied?.(principal, channel, action);
  }
  published(principal: Principal, result: PublishResult, eventType: string, settings: ChannelSettings | undefined): void {
    for (const o of this.#observers) o.published?.(principal, result, eventType, settings);
  }
  rateLimited(connection: Connection): void {
    for (const o of this.#observers) o.rateLimited?.(connection);
  }
  messageFailed(connection: Connection, channel: ChannelName, failure: MessageFailure): void {
    for (const o of this.#observers) o.messageFailed?.(connection, channel, failure);
  }
}
