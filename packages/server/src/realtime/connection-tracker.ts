import { ConnectionStatus, shouldReconnect, type ChannelName } from '@apix/protocol';
import type { Logger } from '../logging/logger.js';
import type { ConnectionRepository } from '../storage/connection-repository.js';
import { SerialWriteQueue } from '../support/serial-write-queue.js';
import type { Connection } from './connection.js';
import type { ConnectionManager } from './connection-manager.js';
import type { RealtimeObserver } from './realtime-observer.js';

/**
 * Keeps the seed's ApiXConnection rows current: a row per connection with its status
 * (CONNECTED → SUSPENDED while the token is expired within its grace period → RECONNECTING
 * when it closed with a code that tells the client to come back, else DISCONNECTED), client
 * type, channels and metadata. Heartbeats and channel lists are written in batches every
 * `flushIntervalMs`, never one write per heartbeat or per subscribe.
 */
export class ConnectionTracker implements RealtimeObserver {
  readonly #repository: ConnectionRepository;
  readonly #connections: ConnectionManager;
  readonly #nodeId: string;
  readonly #writes: SerialWriteQueue;
  readonly #timer: NodeJS.Timeout;
  readonly #dirtyChannels = new Set<Connection>();
  readonly #suspended = new WeakSet<Connection>();
  #lastFlushAt = Date.now();

  constructor(repository: ConnectionRepository, connections: ConnectionManager, options: { nodeId: string; flushIntervalMs: number }, logger: Logger) {
    this.#repository = repository;
    this.#connections = connections;
    this.#nodeId = options.nodeId;
    this.#writes = new SerialWriteQueue({ maxPending: 100_000 }, logger.child({ component: 'connection-tracker' }));
    this.#timer = setInterval(() => this.flush(), options.flushIntervalMs);
    this.#timer.unref();
  }

  connectionOpened(connection: Connection): void {
    const principal = connection.principal!;
    const at = new Date();
    this.#writes.push('connection.opened', () =>
      this.#repository.recordConnected({
        organizationId: principal.organizationId,
        userId: principal.userId,
        sessionId: connection.sessionId,
        clientType: connection.clientType ?? (principal.kind === 'api_key' ? 'INTERNAL_SERVICE' : 'WEB_APP'),
        metadata: { ...connection.metadata, connectionId: connection.id, ...(connection.remoteAddress ? { remoteAddress: connection.remoteAddress } : {}) },
        nodeId: this.#nodeId,
        at,
      }),
    );
  }

  connectionClosed(connection: Connection, code: number): void {
    this.#dirtyChannels.delete(connection);
    const status = code !== 1000 && shouldReconnect(code) ? ConnectionStatus.RECONNECTING : ConnectionStatus.DISCONNECTED;
    const org = connection.principal!.organizationId;
    const at = new Date();
    this.#writes.push('connection.closed', () => this.#repository.setStatus(org, connection.sessionId, status, at));
  }

  subscribed(connection: Connection, _channels: readonly ChannelName[]): void {
    this.#dirtyChannels.add(connection);
  }

  unsubscribed(connection: Connection): void {
    if (!connection.closed) this.#dirtyChannels.add(connection);
  }

  /** Writes batched state now: heartbeats since the last flush, changed channel lists, suspensions. */
  flush(): void {
    const now = Date.now();
    const heartbeats: string[] = [];
    for (const connection of this.#connections.values()) {
      const principal = connection.principal;
      if (!principal || connection.closed) continue;
      if (connection.lastPongAt >= this.#lastFlushAt) heartbeats.push(connection.sessionId);
      const expired = now >= principal.expiresAt;
      if (expired !== this.#suspended.has(connection)) {
        // Expired within its grace period: SUSPENDED; refreshed since: CONNECTED again.
        if (expired) this.#suspended.add(connection);
        else this.#suspended.delete(connection);
        const status = expired ? ConnectionStatus.SUSPENDED : ConnectionStatus.CONNECTED;
        this.#writes.push('connection.status', () => this.#repository.setStatus(principal.organizationId, connection.sessionId, status, new Date(now)));
      }
    }
    this.#lastFlushAt = now;
    if (heartbeats.length > 0) this.#writes.push('connection.heartbeats', () => this.#repository.touchHeartbeats(heartbeats, new Date(now)));
    for (const connection of this.#dirtyChannels) {
      const channels = [...connection.subscriptions.keys()];
      const org = connection.principal!.organizationId;
      this.#writes.push('connection.channels', () => this.#repository.setChannels(org, connection.sessionId, channels));
    }
    this.#dirtyChannels.clear();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.flush();
    await this.#writes.drain();
  }
}
