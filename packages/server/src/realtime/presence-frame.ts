import { ApiXError, type PresenceFrame } from '@apix/protocol';
import type { PresenceQuery } from '../engine/presence-query.js';
import type { Principal } from '../identity/principal.js';
import type { Connection } from './connection.js';

/**
 * The `presence` request: members and counts of a channel, with the `presence` permission.
 * Kept apart from the gateway, which only routes the frame here.
 */
export async function handlePresenceFrame(connection: Connection, principal: Principal, frame: PresenceFrame, presence: PresenceQuery | undefined): Promise<void> {
  if (!presence) throw new ApiXError('NOT_SUPPORTED', 'presence is not enabled on this server');
  connection.reply(frame.id, await presence.read(principal, frame.channel));
}
