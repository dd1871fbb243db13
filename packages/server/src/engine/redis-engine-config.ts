import type { ApiXConfig } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { parseClusterNodes, type RedisTarget } from './redis-connection.js';
import { RedisBroker } from './redis-broker.js';

/** The Redis target the settings name, or undefined for the embedded engine. */
export function redisTargetOf(config: Pick<ApiXConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>): RedisTarget | undefined {
  if (config.REDIS_CLUSTER_NODES) return { clusterNodes: parseClusterNodes(config.REDIS_CLUSTER_NODES) };
  if (config.REDIS_URL) return { url: config.REDIS_URL };
  return undefined;
}

/** The Redis broker when REDIS_URL or REDIS_CLUSTER_NODES is set; undefined otherwise. */
export function createConfiguredBroker(config: ApiXConfig, logger: Logger): RedisBroker | undefined {
  const target = redisTargetOf(config);
  if (!target) return undefined;
  const log = logger.child({ component: 'redis-broker' });
  return new RedisBroker({
    ...target,
    prefix: config.REDIS_KEY_PREFIX,
    streamIdleTtlMs: Math.max(24 * 3_600_000, config.HISTORY_TTL_MS),
    // Logged, never thrown: ioredis reconnects by itself and callers see UNAVAILABLE meanwhile.
    onError: (error, context) => log.warn({ err: error, context }, 'redis engine error'),
  });
}
