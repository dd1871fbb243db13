import type { Logger } from '../logging/logger.js';
import type { Repositories } from '../storage/repositories.js';

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

  /** One round of every job; concurrent calls share the round in progress. */
  runOnce(now = new Date()): Promise<void> {
    this.#running ??= this.#round(now).finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #round(now: Date): Promise<void> {
    const { connections, events, refreshTokens } = this.#repositories;
    const jobs: Array<[string, () => Promise<number>]> = [
      ['connections.stale', () => connections.markStaleDisconnected(new Date(now.getTime() - this.#settings.staleHeartbeatMs), now)],
      ['connections.delete', () => connections.deleteDisconnectedBefore(new Date(now.getTime() - this.#settings.connectionRowRetentionMs))],
      ['events.purge', () => events.purgeExpired(now)],
      ['refresh_tokens.delete', () => refreshTokens.deleteExpired(now)],
    ];
    for (const [job, run] of jobs) {
      try {
        const rows = await run();
        if (rows > 0) this.#logger.info({ job, rows }, 'maintenance');
      } catch (error) {
        this.#logger.error({ err: error, job }, 'maintenance job failed; will retry next round');
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
