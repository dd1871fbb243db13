import { CloseCodes } from '@apix/protocol';
import type { Logger } from '../logging/logger.js';
import { ExpiryBuckets } from '../support/expiry-buckets.js';
import { monotonicNow } from '../support/monotonic-clock.js';
import type { Connection } from './connection.js';

/** Told about pongs, heartbeat round trips and inbound bytes (monitoring). */
export interface ConnectionProbe {
  /** A WebSocket pong: `rttMs` is measured by the server (monotonic clock). */
  pong(connection: Connection, rttMs: number): void;
  /** The round trip the client measured for its previous application heartbeat (`heartbeat.ping` `rtt`). */
  heartbeatRtt(connection: Connection, rttMs: number): void;
  received(connection: Connection, bytes: number): void;
}

export interface HeartbeatSettings {
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly tokenExpiryGraceMs: number;
}

/** Who a change event may concern: the connections of one member, one API key, one user or one organisation. */
export type PrincipalSelector =
  | { readonly organizationId: string; readonly userId: string }
  | { readonly organizationId: string; readonly apiKeyId: string }
  | { readonly organizationId: string }
  | { readonly userId: string };

/**
 * The registry of open connections (the seed's ConnectionManager): handshake deadlines,
 * WebSocket-level ping with dead-peer detection, token expiry. One housekeeping timer takes
 * the connections whose next deadline (handshake, ping, pong, token expiry) has come: each
 * connection is filed under that time (ExpiryBuckets, one slot per tick), so a tick costs what
 * is due, not what exists — no walk over every connection, and no timer per connection.
 *
 * Authenticated connections are also indexed by organisation, member, API key and user, so a
 * change event reaches exactly the connections it concerns without a walk over all of them.
 *
 * Deadlines and ping ages run on the monotonic clock: a wall-clock step (NTP, a resumed VM)
 * must neither switch dead-peer detection off nor close healthy connections. Token expiry is
 * the one wall-clock comparison, because the token defines it in wall time.
 */
export class ConnectionManager {
  readonly #connections = new Map<string, Connection>();
  readonly #index = new Map<string, Set<Connection>>();
  readonly #settings: HeartbeatSettings;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  readonly #probe: ConnectionProbe | undefined;
  /** Open connections by their next deadline (monotonic ms). */
  readonly #due: ExpiryBuckets<Connection>;
  /** Connections whose frames wait in their own backlog (past the socket's high-water mark). */
  readonly #backlogged = new Set<Connection>();
  readonly #pongListeners: Array<(connection: Connection) => void> = [];

  constructor(settings: HeartbeatSettings, logger: Logger, probe?: ConnectionProbe) {
    this.#settings = settings;
    this.#logger = logger;
    this.#probe = probe;
    const tickMs = Math.max(20, Math.min(1_000, Math.floor(Math.min(settings.pingIntervalMs, settings.pongTimeoutMs) / 4)));
    this.#due = new ExpiryBuckets<Connection>(monotonicNow(), tickMs);
    this.#timer = setInterval(() => this.sweep(monotonicNow(), Date.now()), tickMs);
    this.#timer.unref();
  }

  get size(): number {
    return this.#connections.size;
  }

  add(connection: Connection): void {
    this.#connections.set(connection.id, connection);
    this.#due.set(connection, connection.handshakeDeadline + 1);
    connection.socket.on('pong', () => {
      // awaitingPongSince is monotonic (sweep): the round trip must be too, never Date.now().
      if (connection.awaitingPongSince !== 0) this.#probe?.pong(connection, monotonicNow() - connection.awaitingPongSince);
      connection.awaitingPongSince = 0;
      connection.lastPongAt = monotonicNow();
      for (const listener of this.#pongListeners) listener(connection);
    });
    const probe = this.#probe;
    if (probe) connection.socket.on('message', (data: Buffer) => probe.received(connection, data.length));
  }

  /** A `heartbeat.ping` reported the client's last round trip (kept for monitoring only). */
  heartbeatRtt(connection: Connection, rttMs: number): void {
    if (connection.principal) this.#probe?.heartbeatRtt(connection, rttMs);
  }

  /** The connection now has a principal: index it under what change events name. */
  authenticated(connection: Connection): void {
    this.#fileNext(connection, monotonicNow(), Date.now());
    for (const key of indexKeys(connection)) {
      let set = this.#index.get(key);
      if (!set) this.#index.set(key, (set = new Set()));
      set.add(connection);
    }
  }

  remove(connection: Connection): void {
    this.#connections.delete(connection.id);
    this.#due.delete(connection);
    this.#backlogged.delete(connection);
    for (const key of indexKeys(connection)) {
      const set = this.#index.get(key);
      if (set?.delete(connection) && set.size === 0) this.#index.delete(key);
    }
  }

  values(): IterableIterator<Connection> {
    return this.#connections.values();
  }

  /** The open, authenticated connections a change concerns. */
  select(selector: PrincipalSelector): Connection[] {
    return [...(this.#index.get(selectorKey(selector)) ?? [])].filter((c) => !c.closed);
  }

  /** `listener` is called at every WebSocket pong (the connection tracker's heartbeat rows). */
  onPong(listener: (connection: Connection) => void): void {
    this.#pongListeners.push(listener);
  }

  /** A connection entered or left backlog mode (Connection.onBacklogChanged). */
  backlogChanged(connection: Connection, backlogged: boolean): void {
    if (backlogged && !connection.closed) this.#backlogged.add(connection);
    else this.#backlogged.delete(connection);
  }

  /**
   * Unsent bytes of every connection past its socket's high-water mark (the ones that can be
   * near the send cap). Connections under the mark hold less than 64 KiB and are not listed:
   * monitoring's send-buffer pressure reads this, without a walk over every connection.
   */
  *backloggedPendingBytes(): Iterable<number> {
    for (const connection of this.#backlogged) yield connection.pendingBytes;
  }

  /** One tick of housekeeping: the connections whose deadline came. Public so tests can drive time explicitly. */
  sweep(now: number, wallNow: number): void {
    for (const connection of this.#due.takeDue(now)) {
      if (connection.closed) continue;
      if (this.#visit(connection, now, wallNow)) this.#fileNext(connection, now, wallNow);
    }
  }

  /** Acts on what is due; false when the connection was closed. */
  #visit(connection: Connection, now: number, wallNow: number): boolean {
    const { pingIntervalMs, pongTimeoutMs, tokenExpiryGraceMs } = this.#settings;
    if (!connection.principal) {
      if (now > connection.handshakeDeadline) {
        connection.close(CloseCodes.HANDSHAKE_TIMEOUT, 'no connect frame in time');
        return false;
      }
      return true;
    }
    if (wallNow > connection.principal.expiresAt + tokenExpiryGraceMs) {
      connection.close(CloseCodes.TOKEN_EXPIRED, 'token expired');
      return false;
    }
    if (connection.awaitingPongSince !== 0) {
      if (now - connection.awaitingPongSince > pongTimeoutMs) {
        this.#logger.info({ connectionId: connection.id }, 'dead peer: no pong in time');
        connection.close(CloseCodes.DEAD_PEER, 'no pong in time');
        return false;
      }
    } else if (now - connection.lastPingAt >= pingIntervalMs) {
      connection.lastPingAt = now;
      connection.awaitingPongSince = now;
      connection.socket.ping();
    }
    return true;
  }

  /**
   * Files the connection under its next deadline: the handshake's, or the earliest of the pong
   * deadline (a ping is out) or the next ping, and the token's expiry. A pong that arrives does
   * not refile: the visit at the pong deadline finds it answered and files the next ping.
   */
  #fileNext(connection: Connection, now: number, wallNow: number): void {
    const { pingIntervalMs, pongTimeoutMs, tokenExpiryGraceMs } = this.#settings;
    if (!connection.principal) {
      this.#due.set(connection, connection.handshakeDeadline + 1);
      return;
    }
    const heartbeat = connection.awaitingPongSince !== 0 ? connection.awaitingPongSince + pongTimeoutMs + 1 : connection.lastPingAt + pingIntervalMs;
    // The token's expiry is a wall-clock instant: translated to the monotonic clock now, and
    // checked against the wall clock again at the visit (a clock step only moves the visit).
    const expiry = now + (connection.principal.expiresAt + tokenExpiryGraceMs - wallNow) + 1;
    this.#due.set(connection, Math.min(heartbeat, expiry));
  }

  /**
   * Closes every connection (shutdown): clients reconnect, ideally elsewhere, and resume.
   * Each is told the earliest time to come back, spread uniformly over `spreadMs`, so a node
   * going away does not turn into a reconnect storm on the others.
   */
  closeAll(code: number, reason: string, spreadMs = 0): void {
    for (const connection of this.#connections.values()) {
      connection.close(code, reason, spreadMs > 0 ? Math.floor(Math.random() * spreadMs) : undefined);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function indexKeys(connection: Connection): string[] {
  const principal = connection.principal;
  if (!principal) return [];
  const org = principal.organizationId;
  if (principal.kind === 'api_key') return [selectorKey({ organizationId: org }), selectorKey({ organizationId: org, apiKeyId: principal.credentialId! })];
  return [selectorKey({ organizationId: org }), selectorKey({ organizationId: org, userId: principal.userId }), selectorKey({ userId: principal.userId })];
}

function selectorKey(selector: PrincipalSelector): string {
  if ('apiKeyId' in selector) return `key\u0000${selector.organizationId}\u0000${selector.apiKeyId}`;
  if ('organizationId' in selector && 'userId' in selector) return `member\u0000${selector.organizationId}\u0000${selector.userId}`;
  if ('organizationId' in selector) return `org\u0000${selector.organizationId}`;
  return `user\u0000${selector.userId}`;
}
