import { afterAll, beforeAll } from 'vitest';
import { RedisBroker } from '../../src/engine/redis-broker.js';
import { connectRedis, createRedisClient, type RedisClient } from '../../src/engine/redis-connection.js';
import { RedisDurableConsumers } from '../../src/engine/redis-durable-consumers.js';
import { RedisCluster } from '../cluster/redis-processes.js';
import { describeDurableConsumersContract, type DurableFixture } from './durable-consumers-contract.js';

/**
 * The same contract on a 3-master Redis Cluster this file starts and tears down, with the
 * engine's own fail-fast client: every multi-key script and pipeline must stay in one slot.
 */
let cluster: RedisCluster;
const clients: RedisClient[] = [];
beforeAll(async () => {
  cluster = await RedisCluster.start(3);
}, 60_000);
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await cluster?.stop();
});

describeDurableConsumersContract('redis cluster (3 masters)', async (): Promise<DurableFixture> => {
  const broker = new RedisBroker({ clusterNodes: cluster.seedList, prefix: 'apixtest' });
  await broker.start({ onPublication: () => undefined });
  const redis = createRedisClient({ clusterNodes: cluster.seedList }, 'durable-test');
  clients.push(redis);
  await connectRedis(redis);
  const consumers = new RedisDurableConsumers({ redis, broker, prefix: 'apixtest' });
  return {
    consumers,
    append: async (channelKey, data, keepLast = 10_000) =>
      (await broker.publish(channelKey, data, { historySize: keepLast, historyTtlMs: 3_600_000 })).offset,
    removeLog: (channelKey) => broker.removeHistory(channelKey),
    close: async () => {
      await consumers.close();
      await broker.close();
    },
  };
});
