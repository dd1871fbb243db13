import type { ServerFrame } from '@apix/protocol';
import { ApiXClientError } from './errors.js';
import { runCheck, serverFrameChecks, type Check } from './frame-checks.js';

/** How the SDK checks a value it received (see frame-checks.ts). */
export type SchemaOf<T> = Check<T>;

type ServerFrameType = ServerFrame['type'];

export type DecodeResult =
  | { ok: true; frame: ServerFrame }
  /** `id` is the request id when the frame got far enough to name one, so its request can fail fast. */
  | { ok: false; error: ApiXClientError; id?: string };

/** Parses one frame from the server and checks what the SDK relies on. */
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
  if (typeof type !== 'string' || !Object.hasOwn(serverFrameChecks, type)) {
    return {
      ok: false,
      error: ApiXClientError.protocol('UNKNOWN_FRAME_TYPE', `the server sent an unknown frame type: ${String(type).slice(0, 64)}`),
    };
  }
  // Each check yields one member of ServerFrame; widening the lookup to the union is exact.
  const check = serverFrameChecks[type as ServerFrameType] as Check<ServerFrame>;
  return parseWith(check, value, `${type} frame`, id);
}

/** Checks a value (a frame, or a reply's result). */
export function parseWith<T>(check: Check<T>, value: unknown, what: string, id?: string): { ok: true; frame: T } | { ok: false; error: ApiXClientError; id?: string } {
  const result = runCheck(check, value);
  if (result.ok) return { ok: true, frame: result.value };
  const error = ApiXClientError.protocol('INVALID_FRAME', `the server sent a malformed ${what}: ${result.path}: ${result.problem}`);
  return id === undefined ? { ok: false, error } : { ok: false, error, id };
}
