// Constants of the wire protocol that need no zod, so the SDK's browser bundle can import
// them (through `@apix/protocol/core`) without pulling in the schemas.

/** Most channels in one subscribe or unsubscribe frame. */
export const MAX_CHANNELS_PER_SUBSCRIBE = 100;

/** A stream epoch: 1-64 of A-Z a-z 0-9 _ -. */
export const EPOCH_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Custom event types are allowed alongside the seed's: lower-case ASCII words separated by
 * `.`, `_` or `-`, 1–100 characters. Protocol event types are reserved.
 */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_.-]{0,99}$/;

/**
 * The seed's 18 event types. The first eleven describe the protocol itself and are sent by
 * the server only (a client may not publish them); the last seven are domain events that
 * services publish, each with a payload schema checked on publish.
 */
/**
 * Sent by the server on channels that carry presence (rooms) when a client joins or leaves,
 * in the channel's own order: `payload` is `{ clientId, userId }`. Reserved like the
 * protocol types above.
 */
export const PRESENCE_EVENT_TYPES = ['presence.join', 'presence.leave'] as const;

export const PROTOCOL_EVENT_TYPES = [
  'connection.established',
  'connection.error',
  'connection.disconnected',
  'subscription.added',
  'subscription.removed',
  'heartbeat.ping',
  'heartbeat.pong',
  'message.queued',
  'message.sent',
  'message.failed',
  'reconnection.attempt',
] as const;
