import type {
  ConnectionClosingFrame,
  ConnectionErrorFrame,
  ConnectionEstablishedFrame,
  SessionRenewedFrame,
  EventFrame,
  HeartbeatPongFrame,
  HistoryResult,
  MessageFailedFrame,
  PublishResult,
  ReplyFrame,
  ServerFrame,
  SubscriptionAddedFrame,
  SubscriptionRemovedFrame,
  SubscriptionState,
} from '@apix/protocol';

/**
 * Hand-written checks of what the server sends, in place of the protocol's zod schemas
 * (ADR 0025: zod made up 91 % of a 105 KB browser bundle). They check what the SDK relies
 * on — the fields it reads, with their types — and let the rest through: the server
 * validated every event when it was published, and a newer server may add fields.
 * `test/frame-checks.test.ts` keeps them in step with the zod schemas.
 *
 * Each check is typed against the protocol's inferred type, so a schema change that the
 * checks do not follow fails to compile.
 */
export type Check<T> = (value: unknown, path: string) => T;

/** Thrown by a check; caught by `parseWith`, which turns it into APIX_ERR_INVALID_FRAME. */
export class FrameProblem extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(problem);
  }
}

function fail(path: string, expected: string, value: unknown): never {
  const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  throw new FrameProblem(path, `expected ${expected}, got ${got}`);
}

export const str: Check<string> = (v, p) => (typeof v === 'string' ? v : fail(p, 'string', v));
export const bool: Check<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'boolean', v));
export const num: Check<number> = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(p, 'number', v));
export const int: Check<number> = (v, p) => (Number.isSafeInteger(v) ? (v as number) : fail(p, 'integer', v));
export const nonNegativeInt: Check<number> = (v, p) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(p, 'integer >= 0', v));
export const positiveInt: Check<number> = (v, p) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : fail(p, 'integer > 0', v));
export const anything: Check<unknown> = (v) => v;

export function literal<const L extends string | boolean>(expected: L): Check<L> {
  return (v, p) => (v === expected ? (v as L) : fail(p, JSON.stringify(expected), v));
}

export function oneOf<const L extends string>(values: readonly L[]): Check<L> {
  return (v, p) => (typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as L) : fail(p, `one of ${values.join(', ')}`, v));
}

/** Marks a field optional: absent or undefined passes. */
export function optional<T>(check: Check<T>): Check<T | undefined> & { optional: true } {
  const wrapped = ((v: unknown, p: string) => (v === undefined ? undefined : check(v, p))) as Check<T | undefined> & { optional: true };
  wrapped.optional = true;
  return wrapped;
}

export function array<T>(check: Check<T>): Check<T[]> {
  return (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'array', v);
    v.forEach((item, i) => check(item, `${p}.${i}`));
    return v as T[];
  };
}

export const record: Check<Record<string, unknown>> = (v, p) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(p, 'object', v);

type Shape = Record<string, Check<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type Out<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: ReturnType<S[K]> } & {
  [K in OptionalKeys<S>]?: Exclude<ReturnType<S[K]>, undefined>;
};
type Flat<T> = { [K in keyof T]: T[K] };

/** An object with these fields; other fields pass through untouched (a newer server may add some). */
export function object<S extends Shape>(shape: S): Check<Flat<Out<S>>> {
  const entries = Object.entries(shape);
  return (v, p) => {
    const value = record(v, p);
    for (const [key, check] of entries) check(value[key], p ? `${p}.${key}` : key);
    return value as Flat<Out<S>>;
  };
}

/** Runs a check; the result `safeParse`-style, as the connection and the client expect it. */
export function runCheck<T>(check: Check<T>, value: unknown): { ok: true; value: T } | { ok: false; path: string; problem: string } {
  try {
    return { ok: true, value: check(value, '') };
  } catch (error) {
    if (error instanceof FrameProblem) return { ok: false, path: error.path || '(root)', problem: error.message };
    throw error;
  }
}

// ---------------------------------------------------------------- the server's frames

const errorBody = object({ code: str, message: str, retryable: bool, details: optional(record) });
const position = object({ offset: nonNegativeInt, epoch: str });
const channelType = oneOf(['AGENT_EVENTS', 'TOOL_EVENTS', 'WORKFLOW_EVENTS', 'PROVIDER_EVENTS', 'SYSTEM_EVENTS', 'PRIVATE_USER', 'ORGANIZATION']);
// Metadata values beyond these are scalars the server already checked; they pass as they are.
const metadata = object({ timestamp: nonNegativeInt, version: str, correlation_id: optional(str) }) as Check<EventFrame['event']['metadata']>;
const storedEvent: Check<EventFrame['event']> = object({ type: str, payload: anything, metadata });

const subscriptionStateFields = {
  channel: str,
  channelType,
  position,
  recovered: bool,
  recovering: bool,
  missed: optional(nonNegativeInt),
};
export const subscriptionStateCheck: Check<SubscriptionState> = object(subscriptionStateFields);

const sessionFields = {
  sessionToken: optional(str),
  sessionExpiresAt: optional(int),
  resumed: optional(bool),
  sessionError: optional(errorBody),
};
export const connectResultCheck: Check<{ connectionId: string; sessionId: string }> = object({ connectionId: str, sessionId: str, ...sessionFields });
export const subscribeResultCheck: Check<{ subscriptions: SubscriptionState[] }> = object({ subscriptions: array(subscriptionStateCheck) });
export const unsubscribeResultCheck: Check<{ channels: string[] }> = object({ channels: array(str) });
export const publishResultCheck: Check<PublishResult> = object({ channel: str, offset: positiveInt, epoch: str, duplicate: bool });
export const historyResultCheck: Check<HistoryResult> = object({
  channel: str,
  epoch: str,
  publications: array(object({ offset: positiveInt, epoch: optional(str), event: storedEvent })),
  position,
  complete: bool,
});
export const ackResultCheck: Check<{ acked: number }> = object({ acked: nonNegativeInt });
export const refreshResultCheck: Check<{ expiresAt: number }> = object({ expiresAt: int });

const replyOk = object({ type: literal('reply'), id: str, ok: literal(true), result: anything });
const replyError = object({ type: literal('reply'), id: str, ok: literal(false), error: errorBody });
export const replyFrameCheck: Check<ReplyFrame> = (v, p) => (record(v, p).ok === true ? replyOk(v, p) : replyError(v, p));

export const heartbeatPongFrameCheck: Check<HeartbeatPongFrame> = object({ type: literal('heartbeat.pong'), id: str, ts: optional(num), serverTime: int });

/** One check per server frame type; the decoder picks by `type`. */
export const serverFrameChecks: { readonly [K in ServerFrame['type']]: Check<Extract<ServerFrame, { type: K }>> } = {
  reply: replyFrameCheck,
  'connection.established': object({
    type: literal('connection.established'),
    connectionId: str,
    sessionId: str,
    organizationId: str,
    userId: str,
    heartbeatIntervalMs: positiveInt,
    expiresAt: int,
    serverTime: int,
    ...sessionFields,
    subscriptions: optional(array(subscriptionStateCheck)),
  }) satisfies Check<ConnectionEstablishedFrame>,
  'session.renewed': object({ type: literal('session.renewed'), sessionToken: str, sessionExpiresAt: int }) satisfies Check<SessionRenewedFrame>,
  'connection.error': object({ type: literal('connection.error'), error: errorBody }) satisfies Check<ConnectionErrorFrame>,
  'subscription.added': object({ type: literal('subscription.added'), ...subscriptionStateFields }) satisfies Check<SubscriptionAddedFrame>,
  'subscription.removed': object({
    type: literal('subscription.removed'),
    channel: str,
    reason: oneOf(['unsubscribed', 'revoked', 'resubscribe']),
    error: optional(errorBody),
  }) satisfies Check<SubscriptionRemovedFrame>,
  event: object({
    type: literal('event'),
    channel: str,
    offset: positiveInt,
    epoch: str,
    acknowledgment: optional(literal(true)),
    retryCount: optional(nonNegativeInt),
    event: storedEvent,
  }) satisfies Check<EventFrame>,
  'message.failed': object({
    type: literal('message.failed'),
    channel: str,
    offset: positiveInt,
    epoch: str,
    deliveryCount: positiveInt,
    reason: str,
  }) satisfies Check<MessageFailedFrame>,
  'heartbeat.pong': heartbeatPongFrameCheck,
  'connection.closing': object({
    type: literal('connection.closing'),
    code: int,
    reason: str,
    retryAfterMs: optional(nonNegativeInt),
  }) satisfies Check<ConnectionClosingFrame>,
};
