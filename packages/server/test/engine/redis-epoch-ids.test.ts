import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBroker } from '../../src/engine/redis-broker.js';
import { RedisDurableConsumers } from '../../src/engine/redis-durable-consumers.js';
import { deleteKeysWithPrefix } from '../cluster/redis-processes.js';

/**
 * Redis log entry ids are `<offset>-<append ms>`, and a lost log restarts offsets at 1. With
 * the append time alone telling the epochs apart, a log that came back within the same
 * millisecond gave its first entry the old first entry's id, so an ack or dead letter of an id
 * handed out before the loss took an entry of the new log (the durable-consumers equivalence
 * property found it under load). Here the append, the loss and the new append are issued
 * back to back on one link, so Redis runs them within the same millisecond most of the time.
 */
const REDIS_URL = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `apixtest-epoch-ids-${process.pid}`;
const OPTIONS = { historySize: 10, historyTtlMs: 3_600_000 };

let redis: Redis;
let broker: RedisBroker;
let consumers: RedisDurableConsumers;
beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  broker = new RedisBroker({ url: REDIS_URL, prefix: PREFIX });
  await broker.start({ onPublication: () => undefined });
  consumers = new RedisDurableConsumers({ redis, broker, prefix: PREFIX });
});
afterAll(async () => {
  await consumers?.close();
  await broker?.close();
  await redis?.quit();
  await deleteKeysWithPrefix(REDIS_URL, PREFIX);
});

describe('Redis log ids across epochs', () => {
  it('an id of the lost log never names the new log\'s entry at the same offset, even within one millisecond', async () => {
    let sameMillisecond = 0;
    for (let round = 0; round < 30; round++) {
      const key = `o/agent:epochs-${round}`;
      await broker.history(key, { limit: 0 });
      // Issued together: one write on the broker's link, run back to back by Redis.
      const [old, , fresh] = await Promise.all([
        broker.publish(key, '{"epoch":1}', OPTIONS),
        broker.removeHistory(key),
        broker.publish(key, '{"epoch":2}', OPTIONS),
      ]);
      expect(fresh.offset).toBe(old.offset);
      expect(fresh.epoch).not.toBe(old.epoch);
      if (Math.abs(fresh.publishedAt! - old.publishedAt!) <= 1) sameMillisecond++;
      const oldId = `${old.offset}-${old.publishedAt}`;
      await consumers.join(key, 'g', 'a', { start: { kind: 'retained' } });
      const [entry] = (await consumers.read(key, 'g', 'a', { count: 1, from: 'new' })).entries;
      expect(entry!.data).toBe('{"epoch":2}');
      expect(entry!.id).not.toBe(oldId);
      expect(await consumers.deadLetter(key, 'g', oldId, 'an id of the lost log')).toBe('not-pending');
      expect(await consumers.ack(key, 'g', [oldId])).toBe(0);
    }
    // The case above only means something if some rounds really came back within a millisecond
    // (the new epoch appends one millisecond after the old one when they share one).
    expect(sameMillisecond).toBeGreaterThan(0);
  });
});
