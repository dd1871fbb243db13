import { Redis } from 'ioredis';
import type { Broker } from '../../src/engine/broker.js';
import type { DurableConsumers } from '../../src/engine/durable-consumers.js';
import { MemoryBroker } from '../../src/engine/memory-broker.js';
import { MemoryDurableConsumers } from '../../src/engine/memory-durable-consumers.js';
import { RedisBroker } from '../../src/engine/redis-broker.js';
import { RedisDurableConsumers } from '../../src/engine/redis-durable-consumers.js';
import type { SessionStore } from '../../src/engine/session-store.js';
import { MemorySessionStore } from '../../src/engine/session-store-memory.js';
import { RedisSessionStore } from '../../src/engine/session-store-redis.js';
import { deleteKeysWithPrefix } from '../cluster/redis-processes.js';

export const TEST_REDIS_URL = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** One engine's broker, durable consumers and session store, as a node wires them. */
export interface DurableEngine {
  readonly broker: Broker;
  readonly durable: DurableConsumers;
  readonly sessions: SessionStore;
  close(): Promise<void>;
}

export interface DurableEngineKind {
  readonly name: 'memory' | 'redis';
  make(): Promise<DurableEngine>;
}

/**
 * The memory and the Redis engine (the machine's Redis, every key under `prefix`), for tests
 * of the delivery layer that run over both (`describe.each(engines)`). Call `cleanup` after
 * the file: it quits the Redis connections the engines made and deletes the prefix's keys.
 */
export function durableEngines(prefix: string): { engines: DurableEngineKind[]; cleanup(): Promise<void> } {
  const redisClients: Redis[] = [];
  const engines: DurableEngineKind[] = [
    {
      name: 'memory',
      make: async () => {
        const broker = new MemoryBroker();
        const durable = new MemoryDurableConsumers(broker);
        const sessions = new MemorySessionStore({ maxPerOrganization: 100 });
        return { broker, durable, sessions, close: async () => (await durable.close(), await sessions.close(), await broker.close()) };
      },
    },
    {
      name: 'redis',
      make: async () => {
        const broker = new RedisBroker({ url: TEST_REDIS_URL, prefix });
        await broker.start({ onPublication: () => undefined });
        const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
        redisClients.push(redis);
        const durable = new RedisDurableConsumers({ redis, broker, prefix });
        const sessions = await RedisSessionStore.connect({ url: TEST_REDIS_URL, prefix });
        return { broker, durable, sessions, close: async () => (await durable.close(), await sessions.close(), await broker.close()) };
      },
    },
  ];
  return {
    engines,
    cleanup: async () => {
      await Promise.all(redisClients.map((c) => c.quit()));
      await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
    },
  };
}
