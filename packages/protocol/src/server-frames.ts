import { z } from 'zod';
import { channelTypeSchema } from './enums.js';
import { storedEventSchema } from './event.js';
import { streamPositionSchema } from './position.js';

export const errorBodySchema = z.object({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  details: z.record(z.string(), z.unknown()).optional(),
});

// ---- results of each request, carried in a successful reply ----

/**
 * The session a connection runs in. `sessionToken` (HMAC-signed: session, organisation, user,
 * expiry) resumes it on any node until `sessionExpiresAt`; the server sends a fresh one in
 * `session.renewed` while the connection lives. `resumed` is false for a new session, and
 * `sessionError` says why a token that was sent could not be used.
 */
export const sessionFieldsSchema = z.object({
  sessionToken: z.string(),
  sessionExpiresAt: z.number().int(),
  resumed: z.boolean(),
  sessionError: errorBodySchema.optional(),
});

export const connectResultSchema = z.object({ connectionId: z.string(), sessionId: z.string() }).extend(sessionFieldsSchema.partial().shape);

export const subscriptionStateSchema = z.object({
  channel: z.string(),
  channelType: channelTypeSchema,
  /** The stream's position when the subscription went live. */
  position: streamPositionSchema,
  /** True when `since` was given and every publication after it was (or is being) replayed. */
  recovered: z.boolean(),
  /** Whether the client asked to recover (sent `since` for this channel). */
  recovering: z.boolean(),
  /** When recovery failed and the count is known: how many publications the client missed. */
  missed: z.number().int().nonnegative().optional(),
});
export type SubscriptionState = z.infer<typeof subscriptionStateSchema>;

export const subscribeResultSchema = z.object({ subscriptions: z.array(subscriptionStateSchema) });
export const unsubscribeResultSchema = z.object({ channels: z.array(z.string()) });
export const publishResultSchema = z.object({
  channel: z.string(),
  offset: z.number().int().positive(),
  epoch: z.string(),
  /** True when the idempotency key had been seen: nothing new was appended. */
  duplicate: z.boolean(),
});
export type PublishResult = z.infer<typeof publishResultSchema>;

export const publicationSchema = z.object({
  offset: z.number().int().positive(),
  /** Present in time-range results, which may span epochs; otherwise the result's `epoch`. */
  epoch: z.string().optional(),
  event: storedEventSchema,
});
export type Publication = z.infer<typeof publicationSchema>;

/** Result of a `presence` request (WebSocket) and of `GET /api/v1/channels/:channel/presence`. */
export const presenceResultSchema = z.object({
  channel: z.string(),
  members: z.array(z.object({ clientId: z.string(), userId: z.string(), info: z.record(z.string(), z.unknown()).optional() })),
  stats: z.object({ clients: z.number().int(), users: z.number().int() }),
});
export type PresenceResult = z.infer<typeof presenceResultSchema>;

export const historyResultSchema = z.object({
  channel: z.string(),
  epoch: z.string(),
  publications: z.array(publicationSchema),
  /** The stream's latest position. */
  position: streamPositionSchema,
  /**
   * False when `since` points at publications the log no longer holds (trimmed, or another
   * epoch): the list then starts later than asked, and the gap is not hidden.
   */
  complete: z.boolean(),
});
export type HistoryResult = z.infer<typeof historyResultSchema>;

export const ackResultSchema = z.object({ acked: z.number().int().nonnegative() });

export const refreshResultSchema = z.object({ expiresAt: z.number().int() });

// ---- frames ----

export const replyFrameSchema = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('reply'), id: z.string(), ok: z.literal(true), result: z.unknown() }),
  z.object({ type: z.literal('reply'), id: z.string(), ok: z.literal(false), error: errorBodySchema }),
]);
export type ReplyFrame = z.infer<typeof replyFrameSchema>;

export const connectionEstablishedFrameSchema = z.object({
  type: z.literal('connection.established'),
  connectionId: z.string(),
  sessionId: z.string(),
  organizationId: z.string(),
  userId: z.string(),
  /** How often the client should send `heartbeat.ping` (it may be silent: WebSocket pings run anyway). */
  heartbeatIntervalMs: z.number().int().positive(),
  /** Token expiry (ms since epoch): refresh before it, or the connection is closed after the grace period. */
  expiresAt: z.number().int(),
  serverTime: z.number().int(),
  ...sessionFieldsSchema.partial().shape,
  /**
   * A resumed session's subscriptions, already back on the server (the rest of the old
   * session's channels were refused on re-authorisation). Their `subscription.added` frames
   * and replays follow, before any live event.
   */
  subscriptions: z.array(subscriptionStateSchema).optional(),
});

/** A fresh session token for the live connection (sent before the previous one expires). */
export const sessionRenewedFrameSchema = z.object({
  type: z.literal('session.renewed'),
  sessionToken: z.string(),
  sessionExpiresAt: z.number().int(),
});
export type SessionRenewedFrame = z.infer<typeof sessionRenewedFrameSchema>;

/** An error not tied to a request (the frame could not be read far enough to find its id). */
export const connectionErrorFrameSchema = z.object({ type: z.literal('connection.error'), error: errorBodySchema });

export const subscriptionAddedFrameSchema = subscriptionStateSchema.extend({ type: z.literal('subscription.added') });
export const subscriptionRemovedFrameSchema = z.object({
  type: z.literal('subscription.removed'),
  channel: z.string(),
  /**
   * Why: the client asked (`unsubscribed`, no error); the server removed it for good
   * (`revoked`: permission lost, an error code says which); or the server could not keep the
   * live stream whole (`resubscribe`: a gap it cannot fill live, a new epoch, an overloaded
   * node) and the client should subscribe again with `since` = its last position. A
   * `resubscribe` removal is never final.
   */
  reason: z.enum(['unsubscribed', 'revoked', 'resubscribe']),
  error: errorBodySchema.optional(),
});

/**
 * One delivered publication. On a broadcast subscription the same bytes go to every
 * subscriber and carry no `acknowledgment`. On an acknowledged one, `acknowledgment: true`
 * says an `ack` is expected, and `retryCount` is how many times this event was delivered to
 * this subscription before (0 on first delivery): the seed's `ApiXEvent.acknowledgment` /
 * `retryCount`, true to what happened.
 */
export const eventFrameSchema = z.object({
  type: z.literal('event'),
  channel: z.string(),
  offset: z.number().int().positive(),
  epoch: z.string(),
  acknowledgment: z.literal(true).optional(),
  retryCount: z.number().int().nonnegative().optional(),
  event: storedEventSchema,
});

/**
 * An event of an acknowledged subscription was delivered `deliveryCount` times without an ack
 * (the channel's max deliveries) and moved to the channel's dead letters: it will not be sent
 * again unless an operator redelivers it (`POST /api/v1/channels/:channel/dead-letters/:id/redeliver`).
 */
export const messageFailedFrameSchema = z.object({
  type: z.literal('message.failed'),
  channel: z.string(),
  offset: z.number().int().positive(),
  epoch: z.string(),
  deliveryCount: z.number().int().positive(),
  reason: z.string(),
});
export type MessageFailedFrame = z.infer<typeof messageFailedFrameSchema>;
export type EventFrame = z.infer<typeof eventFrameSchema>;

/**
 * Sent just before the server closes the connection with a code that tells the client to
 * come back (shutdown, overload): `retryAfterMs` is the earliest the client should try again,
 * spread per connection by the server so a mass drop does not come back in one second.
 * Clients add their own jitter on top and never reconnect sooner.
 */
export const connectionClosingFrameSchema = z.object({
  type: z.literal('connection.closing'),
  code: z.number().int(),
  reason: z.string(),
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type ConnectionClosingFrame = z.infer<typeof connectionClosingFrameSchema>;

/** The reply to `heartbeat.ping`. */
export const heartbeatPongFrameSchema = z.object({
  type: z.literal('heartbeat.pong'),
  id: z.string(),
  ts: z.number().optional(),
  serverTime: z.number().int(),
});

export const serverFrameSchema = z.union([
  replyFrameSchema,
  connectionEstablishedFrameSchema,
  connectionErrorFrameSchema,
  subscriptionAddedFrameSchema,
  subscriptionRemovedFrameSchema,
  eventFrameSchema,
  heartbeatPongFrameSchema,
  connectionClosingFrameSchema,
  messageFailedFrameSchema,
  sessionRenewedFrameSchema,
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type ConnectionEstablishedFrame = z.infer<typeof connectionEstablishedFrameSchema>;
export type ConnectionErrorFrame = z.infer<typeof connectionErrorFrameSchema>;
export type SubscriptionAddedFrame = z.infer<typeof subscriptionAddedFrameSchema>;
export type SubscriptionRemovedFrame = z.infer<typeof subscriptionRemovedFrameSchema>;
export type HeartbeatPongFrame = z.infer<typeof heartbeatPongFrameSchema>;
