import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedisRateLimiterStore } from '../../src/limits/redis-rate-limiter-store.js';
import { rateLimiterStoreContract } from './rate-limiter-contract.js';

/** The machine's Redis; every run uses its own key prefix, so runs never see each other's counters. */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const runPrefix = `apix-test:rl:${randomUUID()}`;

async function openStore(): Promise<RedisRateLimiterStore> {
  const store = new RedisRateLimiterStore({ url: REDIS_URL, keyPrefix: runPrefix });
  await store.ready();
  return store;
}

rateLimiterStoreContract('redis', openStore);

describe('RedisRateLimiterStore across nodes', () => {
  it('two nodes (two connections) share one budget: the limit holds across the cluster', async () => {
    const [a, b] = [await openStore(), await openStore()];
    try {
      const rule = { points: 10, durationSeconds: 30 };
      const key = `cluster-${randomUUID()}`;
      const decisions = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).limiter('cluster', rule).consume(key)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps limiting from memory when Redis is unreachable, without waiting', async () => {
    const store = new RedisRateLimiterStore({ url: 'redis://127.0.0.1:1', keyPrefix: runPrefix });
    try {
      const limiter = store.limiter('down', { points: 2, durationSeconds: 30 });
      const started = performance.now();
      const decisions = [await limiter.consume('k'), await limiter.consume('k'), await limiter.consume('k')];
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await store.close();
    }
  });
});
