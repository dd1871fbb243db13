import {
  ApiXError,
  type ChannelName,
  type SubscribeFrame,
  type SubscriptionState,
  type UnsubscribeFrame,
} from '@apix/protocol';
import type { ChannelAccess } from '../channels/channel-access.js';
import { NO_CHANNEL_SETTINGS, presenceEnabled, type ChannelSettingsSource } from '../channels/channel-settings.js';
import type { Broker, HistorySlice } from '../engine/broker.js';
import { judgeRecovery } from '../engine/stream-recovery.js';
import type { Logger } from '../logging/logger.js';
import { ChannelSubscription, type StreamBreak } from './channel-subscription.js';
import type { Connection } from './connection.js';
import { routedPublication, type EventRouter } from './event-router.js';
import type { RealtimeObserver } from './realtime-observer.js';

export interface SubscriptionLimits {
  readonly maxSubscriptionsPerConnection: number;
  /** The most publications one resume replays; a client further behind gets `recovered: false`. */
  readonly maxRecoveredPublications: number;
}

interface PendingSubscription {
  readonly subscription: ChannelSubscription;
  readonly since: { offset: number; epoch: string } | undefined;
}

/**
 * Subscribe and unsubscribe, with permission checks and gap-free recovery (the seed's
 * SubscriptionManager). A subscribe frame is all or nothing: every channel is validated and
 * authorised before any is added.
 */
export class SubscriptionManager {
  readonly #access: ChannelAccess;
  readonly #router: EventRouter;
  readonly #broker: Broker;
  readonly #limits: SubscriptionLimits;
  readonly #logger: Logger;
  readonly #observer: RealtimeObserver;
  readonly #settings: ChannelSettingsSource;

  constructor(
    access: ChannelAccess,
    router: EventRouter,
    broker: Broker,
    limits: SubscriptionLimits,
    logger: Logger,
    observer: RealtimeObserver = {},
    settings: ChannelSettingsSource = NO_CHANNEL_SETTINGS,
  ) {
    this.#access = access;
    this.#router = router;
    this.#broker = broker;
    this.#limits = limits;
    this.#logger = logger;
    this.#observer = observer;
    this.#settings = settings;
  }

  async subscribe(connection: Connection, frame: SubscribeFrame): Promise<void> {
    const principal = connection.principal!;
    if (frame.acknowledgment === true) {
      throw new ApiXError('NOT_SUPPORTED', 'acknowledgment: true (acknowledged delivery) is not supported yet');
    }
    const unique = new Set(frame.channels);
    if (unique.size !== frame.channels.length) throw new ApiXError('INVALID_FRAME', 'a channel is listed twice');
    for (const channel of Object.keys(frame.since ?? {})) {
      if (!unique.has(channel)) throw new ApiXError('POSITION_INVALID', `since names "${channel}", which is not in channels`);
    }
    for (const channel of frame.channels) {
      if (connection.subscriptions.has(channel)) throw new ApiXError('ALREADY_SUBSCRIBED', undefined, { channel });
    }
    if (connection.subscriptions.size + frame.channels.length > this.#limits.maxSubscriptionsPerConnection) {
      throw new ApiXError('TOO_MANY_SUBSCRIPTIONS');
    }
    const resolved = [];
    for (const channel of frame.channels) resolved.push(await this.#access.resolve(principal, channel, 'subscribe'));
    const presence = new Map<string, boolean>();
    for (const { channel } of resolved) {
      // A channel configured to require acknowledgments must not be served without them.
      const settings = await this.#settings.get(principal.organizationId, channel.name).catch((error: unknown) => {
        throw new ApiXError('UNAVAILABLE', 'channel settings could not be read; retry', { cause: error instanceof Error ? error.message : String(error) });
      });
      if (settings?.acknowledgmentRequired) {
        throw new ApiXError('NOT_SUPPORTED', `${channel.name} requires acknowledged delivery, which is not supported yet`, { channel: channel.name });
      }
      presence.set(channel.name, presenceEnabled(channel.namespace, settings));
    }
    // The socket may have closed while permissions were checked: its release already ran, so
    // anything added from here on would never be released.
    if (connection.closed) return;

    // From here on, live publications are buffered per subscription until its history is read.
    const pending: PendingSubscription[] = resolved.map(({ channel, key }) => {
      const subscription = new ChannelSubscription(connection, channel, key, frame.filters, this.#onStreamBreak);
      subscription.presence = presence.get(channel.name) ?? false;
      connection.subscriptions.set(channel.name, subscription);
      return { subscription, since: frame.since?.[channel.name] };
    });
    let slices: HistorySlice[];
    try {
      await Promise.all(pending.map((p) => this.#router.attach(p.subscription)));
      slices = await Promise.all(
        pending.map((p) =>
          this.#broker.history(p.subscription.key, {
            limit: p.since ? this.#limits.maxRecoveredPublications : 0,
            ...(p.since ? { since: p.since } : {}),
          }),
        ),
      );
    } catch (error) {
      for (const p of pending) this.#remove(connection, p.subscription);
      this.#logger.error({ err: error, connectionId: connection.id }, 'subscribe failed at the broker');
      throw new ApiXError('UNAVAILABLE', 'the event store is not reachable; retry');
    }
    // Closed while the broker answered: release ran over these already (they were registered),
    // but release again — it is idempotent — so nothing depends on that ordering.
    if (connection.closed) {
      for (const p of pending) this.#remove(connection, p.subscription);
      return;
    }

    const states: SubscriptionState[] = [];
    const replays = pending.map((p, i) => {
      const slice = slices[i]!;
      const outcome = p.since ? judgeRecovery(p.since, slice) : undefined;
      // A slice cut by the recovery limit is not a complete recovery either.
      const cut = p.since !== undefined && slice.publications.at(-1)?.offset !== slice.position.offset && slice.position.offset > p.since.offset;
      const recovered = outcome !== undefined && outcome.complete && !cut;
      const missed = outcome && !recovered && p.since!.epoch === slice.position.epoch ? slice.position.offset - p.since!.offset : undefined;
      states.push({
        channel: p.subscription.channel.name,
        channelType: p.subscription.channel.type,
        position: slice.position,
        recovered,
        recovering: p.since !== undefined,
        ...(missed !== undefined && missed > 0 ? { missed } : {}),
      });
      return recovered ? slice.publications.map((pub) => routedPublication(p.subscription.channel.name, pub, slice.position.epoch)) : [];
    });

    // Reply, then subscription.added, then replay + buffered + live: all synchronous from here,
    // so no live publication can overtake the reply.
    connection.reply(frame.id, { subscriptions: states });
    for (const state of states) connection.sendFrame({ type: 'subscription.added', ...state });
    pending.forEach((p, i) => p.subscription.goLive(slices[i]!.position, replays[i]!));
    this.#observer.subscribed?.(connection, frame.channels);
  }

  unsubscribe(connection: Connection, frame: UnsubscribeFrame): ChannelName[] {
    for (const channel of frame.channels) {
      if (!connection.subscriptions.has(channel)) throw new ApiXError('NOT_SUBSCRIBED', undefined, { channel });
    }
    for (const channel of frame.channels) this.#remove(connection, connection.subscriptions.get(channel)!);
    this.#observer.unsubscribed?.(connection, frame.channels, 'unsubscribed');
    return frame.channels;
  }

  /** Drops a subscription the client may no longer hold (permissions changed) and tells it why. */
  revoke(connection: Connection, channel: ChannelName, error: ApiXError): void {
    const subscription = connection.subscriptions.get(channel);
    if (!subscription) return;
    this.#remove(connection, subscription);
    connection.sendFrame({ type: 'subscription.removed', channel, reason: 'revoked', error: error.toBody() });
    this.#observer.unsubscribed?.(connection, [channel], 'revoked');
  }

  /**
   * Re-runs authorisation for the connection's subscriptions (all, or the given channels):
   * after a token refresh, or when a change event names the principal or a channel. Only a
   * real denial revokes: when permissions cannot be read (storage down) the subscription
   * stays — a storage outage degrades service, it never revokes.
   */
  async reauthorize(connection: Connection, channels?: readonly ChannelName[]): Promise<void> {
    for (const channel of channels ?? [...connection.subscriptions.keys()]) {
      if (connection.closed) return;
      if (!connection.subscriptions.has(channel)) continue;
      try {
        await this.#access.resolve(connection.principal!, channel, 'subscribe');
      } catch (error) {
        if (error instanceof ApiXError && error.code === 'APIX_ERR_CHANNEL_FORBIDDEN') this.revoke(connection, channel, error);
        else if (error instanceof ApiXError && error.retryable) {
          this.#logger.warn({ connectionId: connection.id, channel, code: error.code }, 'permissions could not be re-checked; the subscription stays');
        } else throw error;
      }
    }
  }

  /** Releases every subscription of a closed connection. Idempotent: a second call finds nothing. */
  releaseAll(connection: Connection): void {
    const channels = [...connection.subscriptions.keys()];
    for (const subscription of connection.subscriptions.values()) this.#router.detach(subscription);
    connection.subscriptions.clear();
    if (channels.length > 0 && connection.principal) this.#observer.unsubscribed?.(connection, channels, 'closed');
  }

  /** The live stream broke under a subscription: remove it and ask the client to resubscribe from its position. */
  readonly #onStreamBreak = (subscription: ChannelSubscription, reason: StreamBreak): void => {
    const { connection } = subscription;
    const channel = subscription.channel.name;
    if (connection.subscriptions.get(channel) !== subscription) return;
    this.#remove(connection, subscription);
    this.#logger.info({ connectionId: connection.id, channel, reason }, 'live stream broke; client asked to resubscribe');
    if (connection.closed) return;
    const error = new ApiXError('STREAM_RESET', undefined, { channel, reason, position: subscription.position });
    connection.sendFrame({ type: 'subscription.removed', channel, reason: 'resubscribe', error: error.toBody() });
    this.#observer.unsubscribed?.(connection, [channel], 'resubscribe');
  };

  #remove(connection: Connection, subscription: ChannelSubscription): void {
    if (connection.subscriptions.get(subscription.channel.name) === subscription) {
      connection.subscriptions.delete(subscription.channel.name);
    }
    this.#router.detach(subscription);
  }
}

