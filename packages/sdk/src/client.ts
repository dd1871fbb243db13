import type { ChannelName, ConnectionClosingFrame, ConnectionEstablishedFrame, HistoryResult, PublishResult, StreamPosition } from '@apix/protocol';
import { CloseCodes, EVENT_TYPE_PATTERN, parseChannelName, PROTOCOL_EVENT_TYPES } from '@apix/protocol/core';
import { Backoff } from './backoff.js';
import { monotonicNow } from './clock.js';
import {
  closedCause,
  describeCause,
  simpleCause,
  unreachableCause,
  upgradeRefusedCause,
  type DisconnectCause,
} from './disconnect-cause.js';
import { connectResultCheck, historyResultCheck, publishResultCheck, refreshResultCheck } from './frame-checks.js';
import { resolveOptions, type ApiXClientOptions, type ResolvedOptions } from './client-options.js';
import { CLIENT_TRANSITIONS, ClientCloseCodes, ClientState } from './client-state.js';
import { Connection, type ClientRequest, type CloseDetail, type PushFrame } from './connection.js';
import { ApiXClientError, hasErrorCode, toClientError } from './errors.js';
import type { ClientEvents, ConnectedContext, ConnectingContext, PublishEventInput, SubscriptionHandlers, SubscriptionEvents } from './events.js';
import type { SchemaOf } from './frame-decoder.js';
import { Heartbeat } from './heartbeat.js';
import { InboxIterator, inboxChannel, type InboxOptions } from './inbox.js';
import { newIdempotencyKey } from './ids.js';
import { StateMachine } from './state-machine.js';
import { SubscriptionRegistry } from './subscription-registry.js';
import type { Subscription, SubscriptionOptions } from './subscription.js';
import { TokenRefresher } from './token-refresher.js';
import { TypedEmitter, type Listener } from './typed-emitter.js';
import { Waiters } from './waiters.js';
import { endpointPicker, type ApiXEndpoints } from './endpoints.js';

export interface PublishOptions {
  /**
   * Retries with the same key within the server's window (5 min) append nothing and return
   * the first position. Generated when not given; a rejected publish carries the key it
   * used in `error.details.idempotencyKey`, so the application can retry it safely.
   */
  idempotencyKey?: string;
  /** Overall bound (waiting for a connection, re-sends, reply). Default: requestTimeoutMs. */
  timeoutMs?: number;
}

export interface HistoryOptions {
  /** Publications after this position; without it, the latest `limit`. */
  since?: StreamPosition;
  limit?: number;
  timeoutMs?: number;
}

/**
 * The APIX client: one logical connection that reconnects by itself, and the
 * subscriptions, publishes and history reads that ride on it.
 *
 * The pieces live in their own files: the socket and its requests (connection.ts), the
 * subscriptions (subscription-registry.ts, subscription.ts), backoff, heartbeat and token
 * refresh. This class is the state machine that ties them together.
 */
export class ApiXClient {
  readonly #pickUrl: (attempt: number) => string;
  /** URL of the current or last attempt. */
  #url = '';
  /** Socket opens over the client's lifetime: picks the next endpoint. */
  #opens = 0;
  readonly #options: ResolvedOptions;
  readonly #machine = new StateMachine<ClientState>('client', ClientState.Disconnected, CLIENT_TRANSITIONS);
  readonly #events = new TypedEmitter<ClientEvents>();
  readonly #backoff: Backoff;
  readonly #registry: SubscriptionRegistry;
  /** Callers waiting for `connected`: ready(), and requests made while (re)connecting. */
  readonly #connectedWaiters = new Waiters();
  #connection: Connection | undefined;
  /**
   * Bumped whenever an attempt starts or is abandoned. The steps of an attempt are
   * asynchronous (token function, socket open); each checks the number it started with
   * and stops if it changed, so an abandoned attempt can never open a second socket.
   */
  #attemptSeq = 0;
  /** Attempts since the last successful connection (for the `connecting` context). */
  #attempts = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: Heartbeat | undefined;
  #refresher: TokenRefresher | undefined;
  #session: ConnectedContext | undefined;
  /**
   * The server's latest session token (from `connection.established` or `session.renewed`):
   * sent with the next `connect`, so a reconnect within the session TTL resumes the session —
   * on any node — instead of starting afresh. Kept across drops; forgotten by disconnect().
   */
  #sessionToken: string | undefined;
  /**
   * The server's clock as of connection.established, and the monotonic instant we read it:
   * server-now is estimated from these, so a step of the local wall clock cannot move a
   * token refresh (token expiry is in server time).
   */
  #serverClock = { serverTime: 0, at: 0 };
  /** The last thing that kept us from being connected; cleared by a successful connection. */
  #lastCause: DisconnectCause | undefined;
  /** The server's `connection.closing` on the current connection: the close that follows is planned. */
  #closing: ConnectionClosingFrame | undefined;
  #rttMs: number | undefined;
  /** Why the client is closed; what waits and requests fail with while it is. */
  #closedError: ApiXClientError | undefined;
  /** The server's refusal of our connect frame, kept for the close that follows it. */
  #connectError: ApiXClientError | undefined;

  constructor(url: ApiXEndpoints, options: ApiXClientOptions) {
    this.#pickUrl = endpointPicker(url);
    this.#options = resolveOptions(options);
    this.#backoff = new Backoff({ minDelayMs: this.#options.minReconnectDelayMs, maxDelayMs: this.#options.maxReconnectDelayMs });
    this.#registry = new SubscriptionRegistry({
      request: (body, schema, onOutcome) => this.#connection?.send(body, schema, this.#options.requestTimeoutMs, onOutcome) ?? false,
      reportError: (context) => this.#events.emit('error', context),
      reconnect: (code, reason) => {
        if (this.state === ClientState.Connected) this.#dropConnection(code, reason);
      },
      closedError: () => (this.state === ClientState.Closed ? this.#currentClosedError() : undefined),
      retryBackoff: { minDelayMs: this.#options.minReconnectDelayMs, maxDelayMs: this.#options.maxReconnectDelayMs },
    });
  }

  // ------------------------------------------------------------ observing

  get state(): ClientState {
    return this.#machine.state;
  }

  /** The current connection as the server described it; undefined unless connected. */
  get session(): ConnectedContext | undefined {
    return this.#session ? { ...this.#session } : undefined;
  }

  /** Round-trip time of the last heartbeat, in ms. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  on<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  once<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): () => void {
    return this.#events.once(event, listener);
  }

  off<K extends keyof ClientEvents>(event: K, listener: Listener<ClientEvents[K]>): void {
    this.#events.off(event, listener);
  }

  /**
   * Why the client is not connected (or was not, last time): the token function failed, the
   * upgrade was refused, authentication failed, the connection closed with code X… Undefined
   * before the first problem and after every successful connection. See docs/sdk.md.
   */
  get lastCause(): DisconnectCause | undefined {
    return this.#lastCause;
  }

  /**
   * Resolves once connected. Rejects with the reason the client closed (a terminal cause:
   * refused token or origin, 45xx close), or with APIX_ERR_TIMEOUT whose message and
   * `details.lastCause` name the last cause, so "not connected in time" is never all it says.
   */
  ready(timeoutMs: number = this.#options.requestTimeoutMs): Promise<void> {
    return this.#whenConnected(monotonicNow() + timeoutMs);
  }

  // ------------------------------------------------------------ lifecycle

  /** Starts connecting (and reconnecting after drops). Idempotent; after `closed` it starts afresh. */
  connect(): void {
    const state = this.state;
    if (state === ClientState.Connecting || state === ClientState.Connected) return;
    if (state === ClientState.Closed) {
      this.#closedError = undefined;
      this.#backoff.reset();
      this.#attempts = 0;
    }
    this.#clearReconnectTimer();
    void this.#startAttempt('connect-called');
  }

  /** Closes the connection for good (state `closed`); pending requests fail with APIX_ERR_CLIENT_CLOSED. */
  disconnect(): void {
    if (this.state === ClientState.Closed) return;
    // Done on purpose: the next connect() starts a new session (the server's expires by itself).
    this.#sessionToken = undefined;
    this.#close(CloseCodes.NORMAL, 'disconnect called', ApiXClientError.client('CLIENT_CLOSED'));
  }

  // ------------------------------------------------------------ subscriptions

  /** Creates a subscription (state `unsubscribed`); call `subscribe()` on it. Throws on a malformed or duplicate channel. */
  newSubscription(channel: ChannelName, options: SubscriptionOptions = {}): Subscription {
    return this.#registry.create(channel, options);
  }

  getSubscription(channel: ChannelName): Subscription | undefined {
    return this.#registry.get(channel);
  }

  /** Unsubscribes and forgets the subscription. */
  removeSubscription(subscription: Subscription): void {
    this.#registry.remove(subscription);
  }

  subscriptions(): Subscription[] {
    return this.#registry.all();
  }

  /**
   * The user's offline inbox (`user:<userId>:inbox`) as an async iterator that resumes by
   * itself across reconnects and nodes: `for await (const item of client.inbox()) …`. Items
   * are events, or a `gap` when the server could not replay everything (past retention).
   * Needs the user id: call it once connected, or pass `userId`.
   */
  inbox(options: InboxOptions & { userId?: string } = {}): InboxIterator {
    const userId = options.userId ?? this.#session?.userId;
    if (userId === undefined) throw ApiXClientError.protocol('NOT_AUTHENTICATED', 'inbox() needs the user id: call it once connected, or pass { userId }');
    const channel = inboxChannel(userId);
    const subscription = this.#registry.get(channel) ?? this.#registry.create(channel, options.since ? { since: options.since } : {});
    return new InboxIterator(subscription, () => this.#registry.remove(subscription));
  }

  /** Shorthand: get or create the channel's subscription, attach handlers, subscribe. */
  subscribe(channel: ChannelName, handlers: SubscriptionHandlers = {}, options: SubscriptionOptions = {}): Subscription {
    const subscription = this.#registry.get(channel) ?? this.#registry.create(channel, options);
    for (const event of Object.keys(handlers) as Array<keyof SubscriptionEvents>) attachHandler(subscription, handlers, event);
    subscription.subscribe();
    return subscription;
  }

  // ------------------------------------------------------------ requests

  /**
   * Publishes an event and resolves with its stream position once the server appended it.
   * Called while (re)connecting, it waits. If the connection drops before the reply, it is
   * sent again after the reconnect with the same idempotency key, so it is appended once.
   */
  async publish<T extends string>(channel: ChannelName, event: PublishEventInput<T>, options: PublishOptions = {}): Promise<PublishResult> {
    const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
    try {
      assertChannel(channel);
      assertPublishable(event);
      const body: ClientRequest = {
        type: 'publish',
        channel,
        event: { type: event.type, payload: event.payload, ...(event.metadata ? { metadata: event.metadata } : {}) },
        idempotencyKey,
      };
      return await this.#call(body, publishResultCheck, options.timeoutMs, true);
    } catch (reason) {
      throw toClientError(reason).withDetails({ channel, idempotencyKey });
    }
  }

  /** Reads a channel's stored publications. `complete: false` means the log no longer holds all that was asked for. */
  async history(channel: ChannelName, options: HistoryOptions = {}): Promise<HistoryResult> {
    assertChannel(channel);
    const body: ClientRequest = {
      type: 'history',
      channel,
      ...(options.since ? { since: options.since } : {}),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    };
    // A read is safe to repeat, so it is re-sent after a reconnect like a publish.
    return this.#call(body, historyResultCheck, options.timeoutMs, true);
  }

  /**
   * Sends a request once connected, within one overall deadline. With `resend`, a request
   * whose connection dropped before the reply is sent again on the next connection (for
   * publish: with the same idempotency key, which is what makes that safe).
   */
  async #call<T>(body: ClientRequest, schema: SchemaOf<T>, timeoutMs: number | undefined, resend: boolean): Promise<T> {
    const deadline = monotonicNow() + (timeoutMs ?? this.#options.requestTimeoutMs);
    for (;;) {
      await this.#whenConnected(deadline);
      // Another microtask may have dropped the connection since we were woken: wait again.
      const connection = this.#connection;
      if (!connection || !this.#is(ClientState.Connected)) continue;
      try {
        return await connection.call(body, schema, deadline - monotonicNow());
      } catch (error) {
        if (!resend || !hasErrorCode(error, 'APIX_ERR_CONNECTION_LOST')) throw error;
        // Invariant: a lost connection is never current while connected. Enforce it here, or
        // the next turn would find the same dead connection and spin without yielding.
        if (connection === this.#connection) this.#dropConnection(ClientCloseCodes.ABNORMAL, 'the connection failed while sending');
      }
    }
  }

  #whenConnected(deadline: number): Promise<void> {
    if (this.state === ClientState.Connected) return Promise.resolve();
    if (this.state === ClientState.Closed) return Promise.reject(this.#currentClosedError());
    const remaining = deadline - monotonicNow();
    const timeout = (): ApiXClientError => {
      const cause = this.#lastCause;
      return ApiXClientError.client(
        'TIMEOUT',
        `not connected in time (client is ${this.state})${describeCause(cause)}`,
        cause ? { lastCause: cause.kind, ...(cause.closeCode === undefined ? {} : { closeCode: cause.closeCode }), ...(cause.httpStatus === undefined ? {} : { httpStatus: cause.httpStatus }) } : undefined,
        cause?.error,
      );
    };
    if (remaining <= 0) return Promise.reject(timeout());
    return this.#connectedWaiters.wait(remaining, timeout);
  }

  // ------------------------------------------------------------ connecting

  async #startAttempt(reason: ConnectingContext['reason']): Promise<void> {
    const seq = ++this.#attemptSeq;
    this.#attempts += 1;
    this.#connectError = undefined;
    this.#setState(ClientState.Connecting);
    // Listeners run inside emit and may call disconnect(): re-check after each one.
    if (seq !== this.#attemptSeq) return;
    this.#events.emit('connecting', { attempt: this.#attempts, reason });
    if (seq !== this.#attemptSeq) return;
    // One deadline for the whole attempt, token function included: it may hang too.
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined;
      if (seq === this.#attemptSeq && this.state === ClientState.Connecting) {
        this.#dropConnection(ClientCloseCodes.CONNECT_TIMEOUT, `not connected within ${this.#options.connectTimeoutMs} ms`);
      }
    }, this.#options.connectTimeoutMs);

    let token: string;
    try {
      token = await this.#resolveToken();
    } catch (thrown) {
      if (seq !== this.#attemptSeq) return;
      const error = toClientError(thrown, 'TOKEN_UNAVAILABLE');
      // The application's way to say "stop" (e.g. logged out): a non-retryable ApiXClientError.
      const terminal = thrown instanceof ApiXClientError && !thrown.retryable;
      const cause = simpleCause('token-failed', ApiXClientError.client('TOKEN_UNAVAILABLE', `the token function failed: ${error.message}`, error.details, thrown), terminal);
      this.#lastCause = terminal ? { ...cause, error } : cause;
      this.#events.emit('error', { source: 'token', error, cause: this.#lastCause });
      if (seq !== this.#attemptSeq) return;
      if (terminal) this.#close(CloseCodes.UNAUTHORIZED, error.message, error);
      else this.#dropConnection(ClientCloseCodes.TOKEN_UNAVAILABLE, error.message);
      return;
    }
    if (seq !== this.#attemptSeq) return;
    if (token.length === 0) {
      const error = ApiXClientError.protocol('AUTH_FAILED', 'the token function returned an empty token');
      this.#lastCause = simpleCause('auth-failed', error, true);
      this.#close(CloseCodes.UNAUTHORIZED, error.message, error);
      return;
    }

    let connection: Connection;
    try {
      this.#url = this.#pickUrl(++this.#opens);
      const socket = new this.#options.WebSocket(this.#url);
      connection = new Connection(socket, {
        open: () => this.#sendConnect(connection, token),
        frame: (frame) => this.#onFrame(connection, frame),
        close: (code, why, detail) => this.#onSocketClosed(connection, code, why, detail),
        error: (error) => this.#events.emit('error', { source: 'frame', error }),
      });
    } catch (thrown) {
      // A bad URL or a blocked scheme (mixed content) will not fix itself: stop.
      const error = ApiXClientError.protocol('INVALID_REQUEST', `cannot open a WebSocket to ${this.#url}: ${toClientError(thrown).message}`);
      this.#lastCause = simpleCause('bad-url', error, true);
      this.#close(ClientCloseCodes.ABNORMAL, error.message, error);
      return;
    }
    this.#connection = connection;
  }

  async #resolveToken(): Promise<string> {
    const source = this.#options.token;
    const token = typeof source === 'string' ? source : await source();
    if (typeof token !== 'string') throw new TypeError('the token function must return a string');
    return token;
  }

  #sendConnect(connection: Connection, token: string): void {
    const { clientType, name } = this.#options;
    const resume = this.#options.resumeSessions ? this.#sessionToken : undefined;
    // Our own positions win over the ones the server stored: the server only knows what it
    // handed to a socket that may have died with frames still in flight.
    const since = resume !== undefined ? this.#registry.positions() : {};
    const body: ClientRequest = {
      type: 'connect',
      token,
      ...(clientType ? { clientType } : {}),
      ...(name ? { metadata: { name: name.slice(0, 500) } } : {}),
      ...(resume !== undefined ? { sessionToken: resume } : {}),
      ...(Object.keys(since).length > 0 ? { since } : {}),
      // A connect we gave up on (timeout) may still reach a lagging server after the next one: the
      // attempt number lets the server refuse the older one the session (ADR 0047).
      ...(resume !== undefined ? { attempt: this.#attemptSeq } : {}),
    };
    // No timeout of its own: the attempt's connect timer bounds it.
    connection.call(body, connectResultCheck, Number.POSITIVE_INFINITY).catch((reason: unknown) => {
      if (connection !== this.#connection) return;
      const error = toClientError(reason);
      if (hasErrorCode(error, 'APIX_ERR_CONNECTION_LOST')) return;
      // The server closes the socket after a refusal (4500 for a bad token). The close code
      // decides between reconnecting and stopping; this error explains the stop.
      this.#connectError = error;
      this.#events.emit('error', { source: 'connect', error });
    });
  }

  #onFrame(connection: Connection, frame: PushFrame): void {
    if (connection !== this.#connection) return;
    switch (frame.type) {
      case 'connection.established':
        this.#onEstablished(connection, frame);
        return;
      case 'connection.error':
        this.#events.emit('error', { source: 'server', error: ApiXClientError.fromBody(frame.error) });
        return;
      case 'event':
        this.#registry.handleEvent(frame);
        return;
      case 'subscription.removed':
        this.#registry.handleRemoved(frame);
        return;
      case 'message.failed':
        this.#registry.handleFailed(frame);
        return;
      case 'subscription.added':
        // The subscribe reply already carried the same state; nothing to do.
        return;
      case 'connection.closing':
        // The close that follows is planned (shutdown, overload): remember when we may come back.
        this.#closing = frame;
        return;
      case 'session.renewed':
        this.#sessionToken = frame.sessionToken;
        return;
    }
  }

  #onEstablished(connection: Connection, frame: ConnectionEstablishedFrame): void {
    if (this.state !== ClientState.Connecting) return;
    this.#clearConnectTimer();
    this.#backoff.reset();
    this.#attempts = 0;
    this.#serverClock = { serverTime: frame.serverTime, at: monotonicNow() };
    this.#lastCause = undefined;
    const { type: _type, sessionToken, sessionExpiresAt: _expires, subscriptions: restored, sessionError, resumed, ...established } = frame;
    const session: ConnectedContext = { ...established, resumed: resumed === true };
    this.#session = session;
    if (sessionToken !== undefined) this.#sessionToken = sessionToken;
    if (sessionError) this.#events.emit('error', { source: 'session', error: ApiXClientError.fromBody(sessionError) });
    this.#startHeartbeat(connection, frame.heartbeatIntervalMs);
    this.#startRefresher(connection, frame.expiresAt);
    this.#setState(ClientState.Connected);
    // Listeners run inside #setState and may have disconnected already: re-read the state.
    if (!this.#is(ClientState.Connected)) return;
    // Resubscribe first, so publishes that waited for this moment go out after the subscribe frame.
    // A resumed session's subscriptions are already back on the server: adopted, not sent again.
    this.#registry.onConnected(restored);
    this.#events.emit('connected', { ...session });
    if (!this.#is(ClientState.Connected)) return;
    this.#connectedWaiters.resolveAll();
  }

  #startHeartbeat(connection: Connection, serverIntervalMs: number): void {
    const options = this.#options.heartbeat;
    if (!options.enabled) return;
    this.#heartbeat = new Heartbeat({
      intervalMs: options.intervalMs ?? serverIntervalMs,
      pongTimeoutMs: options.pongTimeoutMs,
      ping: (ts, timeoutMs, rttMs) => connection.ping(ts, timeoutMs, rttMs),
      onPong: (rttMs, serverTime) => {
        this.#rttMs = rttMs;
        this.#events.emit('heartbeat', { rttMs, serverTime });
      },
      onTimeout: () => {
        if (connection !== this.#connection) return;
        this.#dropConnection(ClientCloseCodes.NO_PONG, `no heartbeat.pong within ${options.pongTimeoutMs} ms`);
      },
    });
    this.#heartbeat.start();
  }

  #startRefresher(connection: Connection, expiresAt: number): void {
    if (typeof this.#options.token !== 'function') return;
    this.#refresher = new TokenRefresher({
      getToken: () => this.#resolveToken(),
      refresh: (token) => connection.call({ type: 'refresh', token }, refreshResultCheck, this.#options.requestTimeoutMs),
      serverNow: () => this.#serverClock.serverTime + (monotonicNow() - this.#serverClock.at),
      marginMs: this.#options.refreshMarginMs,
      onRefreshed: (next) => {
        if (this.#session) this.#session.expiresAt = next;
        this.#events.emit('refreshed', { expiresAt: next });
      },
      onError: (error) => this.#events.emit('error', { source: 'refresh', error }),
    });
    this.#refresher.schedule(expiresAt);
  }

  // ------------------------------------------------------------ losing the connection

  #onSocketClosed(connection: Connection, code: number, reason: string, detail: CloseDetail): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    const closing = this.#closing;
    this.#closing = undefined;
    this.#stopConnectionWork();
    const cause = this.#causeOfClose(code, reason, detail, closing);
    this.#lastCause = cause;
    // The error listener hears of refusals the server explained (upgrade status, origin); a
    // refused connect frame was reported when its reply came.
    if (!detail.opened && detail.httpStatus !== undefined) this.#events.emit('error', { source: 'transport', error: cause.error, cause });
    if (this.#is(ClientState.Closed)) return;
    if (cause.terminal) {
      this.#close(code, reason || cause.message, cause.error);
      return;
    }
    this.#scheduleReconnect(code, reason, closing?.retryAfterMs);
  }

  #causeOfClose(code: number, reason: string, detail: CloseDetail, closing: ConnectionClosingFrame | undefined): DisconnectCause {
    if (!detail.opened && detail.httpStatus !== undefined) return upgradeRefusedCause(this.#url, detail.httpStatus, detail.refusal);
    if (!detail.opened) return unreachableCause(this.#url, code, reason, detail.transportMessage);
    // The server announced the close (shutdown, overload): its code and reason are the better account.
    if (closing) return closedCause(closing.code, closing.reason, undefined);
    return closedCause(code, reason, this.#connectError);
  }

  /** Abandons the current attempt or connection from our side and reconnects after a backoff. */
  #dropConnection(code: number, reason: string): void {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#closing = undefined;
    this.#attemptSeq += 1;
    this.#stopConnectionWork();
    // The token function's failure already set a more precise cause.
    if (code !== ClientCloseCodes.TOKEN_UNAVAILABLE) this.#lastCause = clientDropCause(code, reason);
    // terminate: the link may be dead, and a closing handshake would wait for a peer that is gone.
    connection?.close(code, reason, { terminate: true });
    this.#scheduleReconnect(code, reason);
  }

  /**
   * Waits a full-jitter backoff (uniform in [0, min(cap, base·2^attempt)), from the very first
   * attempt) and reconnects. After a `connection.closing` with `retryAfterMs`, never sooner
   * than that: the server spread its clients over a window, and our jitter goes on top.
   */
  #scheduleReconnect(code: number, reason: string, retryAfterMs?: number): void {
    // Subscription listeners ran while the connection was torn down; one may have called disconnect().
    if (this.#is(ClientState.Closed)) return;
    const delay = (retryAfterMs ?? 0) + this.#backoff.next();
    this.#setState(ClientState.Disconnected);
    if (!this.#is(ClientState.Disconnected)) return;
    const cause = this.#lastCause ?? closedCause(code, reason, undefined);
    this.#events.emit('disconnected', { code, reason, reconnectDelayMs: delay, cause });
    // A listener may have called disconnect() or connect() already.
    if (!this.#is(ClientState.Disconnected)) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#startAttempt('reconnect');
    }, delay);
  }

  #close(code: number, reason: string, error: ApiXClientError): void {
    if (this.state === ClientState.Closed) return;
    const connection = this.#connection;
    this.#connection = undefined;
    this.#attemptSeq += 1;
    this.#clearReconnectTimer();
    this.#stopConnectionWork();
    connection?.close(CloseCodes.NORMAL, reason);
    this.#closedError = error;
    const cause = this.#lastCause?.error === error ? this.#lastCause : simpleCause(error.code === 'APIX_ERR_CLIENT_CLOSED' ? 'client-closed' : 'closed', error, true, code);
    this.#lastCause = { ...cause, terminal: true };
    this.#setState(ClientState.Closed);
    this.#registry.onClosed(error);
    this.#connectedWaiters.rejectAll(error);
    // A 'state' listener may already have called connect() again.
    if (this.#is(ClientState.Closed)) this.#events.emit('closed', { code, reason, error, cause: this.#lastCause });
  }

  /** Stops everything tied to one connection. The registry learns the server holds nothing for us now. */
  #stopConnectionWork(): void {
    this.#clearConnectTimer();
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    this.#refresher?.stop();
    this.#refresher = undefined;
    this.#session = undefined;
    this.#registry.onDisconnected();
  }

  #currentClosedError(): ApiXClientError {
    return this.#closedError ?? ApiXClientError.client('CLIENT_CLOSED');
  }

  #is(state: ClientState): boolean {
    return this.#machine.state === state;
  }

  #setState(next: ClientState): void {
    const previous = this.#machine.moveTo(next);
    this.#events.emit('state', { previous, current: next });
  }

  #clearConnectTimer(): void {
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
  }

  #clearReconnectTimer(): void {
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
  }
}

/** What the client knows of a drop it decided on itself. */
function clientDropCause(code: number, reason: string): DisconnectCause {
  const kind = code === ClientCloseCodes.CONNECT_TIMEOUT ? 'connect-timeout' : code === ClientCloseCodes.NO_PONG ? 'no-pong' : 'client-dropped';
  const error = ApiXClientError.client(kind === 'client-dropped' ? 'CONNECTION_LOST' : 'TIMEOUT', reason, { closeCode: code });
  return { kind, message: reason, error, terminal: false, closeCode: code, closeReason: reason };
}

/**
 * What a client can check of an event before sending it, without the protocol's schemas (the
 * browser bundle leaves them out): the type's grammar and the reserved names. Domain payloads
 * are typed at compile time and checked by the server, which answers APIX_ERR_INVALID_FRAME.
 */
function assertPublishable(event: PublishEventInput): void {
  if (event === null || typeof event !== 'object') throw ApiXClientError.protocol('INVALID_REQUEST', 'event refused before sending: it must be an object');
  if (typeof event.type !== 'string' || !EVENT_TYPE_PATTERN.test(event.type)) {
    throw ApiXClientError.protocol('INVALID_REQUEST', 'event refused before sending: type must be 1-100 of a-z 0-9 _ . - starting with a letter');
  }
  if ((PROTOCOL_EVENT_TYPES as readonly string[]).includes(event.type)) {
    throw ApiXClientError.protocol('EVENT_TYPE_RESERVED', `event refused before sending: type "${event.type}" is reserved for the server`);
  }
  if (event.metadata !== undefined && (event.metadata === null || typeof event.metadata !== 'object' || Array.isArray(event.metadata))) {
    throw ApiXClientError.protocol('INVALID_REQUEST', 'event refused before sending: metadata must be an object');
  }
}

function assertChannel(channel: ChannelName): void {
  const parsed = parseChannelName(channel);
  if (typeof parsed === 'string') throw ApiXClientError.protocol('CHANNEL_INVALID', parsed, { channel });
}

function attachHandler<K extends keyof SubscriptionEvents>(subscription: Subscription, handlers: SubscriptionHandlers, event: K): void {
  const handler = handlers[event];
  if (handler) subscription.on(event, handler);
}
