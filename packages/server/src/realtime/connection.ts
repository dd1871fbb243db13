import { randomToken } from '../support/random-token.js';
import type { WebSocket } from 'ws';
import { CloseCodes, type ApiXError, type ChannelName, type ClientType } from '@apix/protocol';
import type { Principal } from '../identity/principal.js';
import { monotonicNow } from '../support/monotonic-clock.js';
import type { ChannelSubscription } from './channel-subscription.js';
import type { TokenBucket } from './token-bucket.js';
import { releaseAtEndOfTurn, type Corkable, type TurnEndListener } from './write-coalescing.js';

export type ConnectionId = string;
export type SessionId = string;

export function newId(prefix: string): string {
  return `${prefix}_${randomToken(12)}`;
}

/** How long a server-initiated close waits for the peer's close frame before dropping the TCP socket. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;
/**
 * A slow consumer is given longer: its close frame (4004, "reconnect and resume") sits behind
 * what the kernel already holds for it, and dropping the socket before the peer reads it would
 * turn 4004 into 1006.
 */
const SLOW_CONSUMER_CLOSE_GRACE_MS = 10_000;
/**
 * At most this many unsent bytes are handed to the socket; the rest waits in the connection's
 * own backlog. The backlog can be dropped, the socket's buffer cannot, so a close frame is
 * never queued behind more than this (plus one frame).
 */
export const SOCKET_HIGH_WATER_BYTES = 64 * 1024;
const AS_TEXT = { binary: false } as const;

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
  /** The TCP socket under the WebSocket: writes of one event-loop turn are coalesced on it (write-coalescing.ts). */
  readonly rawSocket?: Corkable;
  /**
   * The connection's positions may have moved (a frame was sent, or an ack settled events):
   * called once, then not again until `takePositionsMoved()`. Lets the session keeper write
   * only sessions that changed instead of looking at every connection.
   */
  readonly onPositionsMoved?: (connection: Connection) => void;
  /** The connection entered (true) or left (false) backlog mode: monitoring watches only these. */
  readonly onBacklogChanged?: (connection: Connection, backlogged: boolean) => void;
}

/**
 * One client's WebSocket and what it holds. Owns its subscriptions; the ConnectionManager
 * owns the connection. Requests are executed one after another, in arrival order, so
 * replies come back in order and a subscribe can't race an unsubscribe of the same channel.
 */
export class Connection implements TurnEndListener {
  readonly id: ConnectionId = newId('conn');
  /**
   * The session this connection runs in: a fresh one, or — set once, when a `connect` frame
   * resumed a session (SessionKeeper) — the earlier connection's. Several connections over
   * time share a session id; at most one holds it at a time.
   */
  sessionId: SessionId = newId('sess');
  /** Wall time, for display (connection lists, rows). */
  readonly connectedAt = Date.now();
  readonly socket: WebSocket;
  readonly subscriptions = new Map<ChannelName, ChannelSubscription>();
  principal: Principal | undefined;
  clientType: ClientType | undefined;
  metadata: Record<string, string | number | boolean> = {};
  /** Deadline for the `connect` frame of a connection not yet authenticated (monotonic ms). */
  handshakeDeadline = 0;
  /** When the last WebSocket ping was sent and not yet answered (monotonic ms; 0: none outstanding). */
  awaitingPongSince = 0;
  /** Monotonic ms. */
  lastPingAt = 0;
  /** Monotonic ms. */
  lastPongAt = monotonicNow();
  readonly #options: ConnectionOptions;
  /** Ids of requests queued or running; created at the first request (most connections hold none for long: memory per idle connection counts). */
  #requestsInFlight: Set<string> | null = null;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #closeCode = 1005;
  /** Frames waiting for the socket to drain (null: the socket takes frames directly). */
  #backlog: Array<string | Buffer> | null = null;
  #backlogBytes = 0;
  /** Bytes of frames dropped from the backlog by close(): sent to nobody, though positions count them. */
  #droppedBytes = 0;
  #terminateTimer: NodeJS.Timeout | undefined;
  /** Whether the raw socket is corked until the end of this event-loop turn. */
  #corked = false;
  /** Positions may have moved since `takePositionsMoved` (see ConnectionOptions.onPositionsMoved). */
  #positionsMoved = false;
  /** Paced senders (replays, ADR 0045) waiting for the backlog to empty; null: none (the common case allocates nothing). */
  #writableWaiters: Array<() => void> | null = null;

  constructor(socket: WebSocket, options: ConnectionOptions) {
    this.socket = socket;
    this.#options = options;
  }

  /** Unsent bytes held for this connection: its backlog plus what the socket buffers. */
  get pendingBytes(): number {
    return this.#backlogBytes + this.socket.bufferedAmount;
  }

  /** Frames wait in the backlog: what subscriptions count as delivered has not all reached the socket. */
  get backlogged(): boolean {
    return this.#backlog !== null;
  }

  /** Bytes the close dropped unsent (0: every frame counted as delivered was handed to the socket). */
  get droppedBytes(): number {
    return this.#droppedBytes;
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
    return this.#requestsInFlight?.has(requestId) ?? false;
  }

  /** Runs `task` after every request received before it; its failure never breaks the chain. */
  enqueue(requestId: string, task: () => Promise<void>): void {
    const inFlight = (this.#requestsInFlight ??= new Set());
    inFlight.add(requestId);
    this.#queue = this.#queue
      .then(task)
      .catch((error: unknown) => this.#options.onTaskFailed(this, error))
      .finally(() => inFlight.delete(requestId));
  }

  sendFrame(frame: object): void {
    this.sendRaw(JSON.stringify(frame));
  }

  /**
   * Sends bytes that may be shared with other connections (fan-out encodes once). A peer that
   * stops reading must not grow our memory without bound: past the cap it is closed with
   * "slow consumer" and resumes from its position when it comes back.
   *
   * The socket is handed at most SOCKET_HIGH_WATER_BYTES; beyond that frames wait in the
   * backlog, in order, and the write that crossed the mark tells us (its callback) when the
   * socket drained. The fast path — a socket that keeps up — allocates nothing.
   */
  sendRaw(data: string | Buffer): void {
    if (this.#closed) return;
    if (!this.#positionsMoved) this.markPositionsMoved();
    if (!this.#corked && this.#options.rawSocket) {
      this.#options.rawSocket.cork();
      this.#corked = true;
      releaseAtEndOfTurn(this);
    }
    if (this.#backlog !== null) {
      this.#backlog.push(data);
      this.#backlogBytes += data.length;
      if (this.#backlogBytes + this.socket.bufferedAmount > this.#options.maxSendBufferBytes) this.#options.onSlowConsumer(this);
      return;
    }
    if (this.socket.bufferedAmount + data.length > SOCKET_HIGH_WATER_BYTES) {
      // Corked bytes are ours, not the kernel's: hand them over first and look again. A socket
      // that keeps up takes them at once (bufferedAmount falls back to ~0), so coalescing never
      // pushes a frame into the backlog that an uncorked socket would have sent — without this a
      // big replay on a fast socket filled the backlog past the send cap and was closed 4004.
      // The end-of-turn release that follows is a no-op on an uncorked socket.
      if (this.#corked) {
        this.endOfTurn();
        if (this.socket.bufferedAmount + data.length <= SOCKET_HIGH_WATER_BYTES) {
          this.socket.send(data, AS_TEXT);
          return;
        }
      }
      // The write whose callback ends backlog mode goes out uncorked, so its callback never
      // waits for the turn to end.
      this.#backlog = [];
      this.#options.onBacklogChanged?.(this, true);
      this.socket.send(data, AS_TEXT, (error) => this.#onDrained(error));
      return;
    }
    this.socket.send(data, AS_TEXT);
  }

  /** Something this connection's positions depend on changed: tell the listener, once until taken. */
  markPositionsMoved(): void {
    if (this.#positionsMoved) return;
    this.#positionsMoved = true;
    this.#options.onPositionsMoved?.(this);
  }

  /** Whether positions may have moved since the last call; the next move is reported again. */
  takePositionsMoved(): boolean {
    const moved = this.#positionsMoved;
    this.#positionsMoved = false;
    return moved;
  }

  /**
   * Runs `listener` once the backlog is empty again — the socket took what waited — so a
   * paced sender (a replay, ADR 0045) hands over its next frames only as the peer reads them
   * and never pushes the backlog toward the send cap. Not backlogged: runs at once. A
   * connection that closes first never runs it (the sender is closed with it).
   */
  whenWritable(listener: () => void): void {
    if (this.#closed) return;
    if (this.#backlog === null) return listener();
    (this.#writableWaiters ??= []).push(listener);
  }

  /** Write coalescing (write-coalescing.ts): this turn's frames go to the kernel together, now. */
  endOfTurn(): void {
    this.#corked = false;
    this.#options.rawSocket?.uncork();
  }

  /** The write that crossed the high-water mark reached the kernel: hand the socket what waited. */
  #onDrained(error?: Error): void {
    const backlog = this.#backlog;
    this.#backlog = null;
    this.#backlogBytes = 0;
    if (error || this.#closed || backlog === null) {
      if (!this.#closed) this.#options.onBacklogChanged?.(this, false);
      return;
    }
    // sendRaw re-enters backlog mode when the mark is crossed again; the rest queues behind it, in order.
    for (const data of backlog) this.sendRaw(data);
    // Paced senders go on while the socket takes frames; one that fills it again waits for the next drain, with the rest.
    const waiters = this.#writableWaiters;
    while (waiters !== null && waiters.length > 0 && this.#backlog === null && !this.#closed) waiters.shift()!();
    if (this.#backlog === null && !this.#closed) this.#options.onBacklogChanged?.(this, false);
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
   * which a dead or malicious peer may never finish), then closes the socket. Frames still in
   * the backlog are dropped, so the close frame follows at most SOCKET_HIGH_WATER_BYTES: a
   * client that stopped reading still learns why it was closed (a resumable subscriber
   * resumes from the last position it received). With `retryAfterMs` (shutdown, overload) a
   * `connection.closing` frame goes first, telling the client when to come back.
   */
  close(code: number, reason: string, retryAfterMs?: number): void {
    if (!this.#markClosed(code)) return;
    this.#backlog = null;
    this.#backlogBytes = 0;
    if (retryAfterMs !== undefined) {
      this.socket.send(JSON.stringify({ type: 'connection.closing', code, reason, retryAfterMs }), AS_TEXT);
    }
    this.socket.close(code, reason);
    const graceMs = code === CloseCodes.SLOW_CONSUMER ? SLOW_CONSUMER_CLOSE_GRACE_MS : CLOSE_HANDSHAKE_TIMEOUT_MS;
    this.#terminateTimer = setTimeout(() => this.socket.terminate(), graceMs);
    this.#terminateTimer.unref();
  }

  /** The socket closed from the other side (or the network), or our close handshake finished: release what it holds. */
  handleSocketClosed(code: number): void {
    clearTimeout(this.#terminateTimer);
    this.#markClosed(code);
  }

  #markClosed(code: number): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.#writableWaiters = null;
    // Whatever still waits in the backlog will never be sent; counted before onClosed (the session keeper reads it).
    this.#droppedBytes = this.#backlogBytes;
    this.#closeCode = code;
    this.#options.onClosed(this);
    return true;
  }
}
