import { ChannelType, type ChannelPermissions, type ParsedChannel } from '@apix/protocol';
import type { Principal } from '../identity/principal.js';

export type ChannelAction = 'subscribe' | 'publish' | 'history' | 'presence';

/**
 * Decides whether a principal may act on a channel of its own organisation. Asked on every
 * subscribe, publish, history read and resume. Implementations must answer from memory on
 * the hot path (cache what they load).
 */
export interface ChannelAuthorizer {
  authorize(principal: Principal, channel: ParsedChannel, action: ChannelAction): boolean | Promise<boolean>;
}

/** Roles allowed to publish to `system:` channels by default. */
export const SYSTEM_PUBLISHER_ROLES = ['admin', 'service'];

/**
 * The permission model in one function (docs/permissions.md):
 *
 * 1. `user:<id>…` (PRIVATE_USER) is only for that user. The one exception: an API key with
 *    the `publish` scope may publish to it (a backend notifying a user). No channel row can
 *    widen this.
 * 2. If the channel has a stored permission list for the action, it decides: `*` admits every
 *    member, a role name admits members with that role, `api_key` admits API keys that hold
 *    the action's scope.
 * 3. Otherwise the default policy: every member may subscribe, read history, see presence
 *    and publish, except that publishing to `system:` needs role `admin` or `service`; an API
 *    key may do what its scopes say.
 *
 * `roles` are the principal's current roles (from storage for managed organisations). The
 * organisation boundary is not checked here: channel keys are built from the principal's
 * organisation, so another tenant's channel cannot be named at all.
 */
export function decideAccess(
  principal: Principal,
  roles: readonly string[],
  channel: ParsedChannel,
  action: ChannelAction,
  permissions: ChannelPermissions | undefined,
): boolean {
  const isKey = principal.kind === 'api_key';
  const keyMay = (scope: ChannelAction) => principal.scopes.includes('admin') || principal.scopes.includes(scope as never);
  if (channel.type === ChannelType.PRIVATE_USER) {
    return isKey ? action === 'publish' && keyMay('publish') : channel.ownerUserId === principal.userId;
  }
  const allowed = permissions?.[action];
  if (allowed) {
    if (isKey) return allowed.includes('api_key') && keyMay(action === 'presence' ? 'subscribe' : action);
    return allowed.includes('*') || roles.some((role) => allowed.includes(role));
  }
  if (isKey) return keyMay(action === 'presence' ? 'subscribe' : action);
  if (channel.type === ChannelType.SYSTEM_EVENTS && action === 'publish') return roles.some((r) => SYSTEM_PUBLISHER_ROLES.includes(r));
  return true;
}

/** The default policy over the token's own claims: for running without storage. */
export class DefaultChannelPolicy implements ChannelAuthorizer {
  authorize(principal: Principal, channel: ParsedChannel, action: ChannelAction): boolean {
    return decideAccess(principal, principal.roles, channel, action, undefined);
  }
}
