import type { ChannelName } from '@apix/protocol';
import { ApiXError } from '@apix/protocol';
import type { ChannelAccess } from '../channels/channel-access.js';
import { NO_CHANNEL_SETTINGS, presenceEnabled, type ChannelSettingsSource } from '../channels/channel-settings.js';
import type { Principal } from '../identity/principal.js';
import type { PresenceManager, PresenceMember, PresenceStats } from './presence.js';

export interface PresenceResult {
  readonly channel: ChannelName;
  readonly members: readonly PresenceMember[];
  readonly stats: PresenceStats;
}

/**
 * The `presence` request (HTTP and the WebSocket frame): authorised with the `presence`
 * permission. A channel that carries no presence (not a room, and no `presence: true`
 * setting) has no members: answered empty without asking the store — members a node left
 * behind before the setting was switched off are not shown while they expire.
 */
export class PresenceQuery {
  readonly #access: ChannelAccess;
  readonly #presence: PresenceManager;
  readonly #settings: ChannelSettingsSource;

  constructor(access: ChannelAccess, presence: PresenceManager, settings: ChannelSettingsSource = NO_CHANNEL_SETTINGS) {
    this.#access = access;
    this.#presence = presence;
    this.#settings = settings;
  }

  async read(principal: Principal, channel: ChannelName): Promise<PresenceResult> {
    const resolved = await this.#access.resolve(principal, channel, 'presence');
    const { key } = resolved;
    const settings = await this.#settings.get(principal.organizationId, resolved.channel.name).catch((error: unknown) => {
      throw new ApiXError('UNAVAILABLE', 'channel settings could not be read; retry', { cause: error instanceof Error ? error.message : String(error) });
    });
    if (!presenceEnabled(resolved.channel.namespace, settings)) return { channel, members: [], stats: { clients: 0, users: 0 } };
    try {
      const members = await this.#presence.list(key);
      return { channel, members, stats: { clients: members.length, users: new Set(members.map((m) => m.userId)).size } };
    } catch (error) {
      if (error instanceof ApiXError) throw error;
      throw new ApiXError('UNAVAILABLE', 'presence could not be read; retry', { cause: error instanceof Error ? error.message : String(error) });
    }
  }
}
