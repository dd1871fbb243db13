import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  ApiXError,
  CloseCodes,
  type ClientFrame,
  type ConnectFrame,
  type HistoryFrame,
  type PublishFrame,
  type RefreshFrame,
  type SubscriptionState,
} from '@apix/protocol';
import type { EventPublisher } from '../channels/event-publisher.js';
import type { HistoryReader } from '../channels/history-reader.js';
import type { CredentialVerifier } from '../identity/token-verifier.js';
import type { Principal } from '../identity/principal.js';
import type { FloodDetector } from '../limits/flood-detector.js';
import { perMessageDeflateOptions, type CompressionSettings } from '../limits/compression.js';
import { capUntilAuthenticated, liftPreAuthCaps } from '../limits/pre-auth-caps.js';
import { admitConnectionOrRefuse, type QuotaUsage } from '../limits/quota-usage.js';
import type { Logger } from '../logging/logger.js';
import { monotonicNow } from '../support/monotonic-clock.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { TokenBucket } from './token-bucket.js';
import type { ConnectionManager } from './connection-manager.js';
import { decodeFrame } from './frame-decoder.js';
import { reportOriginRefused, type OriginPolicy } from './origin-policy.js';
import type { RealtimeObserver } from './realtime-observer.js';
import type { SubscriptionManager } from './subscription-manager.js';
import { isStorageUnavailable } from '../storage/storage-errors.js';
import type { PresenceQuery } from '../engine/presence-query.js';
import { handlePresenceFrame } from './presence-frame.js';
import type { ResumeOutcome, SessionGrant, SessionKeeper } from './session-keeper.js';

export const WEBSOCKET_PATH = '/ws';

/** What a request frame needs before it runs: see ApiXGateway#handlers. */
type FrameAuth = 'none' | 'any' | 'fresh';
interface FrameHandler<F extends ClientFrame> {
  readonly auth: FrameAuth;
  run(connection: Connection, principal: Principal | undefined, frame: F): Promise<void>;
}
type FrameHandlers = { readonly [T in Exclude<ClientFrame['type'], 'heartbeat.ping'>]: FrameHandler<Extract<ClientFrame, { type: T }>> };

export interface GatewaySettings {
  readonly maxFrameBytes: number;
  readonly maxSendBufferBytes: number;
  readonly connectTimeoutMs: number;
  readonly clientHeartbeatIntervalMs: number;
  /** Requests per second per connection (0: unlimited), and the burst allowed above it. */
  readonly rateLimit: { readonly requestsPerSecond: number; readonly burst: number };
  /** Open connections this node accepts at most (0: no limit); past it upgrades get 503 with a retry hint. */
  readonly maxConnections: number;
  /** The retry hint given with an overload refusal is drawn from [0, this) so refused clients spread out. */
  readonly reconnectSpreadMs: number;
  /** permessage-deflate (src/limits/compression.ts); absent or disabled: off. */
  readonly compression?: CompressionSettings;
}

export interface GatewayDependencies {
  readonly verifier: CredentialVerifier;
  readonly originPolicy: OriginPolicy;
  readonly connections: ConnectionManager;
  readonly subscriptions: SubscriptionManager;
  readonly publisher: EventPublisher;
  readonly history: HistoryReader;
  readonly logger: Logger;
  readonly observer?: RealtimeObserver;
  /** Answers `presence` requests (see presence-frame.ts). */
  readonly presence?: PresenceQuery;
  /** Closes connections that keep exceeding their rate limit (src/limits). */
  readonly floodDetector?: FloodDetector;
  /** Per-organisation connection and subscription quotas (src/limits). */
  readonly quotaUsage?: QuotaUsage;
  /** Resumable sessions (ADR 0040); absent: every connection is a fresh session without a token. */
  readonly sessions?: SessionKeeper;
}

/**
 * The WebSocket data plane's front door (the seed's ApiXGateway): upgrade checks, handshake
 * authentication, frame decoding and dispatch. Plain TypeScript: nothing here runs through
 * Nest, so the per-message path is only what is written below.
 */
export class ApiXGateway {
  readonly #wss: WebSocketServer;
  readonly #settings: GatewaySettings;
  readonly #deps: GatewayDependencies;
  #accepting = true;

  constructor(settings: GatewaySettings, deps: GatewayDependencies) {
    this.#settings = settings;
    this.#deps = deps;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: settings.maxFrameBytes,
      perMessageDeflate: settings.compression ? perMessageDeflateOptions(settings.compression) : false,
      clientTracking: false,
    });
  }

  /** Stop taking new connections (shutdown); open ones are closed by the ConnectionManager. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /**
   * Reads top to bottom: each precondition rejects through `abortHandshake` with a precise
   * status and a catalogue code.
   */
  async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // One listener shared by every socket: a closure made here would share this call's scope
    // (the `request`, with its headers and the bearer token) and keep it for the socket's life.
    socket.on('error', this.#onUpgradeSocketError);
    const url = new URL(request.url ?? '/', 'http://apix.invalid');
    if (url.pathname !== WEBSOCKET_PATH) return abortHandshake(socket, 404, new ApiXError('NOT_FOUND', `WebSocket endpoint is ${WEBSOCKET_PATH}`));
    if (!this.#accepting) return abortHandshake(socket, 503, new ApiXError('UNAVAILABLE', 'server is shutting down'));
    if (this.#settings.maxConnections > 0 && this.#deps.connections.size >= this.#settings.maxConnections) {
      // Overloaded: refuse before any work, and tell the client when to come back — spread, so
      // the refused clients don't all return in the same second.
      const retryAfterMs = 1_000 + Math.floor(Math.random() * this.#settings.reconnectSpreadMs);
      return abortHandshake(socket, 503, new ApiXError('UNAVAILABLE', 'this node is at its connection limit; retry later or elsewhere', { retryAfterMs }), retryAfterMs);
    }
    if (!this.#deps.originPolicy.allows(request)) {
      reportOriginRefused(request, this.#deps.logger, this.#deps.observer);
      return abortHandshake(socket, 403, new ApiXError('ORIGIN_NOT_ALLOWED'));
    }
    if (url.searchParams.has('token') || url.searchParams.has('access_token')) {
      return abortHandshake(socket, 400, new ApiXError('AUTH_FAILED', 'tokens in URLs are refused (they end up in logs); use Authorization: Bearer or a connect frame'));
    }
    let principal: Principal | undefined;
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([^\s]+)$/i.exec(authorization);
      if (!match) return abortHandshake(socket, 401, new ApiXError('AUTH_FAILED', 'Authorization must be "Bearer <token>"'));
      try {
        principal = await this.#deps.verifier.verify(match[1]!);
      } catch (error) {
        const apixError = asApiXError(error);
        this.#deps.observer?.authenticationFailed?.({ via: 'websocket', code: apixError.code, remoteAddress: request.socket.remoteAddress });
        return abortHandshake(socket, 401, apixError);
      }
    }
    if (socket.destroyed) return;
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, request, principal));
  }

  readonly #onUpgradeSocketError = (error: Error): void => this.#deps.logger.debug({ err: error }, 'socket error during upgrade');

  /** The same three functions for every connection (they take it as an argument): no closures per connection. */
  readonly #connectionHooks: Pick<ConnectionOptions, 'onClosed' | 'onTaskFailed' | 'onSlowConsumer' | 'onPositionsMoved' | 'onBacklogChanged'> = {
    onPositionsMoved: (c) => this.#deps.sessions?.positionsMoved(c),
    onBacklogChanged: (c, backlogged) => this.#deps.connections.backlogChanged(c, backlogged),
    onClosed: (c) => {
      // First: the session's final positions are read from the subscriptions released next.
      this.#deps.sessions?.closed(c);
      this.#deps.subscriptions.releaseAll(c);
      this.#deps.connections.remove(c);
      if (c.principal) this.#deps.observer?.connectionClosed?.(c, c.closeCode);
      this.#deps.logger.debug({ connectionId: c.id }, 'connection closed');
    },
    onTaskFailed: (c, error) => this.#deps.logger.error({ err: error, connectionId: c.id }, 'request task failed unexpectedly'),
    onSlowConsumer: (c) => {
      this.#deps.logger.warn({ connectionId: c.id, pendingBytes: c.pendingBytes }, 'slow consumer closed');
      c.close(CloseCodes.SLOW_CONSUMER, 'slow consumer: reconnect and resume');
    },
  };

  #accept(ws: WebSocket, request: IncomingMessage, principal: Principal | undefined): void {
    const { connections, logger } = this.#deps;
    const connection = new Connection(ws, {
      maxSendBufferBytes: this.#settings.maxSendBufferBytes,
      remoteAddress: request.socket.remoteAddress,
      // Write coalescing (ADR 0008): this connection's frames of one event-loop turn, one writev.
      rawSocket: request.socket,
      ...(this.#settings.rateLimit.requestsPerSecond > 0
        ? { requestBudget: new TokenBucket(this.#settings.rateLimit.requestsPerSecond, this.#settings.rateLimit.burst) }
        : {}),
      ...this.#connectionHooks,
    });
    connection.handshakeDeadline = monotonicNow() + this.#settings.connectTimeoutMs;
    connections.add(connection);
    if (!principal) capUntilAuthenticated(ws, request.socket, () => connection.close(CloseCodes.MESSAGE_TOO_BIG, 'too much data before authentication'));
    ws.on('message', (data, isBinary) => this.#onMessage(connection, data, isBinary));
    ws.on('close', (code) => connection.handleSocketClosed(code));
    // ws closes the socket itself on protocol errors (1002) and oversized frames (1009);
    // the handler only keeps the error from becoming an uncaught exception.
    ws.on('error', (error) => logger.debug({ err: error, connectionId: connection.id }, 'websocket error'));
    // Through the request queue: frames the client sends meanwhile run after it is established.
    // ('' is never a client's request id: ids have at least one character.)
    if (principal) connection.enqueue('', () => this.#establish(connection, principal));
  }

  /** Authentication succeeded at upgrade (Authorization header): a fresh session, nothing to resume. */
  async #establish(connection: Connection, principal: Principal): Promise<void> {
    if (!(await this.#authenticate(connection, principal))) return;
    this.#sendEstablished(connection, principal, this.#deps.sessions?.start(connection, principal));
  }

  /**
   * Lifts the pre-auth caps and admits the connection under its organisation's quota; false if
   * refused (closed) or closed meanwhile. The quota check may ask the cluster (one Redis round
   * trip, short timeout): per connection, not per message. `connectRequestId`: the `connect`
   * request, answered with the refusal.
   */
  async #authenticate(connection: Connection, principal: Principal, connectRequestId?: string): Promise<boolean> {
    liftPreAuthCaps(connection.socket);
    const answer = connectRequestId === undefined ? undefined : (error: ApiXError) => connection.replyError(connectRequestId, error);
    const release = await admitConnectionOrRefuse(connection, principal.organizationId, this.#deps.quotaUsage, answer);
    if (release === undefined) return false;
    try {
      if (connection.closed) return false;
      connection.principal = principal;
      this.#deps.connections.authenticated(connection);
      this.#deps.observer?.connectionOpened?.(connection);
      return true;
    } finally {
      release();
    }
  }

  #sendEstablished(connection: Connection, principal: Principal, grant: SessionGrant | undefined, restored?: SubscriptionState[]): void {
    connection.sendFrame({
      type: 'connection.established',
      connectionId: connection.id,
      sessionId: connection.sessionId,
      organizationId: principal.organizationId,
      userId: principal.userId,
      heartbeatIntervalMs: this.#settings.clientHeartbeatIntervalMs,
      expiresAt: principal.expiresAt,
      serverTime: Date.now(),
      ...grant,
      ...(restored ? { subscriptions: restored } : {}),
    });
  }

  #onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.closed) return;
    if (isBinary) return connection.sendConnectionError(new ApiXError('BINARY_NOT_SUPPORTED'));
    const decoded = decodeFrame(data.toString());
    if (!decoded.ok) {
      if (decoded.id !== undefined) connection.replyError(decoded.id, decoded.error);
      else connection.sendConnectionError(decoded.error);
      return;
    }
    const frame = decoded.frame;
    if (connection.isInFlight(frame.id)) return connection.replyError(frame.id, new ApiXError('DUPLICATE_REQUEST_ID'));
    if (frame.type !== 'heartbeat.ping' && !connection.tryStartRequest()) {
      // Refused before any work is done: a flood costs the server one reply per frame.
      this.#deps.observer?.rateLimited?.(connection);
      if (this.#deps.floodDetector?.refused(connection)) return connection.close(CloseCodes.RATE_LIMITED, 'rate limit exceeded repeatedly');
      return connection.replyError(frame.id, new ApiXError('RATE_LIMITED', undefined, { retryAfterMs: connection.retryAfterMs() }));
    }
    if (frame.type === 'heartbeat.ping') {
      if (frame.rtt !== undefined) this.#deps.connections.heartbeatRtt(connection, frame.rtt);
      // Answered at once, ahead of queued requests: it measures the link, not the queue.
      return connection.sendFrame({ type: 'heartbeat.pong', id: frame.id, ...(frame.ts !== undefined ? { ts: frame.ts } : {}), serverTime: Date.now() });
    }
    connection.enqueue(frame.id, () => this.#execute(connection, frame));
  }

  /**
   * One entry per request frame type: what it needs (`auth`) and what it does. A new frame is
   * one line here, not another branch. `none`: before authentication (connect); `any`: an
   * authenticated connection even with an expired token (refresh is how it gets a new one);
   * `fresh`: authenticated with a token that has not expired. `heartbeat.ping` is answered in
   * #onMessage, ahead of the queue, and never reaches this table.
   */
  readonly #handlers: FrameHandlers = {
    connect: { auth: 'none', run: (connection, _principal, frame) => this.#connect(connection, frame) },
    refresh: { auth: 'any', run: (connection, principal, frame) => this.#refresh(connection, principal!, frame) },
    subscribe: {
      auth: 'fresh',
      run: async (connection, principal, frame) => {
        // Reserved for the request's duration (the cluster may be asked: one Redis round trip per
        // subscribe request, never per message); the observer's report then holds what was subscribed.
        const release = await this.#deps.quotaUsage?.admitSubscriptions(principal!.organizationId, frame.channels.length);
        try {
          await this.#deps.subscriptions.subscribe(connection, frame);
        } finally {
          release?.();
        }
      },
    },
    unsubscribe: {
      auth: 'fresh',
      run: async (connection, _principal, frame) => {
        const channels = this.#deps.subscriptions.unsubscribe(connection, frame);
        connection.reply(frame.id, { channels });
        for (const channel of channels) connection.sendFrame({ type: 'subscription.removed', channel, reason: 'unsubscribed' });
      },
    },
    publish: { auth: 'fresh', run: (connection, principal, frame) => this.#publish(connection, principal!, frame) },
    history: { auth: 'fresh', run: (connection, principal, frame) => this.#history(connection, principal!, frame) },
    presence: { auth: 'fresh', run: (connection, principal, frame) => handlePresenceFrame(connection, principal!, frame, this.#deps.presence) },
    ack: { auth: 'fresh', run: async (connection, _principal, frame) => connection.reply(frame.id, await this.#deps.subscriptions.ack(connection, frame)) },
  };

  async #execute(connection: Connection, frame: ClientFrame): Promise<void> {
    if (connection.closed) return;
    try {
      const handler = (this.#handlers as Record<string, FrameHandler<ClientFrame> | undefined>)[frame.type];
      if (!handler) throw new ApiXError('UNKNOWN_FRAME_TYPE');
      const principal = connection.principal;
      if (handler.auth !== 'none') {
        if (!principal) throw new ApiXError('NOT_AUTHENTICATED');
        if (handler.auth === 'fresh' && Date.now() >= principal.expiresAt) {
          throw new ApiXError('TOKEN_EXPIRED', 'the token has expired; send refresh with a new one');
        }
      }
      await handler.run(connection, principal, frame);
    } catch (error) {
      const apixError = asApiXError(error);
      if (apixError.code === 'APIX_ERR_INTERNAL') {
        this.#deps.logger.error({ err: error, connectionId: connection.id, frameType: frame.type }, 'request failed');
      }
      connection.replyError(frame.id, apixError);
    }
  }

  async #connect(connection: Connection, frame: ConnectFrame): Promise<void> {
    if (connection.principal) throw new ApiXError('ALREADY_AUTHENTICATED');
    let principal: Principal;
    try {
      principal = await this.#deps.verifier.verify(frame.token);
    } catch (error) {
      const apixError = asApiXError(error);
      this.#deps.observer?.authenticationFailed?.({ via: 'websocket', code: apixError.code, remoteAddress: connection.remoteAddress });
      connection.replyError(frame.id, apixError);
      const code = apixError.code === 'APIX_ERR_TOKEN_EXPIRED' ? CloseCodes.TOKEN_EXPIRED : CloseCodes.UNAUTHORIZED;
      connection.close(code, apixError.code);
      return;
    }
    if (connection.closed) return;
    connection.clientType = frame.clientType;
    connection.metadata = frame.metadata ?? {};
    // The session is settled first (a resume changes `sessionId`), so everything that records
    // the opened connection (rows, audit, quota counts) sees the session it really runs in.
    const sessions = this.#deps.sessions;
    let resumed: ResumeOutcome | undefined;
    if (sessions && frame.sessionToken !== undefined) {
      resumed = await sessions.resume(connection, principal, frame.sessionToken, frame.attempt);
      if (connection.closed) return sessions.closed(connection);
    }
    // A refusal closes the connection, and the keeper lets go of a resumed session on close.
    if (!(await this.#authenticate(connection, principal, frame.id))) return;
    const grant = resumed?.grant ?? sessions?.start(connection, principal);
    const announce = (restored?: SubscriptionState[]) => {
      connection.reply(frame.id, { connectionId: connection.id, sessionId: connection.sessionId, ...grant });
      this.#sendEstablished(connection, principal, grant, restored);
    };
    if (!resumed || resumed.subscriptions.size === 0) return announce(resumed?.grant.resumed ? [] : undefined);
    await this.#restore(connection, principal, frame, resumed.subscriptions, announce);
  }

  /**
   * Puts a resumed session's subscriptions back: authorised again, each from the client's own
   * position when it sent one (`since`), else from the one the session stored — with the
   * replay of what was missed sent right after `connection.established`, before any live event.
   */
  async #restore(
    connection: Connection,
    principal: Principal,
    frame: ConnectFrame,
    stored: ResumeOutcome['subscriptions'],
    announce: (restored?: SubscriptionState[]) => void,
  ): Promise<void> {
    let announced = false;
    const once = (restored?: SubscriptionState[]) => {
      announced = true;
      announce(restored);
    };
    const entries = [...stored].map(([channel, s]) => {
      const since = frame.since?.[channel] ?? s.position;
      return { channel, ...(s.filters ? { filters: s.filters } : {}), ...(since ? { since } : {}), ...(s.acknowledgment ? { acknowledgment: true } : {}) };
    });
    try {
      const release = await this.#deps.quotaUsage?.admitSubscriptions(principal.organizationId, entries.length);
      try {
        const outcome = await this.#deps.subscriptions.restore(connection, entries, once);
        if (outcome) this.#deps.sessions?.dropped(connection, outcome.dropped);
      } finally {
        release?.();
      }
    } catch (error) {
      // The event store (or a quota) refused: connected all the same, with no subscription
      // back; the session keeps them, and the client subscribes again from its positions.
      this.#deps.logger.warn({ err: error, connectionId: connection.id }, 'resumed session, but its subscriptions could not be restored');
      if (!connection.closed && !announced) once([]);
    }
  }

  async #refresh(connection: Connection, current: Principal, frame: RefreshFrame): Promise<void> {
    const next = await this.#deps.verifier.verify(frame.token);
    if (next.userId !== current.userId || next.organizationId !== current.organizationId) {
      throw new ApiXError('IDENTITY_MISMATCH');
    }
    connection.principal = next;
    this.#deps.observer?.credentialsRefreshed?.(connection);
    connection.reply(frame.id, { expiresAt: next.expiresAt });
    // Roles may have changed with the new token: subscriptions it no longer allows are dropped.
    await this.#deps.subscriptions.reauthorize(connection);
  }

  async #publish(connection: Connection, principal: Principal, frame: PublishFrame): Promise<void> {
    const result = await this.#deps.publisher.publish(principal, frame.channel, frame.event, frame.idempotencyKey);
    connection.reply(frame.id, result);
  }

  async #history(connection: Connection, principal: Principal, frame: HistoryFrame): Promise<void> {
    const result = await this.#deps.history.readEncoded(principal, frame.channel, {
      ...(frame.since ? { since: frame.since } : {}),
      ...(frame.from ? { from: new Date(frame.from) } : {}),
      ...(frame.to ? { to: new Date(frame.to) } : {}),
      ...(frame.limit ? { limit: frame.limit } : {}),
    });
    // The result is JSON already (its publications spliced in as stored): the reply wraps it as `reply` would.
    connection.sendRaw(`{"type":"reply","id":${JSON.stringify(frame.id)},"ok":true,"result":${result}}`);
  }

  async close(): Promise<void> {
    this.#accepting = false;
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

export function asApiXError(error: unknown): ApiXError {
  if (error instanceof ApiXError) return error;
  // A database that is down or stalled past STORAGE_TIMEOUT_MS: retryable, not an internal error.
  return isStorageUnavailable(error) ? new ApiXError('UNAVAILABLE', 'storage is unavailable; retry') : new ApiXError('INTERNAL');
}

/** Answers an upgrade request with a plain HTTP error and a JSON body carrying the code. */
function abortHandshake(socket: Duplex, status: number, error: ApiXError, retryAfterMs?: number): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: error.toBody() });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      (retryAfterMs !== undefined ? `Retry-After: ${Math.ceil(retryAfterMs / 1000)}\r\n` : '') +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
