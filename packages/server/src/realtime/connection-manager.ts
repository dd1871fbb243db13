import { CloseCodes } from '@apix/protocol';
import type { Logger } from '../logging/logger.js';
import { monotonicNow } from '../support/monotonic-clock.js';
import type { Connection } from './connection.js';

/** Told about pongs, heartbeat round trips, inbound bytes and each connection the sweep visits (monitoring). */
export interface ConnectionProbe {
  /** A WebSocket pong: `rttMs` is measured by the server (monotonic clock). */
  pong(connection: Connection, rttMs: number): void;
  /** The round trip the client measured for its previous application heartbeat (`heartbeat.ping` `rtt`). */
  heartbeatRtt(connection: Connection, rttMs: number): void;
  received(connection: Connection, bytes: number): void;
  swept(connection: Connection): void;
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
 * WebSocket-level ping with dead-peer detection, token expiry. One housekeeping timer walks
 * all connections; per-connection timers would cost more at 10k connections and say the same.
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

  constructor(settings: HeartbeatSettings, logger: Logger, probe?: ConnectionProbe) {
    this.#settings = settings;
    this.#logger = logger;
    this.#probe = probe;
    const sweepEveryMs = Math.max(20, Math.min(1_000, Math.floor(Math.min(settings.pingIntervalMs, settings.pongTimeoutMs) / 4)));
    this.#timer = setInterval(() => this.sweep(monotonicNow(), Date.now()), sweepEveryMs);
    this.#timer.unref();
  }

  get size(): number {
    return this.#connections.size;
  }

  add(connection: Connection): void {
    this.#connections.set(connection.id, connection);
    connection.socket.on('pong', () => {
      // awaitingPongSince is monotonic (sweep): the round trip must be too, never Date.now().
      if (connection.awaitingPongSince !== 0) this.#probe?.pong(connection, monotonicNow() - connection.awaitingPongSince);
      connection.awaitingPongSince = 0;
      connection.lastPongAt = monotonicNow();
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
    for (const key of indexKeys(connection)) {
      let set = this.#index.get(key);
      if (!set) this.#index.set(key, (set = new Set()));
      set.add(connection);
    }
  }

  remove(connection: Connection): void {
    this.#connections.delete(connection.id);
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

  /** One pass of housekeeping. Public so tests can drive time explicitly. */
  sweep(now: number, wallNow: number): void {
    const { pingIntervalMs, pongTimeoutMs, tokenExpiryGraceMs } = this.#settings;
    for (const connection of this.#connections.values()) {
      if (connection.closed) continue;
      this.#probe?.swept(connection);
      if (!connection.principal) {
        if (now > connection.handshakeDeadline) connection.close(CloseCodes.HANDSHAKE_TIMEOUT, 'no connect frame in time');
        continue;
      }
      if (wallNow > connection.principal.expiresAt + tokenExpiryGraceMs) {
        connection.close(CloseCodes.TOKEN_EXPIRED, 'token expired');
        continue;
      }
      if (connection.awaitingPongSince !== 0) {
        if (now - connection.awaitingPongSince > pongTimeoutMs) {
          this.#logger.info({ connectionId: connection.id }, 'dead peer: no pong in time');
          connection.close(CloseCodes.DEAD_PEER, 'no pong in time');
        }
      } else if (now - connection.lastPingAt >= pingIntervalMs) {
        connection.lastPingAt = now;
        connection.awaitingPongSince = now;
        connection.socket.ping();
      }
    }
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
