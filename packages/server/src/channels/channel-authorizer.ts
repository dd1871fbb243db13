import { ChannelType, type ParsedChannel } from '@apix/protocol';
import { hasRole, type Principal } from '../identity/principal.js';

export type ChannelAction = 'subscribe' | 'publish' | 'history';

/**
 * Decides whether a principal may act on a channel of its own organisation. Asked on every
 * subscribe, publish, history read and resume. Implementations must answer from memory on
 * the hot path (cache what they load).
 */
export interface ChannelAuthorizer {
  authorize(principal: Principal, channel: ParsedChannel, action: ChannelAction): boolean | Promise<boolean>;
}

/** Roles allowed to publish to `system:` channels. */
export const SYSTEM_PUBLISHER_ROLES = ['admin', 'service'];

/**
 * The default policy, for channels without a stored permission row:
 * - `user:<id>…` (PRIVATE_USER): only that user, for every action;
 * - `system:…` (SYSTEM_EVENTS): every member may subscribe and read history; only `admin`
 *   or `service` may publish;
 * - every other namespace: every member of the organisation, for every action.
 * The organisation boundary itself is not checked here: channel keys are built from the
 * principal's organisation, so another tenant's channel cannot be named at all.
 */
export class DefaultChannelPolicy implements ChannelAuthorizer {
  authorize(principal: Principal, channel: ParsedChannel, action: ChannelAction): boolean {
    switch (channel.type) {
      case ChannelType.PRIVATE_USER:
        return channel.ownerUserId === principal.userId;
      case ChannelType.SYSTEM_EVENTS:
        return action !== 'publish' || hasRole(principal, ...SYSTEM_PUBLISHER_ROLES);
      default:
        return true;
    }
  }
}
