import type { ApiXConfig } from '../config/config.js';
import type { Logger } from '../logging/logger.js';
import { LocalControlBus, type ControlBus } from './control-bus.js';
import { NODE_TTL_MS } from './node-registry.js';
import type { PresenceCloser, PresenceManager } from './presence.js';
import { MemoryPresenceManager } from './presence-memory.js';
import { RedisPresenceManager } from './presence-redis.js';
import { connectRedis, createRedisClient, parseClusterNodes, type RedisTarget } from './redis-connection.js';
import type { Broker } from './broker.js';
import type { DurableConsumers } from './durable-consumers.js';
import { MemoryDurableConsumers } from './memory-durable-consumers.js';
import { RedisDurableConsumers } from './redis-durable-consumers.js';
import { RedisBroker } from './redis-broker.js';
import { RedisControlBus } from './redis-control-bus.js';
import type { SessionStore } from './session-store.js';
import { MemorySessionStore } from './session-store-memory.js';
import { RedisSessionStore } from './session-store-redis.js';

/** The Redis target the settings name, or undefined for the embedded engine. */
export function redisTargetOf(config: Pick<ApiXConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>): RedisTarget | undefined {
  if (config.REDIS_CLUSTER_NODES) return { clusterNodes: parseClusterNodes(config.REDIS_CLUSTER_NODES) };
  if (config.REDIS_URL) return { url: config.REDIS_URL };
  return undefined;
}

/** A channel's stream expires this long after its last publish (it never outlives its history TTL's need). */
export function streamIdleTtlMsOf(config: Pick<ApiXConfig, 'HISTORY_TTL_MS' | 'INBOX_HISTORY_TTL_MS'>): number {
  // Inboxes keep events for users who are away for days: their streams must outlive that.
  return Math.max(24 * 3_600_000, config.HISTORY_TTL_MS, config.INBOX_HISTORY_TTL_MS);
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

/**
 * Store of the nodes' monitoring snapshots (ADR 0022): Redis, beside the node registry, with
 * entries living `ttlMs`; undefined on the embedded engine, where this node is the cluster.
 */
export async function createMonitoringSnapshotStore(config: ApiXConfig, ttlMs: number): Promise<(PresenceManager & PresenceCloser) | undefined> {
  const target = redisTargetOf(config);
  if (!target) return undefined;
  return RedisPresenceManager.connect({ ...target, prefix: `${config.REDIS_KEY_PREFIX}:sys`, memberTtlMs: ttlMs });
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

/**
 * The durable-consumer engine (ADR 0035/0036): consumer groups on the Redis broker's own
 * streams when clustered (its own fail-fast connection, closed by `close`), the memory engine
 * on the node's broker otherwise.
 */
export async function createDurableConsumers(
  config: ApiXConfig,
  broker: Broker,
  readyTimeoutMs = 5_000,
): Promise<{ durable: DurableConsumers; close: () => Promise<void> }> {
  const target = redisTargetOf(config);
  if (!target) {
    const durable = new MemoryDurableConsumers(broker);
    return { durable, close: () => durable.close() };
  }
  const redis = createRedisClient(target, 'apix-durable-consumers', { autoPipelining: true });
  // Never fatal, and waited for at most `readyTimeoutMs`: start-up must not hang on a Redis that
  // is down (the client reconnects by itself; meanwhile acknowledged subscribes fail with a
  // retryable error), but a healthy one is ready before the first subscriber arrives.
  redis.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    connectRedis(redis).catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, readyTimeoutMs);
    }),
  ]);
  clearTimeout(timer);
  const durable = new RedisDurableConsumers({ redis, broker, prefix: config.REDIS_KEY_PREFIX });
  return {
    durable,
    close: async () => {
      await durable.close();
      redis.disconnect();
    },
  };
}

/** Resumable sessions' state (ADR 0040): Redis (any node may resume a session) or this process. */
export async function createSessionStore(config: ApiXConfig): Promise<SessionStore> {
  const target = redisTargetOf(config);
  if (!target) return new MemorySessionStore({ maxPerOrganization: config.SESSION_MAX_PER_ORGANIZATION });
  return RedisSessionStore.connect({ ...target, prefix: config.REDIS_KEY_PREFIX });
}
