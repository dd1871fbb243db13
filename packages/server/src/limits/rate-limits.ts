import { createHash } from 'node:crypto';
import { ApiXError } from '@apix/protocol';
import type { Principal } from '../identity/principal.js';
import type { ClusterChannelCount } from './cluster-channels.js';
import type { OrganizationHistoryBytes } from './history-bytes.js';
import type { QuotaSource } from './quotas.js';
import type { RateLimitDecision, RateLimiterStore } from './rate-limiter.js';

export interface RateLimitSettings {
  /** HTTP API requests per second per credential (user token or API key); 0: no limit. */
  readonly httpPerCredentialPerSecond: number;
  /** HTTP API requests per second per organisation; 0: no limit. */
  readonly httpPerOrganizationPerSecond: number;
  /** Login/register/refresh attempts per minute per client IP; 0: no limit. */
  readonly authPerIpPerMinute: number;
  /** Login/register attempts per minute per account (email), known or not; 0: no limit. */
  readonly authPerAccountPerMinute: number;
  /** Publishes per second per channel, across the cluster; 0: no limit. */
  readonly channelPublishesPerSecond: number;
}

const SECOND = 1;
const MINUTE = 60;

/**
 * The rate limits of the HTTP API, the auth routes and publishing, over one RateLimiterStore
 * (memory, or Redis when clustered). Each `admit…` resolves when the request may go on and
 * throws `APIX_ERR_RATE_LIMITED` (retryable, `details.retryAfterMs`, `details.limit` naming
 * the limit) when it may not; the HTTP layer turns `retryAfterMs` into `Retry-After`.
 */
export class RateLimits {
  readonly #store: RateLimiterStore;
  readonly #settings: RateLimitSettings;
  readonly #quotas: QuotaSource;

  readonly #history: OrganizationHistoryBytes | undefined;
  readonly #channels: ClusterChannelCount | undefined;

  /**
   * `history`: the memory engine's byte ledger (history bytes and channels), when the memory
   * engine is in use; `channels`: the cluster-wide channel count, when the Redis engine is.
   */
  constructor(store: RateLimiterStore, settings: RateLimitSettings, quotas: QuotaSource, history?: OrganizationHistoryBytes, channels?: ClusterChannelCount) {
    this.#store = store;
    this.#settings = settings;
    this.#quotas = quotas;
    this.#history = history;
    this.#channels = channels;
  }

  get store(): RateLimiterStore {
    return this.#store;
  }

  /** One HTTP API request by a verified credential: per credential, then per organisation. */
  async admitHttp(principal: Principal): Promise<void> {
    const { httpPerCredentialPerSecond: perCredential, httpPerOrganizationPerSecond: perOrganization } = this.#settings;
    if (perCredential > 0) {
      const credential = `${principal.organizationId}:${principal.kind}:${principal.credentialId ?? principal.userId}`;
      refuseUnless(await this.#store.limiter('http-credential', { points: perCredential, durationSeconds: SECOND }).consume(credential), 'http.credential');
    }
    if (perOrganization > 0) {
      refuseUnless(await this.#store.limiter('http-organization', { points: perOrganization, durationSeconds: SECOND }).consume(principal.organizationId), 'http.organization');
    }
  }

  /**
   * One attempt at a credential-issuing auth route. Counted per IP and per account *name*
   * (the email as typed, hashed), before anything is looked up: an unknown account is
   * limited exactly like a known one, so the answer and its timing reveal nothing.
   */
  async admitAuth(ip: string, account?: string): Promise<void> {
    const { authPerIpPerMinute: perIp, authPerAccountPerMinute: perAccount } = this.#settings;
    if (perIp > 0) refuseUnless(await this.#store.limiter('auth-ip', { points: perIp, durationSeconds: MINUTE }).consume(ip), 'auth.ip');
    if (perAccount > 0 && account !== undefined) {
      const hashed = createHash('sha256').update(account.trim().toLowerCase()).digest('base64url').slice(0, 22);
      refuseUnless(await this.#store.limiter('auth-account', { points: perAccount, durationSeconds: MINUTE }).consume(hashed), 'auth.account');
    }
  }

  /**
   * One publish of `bytes` encoded bytes: the organisation's publishes/s and bytes/s (its
   * quotas, overrides included) and the channel's publishes/s. Checked before the append.
   */
  async admitPublish(organizationId: string, channelKey: string, bytes: number): Promise<void> {
    this.#history?.admit(organizationId, channelKey, bytes);
    const quotas = this.#quotas.quotasOf(organizationId);
    const checks: Array<Promise<[RateLimitDecision, string]>> = [
      tag(this.#store.limiter('org-publishes', { points: quotas.publishesPerSecond, durationSeconds: SECOND }).consume(organizationId), 'organization.publishesPerSecond'),
      tag(this.#store.limiter('org-publish-bytes', { points: quotas.publishBytesPerSecond, durationSeconds: SECOND }).consume(organizationId, bytes), 'organization.publishBytesPerSecond'),
    ];
    if (this.#settings.channelPublishesPerSecond > 0) {
      checks.push(tag(this.#store.limiter('channel-publishes', { points: this.#settings.channelPublishesPerSecond, durationSeconds: SECOND }).consume(channelKey), 'channel.publishesPerSecond'));
    }
    // Awaited together: a channel refusal must never be a rejection nobody is awaiting yet.
    const [decisions] = await Promise.all([Promise.all(checks), this.#channels?.admit(organizationId, channelKey)]);
    for (const [decision, limit] of decisions) refuseUnless(decision, limit);
  }
}

async function tag(decision: Promise<RateLimitDecision>, limit: string): Promise<[RateLimitDecision, string]> {
  return [await decision, limit];
}

function refuseUnless(decision: RateLimitDecision, limit: string): void {
  if (!decision.allowed) throw new ApiXError('RATE_LIMITED', `rate limit ${limit} exceeded; retry later`, { retryAfterMs: decision.retryAfterMs, limit });
}
