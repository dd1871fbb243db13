import { ApiXError, channelKey, CloseCodes } from '@apix/protocol';
import { presenceEnabled, type ChannelSettingsSource } from '../channels/channel-settings.js';
import type { AccessChange } from '../engine/control-bus.js';
import type { AccessDirectory } from '../identity/access-directory.js';
import type { Logger } from '../logging/logger.js';
import type { Connection } from './connection.js';
import type { ConnectionManager, PrincipalSelector } from './connection-manager.js';
import type { EventRouter } from './event-router.js';
import type { ChannelSubscription } from './channel-subscription.js';
import type { SubscriptionManager } from './subscription-manager.js';

/** Connections re-checked at once after a broad change (an organisation, a resync). */
const RECHECK_CONCURRENCY = 32;

/**
 * Makes permission changes reach open connections, driven by change events — the admin API's
 * own changes on this node, other nodes' over the engine's control bus, and answers a
 * background refresh found changed. Each event reloads exactly what it names and re-checks
 * exactly the connections (or, for a channel, the subscriptions) it concerns: the cost of a
 * change is what it touches, never the number of subscriptions on the node.
 *
 * A principal that lost access is disconnected (revoked API key: 4500; removed member or
 * disabled user: 4501); a subscription its roles no longer allow is removed with
 * `subscription.removed` (reason `revoked`). When permissions cannot be read (storage down),
 * nothing is revoked: the last known decision stands.
 */
export class AccessRevalidator {
  readonly #connections: ConnectionManager;
  readonly #directory: AccessDirectory;
  readonly #channelSettings: ChannelSettingsSource;
  readonly #router: EventRouter;
  readonly #subscriptions: SubscriptionManager;
  readonly #logger: Logger;
  readonly #presence: PresenceFollower | undefined;

  constructor(
    connections: ConnectionManager,
    directory: AccessDirectory,
    channelSettings: ChannelSettingsSource,
    router: EventRouter,
    subscriptions: SubscriptionManager,
    logger: Logger,
    presence?: PresenceFollower,
  ) {
    this.#presence = presence;
    this.#connections = connections;
    this.#directory = directory;
    this.#channelSettings = channelSettings;
    this.#router = router;
    this.#subscriptions = subscriptions;
    this.#logger = logger;
  }

  /** Reloads what the change names, then re-checks the connections it concerns. Resolves when they were. */
  async apply(change: AccessChange): Promise<void> {
    if (change.kind === 'channel') {
      await this.#channelSettings.reload(change.organizationId, change.channel);
      const subscribers = this.#router.subscribersOf(channelKey(change.organizationId, change.channel));
      await forEachBounded(subscribers, (subscription) => this.#subscriptions.reauthorize(subscription.connection, [subscription.channel.name]));
      await this.#followPresence(change.organizationId, change.channel, subscribers);
      return;
    }
    await this.#directory.applyChange(change);
    await forEachBounded(this.#connections.select(selectorOf(change)), (connection) => this.#recheck(connection));
  }

  /**
   * The change feed may have lost messages: every cached permission input is refreshed on its
   * next use (values kept meanwhile — storage may be down too) and every connection re-checked;
   * answers the refreshes find changed come back as change events.
   */
  async resync(): Promise<void> {
    this.#directory.markAllStale();
    this.#channelSettings.markAllStale();
    await forEachBounded([...this.#connections.values()], (connection) => this.#recheck(connection));
  }

  /** The channel's presence setting may have changed: its subscribers here join or leave accordingly. */
  async #followPresence(organizationId: string, channel: string, subscribers: readonly ChannelSubscription[]): Promise<void> {
    if (!this.#presence || subscribers.length === 0) return;
    let settings;
    try {
      settings = await this.#channelSettings.get(organizationId, channel);
    } catch (error) {
      // Storage down: presence stays as it was; the next change or refresh of the row repairs it.
      this.#logger.warn({ err: error, organizationId, channel }, 'channel settings could not be read; presence left as it was');
      return;
    }
    this.#presence.channelSettingsChanged(subscribers, presenceEnabled(subscribers[0]!.channel.namespace, settings));
  }

  async #recheck(connection: Connection): Promise<void> {
    if (!connection.principal || connection.closed) return;
    try {
      const roles = await this.#directory.effectiveRoles(connection.principal);
      if (connection.closed) return;
      if (roles === null) {
        const revoked = new ApiXError('CHANNEL_FORBIDDEN', 'access to the organisation was revoked');
        for (const channel of [...connection.subscriptions.keys()]) this.#subscriptions.revoke(connection, channel, revoked);
        const apiKey = connection.principal.kind === 'api_key';
        connection.close(apiKey ? CloseCodes.UNAUTHORIZED : CloseCodes.FORBIDDEN, apiKey ? 'API key revoked' : 'membership revoked');
        return;
      }
      await this.#subscriptions.reauthorize(connection);
    } catch (error) {
      // Storage could not answer: the last known decision stands; the next change or refresh re-checks.
      this.#logger.warn({ err: error, connectionId: connection.id }, 'access could not be re-checked; keeping the last decision');
    }
  }
}

/** What follows a channel's presence setting (the PresenceTracker). */
export interface PresenceFollower {
  channelSettingsChanged(subscriptions: readonly ChannelSubscription[], enabled: boolean): void;
}

function selectorOf(change: Exclude<AccessChange, { kind: 'channel' }>): PrincipalSelector {
  switch (change.kind) {
    case 'membership':
      return { organizationId: change.organizationId, userId: change.userId };
    case 'api-key':
      return { organizationId: change.organizationId, apiKeyId: change.apiKeyId };
    case 'organization':
      return { organizationId: change.organizationId };
    case 'user':
      return { userId: change.userId };
  }
}

async function forEachBounded<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(RECHECK_CONCURRENCY, items.length) }, worker));
}
