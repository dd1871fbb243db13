import type { ApiXConfig } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { LocalControlBus, type ControlBus } from './control-bus.js';
import { NODE_TTL_MS } from './node-registry.js';
import type { PresenceCloser, PresenceManager } from './presence.js';
import { MemoryPresenceManager } from './presence-memory.js';
import { RedisPresenceManager } from './presence-redis.js';
import { parseClusterNodes, type RedisTarget } from './redis-connection.js';
import { RedisBroker } from './redis-broker.js';
import { RedisControlBus } from './redis-control-bus.js';

/** The Redis target the settings name, or undefined for the embedded engine. */
export function redisTargetOf(config: Pick<ApiXConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>): RedisTarget | undefined {
  if (config.REDIS_CLUSTER_NODES) return { clusterNodes: parseClusterNodes(config.REDIS_CLUSTER_NODES) };
  if (config.REDIS_URL) return { url: config.REDIS_URL };
  return undefined;
}

/** A channel's stream expires this long after its last publish (it never outlives its history TTL's need). */
export function streamIdleTtlMsOf(config: Pick<ApiXConfig, 'HISTORY_TTL_MS'>): number {
  return Math.max(24 * 3_600_000, config.HISTORY_TTL_MS);
}

/** The Redis broker when REDIS_URL or REDIS_CLUSTER_NODES is set; undefined otherwise. */
export function createConfiguredBroker(config: ApiXConfig, logger: Logger): RedisBroker | undefined {
  const target = redisTargetOf(config);
  if (!target) return undefined;
  const log = logger.child({ component: 'redis-broker' });
  return new RedisBroker({
    ...target,
    prefix: config.REDIS_KEY_PREFIX,
    streamIdleTtlMs: streamIdleTtlMsOf(config),
    // Logged, never thrown: ioredis reconnects by itself and callers see UNAVAILABLE meanwhile.
    onError: (error, context) => log.warn({ err: error, context }, 'redis engine error'),
  });
}

/** Store of the node registry: Redis (shared by the cluster) or this process. Its keys sit outside every channel's. */
export async function createNodeRegistryStore(config: ApiXConfig): Promise<PresenceManager & PresenceCloser> {
  const target = redisTargetOf(config);
  if (!target) return new MemoryPresenceManager({ memberTtlMs: NODE_TTL_MS });
  return RedisPresenceManager.connect({ ...target, prefix: `${config.REDIS_KEY_PREFIX}:sys`, memberTtlMs: NODE_TTL_MS });
}

/** Presence of channel members: Redis (cluster-wide) or this process. */
export async function createPresenceManager(config: ApiXConfig, memberTtlMs: number): Promise<PresenceManager & PresenceCloser> {
  const target = redisTargetOf(config);
  if (!target) return new MemoryPresenceManager({ memberTtlMs });
  return RedisPresenceManager.connect({ ...target, prefix: config.REDIS_KEY_PREFIX, memberTtlMs });
}

/** The control channel: Redis Pub/Sub in a cluster, in-process otherwise (the caller starts it). */
export function createControlBus(config: ApiXConfig, nodeId: string, logger: Logger): ControlBus {
  const target = redisTargetOf(config);
  if (!target) return new LocalControlBus();
  const log = logger.child({ component: 'control-bus' });
  return new RedisControlBus({ ...target, nodeId, prefix: config.REDIS_KEY_PREFIX, onError: (error, context) => log.warn({ err: error, context }, 'control bus error') });
}
