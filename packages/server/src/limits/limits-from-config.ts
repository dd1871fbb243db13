import type { ApiXConfig } from '../config/config.js';
import { MemoryRateLimiterStore } from './memory-rate-limiter-store.js';
import type { OrganizationQuotas } from './quotas.js';
import type { RateLimiterStore } from './rate-limiter.js';
import type { RateLimitSettings } from './rate-limits.js';
import { RedisRateLimiterStore } from './redis-rate-limiter-store.js';

/** Redis when `REDIS_URL` is set (limits hold across the cluster), this process's memory otherwise. */
export function rateLimiterStoreFor(config: Pick<ApiXConfig, 'REDIS_URL' | 'RATE_LIMIT_REDIS_PREFIX'>): RateLimiterStore {
  return config.REDIS_URL ? new RedisRateLimiterStore({ url: config.REDIS_URL, keyPrefix: config.RATE_LIMIT_REDIS_PREFIX }) : new MemoryRateLimiterStore();
}

export function rateLimitSettingsFrom(config: ApiXConfig): RateLimitSettings {
  return {
    httpPerCredentialPerSecond: config.HTTP_RATE_LIMIT_PER_CREDENTIAL,
    httpPerOrganizationPerSecond: config.HTTP_RATE_LIMIT_PER_ORGANIZATION,
    authPerIpPerMinute: config.AUTH_RATE_LIMIT_PER_IP,
    authPerAccountPerMinute: config.AUTH_RATE_LIMIT_PER_ACCOUNT,
    channelPublishesPerSecond: config.CHANNEL_PUBLISH_RATE_LIMIT,
  };
}

export function defaultQuotasFrom(config: ApiXConfig): OrganizationQuotas {
  return {
    historyBytes: config.QUOTA_HISTORY_BYTES,
    channels: config.QUOTA_CHANNELS,
    connections: config.QUOTA_CONNECTIONS,
    subscriptions: config.QUOTA_SUBSCRIPTIONS,
    publishesPerSecond: config.QUOTA_PUBLISHES_PER_SECOND,
    publishBytesPerSecond: config.QUOTA_PUBLISH_BYTES_PER_SECOND,
  };
}
