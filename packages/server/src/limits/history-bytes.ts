import { quotaExceeded } from './quota-usage.js';
import type { QuotaSource } from './quotas.js';

/**
 * What the memory broker reports about the bytes its logs hold (MemoryBrokerOptions.historyBytes).
 * Keys are channel keys (`<organisation>/<channel>`).
 */
export interface HistoryByteLedger {
  /** The log of `channelKey` now holds `delta` more (negative: fewer) bytes. */
  adjust(channelKey: string, delta: number): void;
  /** Bytes by which `channelKey`'s organisation is over its history quota (0: within it). */
  excess(channelKey: string): number;
}

/**
 * History bytes per organisation in the memory engine (issue 7, finding 4: one tenant could
 * grow it by ~100 MiB/s). The broker reports every append and trim; over the quota it drops
 * the oldest publications of the channel being published to (retention by bytes), and
 * `admit` refuses a publish that could not fit even if that channel's whole log were dropped
 * (the rest is held by other channels of the same organisation). Also counts the channels
 * holding history, for the `channels` quota. Entries go when they reach 0: nothing is swept.
 * Sizes are string lengths (UTF-16 units), what the encoded events cost to hold, roughly.
 */
export class OrganizationHistoryBytes implements HistoryByteLedger {
  readonly #quotas: QuotaSource;
  readonly #byStream = new Map<string, number>();
  readonly #byOrganization = new Map<string, { bytes: number; streams: number }>();

  constructor(quotas: QuotaSource) {
    this.#quotas = quotas;
  }

  heldBy(organizationId: string): number {
    return this.#byOrganization.get(organizationId)?.bytes ?? 0;
  }

  channelsOf(organizationId: string): number {
    return this.#byOrganization.get(organizationId)?.streams ?? 0;
  }

  adjust(channelKey: string, delta: number): void {
    if (delta === 0) return;
    const organizationId = organizationOf(channelKey);
    const before = this.#byStream.get(channelKey) ?? 0;
    const after = Math.max(0, before + delta);
    if (after === 0) this.#byStream.delete(channelKey);
    else this.#byStream.set(channelKey, after);
    const organization = this.#byOrganization.get(organizationId) ?? { bytes: 0, streams: 0 };
    organization.bytes += after - before;
    organization.streams += (after > 0 ? 1 : 0) - (before > 0 ? 1 : 0);
    if (organization.bytes <= 0 && organization.streams <= 0) this.#byOrganization.delete(organizationId);
    else this.#byOrganization.set(organizationId, organization);
  }

  excess(channelKey: string): number {
    const organizationId = organizationOf(channelKey);
    return Math.max(0, this.heldBy(organizationId) - this.#quotas.quotasOf(organizationId).historyBytes);
  }

  /**
   * Throws QUOTA_EXCEEDED when a publication of `bytes` to `channelKey` cannot fit: a new
   * channel past the `channels` quota, or more bytes than the quota leaves once this
   * channel's own log is dropped.
   */
  admit(organizationId: string, channelKey: string, bytes: number): void {
    const quotas = this.#quotas.quotasOf(organizationId);
    const own = this.#byStream.get(channelKey) ?? 0;
    if (own === 0 && this.channelsOf(organizationId) >= quotas.channels) throw quotaExceeded('channels', quotas.channels);
    if (this.heldBy(organizationId) - own + bytes > quotas.historyBytes) throw quotaExceeded('historyBytes', quotas.historyBytes);
  }
}

function organizationOf(channelKey: string): string {
  const slash = channelKey.indexOf('/');
  return slash < 0 ? channelKey : channelKey.slice(0, slash);
}
