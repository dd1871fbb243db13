import type { ParsedChannel } from '@apix/protocol';
import type { AccessDirectory } from '../identity/access-directory.js';
import type { Principal } from '../identity/principal.js';
import { decideAccess, type ChannelAction, type ChannelAuthorizer } from './channel-authorizer.js';
import type { ChannelSettingsSource } from './channel-settings.js';

/** The permission model over current memberships and stored channel rows (both cached). */
export class StoredChannelPolicy implements ChannelAuthorizer {
  readonly #directory: AccessDirectory;
  readonly #settings: ChannelSettingsSource;

  constructor(directory: AccessDirectory, settings: ChannelSettingsSource) {
    this.#directory = directory;
    this.#settings = settings;
  }

  async authorize(principal: Principal, channel: ParsedChannel, action: ChannelAction): Promise<boolean> {
    const [roles, settings] = await Promise.all([
      this.#directory.effectiveRoles(principal),
      this.#settings.get(principal.organizationId, channel.name),
    ]);
    if (roles === null) return false;
    return decideAccess(principal, roles, channel, action, settings?.permissions);
  }
}
