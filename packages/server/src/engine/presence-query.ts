import type { ChannelName } from '@apix/protocol';
import { ApiXError } from '@apix/protocol';
import type { ChannelAccess } from '../channels/channel-access.js';
import type { Principal } from '../identity/principal.js';
import type { PresenceManager, PresenceMember, PresenceStats } from './presence.js';

export interface PresenceResult {
  readonly channel: ChannelName;
  readonly members: readonly PresenceMember[];
  readonly stats: PresenceStats;
}

/** The `presence` request (HTTP now, a WebSocket frame later): authorised with the `presence` permission. */
export class PresenceQuery {
  readonly #access: ChannelAccess;
  readonly #presence: PresenceManager;

  constructor(access: ChannelAccess, presence: PresenceManager) {
    this.#access = access;
    this.#presence = presence;
  }

  async read(principal: Principal, channel: ChannelName): Promise<PresenceResult> {
    const { key } = await this.#access.resolve(principal, channel, 'presence');
    try {
      const members = await this.#presence.list(key);
      return { channel, members, stats: { clients: members.length, users: new Set(members.map((m) => m.userId)).size } };
    } catch (error) {
      if (error instanceof ApiXError) throw error;
      throw new ApiXError('UNAVAILABLE', 'presence could not be read; retry', { cause: error instanceof Error ? error.message : String(error) });
    }
  }
}
