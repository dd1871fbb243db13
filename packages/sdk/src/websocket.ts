/**
 * The part of the WebSocket API the SDK uses. The browser's `WebSocket` and the `ws`
 * package's `WebSocket` both fit, so the SDK has no runtime dependency on either.
 *
 * Handlers are declared through a method signature so that implementations whose event
 * objects carry more fields (ws's `MessageEvent` has `target`, `type`, …) are assignable.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

export interface WebSocketMessageEventLike {
  readonly data: unknown;
}

export interface WebSocketCloseEventLike {
  readonly code: number;
  readonly reason: string;
}

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the socket without a closing handshake (used when the link is presumed dead). */
  terminate?(): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<WebSocketMessageEventLike> | null;
  onclose: Handler<WebSocketCloseEventLike> | null;
  onerror: Handler<unknown> | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `WebSocket.OPEN` (the same value in every implementation). */
export const WEBSOCKET_OPEN = 1;
