import {
  connectionClosingFrameSchema,
  connectionErrorFrameSchema,
  connectionEstablishedFrameSchema,
  eventFrameSchema,
  heartbeatPongFrameSchema,
  replyFrameSchema,
  subscriptionAddedFrameSchema,
  subscriptionRemovedFrameSchema,
  type ServerFrame,
} from '@apix/protocol';
import { ApiXClientError } from './errors.js';

/**
 * The structural part of a zod schema the SDK uses. Declared here so the SDK needs no
 * direct dependency on zod: every schema comes from `@apix/protocol`.
 */
export interface SchemaOf<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> } };
}

type ServerFrameType = ServerFrame['type'];

const schemaByType: { readonly [K in ServerFrameType]: SchemaOf<Extract<ServerFrame, { type: K }>> } = {
  reply: replyFrameSchema,
  'connection.established': connectionEstablishedFrameSchema,
  'connection.error': connectionErrorFrameSchema,
  'subscription.added': subscriptionAddedFrameSchema,
  'subscription.removed': subscriptionRemovedFrameSchema,
  event: eventFrameSchema,
  'heartbeat.pong': heartbeatPongFrameSchema,
  'connection.closing': connectionClosingFrameSchema,
};

export type DecodeResult =
  | { ok: true; frame: ServerFrame }
  /** `id` is the request id when the frame got far enough to name one, so its request can fail fast. */
  | { ok: false; error: ApiXClientError; id?: string };

/** Parses one frame from the server and checks it against its protocol schema. */
export function decodeServerFrame(data: unknown): DecodeResult {
  if (typeof data !== 'string') {
    return { ok: false, error: ApiXClientError.protocol('BINARY_NOT_SUPPORTED', 'the server sent a binary frame') };
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, error: ApiXClientError.protocol('BAD_JSON', 'the server sent a frame that is not JSON') };
  }
  if (value === null || typeof value !== 'object') {
    return { ok: false, error: ApiXClientError.protocol('INVALID_FRAME', 'the server sent a frame that is not an object') };
  }
  const record = value as Record<string, unknown>;
  const id = typeof record.id === 'string' ? record.id : undefined;
  const type = record.type;
  if (typeof type !== 'string' || !Object.hasOwn(schemaByType, type)) {
    return {
      ok: false,
      error: ApiXClientError.protocol('UNKNOWN_FRAME_TYPE', `the server sent an unknown frame type: ${String(type).slice(0, 64)}`),
    };
  }
  // Each schema parses to one member of ServerFrame; widening the lookup to the union is exact.
  const schema: SchemaOf<ServerFrame> = schemaByType[type as ServerFrameType];
  return parseWith(schema, value, `${type} frame`, id);
}

/** Checks a value (a frame, or a reply's result) against a protocol schema. */
export function parseWith<T>(schema: SchemaOf<T>, value: unknown, what: string, id?: string): { ok: true; frame: T } | { ok: false; error: ApiXClientError; id?: string } {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const problems = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  const error = ApiXClientError.protocol('INVALID_FRAME', `the server sent a malformed ${what}: ${problems}`);
  return id === undefined ? { ok: false, error } : { ok: false, error, id };
}
