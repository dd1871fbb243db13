import { LRUCache } from 'lru-cache';
import { monotonicNow } from '../support/monotonic-clock.js';
import type { RedisHoldings } from './cluster-holdings.js';
import { quotaExceeded } from './quota-usage.js';
import type { QuotaSource } from './quotas.js';

export interface ClusterChannelCountOptions {
  /** How long a channel counts after its last publish: the engine's stream idle TTL (the stream lives as long). */
  readonly channelLeaseMs: number;
  /** A channel this node admitted less than this long ago is not asked about again. */
  readonly recheckAfterMs: number;
  /** Channels remembered per node (bounded: the names are the clients' choice). */
  readonly maxRemembered: number;
  readonly onLedgerError?: (error: unknown) => void;
}

/**
 * The `channels` quota on the Redis engine, cluster-wide: an organisation's channels are a
 * sorted set in Redis (channel → lease end, the lease being the stream's idle TTL, renewed on
 * publish), so a channel counts exactly while its stream may still hold history. A publish
 * asks Redis only for a channel this node has not admitted within `recheckAfterMs` — one round
 * trip per new channel per node, not per message. (The lease may thus end up to
 * `recheckAfterMs` before the stream does: a bounded undercount.) When Redis does not answer,
 * the publish is let through (fail open, ADR 0033): the append itself needs Redis and will
 * fail on its own if Redis is really gone.
 */
export class ClusterChannelCount {
  readonly #ledger: RedisHoldings;
  readonly #quotas: QuotaSource;
  readonly #options: ClusterChannelCountOptions;
  /** channel key → when this node last had it admitted (monotonic ms). */
  readonly #admitted: LRUCache<string, number>;

  constructor(ledger: RedisHoldings, quotas: QuotaSource, options: ClusterChannelCountOptions) {
    this.#ledger = ledger;
    this.#quotas = quotas;
    this.#options = options;
    this.#admitted = new LRUCache({ max: options.maxRemembered });
  }

  /** Throws QUOTA_EXCEEDED when `channelKey` would be a channel past the organisation's quota. */
  async admit(organizationId: string, channelKey: string): Promise<void> {
    const at = this.#admitted.get(channelKey);
    if (at !== undefined && monotonicNow() - at < this.#options.recheckAfterMs) return;
    const limit = this.#quotas.quotasOf(organizationId).channels;
    let admitted: boolean;
    try {
      admitted = await this.#ledger.admitChannel(organizationId, channelKey, limit, this.#options.channelLeaseMs);
    } catch (error) {
      this.#options.onLedgerError?.(error);
      return;
    }
    if (!admitted) throw quotaExceeded('channels', limit);
    this.#admitted.set(channelKey, monotonicNow());
  }
}
