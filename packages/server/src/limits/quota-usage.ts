import { ApiXError, CloseCodes, type ChannelName } from '@apix/protocol';
import type { Connection } from '../realtime/connection.js';
import type { RealtimeObserver } from '../realtime/realtime-observer.js';
import type { QuotaSource } from './quotas.js';

/**
 * Per-organisation usage on this node — open connections and subscriptions — counted from the
 * data plane's own reports (it is a RealtimeObserver: no change to the managers), checked
 * against the organisation's quotas before a connection is established or a subscribe runs.
 * Counts change with events, never by sweeping; an organisation's entry goes when it reaches 0.
 */
export class QuotaUsage implements RealtimeObserver {
  readonly #quotas: QuotaSource;
  readonly #connections = new Map<string, number>();
  readonly #subscriptions = new Map<string, number>();

  constructor(quotas: QuotaSource) {
    this.#quotas = quotas;
  }

  connectionsOf(organizationId: string): number {
    return this.#connections.get(organizationId) ?? 0;
  }

  subscriptionsOf(organizationId: string): number {
    return this.#subscriptions.get(organizationId) ?? 0;
  }

  /** Throws QUOTA_EXCEEDED when the organisation already has as many connections as its quota allows here. */
  admitConnection(organizationId: string): void {
    const limit = this.#quotas.quotasOf(organizationId).connections;
    if (this.connectionsOf(organizationId) >= limit) throw quotaExceeded('connections', limit);
  }

  /** Throws QUOTA_EXCEEDED when `adding` more subscriptions would pass the organisation's quota here. */
  admitSubscriptions(organizationId: string, adding: number): void {
    const limit = this.#quotas.quotasOf(organizationId).subscriptions;
    if (this.subscriptionsOf(organizationId) + adding > limit) throw quotaExceeded('subscriptions', limit);
  }

  connectionOpened(connection: Connection): void {
    bump(this.#connections, connection.principal!.organizationId, 1);
  }

  connectionClosed(connection: Connection): void {
    bump(this.#connections, connection.principal!.organizationId, -1);
  }

  subscribed(connection: Connection, channels: readonly ChannelName[]): void {
    bump(this.#subscriptions, connection.principal!.organizationId, channels.length);
  }

  unsubscribed(connection: Connection, channels: readonly ChannelName[]): void {
    bump(this.#subscriptions, connection.principal!.organizationId, -channels.length);
  }
}

export function quotaExceeded(quota: string, limit: number): ApiXError {
  return new ApiXError('QUOTA_EXCEEDED', `the organisation's ${quota} quota (${limit}) is used up`, { quota, limit });
}

function bump(counts: Map<string, number>, organizationId: string, delta: number): void {
  const next = (counts.get(organizationId) ?? 0) + delta;
  if (next <= 0) counts.delete(organizationId);
  else counts.set(organizationId, next);
}

/**
 * Gateway hook: refuses an authenticated connection its organisation has no room for (error
 * frame, then close 4005 — reconnect later with backoff). True when refused.
 */
export function refuseConnectionOverQuota(
  connection: Connection,
  organizationId: string,
  usage: QuotaUsage | undefined,
  /** Runs first on a refusal (the `connect` path answers its request with the error). */
  onRefused?: (error: ApiXError) => void,
): boolean {
  if (usage === undefined) return false;
  try {
    usage.admitConnection(organizationId);
    return false;
  } catch (error) {
    onRefused?.(error as ApiXError);
    connection.sendConnectionError(error as ApiXError);
    connection.close(CloseCodes.RATE_LIMITED, 'organisation connection quota used up');
    return true;
  }
}
