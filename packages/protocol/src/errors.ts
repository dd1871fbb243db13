/**
 * The one catalogue of APIX errors. Every failure a client can see has a code from here:
 * the control plane maps it to an HTTP status, the data plane to an error reply or a
 * close code. Tests assert on codes, never on messages.
 */
export interface ErrorDefinition {
  readonly code: string;
  /** HTTP status the control plane answers with. */
  readonly httpStatus: number;
  /** Default message; a more precise one may be given where the error is raised. */
  readonly message: string;
  /** Whether repeating the same request later may succeed (rate limits, outages). */
  readonly retryable: boolean;
}

function define<const C extends string>(code: C, httpStatus: number, message: string, retryable = false) {
  return { code, httpStatus, message, retryable } as const;
}

export const ErrorCodes = {
  // --- frame and request shape ---
  BAD_JSON: define('APIX_ERR_BAD_JSON', 400, 'frame is not valid JSON'),
  BINARY_NOT_SUPPORTED: define('APIX_ERR_BINARY_NOT_SUPPORTED', 400, 'binary frames are not supported; send JSON text frames'),
  UNKNOWN_FRAME_TYPE: define('APIX_ERR_UNKNOWN_FRAME_TYPE', 400, 'unknown frame type'),
  INVALID_FRAME: define('APIX_ERR_INVALID_FRAME', 400, 'frame does not match its schema'),
  INVALID_REQUEST: define('APIX_ERR_INVALID_REQUEST', 400, 'request does not match its schema'),
  FRAME_TOO_LARGE: define('APIX_ERR_FRAME_TOO_LARGE', 413, 'frame is larger than the size limit'),
  /** A string (value or key) storage cannot hold: NUL, or an unpaired UTF-16 surrogate. Not retryable: change the data. */
  UNSTORABLE_VALUE: define('APIX_ERR_UNSTORABLE_VALUE', 400, 'a value contains a character that cannot be stored (NUL or an unpaired UTF-16 surrogate)'),
  DUPLICATE_REQUEST_ID: define('APIX_ERR_DUPLICATE_REQUEST_ID', 409, 'a request with this id is already in flight on this connection'),
  // --- authentication ---
  NOT_AUTHENTICATED: define('APIX_ERR_NOT_AUTHENTICATED', 401, 'authenticate first: send a connect frame with a token'),
  ALREADY_AUTHENTICATED: define('APIX_ERR_ALREADY_AUTHENTICATED', 409, 'this connection is already authenticated; use refresh to change the token'),
  AUTH_FAILED: define('APIX_ERR_AUTH_FAILED', 401, 'the credential is not valid'),
  TOKEN_EXPIRED: define('APIX_ERR_TOKEN_EXPIRED', 401, 'the token has expired'),
  IDENTITY_MISMATCH: define('APIX_ERR_IDENTITY_MISMATCH', 403, 'a refreshed token must name the same user and organisation'),
  /**
   * A session token that cannot resume: forged or damaged, or issued to another user or
   * organisation. The connection goes on in a fresh session (this is `sessionError`).
   */
  SESSION_INVALID: define('APIX_ERR_SESSION_INVALID', 401, 'the session token is not valid; a new session was started'),
  /** The session token is past its expiry, or the session's state is gone: a new session was started. */
  SESSION_EXPIRED: define('APIX_ERR_SESSION_EXPIRED', 401, 'the session has expired; a new session was started'),
  ORIGIN_NOT_ALLOWED: define('APIX_ERR_ORIGIN_NOT_ALLOWED', 403, 'origin is not allowed'),
  // --- channels and events ---
  CHANNEL_INVALID: define('APIX_ERR_CHANNEL_INVALID', 400, 'channel name is malformed'),
  /** Deliberately the same for a forbidden channel and one that does not exist: no probing. */
  CHANNEL_FORBIDDEN: define('APIX_ERR_CHANNEL_FORBIDDEN', 403, 'channel does not exist or you may not use it'),
  POSITION_INVALID: define('APIX_ERR_POSITION_INVALID', 400, 'stream position is malformed'),
  EVENT_TYPE_RESERVED: define('APIX_ERR_EVENT_TYPE_RESERVED', 400, 'this event type is reserved for the server'),
  ALREADY_SUBSCRIBED: define('APIX_ERR_ALREADY_SUBSCRIBED', 409, 'already subscribed to this channel'),
  NOT_SUBSCRIBED: define('APIX_ERR_NOT_SUBSCRIBED', 404, 'not subscribed to this channel'),
  TOO_MANY_SUBSCRIPTIONS: define('APIX_ERR_TOO_MANY_SUBSCRIPTIONS', 429, 'subscription limit for this connection reached'),
  NOT_SUPPORTED: define('APIX_ERR_NOT_SUPPORTED', 501, 'not supported yet'),
  /**
   * The server could not keep a live subscription's stream whole (a gap it could not fill, or
   * the log restarted in a new epoch): subscribe again with `since` = the last position seen.
   */
  STREAM_RESET: define('APIX_ERR_STREAM_RESET', 503, 'the live stream was interrupted; subscribe again with since', true),
  // --- control plane ---
  FORBIDDEN: define('APIX_ERR_FORBIDDEN', 403, 'you may not perform this action'),
  CONFLICT: define('APIX_ERR_CONFLICT', 409, 'already exists'),
  // --- server side ---
  RATE_LIMITED: define('APIX_ERR_RATE_LIMITED', 429, 'rate limit exceeded', true),
  /** An organisation quota (connections, subscriptions, channels, history bytes) is used up; `details.quota` names it. */
  /** A plaintext publish on a channel marked `encrypted` (see encryptedPayloadSchema). */
  ENCRYPTION_REQUIRED: define('APIX_ERR_ENCRYPTION_REQUIRED', 400, 'this channel takes only encrypted payloads'),
  QUOTA_EXCEEDED: define('APIX_ERR_QUOTA_EXCEEDED', 429, 'organisation quota exceeded'),
  NOT_FOUND: define('APIX_ERR_NOT_FOUND', 404, 'not found'),
  UNAVAILABLE: define('APIX_ERR_UNAVAILABLE', 503, 'temporarily unavailable', true),
  INTERNAL: define('APIX_ERR_INTERNAL', 500, 'internal error', true),
} as const;

/**
 * Failures that only a client can observe: the server never sends these codes, so they are
 * not in the protocol catalogue. They use the same `APIX_ERR_` prefix and the same
 * `{code, message, retryable}` shape, so an application handles every error one way.
 */
export const ClientErrorCodes = {
  /** No reply, connection or subscription within the time allowed. The request may still have taken effect. */
  TIMEOUT: { code: 'APIX_ERR_TIMEOUT', message: 'timed out', retryable: true },
  /** The socket closed while a request waited for its reply. Internal: publish and history re-send on this. */
  CONNECTION_LOST: { code: 'APIX_ERR_CONNECTION_LOST', message: 'the connection closed before the reply arrived', retryable: true },
  /** The server closed the connection with a terminal close code (4500–4999, 1000, 1003, 1008). */
  CONNECTION_CLOSED: { code: 'APIX_ERR_CONNECTION_CLOSED', message: 'the server closed the connection for good', retryable: false },
  /** The application called `disconnect()`. */
  CLIENT_CLOSED: { code: 'APIX_ERR_CLIENT_CLOSED', message: 'the client is closed', retryable: false },
  /** The application's token function threw or rejected. */
  TOKEN_UNAVAILABLE: { code: 'APIX_ERR_TOKEN_UNAVAILABLE', message: 'the token function failed', retryable: true },
} as const;

export type ErrorKey = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorKey]['code'];

const byCode = new Map<string, ErrorDefinition>(Object.values(ErrorCodes).map((d) => [d.code, d]));

export function errorDefinition(code: string): ErrorDefinition | undefined {
  return byCode.get(code);
}

/** The error shape on the wire (error replies, connection.error frames, HTTP error bodies). */
export interface ApiXErrorBody {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

/** A thrown APIX error. Carries a catalogue code; everything that catches errors maps it, nothing parses messages. */
export class ApiXError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(key: ErrorKey, message?: string, details?: Record<string, unknown>) {
    const def = ErrorCodes[key];
    super(message ?? def.message);
    this.name = 'ApiXError';
    this.code = def.code;
    this.httpStatus = def.httpStatus;
    this.retryable = def.retryable;
    this.details = details;
  }

  toBody(): ApiXErrorBody {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/**
 * WebSocket close codes. The range decides what a client does, so server and SDK agree:
 *
 * | range       | meaning                                                     | client      |
 * |-------------|-------------------------------------------------------------|-------------|
 * | 1000        | normal closure (the client asked for it)                    | stop        |
 * | 1001–1015   | RFC 6455 codes: going away, abnormal, too big, …            | reconnect   |
 * | 4000–4499   | APIX, transient: reconnect (with backoff) and resume        | reconnect   |
 * | 4500–4999   | APIX, terminal: reconnecting with the same input won't help | stop        |
 *
 * 1008 (policy violation) and 1003 (unsupported data) are terminal: the client sent
 * something it must not send again.
 */
export const CloseCodes = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  POLICY_VIOLATION: 1008,
  /** A frame over the size limit. The connection was fine until then; reconnecting is allowed. */
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,

  /** The server is shutting down or restarting (deploys). Reconnect, ideally to another node. */
  SERVER_SHUTDOWN: 4000,
  /** No `connect` frame arrived within the handshake timeout. */
  HANDSHAKE_TIMEOUT: 4001,
  /** The peer did not answer WebSocket pings in time; it is presumed dead. */
  DEAD_PEER: 4002,
  /** The token expired and was not refreshed within the grace period. Reconnect with a new token. */
  TOKEN_EXPIRED: 4003,
  /** The client could not keep up; its send buffer passed the cap. Reconnect and resume from your position. */
  SLOW_CONSUMER: 4004,
  /** Too many requests in a short time. */
  RATE_LIMITED: 4005,

  /** The credential was refused (bad signature, wrong issuer, malformed). Do not retry with it. */
  UNAUTHORIZED: 4500,
  /** The credential is valid but this identity may not connect (e.g. organisation disabled). */
  FORBIDDEN: 4501,
  /** The client broke the protocol in a way that makes continuing unsafe. */
  PROTOCOL_VIOLATION: 4502,
  /**
   * Another connection resumed this connection's session (on this node or another): this one
   * is stale. Terminal, so two clients holding one token don't take it from each other forever.
   */
  SESSION_REPLACED: 4503,
} as const;
export type CloseCode = (typeof CloseCodes)[keyof typeof CloseCodes];

/** Whether a client should reconnect after the connection closed with `code`. */
export function shouldReconnect(code: number): boolean {
  if (code === CloseCodes.NORMAL) return false;
  if (code === CloseCodes.UNSUPPORTED_DATA || code === CloseCodes.POLICY_VIOLATION) return false;
  if (code >= 1001 && code <= 1015) return true;
  if (code >= 4000 && code <= 4499) return true;
  if (code >= 4500 && code <= 4999) return false;
  // 3000–3999 are registered library/framework codes; anything unknown: reconnect with backoff.
  return true;
}
