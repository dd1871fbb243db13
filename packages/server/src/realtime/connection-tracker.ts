import { ConnectionStatus, shouldReconnect, type ChannelName } from '@apix/protocol';
import type { Logger } from '../logging/logger.js';
import type { ConnectionRepository, OpenedConnection } from '../storage/connection-repository.js';
import { SerialWriteQueue } from '../support/serial-write-queue.js';
import type { Connection } from './connection.js';
import type { ConnectionManager } from './connection-manager.js';
import type { RealtimeObserver } from './realtime-observer.js';

/** Opens, closes and channel changes are written this often, each kind as one statement. */
const STATE_FLUSH_INTERVAL_MS = 250;

interface StatusChange {
  organizationId: string;
  sessionId: string;
  status: ConnectionStatus;
  at: Date;
}

/**
 * Keeps the seed's ApiXConnection rows current: a row per connection with its status
 * (CONNECTED → SUSPENDED while the token is expired within its grace period → RECONNECTING
 * when it closed with a code that tells the client to come back, else DISCONNECTED), client
 * type, channels and metadata.
 *
 * Nothing is written per event: opens, status changes and channel lists collect for
 * STATE_FLUSH_INTERVAL_MS and go out as one statement each; heartbeats go out every
 * `heartbeatFlushMs` as one statement. Storage runs on this process's thread (PGlite), so a
 * statement per subscriber would stall delivery for everyone.
 */
export class ConnectionTracker implements RealtimeObserver {
  readonly #repository: ConnectionRepository;
  readonly #connections: ConnectionManager;
  readonly #nodeId: string;
  readonly #writes: SerialWriteQueue;
  readonly #stateTimer: NodeJS.Timeout;
  readonly #heartbeatTimer: NodeJS.Timeout;
  #opened: OpenedConnection[] = [];
  #statusChanges: StatusChange[] = [];
  readonly #dirtyChannels = new Set<Connection>();
  readonly #suspended = new WeakSet<Connection>();
  #lastHeartbeatFlushAt = Date.now();

  constructor(repository: ConnectionRepository, connections: ConnectionManager, options: { nodeId: string; heartbeatFlushMs: number }, logger: Logger) {
    this.#repository = repository;
    this.#connections = connections;
    this.#nodeId = options.nodeId;
    this.#writes = new SerialWriteQueue({ maxPending: 10_000 }, logger.child({ component: 'connection-tracker' }));
    this.#stateTimer = setInterval(() => this.flushState(), STATE_FLUSH_INTERVAL_MS);
    this.#stateTimer.unref();
    this.#heartbeatTimer = setInterval(() => this.flushHeartbeats(), options.heartbeatFlushMs);
    this.#heartbeatTimer.unref();
  }

  /** The connection-row write queue, for monitoring. */
  get stats(): { pending: number; dropped: number; failures: number } {
    return this.#writes.stats;
  }

  connectionOpened(connection: Connection): void {
    const principal = connection.principal!;
    this.#opened.push({
      organizationId: principal.organizationId,
      userId: principal.userId,
      sessionId: connection.sessionId,
      clientType: connection.clientType ?? (principal.kind === 'api_key' ? 'INTERNAL_SERVICE' : 'WEB_APP'),
      metadata: { ...connection.metadata, connectionId: connection.id, ...(connection.remoteAddress ? { remoteAddress: connection.remoteAddress } : {}) },
      nodeId: this.#nodeId,
      at: new Date(),
    });
  }

  connectionClosed(connection: Connection, code: number): void {
    this.#dirtyChannels.delete(connection);
    this.#statusChanges.push({
      organizationId: connection.principal!.organizationId,
      sessionId: connection.sessionId,
      status: code !== 1000 && shouldReconnect(code) ? ConnectionStatus.RECONNECTING : ConnectionStatus.DISCONNECTED,
      at: new Date(),
    });
  }

  subscribed(connection: Connection, _channels: readonly ChannelName[]): void {
    this.#dirtyChannels.add(connection);
  }

  unsubscribed(connection: Connection): void {
    if (!connection.closed) this.#dirtyChannels.add(connection);
  }

  /** Queues what collected since the last flush: opens first, then status changes, then channel lists. */
  flushState(now = Date.now()): void {
    for (const connection of this.#connections.values()) {
      const principal = connection.principal;
      if (!principal || connection.closed) continue;
      const expired = now >= principal.expiresAt;
      if (expired !== this.#suspended.has(connection)) {
        // Expired within its grace period: SUSPENDED; refreshed since: CONNECTED again.
        if (expired) this.#suspended.add(connection);
        else this.#suspended.delete(connection);
        const status = expired ? ConnectionStatus.SUSPENDED : ConnectionStatus.CONNECTED;
        this.#statusChanges.push({ organizationId: principal.organizationId, sessionId: connection.sessionId, status, at: new Date(now) });
      }
    }
    const opened = this.#opened;
    const statusChanges = this.#statusChanges;
    const channels = [...this.#dirtyChannels].map((c) => ({ organizationId: c.principal!.organizationId, sessionId: c.sessionId, channels: [...c.subscriptions.keys()] }));
    this.#opened = [];
    this.#statusChanges = [];
    this.#dirtyChannels.clear();
    if (opened.length > 0) this.#writes.push('connections.opened', () => this.#repository.recordConnectedBatch(opened));
    if (statusChanges.length > 0) this.#writes.push('connections.status', () => this.#repository.setStatusBatch(statusChanges));
    if (channels.length > 0) this.#writes.push('connections.channels', () => this.#repository.setChannelsBatch(channels));
  }

  /** Queues one heartbeat stamp for every connection that answered a ping since the last one. */
  flushHeartbeats(now = Date.now()): void {
    const heartbeats: string[] = [];
    for (const connection of this.#connections.values()) {
      if (connection.principal && !connection.closed && connection.lastPongAt >= this.#lastHeartbeatFlushAt) heartbeats.push(connection.sessionId);
    }
    this.#lastHeartbeatFlushAt = now;
    if (heartbeats.length > 0) this.#writes.push('connections.heartbeats', () => this.#repository.touchHeartbeats(heartbeats, new Date(now)));
  }

  /** Writes what is left, waiting at most `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    clearInterval(this.#stateTimer);
    clearInterval(this.#heartbeatTimer);
    this.flushState();
    this.flushHeartbeats();
    await this.#writes.drain(timeoutMs);
  }
}
