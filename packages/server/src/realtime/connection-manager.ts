import { CloseCodes } from '@apix/protocol';
import type { Logger } from '../logging/logger.js';
import type { Connection } from './connection.js';

/** Told about pongs, inbound bytes and each connection the sweep visits (monitoring). */
export interface ConnectionProbe {
  pong(connection: Connection, rttMs: number): void;
  received(connection: Connection, bytes: number): void;
  swept(connection: Connection): void;
}

export interface HeartbeatSettings {
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly tokenExpiryGraceMs: number;
}

/**
 * The registry of open connections (the seed's ConnectionManager): handshake deadlines,
 * WebSocket-level ping with dead-peer detection, token expiry. One housekeeping timer walks
 * all connections; per-connection timers would cost more at 10k connections and say the same.
 */
export class ConnectionManager {
  readonly #connections = new Map<string, Connection>();
  readonly #settings: HeartbeatSettings;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  readonly #probe: ConnectionProbe | undefined;

  constructor(settings: HeartbeatSettings, logger: Logger, probe?: ConnectionProbe) {
    this.#settings = settings;
    this.#logger = logger;
    this.#probe = probe;
    const sweepEveryMs = Math.max(20, Math.min(1_000, Math.floor(Math.min(settings.pingIntervalMs, settings.pongTimeoutMs) / 4)));
    this.#timer = setInterval(() => this.sweep(Date.now()), sweepEveryMs);
    this.#timer.unref();
  }

  get size(): number {
    return this.#connections.size;
  }

  add(connection: Connection): void {
    this.#connections.set(connection.id, connection);
    connection.socket.on('pong', () => {
      if (connection.awaitingPongSince !== 0) this.#probe?.pong(connection, Date.now() - connection.awaitingPongSince);
      connection.awaitingPongSince = 0;
      connection.lastPongAt = Date.now();
    });
    const probe = this.#probe;
    if (probe) connection.socket.on('message', (data: Buffer) => probe.received(connection, data.length));
  }

  remove(connection: Connection): void {
    this.#connections.delete(connection.id);
  }

  values(): IterableIterator<Connection> {
    return this.#connections.values();
  }

  /** One pass of housekeeping. Public so tests can drive time explicitly. */
  sweep(now: number): void {
    const { pingIntervalMs, pongTimeoutMs, tokenExpiryGraceMs } = this.#settings;
    for (const connection of this.#connections.values()) {
      if (connection.closed) continue;
      this.#probe?.swept(connection);
      if (!connection.principal) {
        if (now > connection.handshakeDeadline) connection.close(CloseCodes.HANDSHAKE_TIMEOUT, 'no connect frame in time');
        continue;
      }
      if (now > connection.principal.expiresAt + tokenExpiryGraceMs) {
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

  /** Closes every connection (shutdown): clients reconnect, ideally elsewhere, and resume. */
  closeAll(code: number, reason: string): void {
    for (const connection of this.#connections.values()) connection.close(code, reason);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
