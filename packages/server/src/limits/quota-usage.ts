import { ApiXError, CloseCodes, type ChannelName } from '@apix/protocol';
import type { Connection } from '../realtime/connection.js';
import type { RealtimeObserver } from '../realtime/realtime-observer.js';
import type { HoldingKind, HoldingsLedger } from './cluster-holdings.js';
import type { QuotaSource } from './quotas.js';

/** Gives back a reservation taken by an admission (idempotent). */
export type Release = () => void;

/** How soon a lowered count (a close, an unsubscribe) reaches the cluster ledger: writes are coalesced. */
const FLUSH_DELAY_MS = 50;

export interface QuotaUsageOptions {
  /** Cluster-wide counts (Redis); absent: this node's counts are the whole truth (one node). */
  readonly ledger?: HoldingsLedger;
  /** The ledger's lease: this node renews its counts every third of it. */
  readonly leaseMs?: number;
  /** A ledger call failed (Redis down or slow): logged by the caller; admission went on per node. */
  readonly onLedgerError?: (error: unknown) => void;
}

/**
 * Per-organisation holdings — open connections and subscriptions — checked against the
 * organisation's quotas before a connection is established or a subscribe runs.
 *
 * On this node they are counted from the data plane's own reports (a RealtimeObserver) plus
 * the reservations of admissions in flight, so two concurrent subscribes cannot both take the
 * last unit. With a ledger (Redis, a cluster) the admission also checks the other nodes'
 * counts and records this node's in one atomic step — one round trip per connection or
 * subscribe request, never per message; lowered counts are written coalesced, and renewed
 * under a lease so a dead node's counts expire. When the ledger does not answer within its
 * short timeout the admission fails OPEN to the per-node check (ADR 0033): a Redis outage
 * must not refuse every tenant, and the per-node quota still bounds each node.
 */
export class QuotaUsage implements RealtimeObserver {
  readonly #quotas: QuotaSource;
  readonly #ledger: HoldingsLedger | undefined;
  readonly #onLedgerError: (error: unknown) => void;
  readonly #held: Record<HoldingKind, Map<string, number>> = { connections: new Map(), subscriptions: new Map() };
  /** What the ledger was last told, per `kind\0org`: unchanged counts are not written again. */
  readonly #written = new Map<string, number>();
  readonly #dirty = new Set<string>();
  #flushTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #renewTimer: NodeJS.Timeout | undefined;

  constructor(quotas: QuotaSource, options: QuotaUsageOptions = {}) {
    this.#quotas = quotas;
    this.#ledger = options.ledger;
    this.#onLedgerError = options.onLedgerError ?? (() => undefined);
    if (this.#ledger && options.leaseMs !== undefined) {
      this.#renewTimer = setInterval(() => this.#renew(), Math.max(100, Math.floor(options.leaseMs / 3)));
      this.#renewTimer.unref();
    }
  }

  /** Held on this node (established + being admitted). */
  connectionsOf(organizationId: string): number {
    return this.#held.connections.get(organizationId) ?? 0;
  }

  subscriptionsOf(organizationId: string): number {
    return this.#held.subscriptions.get(organizationId) ?? 0;
  }

  /**
   * Reserves one connection, or throws QUOTA_EXCEEDED when the organisation has no room (on
   * this node, or in the cluster). Call the release once the connection is established (the
   * observer report then holds it) or was given up.
   */
  admitConnection(organizationId: string): Promise<Release> {
    return this.#admit('connections', organizationId, 1, this.#quotas.quotasOf(organizationId).connections);
  }

  /** Reserves `adding` subscriptions for the duration of a subscribe request; same contract. */
  admitSubscriptions(organizationId: string, adding: number): Promise<Release> {
    return this.#admit('subscriptions', organizationId, adding, this.#quotas.quotasOf(organizationId).subscriptions);
  }

  connectionOpened(connection: Connection): void {
    this.#bump('connections', connection.principal!.organizationId, 1);
  }

  connectionClosed(connection: Connection): void {
    this.#bump('connections', connection.principal!.organizationId, -1);
  }

  subscribed(connection: Connection, channels: readonly ChannelName[]): void {
    this.#bump('subscriptions', connection.principal!.organizationId, channels.length);
  }

  unsubscribed(connection: Connection, channels: readonly ChannelName[]): void {
    this.#bump('subscriptions', connection.principal!.organizationId, -channels.length);
  }

  /** Shutdown: stops the timers and takes this node's counts out of the cluster at once (not after the lease). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#renewTimer);
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (!this.#ledger) return;
    const entries = [...this.#written.keys()].map((key) => {
      const [kind, organizationId] = splitKey(key);
      return { kind, organizationId, nodeTotal: 0 };
    });
    this.#written.clear();
    if (entries.length > 0) await this.#ledger.record(entries).catch(this.#onLedgerError);
  }

  async #admit(kind: HoldingKind, organizationId: string, adding: number, limit: number): Promise<Release> {
    // This node alone already over: no need to ask the cluster (and the fallback's answer).
    if (this.#heldOf(kind, organizationId) + adding > limit) throw quotaExceeded(kind, limit);
    this.#bump(kind, organizationId, adding, false);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#bump(kind, organizationId, -adding);
    };
    if (this.#ledger) {
      const total = this.#heldOf(kind, organizationId);
      let admitted: boolean;
      try {
        admitted = await this.#ledger.admit(kind, organizationId, total, limit);
        if (admitted) this.#written.set(entryKey(kind, organizationId), total);
      } catch (error) {
        this.#onLedgerError(error);
        admitted = true;
        // The cluster could not be told: write the count as soon as it answers again.
        this.#markDirty(kind, organizationId);
      }
      if (!admitted) {
        release();
        throw quotaExceeded(kind, limit);
      }
    }
    return release;
  }

  #heldOf(kind: HoldingKind, organizationId: string): number {
    return this.#held[kind].get(organizationId) ?? 0;
  }

  #bump(kind: HoldingKind, organizationId: string, delta: number, report = true): void {
    const counts = this.#held[kind];
    const next = (counts.get(organizationId) ?? 0) + delta;
    if (next <= 0) counts.delete(organizationId);
    else counts.set(organizationId, next);
    if (report) this.#markDirty(kind, organizationId);
  }

  #markDirty(kind: HoldingKind, organizationId: string): void {
    if (!this.#ledger || this.#closed) return;
    this.#dirty.add(entryKey(kind, organizationId));
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flush();
    }, FLUSH_DELAY_MS);
  }

  /** Writes every count that changed since the ledger last heard of it. */
  async #flush(): Promise<void> {
    if (!this.#ledger || this.#dirty.size === 0) return;
    const entries: Array<{ kind: HoldingKind; organizationId: string; nodeTotal: number }> = [];
    for (const key of this.#dirty) {
      const [kind, organizationId] = splitKey(key);
      const nodeTotal = this.#heldOf(kind, organizationId);
      if (this.#written.get(key) === nodeTotal || (nodeTotal === 0 && !this.#written.has(key))) continue;
      entries.push({ kind, organizationId, nodeTotal });
    }
    this.#dirty.clear();
    if (entries.length === 0) return;
    try {
      await this.#ledger.record(entries);
      for (const e of entries) {
        const key = entryKey(e.kind, e.organizationId);
        if (e.nodeTotal === 0) this.#written.delete(key);
        else this.#written.set(key, e.nodeTotal);
      }
    } catch (error) {
      this.#onLedgerError(error);
      // Tried again at the next renewal (every count this node holds is rewritten then).
      for (const e of entries) if (e.nodeTotal === 0) this.#dirty.add(entryKey(e.kind, e.organizationId));
    }
  }

  /** Lease renewal: this node's non-zero counts, one write each — work grows with what it holds. */
  #renew(): void {
    for (const kind of ['connections', 'subscriptions'] as const) {
      for (const organizationId of this.#held[kind].keys()) {
        this.#dirty.add(entryKey(kind, organizationId));
        this.#written.delete(entryKey(kind, organizationId));
      }
    }
    void this.#flush();
  }
}

function entryKey(kind: HoldingKind, organizationId: string): string {
  return `${kind}\u0000${organizationId}`;
}

function splitKey(key: string): [HoldingKind, string] {
  const at = key.indexOf('\u0000');
  return [key.slice(0, at) as HoldingKind, key.slice(at + 1)];
}

export function quotaExceeded(quota: string, limit: number): ApiXError {
  return new ApiXError('QUOTA_EXCEEDED', `the organisation's ${quota} quota (${limit}) is used up`, { quota, limit });
}

/**
 * Gateway hook: admits an authenticated connection, or refuses one its organisation has no
 * room for (error frame, then close 4005 — reconnect later with backoff). Resolves with the
 * reservation's release when admitted, undefined when refused.
 */
export async function admitConnectionOrRefuse(
  connection: Connection,
  organizationId: string,
  usage: QuotaUsage | undefined,
  /** Runs first on a refusal (the `connect` path answers its request with the error). */
  onRefused?: (error: ApiXError) => void,
): Promise<Release | undefined> {
  if (usage === undefined) return () => undefined;
  try {
    return await usage.admitConnection(organizationId);
  } catch (error) {
    onRefused?.(error as ApiXError);
    connection.sendConnectionError(error as ApiXError);
    connection.close(CloseCodes.RATE_LIMITED, 'organisation connection quota used up');
    return undefined;
  }
}
