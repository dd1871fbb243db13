import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * Before a connection has authenticated, the server owes it nothing but room for one
 * `connect` frame. These caps keep what an anonymous socket can make the server hold small
 * (issue 7, finding 4: ~1.6 MiB of pending fragments per socket until the connect timeout):
 */
/** Largest message (all its fragments together) before authentication: a token and metadata fit. */
export const PRE_AUTH_MAX_FRAME_BYTES = 16 * 1024;
/** All bytes read from the socket before authentication, frame headers and fragments included. */
export const PRE_AUTH_MAX_BYTES = 64 * 1024;
/** Messages before authentication (a client needs one; a few retries are fine). */
export const PRE_AUTH_MAX_MESSAGES = 16;

interface Caps {
  readonly maxPayload: number;
  readonly onData: (chunk: Buffer) => void;
  readonly onMessage: () => void;
  readonly socket: Duplex;
}

const capped = new WeakMap<WebSocket, Caps>();

/** ws's receiver enforces the message size limit; its field is not public API, hence the narrow cast. */
type WithReceiver = { _receiver?: { _maxPayload: number } | null };

/**
 * Caps `ws` until `liftPreAuthCaps(ws)`: messages above PRE_AUTH_MAX_FRAME_BYTES are refused by
 * ws itself (close 1009 as soon as the length is known, before the payload is buffered); past
 * PRE_AUTH_MAX_BYTES read or PRE_AUTH_MAX_MESSAGES messages, `onExceeded` runs (the gateway
 * closes the socket).
 */
export function capUntilAuthenticated(ws: WebSocket, socket: Duplex, onExceeded: () => void): void {
  const receiver = (ws as unknown as WithReceiver)._receiver;
  const maxPayload = receiver?._maxPayload ?? 0;
  if (receiver) receiver._maxPayload = maxPayload > 0 ? Math.min(maxPayload, PRE_AUTH_MAX_FRAME_BYTES) : PRE_AUTH_MAX_FRAME_BYTES;
  let bytes = 0;
  let messages = 0;
  let exceeded = false;
  const exceed = () => {
    if (exceeded) return;
    exceeded = true;
    onExceeded();
  };
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > PRE_AUTH_MAX_BYTES) exceed();
  };
  const onMessage = () => {
    if (++messages > PRE_AUTH_MAX_MESSAGES) exceed();
  };
  socket.on('data', onData);
  ws.on('message', onMessage);
  capped.set(ws, { maxPayload, onData, onMessage, socket });
}

/** Authenticated: the connection gets the normal limits (MAX_FRAME_BYTES, no byte or message count). */
export function liftPreAuthCaps(ws: WebSocket): void {
  const caps = capped.get(ws);
  if (caps === undefined) return;
  capped.delete(ws);
  const receiver = (ws as unknown as WithReceiver)._receiver;
  if (receiver) receiver._maxPayload = caps.maxPayload;
  caps.socket.off('data', caps.onData);
  ws.off('message', caps.onMessage);
}
