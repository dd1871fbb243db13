import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisPresenceManager } from '../../src/engine/presence-redis.js';
import { deleteKeysWithPrefix, RedisCluster } from '../cluster/redis-processes.js';
import { CONTRACT_PRESENCE_TTL_MS, describePresenceContract } from './presence-contract.js';

const url = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `apixtest-p-${process.pid}-${Date.now()}`;
afterAll(() => deleteKeysWithPrefix(url, prefix));

describePresenceContract('redis (single server)', () => RedisPresenceManager.connect({ url, prefix, memberTtlMs: CONTRACT_PRESENCE_TTL_MS }));

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await RedisCluster.start(3);
}, 60_000);
afterAll(() => cluster?.stop());
describePresenceContract('redis cluster (3 masters)', () =>
  RedisPresenceManager.connect({ clusterNodes: cluster.seedList, prefix: 'apixtest', memberTtlMs: CONTRACT_PRESENCE_TTL_MS }),
);

describe('RedisPresenceManager across nodes', () => {
  it('one node sees the members another node added, and they expire when that node stops refreshing', async () => {
    const nodeA = await RedisPresenceManager.connect({ url, prefix, memberTtlMs: CONTRACT_PRESENCE_TTL_MS });
    const nodeB = await RedisPresenceManager.connect({ url, prefix, memberTtlMs: CONTRACT_PRESENCE_TTL_MS });
    const k = `org/room:nodes-${Date.now()}`;
    await nodeA.add(k, { clientId: 'on-a', userId: 'alice' });
    await nodeB.add(k, { clientId: 'on-b', userId: 'bob' });
    expect((await nodeB.list(k)).map((m) => m.clientId).sort()).toEqual(['on-a', 'on-b']);
    await nodeA.close(); // node A dies without removing its member
    await new Promise((r) => setTimeout(r, CONTRACT_PRESENCE_TTL_MS * 2));
    expect(await nodeB.list(k)).toEqual([]);
    await nodeB.close();
  });
});
