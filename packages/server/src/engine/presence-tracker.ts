import type { ChannelName } from '@apix/protocol';
import type { Logger } from '../logging/logger.js';
import type { ChannelSubscription } from '../realtime/channel-subscription.js';
import type { Connection } from '../realtime/connection.js';
import type { RealtimeObserver } from '../realtime/realtime-observer.js';
import type { PresenceManager } from './presence.js';

/**
 * Publishes a presence announcement on the channel, in its order (a node that dies announces
 * nothing: its members just expire from the list after the TTL).
 */
export type PresenceAnnouncer = (channelKey: string, type: 'presence.join' | 'presence.leave', member: { clientId: string; userId: string }) => void;

/**
 * Keeps the presence store in step with this node's subscriptions: a connection subscribed to
 * a channel that carries presence (`subscription.presence`: rooms by default, others by channel
 * setting — see presenceEnabled) is a member of it (client id = connection id) until it unsubscribes or closes. The
 * node renews its own members every third of the member TTL, so members of a node that dies
 * expire by themselves. Observer calls only enqueue (the data plane never waits on Redis);
 * failures are logged — a missed add is repaired by the next renewal.
 */
export class PresenceTracker implements RealtimeObserver {
  readonly #presence: PresenceManager;
  readonly #logger: Logger;
  /** connection id → (channel name → channel key), for what this node announced. */
  readonly #members = new Map<string, { userId: string; channels: Map<ChannelName, string> }>();
  readonly #timer: NodeJS.Timeout;

  readonly #announce: PresenceAnnouncer | undefined;

  constructor(presence: PresenceManager, memberTtlMs: number, logger: Logger, announce?: PresenceAnnouncer) {
    this.#presence = presence;
    this.#logger = logger;
    this.#announce = announce;
    this.#timer = setInterval(() => this.#renew(), Math.max(1_000, Math.floor(memberTtlMs / 3)));
    this.#timer.unref();
  }

  subscribed(connection: Connection, channels: readonly ChannelName[]): void {
    const userId = connection.principal?.userId;
    if (userId === undefined) return;
    for (const name of channels) {
      const subscription = connection.subscriptions.get(name);
      if (!subscription || !subscription.presence) continue;
      let entry = this.#members.get(connection.id);
      if (!entry) {
        entry = { userId, channels: new Map() };
        this.#members.set(connection.id, entry);
      }
      entry.channels.set(name, subscription.key);
      this.#add(subscription.key, connection.id, userId);
      this.#announce?.(subscription.key, 'presence.join', { clientId: connection.id, userId });
    }
  }

  unsubscribed(connection: Connection, channels: readonly ChannelName[]): void {
    const entry = this.#members.get(connection.id);
    if (!entry) return;
    for (const name of channels) {
      const key = entry.channels.get(name);
      if (key === undefined) continue;
      entry.channels.delete(name);
      this.#presence.remove(key, connection.id).catch((error: unknown) => this.#logger.warn({ err: error, channelKey: key }, 'presence remove failed'));
      this.#announce?.(key, 'presence.leave', { clientId: connection.id, userId: entry.userId });
    }
    if (entry.channels.size === 0) this.#members.delete(connection.id);
  }

  connectionClosed(connection: Connection): void {
    const entry = this.#members.get(connection.id);
    if (entry) this.unsubscribed(connection, [...entry.channels.keys()]);
  }

  /**
   * A channel's presence setting changed (a channel change event): its current subscribers on
   * this node join (and are announced) when it was switched on, leave when it was switched off.
   * Costs what the channel has subscribers here, nothing else.
   */
  channelSettingsChanged(subscriptions: readonly ChannelSubscription[], enabled: boolean): void {
    for (const subscription of subscriptions) {
      const { connection } = subscription;
      const name = subscription.channel.name;
      if (connection.closed || connection.subscriptions.get(name) !== subscription) continue;
      subscription.presence = enabled;
      const member = this.#members.get(connection.id)?.channels.has(name) ?? false;
      if (enabled && !member) this.subscribed(connection, [name]);
      else if (!enabled && member) this.unsubscribed(connection, [name]);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #add(key: string, clientId: string, userId: string): void {
    this.#presence.add(key, { clientId, userId }).catch((error: unknown) => this.#logger.warn({ err: error, channelKey: key }, 'presence add failed'));
  }

  /** Lease renewal of this node's own members (like connection heartbeats): one add per member per period. */
  #renew(): void {
    for (const [clientId, entry] of this.#members) {
      for (const key of entry.channels.values()) this.#add(key, clientId, entry.userId);
    }
  }
}
