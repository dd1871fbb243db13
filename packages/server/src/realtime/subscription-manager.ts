import {
  ApiXError,
  type AckFrame,
  type ChannelName,
  type ParsedChannel,
  type StreamPosition,
  type SubscribeFrame,
  type SubscriptionFilters,
  type SubscriptionState,
  type UnsubscribeFrame,
} from '@apix/protocol';
import type { ChannelAccess } from '../channels/channel-access.js';
import { NO_CHANNEL_SETTINGS, presenceEnabled, type ChannelSettingsSource } from '../channels/channel-settings.js';
import type { Broker, HistorySlice } from '../engine/broker.js';
import { judgeRecovery } from '../engine/stream-recovery.js';
import type { Logger } from '../logging/logger.js';
import { AcknowledgedDelivery, type AcknowledgedDeliveryContext } from './acknowledged-delivery.js';
import { ChannelSubscription, type DeliveryFactory, type StreamBreak } from './channel-subscription.js';
import { DEFAULT_DELIVERY_POLICY, resolveDeliveryPolicy, type DeliveryPolicy } from './delivery-policy.js';
import type { Connection } from './connection.js';
import { routedPublication, type EventRouter } from './event-router.js';
import { GroupDelivery, queueGroupName } from './group-delivery.js';
import type { GroupHygiene } from './group-hygiene.js';
import type { QueueGroups } from './queue-groups.js';
import type { RealtimeObserver } from './realtime-observer.js';

export interface SubscriptionLimits {
  readonly maxSubscriptionsPerConnection: number;
  /** The most publications one resume replays; a client further behind gets `recovered: false`. */
  readonly maxRecoveredPublications: number;
}

interface OpenItem {
  readonly channel: ParsedChannel;
  readonly key: string;
  readonly filters: SubscriptionFilters | undefined;
  readonly since: StreamPosition | undefined;
  /** Acknowledged delivery with this policy; undefined: broadcast. */
  readonly policy: DeliveryPolicy | undefined;
  /** Queue group (its durable group name `q:<group>`, with `policy` set); undefined: not a group member. */
  readonly queueGroup?: string | undefined;
  /** The channel carries presence (its settings, or the namespace's default). */
  readonly presence: boolean;
}

interface PendingSubscription {
  readonly subscription: ChannelSubscription;
  readonly since: { offset: number; epoch: string } | undefined;
  /** The durable group behind an acknowledged subscription; undefined for broadcast. */
  readonly group: string | undefined;
}

/** Acknowledged delivery: the durable-consumer engine and the node's RetryManager (absent: acks refused). */
export interface AcknowledgedDeliverySettings extends AcknowledgedDeliveryContext {
  /** The server's defaults (config ACK_*); a channel's settings may override each value. */
  readonly policy: DeliveryPolicy;
  /** Queue groups (ADR 0042): the node's registry and claim passes; absent: `group` refused. */
  readonly groups?: QueueGroups;
  /** Removes the groups of expired sessions on a channel when this node joins a group there (ADR 0048); absent: never. */
  readonly hygiene?: Pick<GroupHygiene, 'joined'>;
  /**
   * A closed connection left unacked events in a group: tell every node (the control bus), so
   * a connection that resumed the session meanwhile reads them (`adoptPending`, ADR 0046).
   */
  readonly released?: (key: string, group: string) => void;
}

/** The group behind an acknowledged subscription: one per session and channel (ADR 0035 step 1). */
export function acknowledgedGroupName(sessionId: string): string {
  return `a:${sessionId}`;
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
  readonly #acks: AcknowledgedDeliverySettings | undefined;
  /** Group removals still running, so a quick resubscribe joins after the old group is gone. */
  readonly #removals = new Map<string, Promise<unknown>>();

  constructor(
    access: ChannelAccess,
    router: EventRouter,
    broker: Broker,
    limits: SubscriptionLimits,
    logger: Logger,
    observer: RealtimeObserver = {},
    settings: ChannelSettingsSource = NO_CHANNEL_SETTINGS,
    acks?: AcknowledgedDeliverySettings,
  ) {
    this.#acks = acks;
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
    if (frame.acknowledgment === true && !this.#acks) {
      throw new ApiXError('NOT_SUPPORTED', 'acknowledged delivery is not enabled on this server');
    }
    if (frame.group !== undefined && !this.#acks?.groups) {
      throw new ApiXError('NOT_SUPPORTED', 'queue groups are not enabled on this server');
    }
    // A filter would settle the events it excludes for the whole group, not for one member.
    if (frame.group !== undefined && frame.filters !== undefined) {
      throw new ApiXError('INVALID_REQUEST', 'a queue group subscription takes no filters: an excluded event would be settled for every member');
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
    // Per channel: broadcast, or acknowledged (asked for, or required by the channel's settings).
    const modes: Array<{ policy: DeliveryPolicy | undefined; presence: boolean }> = [];
    // A queue group member is always acknowledged.
    const acked = frame.acknowledgment === true || frame.group !== undefined;
    for (const { channel } of resolved) modes.push(await this.#deliveryMode(principal.organizationId, channel, acked));
    // A queue group's cursor is the group's, shared by its members: a member's `since` does not apply.
    const queueGroup = frame.group === undefined ? undefined : queueGroupName(frame.group);
    const items = resolved.map(({ channel, key }, i) => ({
      channel,
      key,
      filters: frame.filters,
      since: queueGroup === undefined ? frame.since?.[channel.name] : undefined,
      ...modes[i]!,
      queueGroup,
    }));
    const states = await this.#open(connection, items, (opened) => {
      connection.reply(frame.id, { subscriptions: opened });
    });
    if (states) this.#observer.subscribed?.(connection, frame.channels);
  }

  /**
   * Puts a resumed session's subscriptions back (SessionKeeper): each channel is authorised
   * again first (contract line 7) — one that is refused now is left out and named in
   * `dropped`, the others still come back (unlike `subscribe`, which is all or nothing:
   * there is no request to refuse here). `announce` runs with the states right before the
   * replays are sent, so the caller's frame (`connection.established`) precedes them.
   * Returns undefined when the connection closed meanwhile. Broker failures throw UNAVAILABLE.
   */
  async restore(
    connection: Connection,
    entries: ReadonlyArray<{ channel: ChannelName; filters?: SubscriptionFilters; since?: StreamPosition; acknowledgment?: boolean }>,
    announce: (states: SubscriptionState[]) => void,
  ): Promise<{ states: SubscriptionState[]; dropped: ChannelName[] } | undefined> {
    const principal = connection.principal!;
    const items: OpenItem[] = [];
    const dropped: ChannelName[] = [];
    for (const entry of entries.slice(0, this.#limits.maxSubscriptionsPerConnection)) {
      try {
        const { channel, key } = await this.#access.resolve(principal, entry.channel, 'subscribe');
        // Acknowledged when the client asked for it (the session records that) or the channel
        // requires it: the same group, so its pending events come back and acks go on.
        const mode = await this.#deliveryMode(principal.organizationId, channel, entry.acknowledgment === true && this.#acks !== undefined);
        items.push({ channel, key, filters: entry.filters, since: entry.since, ...mode });
      } catch (error) {
        // A real denial (or a name that no longer parses) drops the channel from the session;
        // an outage does not decide anything: the channel stays out of this connection, the
        // client's own resubscribe (the SDK's) asks again.
        if (error instanceof ApiXError && !error.retryable) dropped.push(entry.channel);
        else this.#logger.warn({ connectionId: connection.id, channel: entry.channel }, 'permission re-check failed on resume; channel not restored');
      }
    }
    const states = await this.#open(connection, items, announce);
    if (!states) return undefined;
    if (items.length > 0) this.#observer.subscribed?.(connection, items.map((i) => i.channel.name));
    return { states, dropped };
  }

  /**
   * Registers the subscriptions, reads what each missed, then — synchronously from the
   * `announce` call on — sends reply, `subscription.added`, replay, buffered and live
   * publications in that order, so no live publication can overtake the reply.
   */
  async #open(connection: Connection, items: readonly OpenItem[], announce: (states: SubscriptionState[]) => void): Promise<SubscriptionState[] | undefined> {
    // The socket may have closed while permissions were checked: its release already ran, so
    // anything added from here on would never be released.
    if (connection.closed) return undefined;
    // Queue-group caps, checked and taken with no await in between (GroupDelivery registers in its constructor).
    const joins = items.filter((i) => i.queueGroup !== undefined).map((i) => ({ key: i.key, group: i.queueGroup! }));
    if (joins.length > 0) this.#acks!.groups!.check(connection.principal!.organizationId, joins);

    // From here on, live publications are buffered per subscription until its history is read.
    const pending: PendingSubscription[] = items.map(({ channel, key, filters, since, policy, presence, queueGroup }) => {
      const group = policy ? (queueGroup ?? acknowledgedGroupName(connection.sessionId)) : undefined;
      const delivery =
        policy && queueGroup !== undefined
          ? this.#groupMember(connection, key, channel.name, queueGroup, policy)
          : policy && group
            ? this.#acknowledged(connection, key, channel.name, group, policy)
            : undefined;
      const subscription = new ChannelSubscription(connection, channel, key, filters, this.#onStreamBreak, delivery);
      subscription.presence = presence;
      connection.subscriptions.set(channel.name, subscription);
      return { subscription, since, group };
    });
    let slices: HistorySlice[];
    try {
      await Promise.all(pending.map((p) => this.#router.attach(p.subscription)));
      slices = await Promise.all(
        pending.map((p) =>
          this.#broker.history(p.subscription.key, {
            // Acknowledged: the group replays whatever follows `since`; one publication tells
            // whether the log still holds the first of them.
            limit: p.since ? (p.group !== undefined ? 1 : this.#limits.maxRecoveredPublications) : 0,
            ...(p.since ? { since: p.since } : {}),
          }),
        ),
      );
      // Acknowledged: the group starts where the client's stream continues — after its `since`
      // when the log still holds what follows it, else at the position reported below.
      await Promise.all(
        pending.map((p, i) => {
          if (p.group === undefined) return undefined;
          const slice = slices[i]!;
          const resumable = p.since !== undefined && judgeRecovery(p.since, slice).complete;
          return this.#joinGroup(p.subscription.key, p.group, connection.sessionId, resumable ? p.since!.offset : slice.position.offset);
        }),
      );
    } catch (error) {
      // The group stays: it is the session's, and may hold what a resume must hand out again.
      for (const p of pending) this.#release(connection, p.subscription);
      this.#logger.error({ err: error, connectionId: connection.id }, 'subscribe failed at the broker');
      throw new ApiXError('UNAVAILABLE', 'the event store is not reachable; retry');
    }
    // Closed while the broker answered: release ran over these already (they were registered),
    // but release again — it is idempotent — so nothing depends on that ordering.
    if (connection.closed) {
      for (const p of pending) this.#release(connection, p.subscription);
      return undefined;
    }

    const states: SubscriptionState[] = [];
    const replays = pending.map((p, i) => {
      const slice = slices[i]!;
      const outcome = p.since ? judgeRecovery(p.since, slice) : undefined;
      // A slice cut by the recovery limit is not a complete recovery either.
      const cut = p.group === undefined && p.since !== undefined && slice.publications.at(-1)?.offset !== slice.position.offset && slice.position.offset > p.since.offset;
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
      // Acknowledged subscriptions replay through their group (it starts after `since`).
      if (p.group !== undefined) return [];
      return recovered ? slice.publications.map((pub) => routedPublication(p.subscription.channel.name, pub, slice.position.epoch)) : [];
    });

    // Reply, then subscription.added, then replay + buffered + live: all synchronous from here,
    // so no live publication can overtake the reply.
    announce(states);
    for (const state of states) connection.sendFrame({ type: 'subscription.added', ...state });
    pending.forEach((p, i) => p.subscription.goLive(slices[i]!.position, replays[i]!));
    return states;
  }

  /**
   * From the channel's settings: broadcast (policy undefined) or the acknowledged-delivery
   * policy (asked for, or required by the channel), and whether the channel carries presence.
   */
  async #deliveryMode(organizationId: string, channel: ParsedChannel, asked: boolean): Promise<{ policy: DeliveryPolicy | undefined; presence: boolean }> {
    const settings = await this.#settings.get(organizationId, channel.name).catch((error: unknown) => {
      throw new ApiXError('UNAVAILABLE', 'channel settings could not be read; retry', { cause: error instanceof Error ? error.message : String(error) });
    });
    const presence = presenceEnabled(channel.namespace, settings);
    const acknowledged = asked || settings?.acknowledgmentRequired === true;
    if (!acknowledged) return { policy: undefined, presence };
    // A channel configured to require acknowledgments must not be served without them.
    if (!this.#acks) throw new ApiXError('NOT_SUPPORTED', `${channel.name} requires acknowledged delivery, which is not enabled on this server`, { channel: channel.name });
    return { policy: resolveDeliveryPolicy(this.#acks.policy ?? DEFAULT_DELIVERY_POLICY, settings?.deliveryPolicy), presence };
  }

  /** Settles events of an acknowledged subscription (the `ack` frame). */
  async ack(connection: Connection, frame: AckFrame): Promise<{ acked: number }> {
    const subscription = connection.subscriptions.get(frame.channel);
    if (!subscription) throw new ApiXError('NOT_SUBSCRIBED', undefined, { channel: frame.channel });
    const delivery = subscription.delivery;
    if (!(delivery instanceof AcknowledgedDelivery)) {
      throw new ApiXError('INVALID_REQUEST', `${frame.channel} is not subscribed with acknowledgment: nothing to ack`, { channel: frame.channel });
    }
    const acked = await delivery.ack(frame.upTo !== undefined ? { upTo: frame.upTo } : { offsets: frame.offsets ?? [] });
    return { acked };
  }

  /** A connection elsewhere (or here) closed holding unacked events of this group: its live subscriber here reads them. */
  adoptReleased(key: string, group: string): void {
    for (const subscription of this.#router.subscribersOf(key)) {
      if (subscription.delivery instanceof AcknowledgedDelivery && acknowledgedGroupName(subscription.connection.sessionId) === group) subscription.delivery.adoptPending();
    }
  }

  /** Wakes this node's acknowledged subscriptions of a channel (a dead letter was handed back to its group). */
  wakeAcknowledged(key: string): void {
    for (const subscription of this.#router.subscribersOf(key)) {
      if (subscription.delivery instanceof AcknowledgedDelivery) subscription.delivery.wake();
    }
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

  /**
   * Releases every subscription of a closed connection. Idempotent: a second call finds nothing.
   * Acknowledged groups stay (ADR 0046): they belong to the session, which may resume on any
   * node — removing them here lost their pending events, and a late close of a stale connection
   * removed the group under the connection that had resumed the session meanwhile.
   */
  releaseAll(connection: Connection): void {
    const channels = [...connection.subscriptions.keys()];
    for (const subscription of connection.subscriptions.values()) {
      const delivery = subscription.delivery;
      const released = this.#acks?.released;
      if (released && delivery instanceof AcknowledgedDelivery && !(delivery instanceof GroupDelivery)) {
        // A queue group's entries go back by its idle-claim pass; the session's own group has no other reader to claim them.
        const group = acknowledgedGroupName(connection.sessionId);
        delivery.releaseOnClose(() => released(subscription.key, group));
      }
      this.#router.detach(subscription);
    }
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

  /**
   * The subscription ends for good (unsubscribe, revocation, a broken stream): its group goes with
   * it; a queue-group member gives back what it holds at once (ADR 0048) — set before the
   * release closes the delivery, since close is what hands the held entries over.
   */
  #remove(connection: Connection, subscription: ChannelSubscription): void {
    if (subscription.delivery instanceof GroupDelivery) subscription.delivery.leave();
    this.#release(connection, subscription);
    this.#forgetGroup(subscription);
  }

  /** The subscription leaves this connection; its group (if any) stays with the session. */
  #release(connection: Connection, subscription: ChannelSubscription): void {
    if (connection.subscriptions.get(subscription.channel.name) === subscription) {
      connection.subscriptions.delete(subscription.channel.name);
    }
    this.#router.detach(subscription);
  }

  #acknowledged(connection: Connection, key: string, channel: string, group: string, policy: DeliveryPolicy): DeliveryFactory {
    const acks = this.#acks!;
    return (subscription, onBreak) =>
      new AcknowledgedDelivery(connection, subscription.filters, onBreak, { key, channel, group, member: connection.sessionId }, policy, acks);
  }

  #groupMember(connection: Connection, key: string, channel: string, group: string, policy: DeliveryPolicy): DeliveryFactory {
    const acks = this.#acks!;
    return (_subscription, onBreak) => new GroupDelivery(connection, onBreak, { key, channel, group, member: connection.sessionId }, policy, acks, acks.groups!);
  }

  async #joinGroup(key: string, group: string, member: string, afterOffset: number): Promise<void> {
    await this.#removals.get(`${key}\u0000${group}`);
    // A queue-group membership this session just ended releases what it held first (ADR 0048).
    await this.#acks!.groups?.left(key, group, member);
    await this.#acks!.durable.join(key, group, member, { start: { kind: 'after', offset: afterOffset } });
    // Work in proportion to what changed: a join is when this node looks at the channel's groups.
    this.#acks!.hygiene?.joined(key);
  }

  /**
   * An acknowledged subscription's group belongs to its session: removed when the session ends
   * the subscription (unsubscribe, revocation, a broken stream), never by a connection closing
   * (ADR 0046). Its dead letters stay: they are the channel's.
   */
  #forgetGroup(subscription: ChannelSubscription): void {
    if (!(subscription.delivery instanceof AcknowledgedDelivery) || !this.#acks) return;
    // A queue group is shared: it outlives any member (its entries are reclaimed, ADR 0042).
    if (subscription.delivery instanceof GroupDelivery) return;
    const group = acknowledgedGroupName(subscription.connection.sessionId);
    const id = `${subscription.key}\u0000${group}`;
    if (this.#removals.has(id)) return;
    const removal = this.#acks.durable
      .removeGroup(subscription.key, group)
      .catch((error: unknown) => this.#logger.warn({ err: error, channelKey: subscription.key, group }, 'acknowledged group not removed'))
      .finally(() => this.#removals.delete(id));
    this.#removals.set(id, removal);
  }
}

