import type { ChannelName } from '@apix/protocol';

/**
 * A user's offline inbox (ADR 0041): `user:<userId>:inbox`. It is an ordinary private user
 * channel — only that user may subscribe (channel-access's `user:` rule), anyone the policy
 * lets publish to it may — whose default retention is the inbox's (INBOX_HISTORY_SIZE /
 * INBOX_HISTORY_TTL_MS, days rather than an hour), so events wait for a user who is offline.
 * A channel row with its own historySize/historyTtlMs still wins.
 */
const INBOX = /^user:[A-Za-z0-9_-]{1,64}:inbox$/;

export function isInboxChannel(channel: ChannelName): boolean {
  return INBOX.test(channel);
}

export function inboxChannelOf(userId: string): ChannelName {
  return `user:${userId}:inbox`;
}
