import { ApiXError, clientFrameSchemas, isClientFrameType, type ClientFrame, type ErrorKey } from '@apix/protocol';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../limits/json-depth.js';
import { schemaError } from './schema-errors.js';

export type DecodedFrame =
  | { readonly ok: true; readonly frame: ClientFrame }
  | { readonly ok: false; readonly error: ApiXError; /** The request id, when it could be read. */ readonly id?: string };

/**
 * Text → typed client frame, or the precise error to answer with. Schema problems in a
 * channel name or a position get their own codes, so a client can tell a typo in a channel
 * from a malformed frame.
 */
export function decodeFrame(text: string): DecodedFrame {
  if (exceedsJsonDepth(text)) return { ok: false, error: new ApiXError('BAD_JSON', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`) };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: new ApiXError('BAD_JSON') };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: new ApiXError('INVALID_FRAME', 'a frame is a JSON object with a "type"') };
  }
  const record = raw as Record<string, unknown>;
  const id = typeof record.id === 'string' && record.id.length > 0 && record.id.length <= 64 ? record.id : undefined;
  const withId = id === undefined ? {} : { id };
  const type = record.type;
  if (typeof type !== 'string' || !isClientFrameType(type)) {
    return { ok: false, error: new ApiXError('UNKNOWN_FRAME_TYPE', `unknown frame type ${JSON.stringify(type)}`), ...withId };
  }
  const result = clientFrameSchemas[type].safeParse(raw);
  if (!result.success) return { ok: false, error: schemaError(result.error, 'INVALID_FRAME', keyForPath), ...withId };
  return { ok: true, frame: result.data as ClientFrame };
}

function keyForPath(first: PropertyKey | undefined): ErrorKey | undefined {
  if (first === 'channel' || first === 'channels') return 'CHANNEL_INVALID';
  if (first === 'since') return 'POSITION_INVALID';
  return undefined;
}
