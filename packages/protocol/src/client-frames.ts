import { z } from 'zod';
import { refineStorable } from './storage-safe.js';
import { channelNameSchema } from './channel-name.js';
import { CHANNEL_SEGMENT_PATTERN } from './channel-grammar.js';
import { clientTypeSchema } from './enums.js';
import { publishEventSchema } from './event.js';
import { subscriptionFiltersSchema } from './filters.js';
import { streamPositionSchema } from './position.js';
import { MAX_CHANNELS_PER_SUBSCRIBE } from './wire-constants.js';

/** Every request carries an id, unique among this connection's requests in flight; it gets exactly one reply. */
export const requestIdSchema = z.string().min(1).max(64);
export const tokenSchema = z.string().min(1).max(8192);

export { MAX_CHANNELS_PER_SUBSCRIBE };
export const MAX_HISTORY_LIMIT = 1000;

/** Authenticate a connection that did not send `Authorization: Bearer` at upgrade (browsers can't). */
export const connectFrameSchema = z.strictObject({
  type: z.literal('connect'),
  id: requestIdSchema,
  token: tokenSchema,
  clientType: clientTypeSchema.optional(),
  metadata: z.record(z.string().max(64), z.union([z.string().max(500), z.number(), z.boolean()])).optional(),
  /**
   * Resume a session: the `sessionToken` of an earlier `connected` (or `session.renewed`).
   * Within the session TTL the connection gets the same `sessionId` and its subscriptions
   * back (authorised again), with what it missed replayed first. Refused tokens (forged,
   * expired, another user's) give a fresh session and say why (`sessionError`), never a
   * failed connect.
   */
  sessionToken: z.string().min(1).max(1024).optional(),
  /**
   * With `sessionToken`: the last position the client itself holds per channel. It wins over
   * the position the server stored (the server only knows what it handed to the socket).
   */
  since: z.record(z.string(), streamPositionSchema).optional(),
  /**
   * With `sessionToken`: this client's connect attempt number, greater with every attempt. A
   * connect whose attempt is lower than that of the session's last resume is one the client gave
   * up on (a lagging node processed it late): it may not take the session from the newer one.
   */
  attempt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
}).superRefine(refineStorable);

/**
 * Subscribe to one or more channels, all or nothing. `since` maps a channel to the last
 * position the client has; the server replays what came after it, then goes live.
 */
export const subscribeFrameSchema = z.strictObject({
  type: z.literal('subscribe'),
  id: requestIdSchema,
  channels: z.array(channelNameSchema).min(1).max(MAX_CHANNELS_PER_SUBSCRIBE),
  since: z.record(z.string(), streamPositionSchema).optional(),
  filters: subscriptionFiltersSchema.optional(),
  /**
   * Acknowledged delivery: each event must be acked (`ack` frame); unacked events are
   * redelivered with backoff, then dead-lettered (`message.failed`). A channel may require it.
   */
  acknowledgment: z.boolean().optional(),
  /**
   * Queue group (ADR 0042): every channel of the frame is joined as a member of this group;
   * each event goes to one live member of the group, which acks it (as acknowledged delivery);
   * a dead member's unacked events go to another member after the group idle time. The name
   * follows the channel-name segment rule (1–64 of `A-Z a-z 0-9 _ -`); groups are per channel.
   */
  group: z.string().regex(CHANNEL_SEGMENT_PATTERN, 'a group name is 1-64 of A-Z a-z 0-9 _ -').optional(),
}).superRefine(refineStorable);

export const unsubscribeFrameSchema = z.strictObject({
  type: z.literal('unsubscribe'),
  id: requestIdSchema,
  channels: z.array(channelNameSchema).min(1).max(MAX_CHANNELS_PER_SUBSCRIBE),
});

export const publishFrameSchema = z.strictObject({
  type: z.literal('publish'),
  id: requestIdSchema,
  channel: channelNameSchema,
  event: publishEventSchema,
  /** Retries with the same key within the idempotency window return the first position and append nothing. */
  idempotencyKey: z.string().min(1).max(200).optional(),
}).superRefine(refineStorable);

/** An ISO 8601 instant with a zone, e.g. `2026-11-22T10:00:00Z`. */
export const instantSchema = z.iso.datetime({ offset: true });

export const historyFrameSchema = z
  .strictObject({
    type: z.literal('history'),
    id: requestIdSchema,
    channel: channelNameSchema,
    /** Publications after this position; without it (and without a time range), the latest `limit` publications. */
    since: streamPositionSchema.optional(),
    /** Time range (the seed's "replay with time-based filtering"): publications published at or after `from` and before `to`, oldest first. */
    from: instantSchema.optional(),
    to: instantSchema.optional(),
    limit: z.number().int().min(1).max(MAX_HISTORY_LIMIT).optional(),
  })
  .refine((f) => f.since === undefined || (f.from === undefined && f.to === undefined), {
    message: 'give either since or a time range (from/to), not both',
    path: ['since'],
  });

export const heartbeatPingFrameSchema = z.strictObject({
  type: z.literal('heartbeat.ping'),
  id: requestIdSchema,
  /** Client clock, echoed back in the pong so the client can measure round-trip time. */
  ts: z.number().optional(),
  /**
   * The round trip (ms) the client measured for its previous heartbeat. The server cannot time
   * the application heartbeat itself (the client starts it), so it keeps what the client
   * reports here for the monitoring API; it only ever describes the reporting connection.
   */
  rtt: z.number().nonnegative().max(3_600_000).optional(),
});

/** Replace the connection's token without dropping subscriptions. Same user and organisation only. */
export const refreshFrameSchema = z.strictObject({
  type: z.literal('refresh'),
  id: requestIdSchema,
  token: tokenSchema,
});

/** Who is present on a channel (rooms): members and counts. Needs the channel's `presence` permission. */
export const presenceFrameSchema = z.strictObject({
  type: z.literal('presence'),
  id: requestIdSchema,
  channel: channelNameSchema,
});

/** Most offsets one `ack` frame may list. */
export const MAX_ACK_OFFSETS = 1000;

/**
 * Acknowledge events of an acknowledged subscription: either cumulatively (`upTo`: every
 * delivered event with offset <= upTo) or one by one (`offsets`). Exactly one of the two.
 * Offsets not awaiting an ack (acked already, never delivered) are ignored, so a retried ack
 * is harmless. The reply's `acked` counts what this frame settled.
 */
export const ackFrameSchema = z
  .strictObject({
    type: z.literal('ack'),
    id: requestIdSchema,
    channel: channelNameSchema,
    upTo: z.number().int().nonnegative().optional(),
    offsets: z.array(z.number().int().positive()).min(1).max(MAX_ACK_OFFSETS).optional(),
  })
  .refine((f) => (f.upTo === undefined) !== (f.offsets === undefined), {
    message: 'give either upTo (cumulative) or offsets (one by one), not both',
    path: ['upTo'],
  });

export const clientFrameSchemas = {
  connect: connectFrameSchema,
  subscribe: subscribeFrameSchema,
  unsubscribe: unsubscribeFrameSchema,
  publish: publishFrameSchema,
  history: historyFrameSchema,
  'heartbeat.ping': heartbeatPingFrameSchema,
  refresh: refreshFrameSchema,
  presence: presenceFrameSchema,
  ack: ackFrameSchema,
} as const;
export type ClientFrameType = keyof typeof clientFrameSchemas;

export const clientFrameSchema = z.discriminatedUnion('type', [
  connectFrameSchema,
  subscribeFrameSchema,
  unsubscribeFrameSchema,
  publishFrameSchema,
  historyFrameSchema,
  heartbeatPingFrameSchema,
  refreshFrameSchema,
  presenceFrameSchema,
  ackFrameSchema,
]);

export type ConnectFrame = z.infer<typeof connectFrameSchema>;
export type SubscribeFrame = z.infer<typeof subscribeFrameSchema>;
export type UnsubscribeFrame = z.infer<typeof unsubscribeFrameSchema>;
export type PublishFrame = z.infer<typeof publishFrameSchema>;
export type HistoryFrame = z.infer<typeof historyFrameSchema>;
export type HeartbeatPingFrame = z.infer<typeof heartbeatPingFrameSchema>;
export type RefreshFrame = z.infer<typeof refreshFrameSchema>;
export type PresenceFrame = z.infer<typeof presenceFrameSchema>;
export type AckFrame = z.infer<typeof ackFrameSchema>;
export type ClientFrame = z.infer<typeof clientFrameSchema>;

export function isClientFrameType(type: string): type is ClientFrameType {
  return Object.hasOwn(clientFrameSchemas, type);
}
