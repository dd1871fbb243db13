import type { PresenceCloser, PresenceManager } from '../engine/presence.js';
import type { Logger } from '../logging/logger.js';
import { monotonicNow } from '../support/monotonic-clock.js';
import { decodeSnapshot, encodeSnapshot, type ScopeSnapshot } from './scope-snapshot.js';

/** How long a node's snapshot outlives its last renewal (renewed every sampler tick, once a second). */
export const SNAPSHOT_TTL_MS = 5_000;
/** Seconds of timeline a node ships per scope: the cluster charts show the last minute. */
export const SNAPSHOT_TIMELINE_SECONDS = 60;
/** Reading the other nodes' snapshots may take this long before the dashboard answers with this node's alone. */
const READ_TIMEOUT_MS = 1_000;

/** The store key of a scope's snapshots (one entry per node): the platform, or one organisation label. */
export function snapshotKey(label: string | null): string {
  return label === null ? 'monitoring' : `monitoring/${label}`;
}

/**
 * Every node's monitoring snapshots in a store the cluster shares (Redis, entries with a TTL
 * like the node registry's, ADR 0017): each node renews its entry of every scope it has
 * figures for once a second; `/api/v1/monitoring/dashboard` reads one scope's entries and
 * merges them (ADR 0022). A node that dies drops out within SNAPSHOT_TTL_MS.
 *
 * Work per node per second: one small write per scope it has (the platform and at most
 * MONITORING_MAX_ORGANIZATIONS + 1 organisation labels). Never on the data plane: the sampler
 * tick builds and sends them, and skips a tick while the previous one is still being written.
 */
export class ClusterSnapshots {
  readonly #store: PresenceManager & PresenceCloser;
  readonly #nodeId: string;
  readonly #logger: Logger;
  readonly #written = new Set<string>();
  #inFlight = false;
  #closed = false;
  #lastFailureLoggedAt = -Infinity;

  constructor(store: PresenceManager & PresenceCloser, nodeId: string, logger: Logger) {
    this.#store = store;
    this.#nodeId = nodeId;
    this.#logger = logger;
  }

  /** Writes this node's snapshot of each scope (label null: the platform). */
  publish(snapshots: ReadonlyArray<readonly [label: string | null, snapshot: ScopeSnapshot]>): void {
    if (this.#inFlight || this.#closed) return;
    this.#inFlight = true;
    const writes = snapshots.map(([label, snapshot]) => {
      const key = snapshotKey(label);
      this.#written.add(key);
      const info = encodeSnapshot(snapshot, SNAPSHOT_TIMELINE_SECONDS) as unknown as Record<string, unknown>;
      return this.#store.add(key, { clientId: this.#nodeId, userId: this.#nodeId, info });
    });
    void Promise.all(writes)
      .catch((error: unknown) => {
        // Once a minute at most: a Redis outage must not flood the log at one line per second.
        if (monotonicNow() - this.#lastFailureLoggedAt < 60_000) return;
        this.#lastFailureLoggedAt = monotonicNow();
        this.#logger.warn({ err: error }, 'monitoring snapshot not shared: other nodes show this one as missing');
      })
      .finally(() => {
        this.#inFlight = false;
      });
  }

  /** The other nodes' snapshots of a scope; `partial` when the store did not answer. */
  async others(label: string | null): Promise<{ snapshots: ScopeSnapshot[]; partial: boolean }> {
    try {
      const members = await withTimeout(this.#store.list(snapshotKey(label)), READ_TIMEOUT_MS);
      const snapshots = members.filter((m) => m.clientId !== this.#nodeId).flatMap((m) => decodeSnapshot(m.info) ?? []);
      return { snapshots, partial: false };
    } catch {
      return { snapshots: [], partial: true };
    }
  }

  /** Leaves every scope at once (a graceful shutdown: the cluster's figures drop this node now, not after the TTL). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#written].map((key) => this.#store.remove(key, this.#nodeId).catch(() => undefined)));
    await this.#store.close();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
