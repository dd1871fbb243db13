import type { ClientType } from '@apix/protocol';
import type { WebSocketConstructor } from './websocket.js';

/**
 * The credential: a fixed token, or a function the client calls before every connection
 * attempt and before every in-place refresh. Throw an `ApiXClientError` that is not
 * `retryable` from the function to stop the client (e.g. the user logged out); any other
 * failure is retried with backoff.
 */
export type TokenSource = string | (() => string | Promise<string>);

export interface HeartbeatOptions {
  /** Default true. Without it a browser cannot notice a half-open link. */
  enabled?: boolean;
  /** Time between pings; default: the `heartbeatIntervalMs` the server announces. */
  intervalMs?: number;
  /** How long a ping waits for its pong before the client reconnects. Default 10 000. */
  pongTimeoutMs?: number;
}

export interface ApiXClientOptions {
  token: TokenSource;
  /** WebSocket implementation; default `globalThis.WebSocket`. On Node 20 pass `WebSocket` from `ws`. */
  WebSocket?: WebSocketConstructor;
  clientType?: ClientType;
  /** Sent as connect metadata `name`, for the server's logs and dashboard. */
  name?: string;
  /** Backoff base: the first reconnect waits up to this long. Default 500. */
  minReconnectDelayMs?: number;
  /** Backoff cap. Default 20 000. */
  maxReconnectDelayMs?: number;
  /** From opening the socket to `connection.established` (token function included). Default 10 000. */
  connectTimeoutMs?: number;
  /** Default bound for publish, history and ready(): waiting for a connection, re-sends and the reply. Default 10 000. */
  requestTimeoutMs?: number;
  heartbeat?: HeartbeatOptions;
  /** Refresh the token this long before it expires (token function only). Default 30 000. */
  refreshMarginMs?: number;
  /**
   * Resume the server session after a drop (send the session token with `connect`): same
   * session id, subscriptions kept by the server, missed events replayed on any node.
   * Default true; false: every connection is a new session and the client resubscribes.
   */
  resumeSessions?: boolean;
}

export interface ResolvedOptions {
  token: TokenSource;
  WebSocket: WebSocketConstructor;
  clientType: ClientType | undefined;
  name: string | undefined;
  minReconnectDelayMs: number;
  maxReconnectDelayMs: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  heartbeat: { enabled: boolean; intervalMs: number | undefined; pongTimeoutMs: number };
  refreshMarginMs: number;
  resumeSessions: boolean;
}

export const DEFAULT_MIN_RECONNECT_DELAY_MS = 500;
export const DEFAULT_MAX_RECONNECT_DELAY_MS = 20_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_PONG_TIMEOUT_MS = 10_000;
export const DEFAULT_REFRESH_MARGIN_MS = 30_000;

function positive(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!(resolved > 0) || !Number.isFinite(resolved)) throw new RangeError(`${name} must be a positive number of milliseconds (got ${value})`);
  return resolved;
}

/** Fills in defaults and refuses nonsense early, with the option's name in the message. */
export function resolveOptions(options: ApiXClientOptions): ResolvedOptions {
  if (typeof options.token !== 'string' && typeof options.token !== 'function') {
    throw new TypeError('options.token must be a string or a function returning one');
  }
  const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocketImpl) {
    throw new TypeError("no WebSocket implementation: pass options.WebSocket (on Node 20: import { WebSocket } from 'ws')");
  }
  const minReconnectDelayMs = positive('minReconnectDelayMs', options.minReconnectDelayMs, DEFAULT_MIN_RECONNECT_DELAY_MS);
  const maxReconnectDelayMs = positive('maxReconnectDelayMs', options.maxReconnectDelayMs, Math.max(DEFAULT_MAX_RECONNECT_DELAY_MS, minReconnectDelayMs));
  if (maxReconnectDelayMs < minReconnectDelayMs) throw new RangeError('maxReconnectDelayMs must be at least minReconnectDelayMs');
  return {
    token: options.token,
    WebSocket: WebSocketImpl,
    clientType: options.clientType,
    name: options.name,
    minReconnectDelayMs,
    maxReconnectDelayMs,
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS),
    heartbeat: {
      enabled: options.heartbeat?.enabled ?? true,
      intervalMs: options.heartbeat?.intervalMs === undefined ? undefined : positive('heartbeat.intervalMs', options.heartbeat.intervalMs, 1),
      pongTimeoutMs: positive('heartbeat.pongTimeoutMs', options.heartbeat?.pongTimeoutMs, DEFAULT_PONG_TIMEOUT_MS),
    },
    refreshMarginMs: positive('refreshMarginMs', options.refreshMarginMs, DEFAULT_REFRESH_MARGIN_MS),
    resumeSessions: options.resumeSessions ?? true,
  };
}
