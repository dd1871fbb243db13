import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisDurableConsumers } from '../../src/engine/redis-durable-consumers.js';
import { describeDurableConsumersContract, type DurableFixture } from './durable-consumers-contract.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Every key this run writes starts with this, so cleanup cannot touch anyone else's keys. */
const KEY_PREFIX = `apix-test:durable:${process.pid}-${Date.now()}:`;
const DEFAULT_RETENTION = 10_000;

const clients: Redis[] = [];

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 1_000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
  await Promise.all(clients.map((c) => c.quit()));
});

const fixture = (protocol: 2 | 3) => async (): Promise<DurableFixture> => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, protocol });
  clients.push(redis);
  const consumers = new RedisDurableConsumers({ redis, keyPrefix: KEY_PREFIX });
  const top = new Map<string, number>();
  return {
    consumers,
    // Writes the log as the Redis broker's default layout does: id `<offset>-0`, body in `d`.
    append: async (channelKey, data, keepLast = DEFAULT_RETENTION) => {
      const offset = (top.get(channelKey) ?? 0) + 1;
      top.set(channelKey, offset);
      await redis.call('XADD', consumers.logKey(channelKey), 'MAXLEN', keepLast, `${offset}-0`, 'd', data);
      return offset;
    },
    // The Redis broker loses a log by losing its stream key; offsets restart with the new epoch.
    removeLog: async (channelKey) => {
      await redis.del(consumers.logKey(channelKey));
      top.delete(channelKey);
    },
    close: () => consumers.close(),
  };
};

// ioredis 6 speaks RESP3 by default and flattens map replies; a caller's connection may speak RESP2.
describeDurableConsumersContract('redis (RESP3)', fixture(3));
describeDurableConsumersContract('redis (RESP2)', fixture(2));

describe('RedisDurableConsumers across nodes', () => {
  it('two nodes (two connections) reading one group concurrently hand each entry to exactly one member', { timeout: 20_000 }, async () => {
    const nodes = [new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }), new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })];
    clients.push(...nodes);
    const [one, two] = nodes.map((redis) => new RedisDurableConsumers({ redis, keyPrefix: KEY_PREFIX })) as [RedisDurableConsumers, RedisDurableConsumers];
    const k = `org${process.pid}/agent:nodes-${Date.now()}`;
    const members = [
      { node: one, name: 'n1-a' },
      { node: one, name: 'n1-b' },
      { node: two, name: 'n2-a' },
    ];
    for (const m of members) await m.node.join(k, 'workers', m.name, { start: { kind: 'retained' } });
    const total = 300;
    const writer = nodes[0]!.pipeline();
    for (let offset = 1; offset <= total; offset++) writer.call('XADD', one.logKey(k), `${offset}-0`, 'd', `{"n":${offset}}`);
    await writer.exec();
    const seen = new Map<number, string>();
    const duplicates: number[] = [];
    for (let round = 0; round < 200 && seen.size < total; round++) {
      const outcomes = await Promise.all(members.map((m) => m.node.read(k, 'workers', m.name, { count: 7, from: 'new' })));
      outcomes.forEach((outcome, i) => {
        for (const entry of outcome.entries) {
          if (seen.has(entry.offset)) duplicates.push(entry.offset);
          seen.set(entry.offset, members[i]!.name);
        }
      });
      await Promise.all(outcomes.map((o) => one.ack(k, 'workers', o.entries.map((e) => e.id))));
    }
    expect(duplicates).toEqual([]);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Every member took part: the group shares the work across nodes.
    expect(new Set(seen.values()).size).toBe(3);
    await Promise.all([one.close(), two.close()]);
  });
});

describe('RedisDurableConsumers on a key of the wrong type', () => {
  it('rejects with the Redis error and keeps working for other channels', { timeout: 10_000 }, async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    clients.push(redis);
    const consumers = new RedisDurableConsumers({ redis, keyPrefix: KEY_PREFIX });
    const broken = `org${process.pid}/agent:wrongtype-${Date.now()}`;
    await redis.set(consumers.logKey(broken), 'not a stream');
    await expect(consumers.join(broken, 'g', 'a', { start: { kind: 'retained' } })).rejects.toThrow(/WRONGTYPE/);
    await expect(consumers.read(broken, 'g', 'a', { count: 1, from: 'both' })).rejects.toThrow(/WRONGTYPE/);
    await expect(consumers.claim(broken, 'g', 'a', { count: 1, minIdleMs: 0 })).rejects.toThrow(/WRONGTYPE/);
    const fine = `org${process.pid}/agent:fine-${Date.now()}`;
    await redis.call('XADD', consumers.logKey(fine), '1-0', 'd', '{"ok":true}');
    await consumers.join(fine, 'g', 'a', { start: { kind: 'retained' } });
    expect((await consumers.read(fine, 'g', 'a', { count: 1, from: 'new' })).entries.map((e) => e.data)).toEqual(['{"ok":true}']);
    await consumers.close();
  });
});
