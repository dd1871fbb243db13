import type { Logger } from '../logging/logger.js';
import type { Repositories } from '../storage/repositories.js';
import { describeStorageError } from '../storage/storage-errors.js';

export interface StorageMaintenanceSettings {
  readonly intervalMs: number;
  /** A live connection row whose heartbeat is older than this belonged to a node that died. */
  readonly staleHeartbeatMs: number;
  /** Disconnected connection rows are deleted after this long. */
  readonly connectionRowRetentionMs: number;
}

/**
 * The periodic clean-ups storage needs, in one place: connection rows of dead nodes marked
 * DISCONNECTED, old disconnected rows deleted, archived events past their channel's
 * retention purged, expired refresh tokens deleted. Every node runs them; each statement is
 * idempotent, so overlapping runs on several nodes are harmless. A failing job is logged and
 * retried next round; it never stops the others.
 */
export class StorageMaintenance {
  readonly #repositories: Repositories;
  readonly #settings: StorageMaintenanceSettings;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;

  constructor(repositories: Repositories, settings: StorageMaintenanceSettings, logger: Logger) {
    this.#repositories = repositories;
    this.#settings = settings;
    this.#logger = logger.child({ component: 'storage-maintenance' });
    this.#timer = setInterval(() => void this.runOnce(), settings.intervalMs);
    this.#timer.unref();
  }

  /**
   * One round of every job, started after this call (a caller that just wrote rows must not
   * get a round that began before them); rounds never overlap on this node.
   */
  runOnce(now?: Date): Promise<void> {
    const round: Promise<void> = (this.#running ?? Promise.resolve()).then(() => this.#round(now ?? new Date()));
    this.#running = round.finally(() => {
      if (this.#running === tracked) this.#running = undefined;
    });
    const tracked = this.#running;
    return round;
  }

  /**
   * Start-up reconcile of what a previous run may have left behind (a crash, a SIGKILL):
   * connection rows that claim a socket no node holds, and subscriber counts that include
   * them. `exclusive`: this node is the only one using the database (the embedded PGlite), so
   * every open row is stale; otherwise only rows whose heartbeat is stale (their node died)
   * are closed — live nodes own theirs. Then every count is recomputed from the open rows.
   * Never throws: a failure is logged and the next sweep (or recovery) catches up.
   */
  async reconcileAtStartup(options: { exclusive: boolean; nodeId: string }, now = new Date()): Promise<void> {
    const { exclusive, nodeId } = options;
    const { connections, channels } = this.#repositories;
    try {
      const closed = exclusive
        ? await connections.markAllOpenDisconnected(nodeId, now)
        : await connections.markStaleDisconnected(new Date(now.getTime() - this.#settings.staleHeartbeatMs), now);
      const corrected = await channels.recomputeSubscribersFromConnections();
      this.#logger.info({ closed, corrected, exclusive }, 'start-up reconcile of connection rows and subscriber counts');
    } catch (error) {
      this.#logger.error({ err: describeStorageError(error) }, 'start-up reconcile failed; the periodic sweep will catch up');
    }
  }

  async #round(now: Date): Promise<void> {
    const { connections, channels, events, refreshTokens } = this.#repositories;
    let staleClosed = 0;
    const jobs: Array<[string, () => Promise<number>]> = [
      ['connections.stale', async () => (staleClosed = await connections.markStaleDisconnected(new Date(now.getTime() - this.#settings.staleHeartbeatMs), now))],
      // A dead node's subscriptions are still in the counts: recompute, only when a sweep found one (not every round).
      ['channels.subscribers', async () => (staleClosed > 0 ? channels.recomputeSubscribersFromConnections() : 0)],
      ['connections.delete', () => connections.deleteDisconnectedBefore(new Date(now.getTime() - this.#settings.connectionRowRetentionMs))],
      ['events.purge', () => events.purgeExpired(now)],
      ['refresh_tokens.delete', () => refreshTokens.deleteExpired(now)],
    ];
    for (const [job, run] of jobs) {
      try {
        const rows = await run();
        if (rows > 0) this.#logger.info({ job, rows }, 'maintenance');
      } catch (error) {
        this.#logger.error({ err: describeStorageError(error), job }, 'maintenance job failed; will retry next round');
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
