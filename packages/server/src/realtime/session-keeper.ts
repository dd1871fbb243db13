import { ApiXError, CloseCodes, type ApiXErrorBody, type ChannelName, type StreamPosition } from '@apix/protocol';
import type { SessionTokens } from '../identity/session-token.js';
import type { Principal } from '../identity/principal.js';
import type { SessionOwner, SessionStore, StoredSubscription, SessionUpdate } from '../engine/session-store.js';
import { EMPTY_UPDATE, isEmptyUpdate } from '../engine/session-store.js';
import type { Logger } from '../logging/logger.js';
import { ExpiryBuckets } from '../support/expiry-buckets.js';
import { monotonicNow } from '../support/monotonic-clock.js';
import { AcknowledgedDelivery } from './acknowledged-delivery.js';
import type { Connection } from './connection.js';
import { GroupDelivery } from './group-delivery.js';
import type { RealtimeObserver, SubscriptionEndReason } from './realtime-observer.js';

export interface SessionSettings {
  readonly ttlMs: number;
  /** Positions are written at most this often per session. */
  readonly flushIntervalMs: number;
}

/** What `connected` tells the client about its session. */
export interface SessionGrant {
  readonly sessionToken: string;
  readonly sessionExpiresAt: number;
  readonly resumed: boolean;
  readonly sessionError?: ApiXErrorBody;
}

/** A resume's outcome: the grant, and the subscriptions to put back (empty for a fresh session). */
export interface ResumeOutcome {
  readonly grant: SessionGrant;
  readonly subscriptions: ReadonlyMap<ChannelName, StoredSubscription>;
}

interface LiveSession {
  readonly owner: SessionOwner;
  readonly principal: Principal;
  /**
   * Subscriptions changed since the last write: true, added (their filters must be written);
   * false, ended for good. Null while nothing changed — the usual state, so an idle session
   * holds no collection for it (per-connection memory is a bench goal).
   */
  changes: Map<ChannelName, boolean> | null;
  /** Positions as last written (null: stored before it went live). Compared field by field: no allocation per tick. */
  readonly written: Map<ChannelName, StreamPosition | null>;
  /** Monotonic ms of the last successful write, and of the token last sent. */
  lastWriteAt: number;
  tokenIssuedAt: number;
  saving: boolean;
  /** The store holds this session (written once, or claimed): until then, even an empty update is written. */
  stored: boolean;
  /** The keepalive write is due: written at the next tick even with nothing new. */
  keepaliveDue: boolean;
}

/** Stored state must outlive every token handed out: tokens are renewed well before it expires. */
const STATE_TTL_FACTOR = 1.25;
/** A live connection's token is renewed (`session.renewed`) once it is this share of the TTL old. */
const RENEW_AFTER_SHARE = 0.1;
/** A live session with nothing new is still written this often (share of the TTL), so it never expires while connected. */
const KEEPALIVE_SHARE = 0.25;

/**
 * Keeps sessions resumable (ADR 0040): issues session tokens, resumes sessions from them, and
 * writes each live session's subscriptions and positions to the SessionStore.
 *
 * Cost grows with what changed, not with what exists: a connection reports once that its
 * positions may have moved (its first frame sent since the last look: one boolean per frame),
 * and a timer every `flushIntervalMs` looks only at those sessions (and at the ones whose
 * subscriptions changed), comparing their positions with the ones last written and sending,
 * per session that changed, ONE store write (one Redis round trip). So a resume that relies on
 * the stored positions replays at most `flushIntervalMs` of traffic twice; the SDK drops those
 * duplicates by offset. Subscribe and unsubscribe are written at the next tick, and a closing
 * connection's final positions at once. Token renewals and keepalive writes are filed by due
 * time (ExpiryBuckets), so a tick takes only the sessions due — never a pass over all.
 *
 * A position counts what was handed to the connection, not what the client read: positions
 * are not advanced while frames wait in the connection's backlog, and a close that dropped
 * backlogged frames writes no final positions. Frames in the kernel's buffers at a network
 * drop can still be lost to a client that relies on the stored positions alone — the SDK
 * therefore sends its own positions (`since` in `connect`), which win.
 */
export class SessionKeeper implements RealtimeObserver {
  readonly #store: SessionStore;
  readonly #tokens: SessionTokens;
  readonly #settings: SessionSettings;
  readonly #logger: Logger;
  readonly #live = new Map<Connection, LiveSession>();
  /** This node's newest connection of each live session: who to check when the session is claimed elsewhere. */
  readonly #bySession = new Map<string, Connection>();
  /** Tells every node that a connection claimed a session (set by the server: the control bus). */
  onClaimed: ((sessionId: string, connectionId: string) => void) | undefined;
  /** Live sessions with something to write (or to look at): the only ones a tick visits. */
  readonly #dirty = new Set<Connection>();
  /** Live sessions by when their token renewal is due (monotonic ms; second granularity). */
  readonly #renewals = new ExpiryBuckets<Connection>(monotonicNow());
  readonly #timer: NodeJS.Timeout;
  /** Final writes of closed connections still in flight (shutdown waits for them). */
  readonly #finalWrites = new Set<Promise<unknown>>();

  constructor(store: SessionStore, tokens: SessionTokens, settings: SessionSettings, logger: Logger) {
    this.#store = store;
    this.#tokens = tokens;
    this.#settings = settings;
    this.#logger = logger;
    this.#timer = setInterval(() => this.flush(), settings.flushIntervalMs);
    this.#timer.unref();
  }

  get #stateTtlMs(): number {
    return Math.ceil(this.#settings.ttlMs * STATE_TTL_FACTOR);
  }

  /** A new session for an authenticated connection (its random `sessionId`). */
  start(connection: Connection, principal: Principal, sessionError?: ApiXError): SessionGrant {
    const session = this.#register(connection, principal);
    // Stored at once (in the background), not at the next tick: a token handed out must find
    // its session, even if the client comes back within the first tick.
    this.#save(connection, session, EMPTY_UPDATE);
    const { token, expiresAt } = this.#tokens.issue(connection.sessionId, principal);
    return { sessionToken: token, sessionExpiresAt: expiresAt, resumed: false, ...(sessionError ? { sessionError: sessionError.toBody() } : {}) };
  }

  /**
   * Resumes the session a token names, for a connection whose credential was just verified:
   * the token must name the same organisation and user. Any refusal — forged, foreign,
   * expired, or the store unreachable — starts a fresh session and says why; the connect
   * itself never fails over a session token.
   */
  async resume(connection: Connection, principal: Principal, token: string, attempt?: number): Promise<ResumeOutcome> {
    let sessionId: string;
    try {
      sessionId = this.#tokens.verify(token, principal).sessionId;
    } catch (error) {
      const refusal = error instanceof ApiXError ? error : new ApiXError('SESSION_INVALID');
      return { grant: this.start(connection, principal, refusal), subscriptions: new Map() };
    }
    const owner: SessionOwner = { sessionId, organizationId: principal.organizationId, userId: principal.userId, owner: connection.id };
    let outcome;
    try {
      outcome = await this.#store.claim(owner, this.#stateTtlMs, attempt);
    } catch (error) {
      this.#logger.warn({ err: error, connectionId: connection.id }, 'session store unreachable on resume; starting a fresh session');
      return { grant: this.start(connection, principal, new ApiXError('UNAVAILABLE', 'the session store is unreachable; a new session was started')), subscriptions: new Map() };
    }
    if (outcome.kind === 'foreign') {
      return { grant: this.start(connection, principal, new ApiXError('SESSION_INVALID', 'the session belongs to another user or organisation')), subscriptions: new Map() };
    }
    if (outcome.kind === 'stale') {
      // The client gave up on this connect and resumed on a newer one (ADR 0047): that one keeps
      // the session. This connection (whose client is most likely gone) gets a fresh one.
      return { grant: this.start(connection, principal, new ApiXError('SESSION_INVALID', 'a newer connect of this client resumed the session; a new session was started')), subscriptions: new Map() };
    }
    if (outcome.kind === 'missing') {
      // Every session is written as it starts (and on close), so no state means it expired
      // (or the memory engine restarted): say so, rather than pretend it had no subscriptions.
      return { grant: this.start(connection, principal, new ApiXError('SESSION_EXPIRED', "the session's state is gone (expired, or the server lost it); a new session was started")), subscriptions: new Map() };
    }
    connection.sessionId = sessionId;
    const session = this.#register(connection, principal);
    session.stored = true;
    // Any other connection of the session, here or on another node, is stale now: fence it at once
    // rather than at its next write, so it stops reading the session's acknowledged groups (ADR 0046).
    this.onClaimed?.(sessionId, connection.id);
    for (const [channel, stored] of outcome.subscriptions) session.written.set(channel, stored.position ?? null);
    const issued = this.#tokens.issue(sessionId, principal);
    return { grant: { sessionToken: issued.token, sessionExpiresAt: issued.expiresAt, resumed: true }, subscriptions: outcome.subscriptions };
  }

  /** Channels of the resumed session that re-authorisation refused: gone from the session. */
  dropped(connection: Connection, channels: readonly ChannelName[]): void {
    const session = this.#live.get(connection);
    if (!session) return;
    for (const channel of channels) this.#markRemoved(session, channel);
    this.#dirty.add(connection);
  }

  subscribed(connection: Connection, channels: readonly ChannelName[]): void {
    const session = this.#live.get(connection);
    if (!session) return;
    for (const channel of channels) {
      (session.changes ??= new Map()).set(channel, true);
    }
    this.#dirty.add(connection);
  }

  /** The connection sent a frame or settled an ack since the last look (Connection.onPositionsMoved). */
  positionsMoved(connection: Connection): void {
    if (this.#live.has(connection)) this.#dirty.add(connection);
  }

  unsubscribed(connection: Connection, channels: readonly ChannelName[], reason: SubscriptionEndReason): void {
    // Only an end the client asked for, or a revocation, leaves the session: a close keeps
    // everything for the resume, and a `resubscribe` break keeps the channel at its position.
    if (reason !== 'unsubscribed' && reason !== 'revoked') return;
    const session = this.#live.get(connection);
    if (!session) return;
    for (const channel of channels) this.#markRemoved(session, channel);
    this.#dirty.add(connection);
  }

  /**
   * The connection closed: its last positions are written now (not at the next tick), so a
   * client that comes back at once on another node finds them. Called before its
   * subscriptions are released.
   */
  closed(connection: Connection): void {
    const session = this.#live.get(connection);
    if (!session) return;
    this.#forget(connection);
    const update = this.#collect(connection, session, connection.droppedBytes === 0);
    // Written even when empty: a client that resumes at once must find the session (and its TTL starts now).
    const write = this.#store.save(session.owner, update, this.#stateTtlMs).catch((error: unknown) =>
      this.#logger.warn({ err: error, sessionId: session.owner.sessionId }, 'final session positions not written; a resume replays from the previous ones'),
    );
    this.#finalWrites.add(write);
    void write.finally(() => this.#finalWrites.delete(write));
  }

  /**
   * One tick: renew the tokens that are due, then write what changed — one store call per
   * changed session. Visits only sessions due or marked, never every live one.
   */
  flush(): void {
    const now = monotonicNow();
    for (const connection of this.#renewals.takeDue(now)) {
      const session = this.#live.get(connection);
      if (!session || connection.closed) continue;
      session.tokenIssuedAt = now;
      const { token, expiresAt } = this.#tokens.issue(session.owner.sessionId, session.principal);
      connection.sendFrame({ type: 'session.renewed', sessionToken: token, sessionExpiresAt: expiresAt });
      this.#renewals.set(connection, now + this.#renewAfterMs);
      // Renewals come more often than keepalives are due, so this is where an idle session is kept.
      if (now - session.lastWriteAt >= this.#settings.ttlMs * KEEPALIVE_SHARE) {
        session.keepaliveDue = true;
        this.#dirty.add(connection);
      }
    }
    for (const connection of this.#dirty) {
      const session = this.#live.get(connection);
      if (!session || connection.closed) {
        this.#dirty.delete(connection);
        continue;
      }
      if (session.saving) continue; // stays marked: looked at again next tick
      // While frames wait in the backlog, the subscriptions' positions run ahead of the socket:
      // positions wait (the session stays marked) until it drained.
      const backlogged = connection.backlogged;
      if (!backlogged) {
        this.#dirty.delete(connection);
        // Taken before reading positions: a frame sent after this marks the session again.
        connection.takePositionsMoved();
      }
      const update = this.#collect(connection, session, !backlogged);
      if (isEmptyUpdate(update) && session.stored && !session.keepaliveDue) continue;
      this.#save(connection, session, update);
    }
  }

  get #renewAfterMs(): number {
    return this.#settings.ttlMs * RENEW_AFTER_SHARE;
  }

  /**
   * `connectionId` claimed session `sessionId` (on any node). This node's connection of that
   * session, if another, asks the store whether it still owns it — the claim may have been
   * refused, or overtaken by a newer one that *is* this connection, which the message alone
   * cannot tell — and is closed 4503 when it does not (the write fence of `#save`).
   */
  claimed(sessionId: string, connectionId: string): void {
    const connection = this.#bySession.get(sessionId);
    if (!connection || connection.id === connectionId) return;
    this.#checkOwnership(connection);
  }

  #checkOwnership(connection: Connection): void {
    const session = this.#live.get(connection);
    if (!session) return;
    if (session.saving) this.#dirty.add(connection); // a write is in flight: the next tick's write tells
    else this.#save(connection, session, EMPTY_UPDATE);
  }

  #forget(connection: Connection): void {
    if (this.#bySession.get(connection.sessionId) === connection) this.#bySession.delete(connection.sessionId);
    this.#live.delete(connection);
    this.#dirty.delete(connection);
    this.#renewals.delete(connection);
  }

  /** Stops the timer and writes every live session's state (shutdown: clients come back elsewhere). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const writes = [...this.#live.entries()].map(([connection, session]) => {
      const update = this.#collect(connection, session, !connection.backlogged);
      return this.#store.save(session.owner, update, this.#stateTtlMs).catch(() => false);
    });
    this.#live.clear();
    this.#bySession.clear();
    this.#dirty.clear();
    await Promise.all([...writes, ...this.#finalWrites]);
  }

  #register(connection: Connection, principal: Principal): LiveSession {
    const session: LiveSession = {
      owner: { sessionId: connection.sessionId, organizationId: principal.organizationId, userId: principal.userId, owner: connection.id },
      principal,
      changes: null,
      written: new Map(),
      lastWriteAt: monotonicNow(),
      tokenIssuedAt: monotonicNow(),
      saving: false,
      stored: false,
      keepaliveDue: false,
    };
    this.#live.set(connection, session);
    const previous = this.#bySession.get(connection.sessionId);
    this.#bySession.set(connection.sessionId, connection);
    // Two connections of one session on this node: the older one is the stale one.
    if (previous && previous !== connection) this.#checkOwnership(previous);
    this.#renewals.set(connection, session.tokenIssuedAt + this.#renewAfterMs);
    return session;
  }

  #markRemoved(session: LiveSession, channel: ChannelName): void {
    (session.changes ??= new Map()).set(channel, false);
  }

  /** What changed since the last write; takes the added/removed marks (they come back if the write fails). */
  #collect(connection: Connection, session: LiveSession, withPositions: boolean): SessionUpdate {
    const subscribed = new Map<ChannelName, StoredSubscription>();
    const positions = new Map<ChannelName, StreamPosition>();
    const changes = session.changes;
    session.changes = null;
    const unsubscribed: ChannelName[] = [];
    for (const [channel, added] of changes ?? []) {
      if (!added) {
        unsubscribed.push(channel);
        continue;
      }
      const subscription = connection.subscriptions.get(channel);
      // Queue-group memberships are not session state: the client joins again (ADR 0042).
      if (!subscription || subscription.delivery instanceof GroupDelivery) continue;
      const position = live(subscription.position);
      subscribed.set(channel, {
        ...(subscription.filters ? { filters: subscription.filters } : {}),
        ...(position ? { position } : {}),
        ...(subscription.delivery instanceof AcknowledgedDelivery ? { acknowledgment: true } : {}),
      });
    }
    if (withPositions) {
      for (const [channel, subscription] of connection.subscriptions) {
        if (subscription.delivery instanceof GroupDelivery) continue;
        const position = live(subscription.position);
        if (!position || subscribed.has(channel) || samePosition(session.written.get(channel), position)) continue;
        // A channel the session never stored (added while a write failed) goes in whole.
        if (!session.written.has(channel) && changes?.get(channel) !== true) continue;
        positions.set(channel, position);
      }
    }
    return { subscribed, positions, unsubscribed };
  }

  #save(connection: Connection, session: LiveSession, update: SessionUpdate): void {
    session.saving = true;
    this.#store
      .save(session.owner, update, this.#stateTtlMs)
      .then((held) => {
        if (!held) {
          // Another connection resumed this session: this one is stale, and must not write again.
          this.#forget(connection);
          connection.close(CloseCodes.SESSION_REPLACED, 'the session was resumed by another connection');
          return;
        }
        session.lastWriteAt = monotonicNow();
        session.stored = true;
        session.keepaliveDue = false;
        for (const [channel, subscription] of update.subscribed) session.written.set(channel, subscription.position ?? null);
        for (const [channel, position] of update.positions) session.written.set(channel, position);
        for (const channel of update.unsubscribed) session.written.delete(channel);
      })
      .catch((error: unknown) => {
        // The store is unreachable: keep the marks for the next tick (positions are re-read then anyway).
        // A mark made since (the client changed its mind meanwhile) wins over the one that failed.
        for (const channel of update.subscribed.keys()) if (session.changes?.get(channel) !== false) (session.changes ??= new Map()).set(channel, true);
        for (const channel of update.unsubscribed) if (session.changes?.get(channel) !== true) (session.changes ??= new Map()).set(channel, false);
        if (this.#live.get(connection) === session) this.#dirty.add(connection);
        this.#logger.debug({ err: error, sessionId: session.owner.sessionId }, 'session state not written; retried next tick');
      })
      .finally(() => {
        session.saving = false;
      });
  }
}

function samePosition(written: StreamPosition | null | undefined, position: StreamPosition): boolean {
  return written !== undefined && written !== null && written.offset === position.offset && written.epoch === position.epoch;
}

/** A subscription's position once it went live (before that its epoch is unknown: nothing to store). */
function live(position: StreamPosition): StreamPosition | undefined {
  return position.epoch === '' ? undefined : position;
}
