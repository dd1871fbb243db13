import { shouldReconnect } from '@apix/protocol/core';
import { ApiXClientError } from './errors.js';

/**
 * What kind of thing kept the client from being connected. One value per cause a developer
 * acts on differently; `docs/sdk.md` lists what to do for each.
 */
export type DisconnectCauseKind =
  /** The token function threw or rejected (e.g. a relative URL in fetch() on Node, the login service down). */
  | 'token-failed'
  /** The server answered the WebSocket upgrade with an HTTP error (Node sees the status; browsers never do). */
  | 'upgrade-refused'
  /** The upgrade was refused because the page's Origin is not in the server's ALLOWED_ORIGINS. */
  | 'origin-refused'
  /** The server refused the credential (bad signature, wrong issuer, expired, empty). */
  | 'auth-failed'
  /** The socket closed before it opened, with no detail (browsers: unreachable server, refused upgrade or Origin alike). */
  | 'unreachable'
  /** An open connection was closed, by the server (its code and reason) or by the network (1006). */
  | 'closed'
  /** No `connection.established` within connectTimeoutMs. */
  | 'connect-timeout'
  /** No `heartbeat.pong` in time: the link is presumed dead. */
  | 'no-pong'
  /** The client dropped the link itself (a subscribe got no reply, a send failed). */
  | 'client-dropped'
  /** The application called disconnect(). */
  | 'client-closed'
  /** The URL cannot be opened at all (malformed, or a blocked scheme). */
  | 'bad-url';

/** The last cause, as `ready()`, `disconnected`, `closed` and `client.lastCause` report it. */
export interface DisconnectCause {
  kind: DisconnectCauseKind;
  /** One line for a person: what happened and, where it helps, what to check. */
  message: string;
  /** The same as an error, with a catalogue code to switch on. */
  error: ApiXClientError;
  /** True when the client stopped because of it: it will not reconnect until connect() is called again. */
  terminal: boolean;
  /** The WebSocket close code, when the socket closed. */
  closeCode?: number;
  closeReason?: string;
  /** The HTTP status of a refused upgrade (Node's `ws` only: browsers do not expose it). */
  httpStatus?: number;
}

/** Upgrade statuses that will not change by asking again with the same URL, origin and credential. */
const TERMINAL_UPGRADE_STATUSES = new Set([400, 401, 403, 404]);

export function upgradeRefusedCause(url: string, httpStatus: number, body: { code?: string; message?: string } | undefined): DisconnectCause {
  const serverSays = body?.message ? `: ${body.message}` : '';
  const terminal = TERMINAL_UPGRADE_STATUSES.has(httpStatus);
  if (body?.code === 'APIX_ERR_ORIGIN_NOT_ALLOWED') {
    const message = `the server refused the WebSocket upgrade (HTTP ${httpStatus}): this Origin is not allowed; add it to the server's ALLOWED_ORIGINS`;
    return { kind: 'origin-refused', message, error: ApiXClientError.protocol('ORIGIN_NOT_ALLOWED', message, { httpStatus }), terminal, httpStatus };
  }
  if (body?.code === 'APIX_ERR_AUTH_FAILED' || httpStatus === 401) {
    const message = `the server refused the credential at the WebSocket upgrade (HTTP ${httpStatus})${serverSays}`;
    return { kind: 'auth-failed', message, error: ApiXClientError.protocol('AUTH_FAILED', message, { httpStatus }), terminal, httpStatus };
  }
  const message = `the server refused the WebSocket upgrade to ${url} (HTTP ${httpStatus}${body?.code ? ` ${body.code}` : ''})${serverSays}`;
  const error = new ApiXClientError({ code: body?.code ?? 'APIX_ERR_CONNECTION_CLOSED', message, retryable: !terminal, details: { httpStatus } });
  return { kind: 'upgrade-refused', message, error, terminal, httpStatus };
}

export function unreachableCause(url: string, closeCode: number, closeReason: string, transportMessage: string | undefined): DisconnectCause {
  const detail = transportMessage ? ` (${transportMessage})` : '';
  const message =
    `the WebSocket to ${url} closed before it opened${detail}: the server is unreachable, or it refused the upgrade ` +
    '(in a browser a refused Origin looks the same: check the URL and the server\'s ALLOWED_ORIGINS)';
  const error = ApiXClientError.client('CONNECTION_LOST', message, { closeCode, closeReason });
  return { kind: 'unreachable', message, error, terminal: false, closeCode, closeReason };
}

/** An open connection (or one that had reached the server) closed with `code`. */
export function closedCause(closeCode: number, closeReason: string, refusal: ApiXClientError | undefined): DisconnectCause {
  const terminal = !shouldReconnect(closeCode);
  const said = `closed with code ${closeCode}${closeReason ? ` and reason "${closeReason}"` : ''}`;
  if (refusal && (refusal.code === 'APIX_ERR_AUTH_FAILED' || refusal.code === 'APIX_ERR_TOKEN_EXPIRED')) {
    return { kind: 'auth-failed', message: `authentication failed: ${refusal.message} (${said})`, error: refusal, terminal, closeCode, closeReason };
  }
  const message = refusal ? `${refusal.message} (${said})` : `the connection ${said}`;
  const error =
    refusal ??
    (terminal
      ? ApiXClientError.client('CONNECTION_CLOSED', `the server ${said}`, { closeCode, closeReason })
      : ApiXClientError.client('CONNECTION_LOST', `the connection ${said}`, { closeCode, closeReason }));
  return { kind: 'closed', message, error, terminal, closeCode, closeReason };
}

export function simpleCause(kind: DisconnectCauseKind, error: ApiXClientError, terminal: boolean, closeCode?: number): DisconnectCause {
  return { kind, message: error.message, error, terminal, ...(closeCode === undefined ? {} : { closeCode }) };
}

/** `ready()`'s timeout names the last cause, so "not connected in time" is never the whole story. */
export function describeCause(cause: DisconnectCause | undefined): string {
  return cause ? `; last cause (${cause.kind}): ${cause.message}` : '';
}
