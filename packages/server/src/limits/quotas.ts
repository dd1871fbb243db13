/**
 * What one organisation may hold and do (issue 7: one tenant cannot hurt another). Defaults
 * come from configuration; an organisation may have overrides stored in the database
 * (`organization_quotas`), read into memory at start and on change: the per-message path
 * reads `quotasOf` synchronously and never waits on storage.
 */
export interface OrganizationQuotas {
  /** Bytes of event history the memory engine keeps for the organisation (all channels). */
  readonly historyBytes: number;
  /** Channels holding history: in the memory engine, or (Redis engine) published to within the stream idle TTL, cluster-wide. */
  readonly channels: number;
  /** Open WebSocket connections, across the cluster when Redis is configured (ADR 0033). */
  readonly connections: number;
  /** Channel subscriptions over all its connections, across the cluster when Redis is configured. */
  readonly subscriptions: number;
  /** Publishes per second (WebSocket and HTTP together), across the cluster. */
  readonly publishesPerSecond: number;
  /** Bytes of encoded events published per second, across the cluster. */
  readonly publishBytesPerSecond: number;
}

export type QuotaName = keyof OrganizationQuotas;
export const QUOTA_NAMES: readonly QuotaName[] = ['historyBytes', 'channels', 'connections', 'subscriptions', 'publishesPerSecond', 'publishBytesPerSecond'];

/** Reads an organisation's effective quotas; synchronous, from memory. */
export interface QuotaSource {
  quotasOf(organizationId: string): OrganizationQuotas;
}

/** The same quotas for everyone (no overrides): tests and embedding. */
export class FixedQuotas implements QuotaSource {
  readonly #quotas: OrganizationQuotas;

  constructor(quotas: OrganizationQuotas) {
    this.#quotas = quotas;
  }

  quotasOf(): OrganizationQuotas {
    return this.#quotas;
  }
}
