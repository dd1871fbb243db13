import { afterAll } from 'vitest';
import { RedisBroker } from '../../src/engine/redis-broker.js';
import { describeBrokerContract } from './broker-contract.js';

/** The machine's Redis, isolated by a key prefix per run; every key this run made is deleted after. */
const prefix = `apixtest-${process.pid}-${Date.now()}`;
const url = process.env.APIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describeBrokerContract('redis (single server)', async () => new RedisBroker({ url, prefix }));

afterAll(async () => {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
});
