import { ConnectionStatus, shouldReconnect, type ChannelName } from '@apix/protocol';
import type { Logger } from '../logging/logger.js';
import type { ConnectionRepository, OpenedConnection } from '../storage/connection-repository.js';
import { ExpiryBuckets } from '../support/expiry-buckets.js';
import { SerialWriteQueue } from '../support/serial-write-queue.js';
import type { Connection } from './connection.js';
import type { RealtimeObserver } from './realtime-observer.js';

/**
 * What the tracker reads of the data plane: the connections this node holds right now
 * (the ConnectionManager fits). Reconcile compares storage against it.
 */
export interface LiveConnections {
  values(): Iterable<Connection>;
  /** Calls `listener` at every WebSocket pong (ConnectionManager); heartbeats are written for these alone. */
  onPong?(listener: (connection: Connection) => void): void;
}

/** Opens, closes and channel changes are written this often, each kind as one statement. */
const STATE_FLUSH_INTERVAL_MS = 250;

interface StatusChange {
  organizationId: string;
  sessionId: string;
  connectionId: string;
  status: ConnectionStatus;
  at: Date;
}

/**
 * Keeps the seed's ApiXConnection rows current: a row per session, held by its latest
 * connection (a resumed session, ADR 0040, takes the row over: `metadata.connectionId` names
 * the holder, and status and channel writes of an earlier connection of the session are
 * ignored, so a late close on one node never marks the resumed connection disconnected). A row with its status
 * (CONNECTED → SUSPENDED while the token is expired within its grace period → RECONNECTING
 * when it closed with a code that tells the client to come back, else DISCONNECTED), client
 * type, channels and metadata.
 *
 * Nothing is written per event: opens, status changes and channel lists collect for
 * STATE_FLUSH_INTERVAL_MS and go out as one statement each; heartbeats go out every
 * `heartbeatFlushMs` as one statement: a statement per subscriber would cost the database
 * (and, queued, the memory) far more than the rows are worth. A row the database refuses is
 * quarantined without holding the others (SerialWriteQueue); after an outage the rows are
 * reconciled from live state (`reconcile`).
 */
export class ConnectionTracker implements RealtimeObserver {
  readonly #repository: ConnectionRepository;
  readonly #connections: LiveConnections;
  readonly #nodeId: string;
  readonly #writes: SerialWriteQueue;
  readonly #stateTimer: NodeJS.Timeout;
  readonly #heartbeatTimer: NodeJS.Timeout;
  #opened: OpenedConnection[] = [];
  #statusChanges: StatusChange[] = [];
  readonly #dirtyChannels = new Set<Connection>();
  readonly #suspended = new WeakSet<Connection>();
  /** Live connections by credential expiry: finding the newly expired costs what expired, not a scan. */
  readonly #expiries = new ExpiryBuckets<Connection>();
  /** Connections that answered a ping since the last heartbeat flush: the flush writes these, without a walk over all. */
  #ponged = new Set<Connection>();
  #reconciles = 0;

  constructor(repository: ConnectionRepository, connections: LiveConnections, options: { nodeId: string; heartbeatFlushMs: number }, logger: Logger) {
    this.#repository = repository;
    this.#connections = connections;
    connections.onPong?.((connection) => this.#ponged.add(connection));
    this.#nodeId = options.nodeId;
    this.#writes = new SerialWriteQueue(
      // Whenever storage answers again after failing, the rows it missed are reconciled.
      { maxPending: 10_000, onRecovered: () => this.reconcile() },
      logger.child({ component: 'connection-tracker' }),
    );
    this.#stateTimer = setInterval(() => this.flushState(), STATE_FLUSH_INTERVAL_MS);
    this.#stateTimer.unref();
    this.#heartbeatTimer = setInterval(() => this.flushHeartbeats(), options.heartbeatFlushMs);
    this.#heartbeatTimer.unref();
  }

  connectionOpened(connection: Connection): void {
    this.#opened.push(this.#openedRow(connection, new Date()));
    this.#expiries.set(connection, connection.principal!.expiresAt);
  }

  /** A refreshed token moves the expiry; a SUSPENDED connection is CONNECTED again. */
  credentialsRefreshed(connection: Connection): void {
    const principal = connection.principal!;
    this.#expiries.set(connection, principal.expiresAt);
    const now = Date.now();
    if (this.#suspended.has(connection) && now < principal.expiresAt) {
      this.#suspended.delete(connection);
      this.#statusChanges.push({ organizationId: principal.organizationId, sessionId: connection.sessionId, connectionId: connection.id, status: ConnectionStatus.CONNECTED, at: new Date(now) });
    }
  }

  connectionClosed(connection: Connection, code: number): void {
    this.#expiries.delete(connection);
    this.#ponged.delete(connection);
    this.#dirtyChannels.delete(connection);
    this.#statusChanges.push({
      organizationId: connection.principal!.organizationId,
      sessionId: connection.sessionId,
      connectionId: connection.id,
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
    // Expired within its grace period: SUSPENDED (a refresh makes it CONNECTED again, above).
    for (const connection of this.#expiries.takeDue(now)) {
      const principal = connection.principal;
      if (!principal || connection.closed || now < principal.expiresAt || this.#suspended.has(connection)) continue;
      this.#suspended.add(connection);
      this.#statusChanges.push({ organizationId: principal.organizationId, sessionId: connection.sessionId, connectionId: connection.id, status: ConnectionStatus.SUSPENDED, at: new Date(now) });
    }
    const opened = this.#opened;
    const statusChanges = this.#statusChanges;
    const channels = [...this.#dirtyChannels].map((c) => ({ organizationId: c.principal!.organizationId, sessionId: c.sessionId, connectionId: c.id, channels: [...c.subscriptions.keys()] }));
    this.#opened = [];
    this.#statusChanges = [];
    this.#dirtyChannels.clear();
    const organizationOf = (row: { organizationId: string }) => row.organizationId;
    const table = 'connections';
    this.#writes.push({ name: 'connections.opened', table, rows: opened, write: (rows) => this.#repository.recordConnectedBatch(rows), organizationOf });
    this.#writes.push({ name: 'connections.status', table, rows: statusChanges, write: (rows) => this.#repository.setStatusBatch(rows), organizationOf });
    this.#writes.push({ name: 'connections.channels', table, rows: channels, write: (rows) => this.#repository.setChannelsBatch(rows), organizationOf });
  }

  /** Write queue counters (pending, dropped, failures, quarantined rows) and reconciles run. */
  get stats(): { pending: number; dropped: number; failures: number; quarantined: number; reconciles: number } {
    return { ...this.#writes.stats, reconciles: this.#reconciles };
  }

  /**
   * Makes this node's rows match what it holds: every live connection is (re)written as
   * CONNECTED with its channels (its open may have been dropped while storage was down), then
   * every other row of this node still claiming an open socket becomes DISCONNECTED. Queued
   * behind the writes already pending, so it lands after them, in order; runs at start-up and
   * whenever storage answers again after failing. Other nodes' rows are theirs (the stale
   * heartbeat sweep covers nodes that died).
   */
  reconcile(now = new Date()): void {
    this.#reconciles++;
    this.flushState();
    const live = [...this.#connections.values()].filter((c) => c.principal && !c.closed);
    const rows = live.map((c) => ({ ...this.#openedRow(c, now), channels: [...c.subscriptions.keys()] }));
    const sessionIds = live.map((c) => c.sessionId);
    const organizationOf = (row: { organizationId: string }) => row.organizationId;
    this.#writes.push({ name: 'connections.reconcile-live', table: 'connections', rows, write: (batch) => this.#repository.recordConnectedBatch(batch), organizationOf });
    this.#writes.push({
      name: 'connections.reconcile-closed',
      table: 'connections',
      rows: [{ organizationId: null }],
      write: () => this.#repository.markNodeDisconnectedExcept(this.#nodeId, sessionIds, now),
      organizationOf: () => null,
    });
  }

  #openedRow(connection: Connection, at: Date): OpenedConnection {
    const principal = connection.principal!;
    return {
      organizationId: principal.organizationId,
      userId: principal.userId,
      sessionId: connection.sessionId,
      clientType: connection.clientType ?? (principal.kind === 'api_key' ? 'INTERNAL_SERVICE' : 'WEB_APP'),
      metadata: { ...connection.metadata, connectionId: connection.id, ...(connection.remoteAddress ? { remoteAddress: connection.remoteAddress } : {}) },
      nodeId: this.#nodeId,
      at,
    };
  }

  /** Queues one heartbeat stamp for every connection that answered a ping since the last one. */
  flushHeartbeats(now = Date.now()): void {
    const heartbeats: string[] = [];
    for (const connection of this.#ponged) {
      if (connection.principal && !connection.closed) heartbeats.push(connection.sessionId);
    }
    this.#ponged = new Set();
    this.#writes.push({ name: 'connections.heartbeats', table: 'connections', rows: heartbeats, write: (ids) => this.#repository.touchHeartbeats(ids, new Date(now)), organizationOf: () => null });
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
