import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisBroker } from '../../src/engine/redis-broker.js';
import { DurableGroupMissingError } from '../../src/engine/durable-consumers.js';
import { RedisDurableConsumers } from '../../src/engine/redis-durable-consumers.js';
import { deleteKeysWithPrefix } from '../cluster/redis-processes.js';
import { describeDurableConsumersContract, type DurableFixture } from './durable-consumers-contract.js';

const REDIS_URL = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Every key this run writes starts with this, so cleanup cannot touch anyone else's keys. */
const PREFIX = `apixtest-durable-${process.pid}-${Date.now()}`;
const DEFAULT_RETENTION = 10_000;

const clients: Redis[] = [];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await deleteKeysWithPrefix(REDIS_URL, PREFIX);
});

/** The real Redis broker writes the log; the durable consumers read it with their own connection. */
const fixture = (protocol: 2 | 3) => async (): Promise<DurableFixture> => {
  const broker = new RedisBroker({ url: REDIS_URL, prefix: PREFIX });
  await broker.start({ onPublication: () => undefined });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, protocol });
  clients.push(redis);
  const consumers = new RedisDurableConsumers({ redis, broker, prefix: PREFIX });
  return {
    consumers,
    append: async (channelKey, data, keepLast = DEFAULT_RETENTION) =>
      (await broker.publish(channelKey, data, { historySize: keepLast, historyTtlMs: 3_600_000 })).offset,
    removeLog: (channelKey) => broker.removeHistory(channelKey),
    close: async () => {
      await consumers.close();
      await broker.close();
    },
  };
};

// ioredis 6 speaks RESP3 by default and flattens map replies; a caller's connection may speak RESP2.
describeDurableConsumersContract('redis (RESP3)', fixture(3));
describeDurableConsumersContract('redis (RESP2)', fixture(2));

describe('RedisDurableConsumers across nodes', () => {
  it('two nodes (two connections) reading one group concurrently hand each entry to exactly one member', { timeout: 20_000 }, async () => {
    const nodes = [new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }), new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })];
    clients.push(...nodes);
    const broker = new RedisBroker({ url: REDIS_URL, prefix: PREFIX });
    await broker.start({ onPublication: () => undefined });
    const [one, two] = nodes.map((redis) => new RedisDurableConsumers({ redis, broker, prefix: PREFIX })) as [RedisDurableConsumers, RedisDurableConsumers];
    const k = `org${process.pid}/agent:nodes-${Date.now()}`;
    const members = [
      { node: one, name: 'n1-a' },
      { node: one, name: 'n1-b' },
      { node: two, name: 'n2-a' },
    ];
    for (const m of members) await m.node.join(k, 'workers', m.name, { start: { kind: 'retained' } });
    const total = 300;
    for (let i = 1; i <= total; i++) await broker.publish(k, `{"n":${i}}`, { historySize: 10_000, historyTtlMs: 3_600_000 });
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
    await Promise.all([one.close(), two.close(), broker.close()]);
  });
});

describe('RedisDurableConsumers on a key of the wrong type', () => {
  it('rejects with the Redis error and keeps working for other channels', { timeout: 10_000 }, async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    clients.push(redis);
    const consumers = new RedisDurableConsumers({ redis, prefix: PREFIX });
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

describe('RedisDurableConsumers batching the reads of one tick', () => {
  it('sends one script call per channel for reads issued together, each answered on its own: a missing group fails only its own read', { timeout: 20_000 }, async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const monitor = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    clients.push(redis, monitor);
    const broker = new RedisBroker({ url: REDIS_URL, prefix: PREFIX });
    await broker.start({ onPublication: () => undefined });
    const consumers = new RedisDurableConsumers({ redis, broker, prefix: PREFIX });
    const k = `org${process.pid}/agent:batch-${Date.now()}`;
    const groups = ['a:s1', 'a:s2', 'a:s3'];
    for (const group of groups) await consumers.join(k, group, group.slice(2), { start: { kind: 'new' } });
    for (let i = 1; i <= 3; i++) await broker.publish(k, `{"n":${i}}`, { historySize: 100, historyTtlMs: 3_600_000 });
    const calls: string[] = [];
    const stream = await monitor.monitor();
    stream.on('monitor', (_time: string, args: string[], source: string) => {
      // Commands a script runs show as coming from "lua": only what the client sent counts.
      if (source.includes('lua')) return;
      if (/^(evalsha|eval|xreadgroup)$/i.test(args[0] ?? '') && args.some((a) => a.includes('batch-'))) calls.push(args[0]!.toLowerCase());
    });
    await new Promise((r) => setTimeout(r, 50));
    const reads = [
      ...groups.map((group) => consumers.read(k, group, group.slice(2), { count: 10, from: 'new' })),
      consumers.read(k, 'a:never-joined', 'x', { count: 10, from: 'new' }),
    ];
    const outcomes = await Promise.allSettled(reads);
    await new Promise((r) => setTimeout(r, 100));
    stream.disconnect();
    for (const outcome of outcomes.slice(0, 3)) {
      expect(outcome.status).toBe('fulfilled');
      const value = (outcome as PromiseFulfilledResult<Awaited<(typeof reads)[0]>>).value;
      expect(value.entries.map((e) => [e.offset, e.data, e.deliveryCount])).toEqual([
        [1, '{"n":1}', 1],
        [2, '{"n":2}', 1],
        [3, '{"n":3}', 1],
      ]);
    }
    expect(outcomes[3]!.status).toBe('rejected');
    expect((outcomes[3] as PromiseRejectedResult).reason).toBeInstanceOf(DurableGroupMissingError);
    // Four reads, one call (the first EVALSHA may be followed by an EVAL when Redis lacks the script).
    expect(calls.filter((c) => c === 'evalsha')).toHaveLength(1);
    expect(calls.filter((c) => c === 'xreadgroup')).toHaveLength(0);
    await consumers.close();
    await broker.close();
  });
});
