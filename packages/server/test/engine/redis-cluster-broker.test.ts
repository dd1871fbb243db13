import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker } from '../../src/engine/redis-broker.js';
import { RedisCluster } from '../cluster/redis-processes.js';
import { describeBrokerContract } from './broker-contract.js';

/** The same contract on a 3-master Redis Cluster this file starts and tears down. */
let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await RedisCluster.start(3);
}, 60_000);
afterAll(() => cluster?.stop());

describeBrokerContract('redis cluster (3 masters)', async () => new RedisBroker({ clusterNodes: cluster.seedList, prefix: 'apixtest' }));

describe('RedisBroker on a cluster', () => {
  it('spreads channels over every master (the contract ran on all three)', async () => {
    const broker = new RedisBroker({ clusterNodes: cluster.seedList, prefix: 'apixspread' });
    await broker.start({ onPublication: () => undefined });
    for (let i = 0; i < 60; i++) await broker.publish(`org/agent:spread-${i}`, 'x', { historySize: 10, historyTtlMs: 60_000 });
    await broker.close();
    const { Redis } = await import('ioredis');
    for (const node of cluster.nodes) {
      const redis = new Redis(node.url);
      expect(await redis.dbsize()).toBeGreaterThan(0);
      await redis.quit();
    }
  });
});
