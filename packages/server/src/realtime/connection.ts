import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { ApiXError, ChannelName, ClientType } from '@apix/protocol';
import type { Principal } from '../identity/principal.js';
import type { ChannelSubscription } from './channel-subscription.js';
import type { TokenBucket } from './token-bucket.js';

export type ConnectionId = string;
export type SessionId = string;

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

/** How long a server-initiated close waits for the peer's close frame before dropping the TCP socket. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

export interface ConnectionOptions {
  readonly maxSendBufferBytes: number;
  readonly remoteAddress: string | undefined;
  /** Called once when the connection ends, whoever ended it: release everything it holds. */
  readonly onClosed: (connection: Connection) => void;
  /** Limits this connection's requests; absent: no limit. */
  readonly requestBudget?: TokenBucket;
  /** Called when the send buffer passes its cap, instead of queueing more. */
  readonly onSlowConsumer: (connection: Connection) => void;
  /** A request task threw past its own error handling: a bug, to be logged and counted. */
  readonly onTaskFailed: (connection: Connection, error: unknown) => void;
}

/**
 * One client's WebSocket and what it holds. Owns its subscriptions; the ConnectionManager
 * owns the connection. Requests are executed one after another, in arrival order, so
 * replies come back in order and a subscribe can't race an unsubscribe of the same channel.
 */
export class Connection {
  readonly id: ConnectionId = newId('conn');
  readonly sessionId: SessionId = newId('sess');
  readonly connectedAt = Date.now();
  readonly socket: WebSocket;
  readonly subscriptions = new Map<ChannelName, ChannelSubscription>();
  principal: Principal | undefined;
  clientType: ClientType | undefined;
  metadata: Record<string, string | number | boolean> = {};
  /** Deadline for the `connect` frame of a connection not yet authenticated. */
  handshakeDeadline = 0;
  /** When the last WebSocket ping was sent and not yet answered (0: none outstanding). */
  awaitingPongSince = 0;
  lastPingAt = 0;
  lastPongAt = Date.now();
  readonly #options: ConnectionOptions;
  readonly #requestsInFlight = new Set<string>();
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #closeCode = 1005;

  constructor(socket: WebSocket, options: ConnectionOptions) {
    this.socket = socket;
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The close code this connection ended with (server-chosen, or the peer's; 1005 if none). */
  get closeCode(): number {
    return this.#closeCode;
  }

  get remoteAddress(): string | undefined {
    return this.#options.remoteAddress;
  }

  /** Takes one request from the connection's budget; false when it is spent for now. */
  tryStartRequest(): boolean {
    return this.#options.requestBudget?.tryTake() ?? true;
  }

  /** How long until the budget allows another request, in ms. */
  retryAfterMs(): number {
    return this.#options.requestBudget?.msUntilNextToken() ?? 0;
  }

  /** Whether a request with this id is queued or running on this connection. */
  isInFlight(requestId: string): boolean {
    return this.#requestsInFlight.has(requestId);
  }

  /** Runs `task` after every request received before it; its failure never breaks the chain. */
  enqueue(requestId: string, task: () => Promise<void>): void {
    this.#requestsInFlight.add(requestId);
    this.#queue = this.#queue
      .then(task)
      .catch((error: unknown) => this.#options.onTaskFailed(this, error))
      .finally(() => this.#requestsInFlight.delete(requestId));
  }

  sendFrame(frame: object): void {
    this.sendRaw(JSON.stringify(frame));
  }

  /**
   * Sends bytes that may be shared with other connections (fan-out encodes once). A peer that
   * stops reading must not grow our memory without bound: past the cap it is closed with
   * "slow consumer" and resumes from its position when it comes back.
   */
  sendRaw(data: string | Buffer): void {
    if (this.#closed) return;
    if (this.socket.bufferedAmount > this.#options.maxSendBufferBytes) {
      this.#options.onSlowConsumer(this);
      return;
    }
    this.socket.send(data, { binary: false });
  }

  reply(requestId: string, result: unknown): void {
    this.sendFrame({ type: 'reply', id: requestId, ok: true, result });
  }

  replyError(requestId: string, error: ApiXError): void {
    this.sendFrame({ type: 'reply', id: requestId, ok: false, error: error.toBody() });
  }

  /** Frame-level error that can't be tied to a request. */
  sendConnectionError(error: ApiXError): void {
    this.sendFrame({ type: 'connection.error', error: error.toBody() });
  }

  /**
   * Ends the connection now: releases what it holds at once (not after the close handshake,
   * which a dead or malicious peer may never finish), then closes the socket.
   */
  close(code: number, reason: string): void {
    if (this.#markClosed(code)) {
      this.socket.close(code, reason);
      setTimeout(() => this.socket.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS).unref();
    }
  }

  /** The socket closed from the other side (or the network): release what it holds. */
  handleSocketClosed(code: number): void {
    this.#markClosed(code);
  }

  #markClosed(code: number): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.#closeCode = code;
    this.#options.onClosed(this);
    return true;
  }
}
